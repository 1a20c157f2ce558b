"""test_migrate - `tem migrate`: an embedded data_dir made by a real tem
(users, an alias, a quota, mail over SMTP, IMAP APPENDs into several
folders, flags and keywords, expunges leaving UID gaps, a Sieve script, a
message waiting in the queue for a dead relay, an mbsync run) copied into
a fresh PostgreSQL 15 (tests/lib/pgserver.py). Checked with psql against
what the embedded server served over IMAP: per folder UIDVALIDITY,
UIDNEXT, HIGHESTMODSEQ; per UID flags, keywords, MODSEQ, INTERNALDATE and
bytes (the wire form, CRLF); the accounts (the same password hash); the
queue entry. A second run changes nothing; a run killed -9 and run again,
and a folder lost and copied again, end equal. A running server's
data_dir is refused.

IMAP is not served from PostgreSQL yet, so the mbsync check is: the UIDs
and UIDVALIDITY mbsync recorded (its .mbsyncstate) against the embedded
server are the ones the database holds.
"""

import imaplib
import os
import re
import signal
import sqlite3
import subprocess

import pytest

from imapinterop import cert  # noqa: F401 - a fixture
from mbsync import mbsync_state
from pgserver import PgServer, tem_cli
from temserver import (TemServer, free_port, insecure_tls_context, send_mail,
                       simple_message, tem_bin)

ALICE = ("alice@a.test", "alice-Secret-1")
BOB = ("bob@a.test", "bob-Secret-2")
SENDER = "sender@b.test"
FOLDERS = ["Work", "Work/Old", "\u00c4rger"] + ["F%02d" % i for i in range(8)]
FLAG_BITS = {"\\Answered": 1, "\\Flagged": 2, "\\Deleted": 4, "\\Seen": 8,
             "\\Draft": 16}
SIEVE = 'require "fileinto";\nif header :contains "subject" "work" ' \
        '{ fileinto "Work"; }\n'


def imap(t, user):
    c = imaplib.IMAP4_SSL("127.0.0.1", t.ports["imaps"],
                          ssl_context=insecure_tls_context())
    c.login(*user)
    return c


def quote(name):
    """A folder name as an IMAP astring (modified UTF-7 for non-ASCII)."""
    if all(ord(ch) < 128 for ch in name):
        return '"%s"' % name
    import base64
    out, run = "", ""
    for ch in name + "\0":
        if ch != "\0" and ord(ch) >= 128:
            run += ch
            continue
        if run:
            b = base64.b64encode(run.encode("utf-16-be")).decode()
            out += "&" + b.rstrip("=").replace("/", ",") + "-"
            run = ""
        if ch != "\0":
            out += "&-" if ch == "&" else ch
    return '"%s"' % out


def mutf7_decode(name):
    """Modified UTF-7 (RFC 3501 5.1.3) to text: mbsync's folder names."""
    import base64

    def one(m):
        if m.group(1) == "":
            return "&"
        b = m.group(1).replace(",", "/")
        return base64.b64decode(b + "=" * (-len(b) % 4)).decode("utf-16-be")
    return re.sub(r"&([^-]*)-", one, name)


def snapshot(c, folders):
    """{folder: (uidvalidity, uidnext, highestmodseq, {uid: (flags bits,
    keywords, modseq, internaldate text, bytes)})} as IMAP serves it."""
    out = {}
    for name in folders:
        typ, data = c.status(quote(name), "(UIDVALIDITY UIDNEXT "
                             "HIGHESTMODSEQ)")
        assert typ == "OK", data
        st = dict(re.findall(rb"(UIDVALIDITY|UIDNEXT|HIGHESTMODSEQ) (\d+)",
                             data[0]))
        typ, _ = c.select(quote(name), readonly=True)
        assert typ == "OK"
        msgs = {}
        typ, data = c.uid("FETCH", "1:*", "(UID FLAGS MODSEQ INTERNALDATE "
                          "BODY.PEEK[])")
        assert typ == "OK", data
        for item in data:
            if not isinstance(item, tuple):
                continue
            head = item[0].decode()
            uid = int(re.search(r"UID (\d+)", head).group(1))
            flags = re.search(r"FLAGS \(([^)]*)\)", head).group(1).split()
            bits = sum(FLAG_BITS.get(f, 0) for f in flags)
            kws = sorted(f for f in flags if not f.startswith("\\"))
            modseq = int(re.search(r"MODSEQ \((\d+)\)", head).group(1))
            idate = re.search(r'INTERNALDATE "([^"]+)"', head).group(1)
            msgs[uid] = (bits, kws, modseq, idate, item[1])
        out[name] = (int(st[b"UIDVALIDITY"]), int(st[b"UIDNEXT"]),
                     int(st[b"HIGHESTMODSEQ"]), msgs)
    return out


@pytest.fixture(scope="module")
def embedded(cert, tmp_path_factory):  # noqa: F811
    """A stopped tem's data_dir with everything in it, what its IMAP
    served, what mbsync saw, and the queue's ids."""
    dead = free_port()
    t = TemServer(services=("smtp", "imaps"), users=dict([ALICE, BOB]),
                  aliases={"info@a.test": ["alice@a.test", "bob@a.test"],
                           "fwd@a.test": ["someone@remote.test"]},
                  extra_conf={"relay_host": "127.0.0.1:%d" % dead,
                              "auth_allow_cleartext": "yes",
                              "tls_cert_file": cert[0],
                              "tls_key_file": cert[1]})
    with t:
        t.admin("user", "quota", BOB[0], "200M", "5000")
        t.admin("sieve", "put", BOB[0], "main", stdin=SIEVE)
        t.admin("sieve", "activate", BOB[0], "main")
        t.admin("sieve", "put", BOB[0], "spare", stdin="keep;\n")
        b = imap(t, BOB)
        assert b.create("Work")[0] == "OK"
        b.logout()
        for i in range(6):
            send_mail(t.smtp_port, SENDER, ["info@a.test"],
                      simple_message("work %d" % i if i % 2 else
                                     "hello %d" % i,
                                     b"Body %d.\r\nline two\r\n" % i,
                                     to="info@a.test"))
        send_mail(t.smtp_port, SENDER, ["fwd@a.test"],
                  simple_message("to remote", to="fwd@a.test"))
        c = imap(t, ALICE)
        for n, name in enumerate(FOLDERS):
            assert c.create(quote(name))[0] == "OK"
            for i in range(3):
                msg = simple_message("%s %d" % (name, i), b"In %d.\r\n" % n)
                typ, _ = c.append(quote(name), "(\\Seen)" if i else None,
                                  '"01-Jan-2024 10:0%d:00 +0000"' % i, msg)
                assert typ == "OK"
        c.subscribe(quote("Work"))
        assert c.setacl(quote("Work"), BOB[0], "lr")[0] == "OK"
        imaplib.Commands.setdefault("SETMETADATA", ("AUTH", "SELECTED"))
        typ, data = c._simple_command("SETMETADATA", "INBOX",
                                      '(/private/comment "migrated")')
        assert typ == "OK", data
        # flags and keywords, then expunges: gaps in the UIDs, moved
        # MODSEQs
        c.select("INBOX")
        c.uid("STORE", "1", "+FLAGS", "(\\Flagged $Important project1)")
        c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        c.uid("STORE", "3", "+FLAGS", "(\\Answered \\Seen)")
        c.expunge()
        c.select(quote("Work"))
        c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.uid("STORE", "3", "+FLAGS", "(urgent)")
        c.logout()
        # bob's Sieve filed his "work" mail into Work
        b = imap(t, BOB)
        assert int(b.select("Work")[1][0]) == 3
        b.logout()
        queued = t.queue_ids()
        assert len(queued) == 1
        seen = mbsync_state(str(tmp_path_factory.mktemp("mbsync")), cert[0],
                            t.ports["imaps"], ALICE)
        c = imap(t, ALICE)
        typ, data = c.list()
        names = ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"] + \
            FOLDERS
        snap = {ALICE[0]: snapshot(c, names)}
        c.logout()
        b = imap(t, BOB)
        snap[BOB[0]] = snapshot(b, ["INBOX", "Work"])
        # a literal8 APPEND (imaplib sends only {n}): a ",X=1" file
        assert b.create("Bin")[0] == "OK"
        b.send(b"L8 APPEND Bin ~{%d+}\r\n" % len(EXACT) + EXACT + b"\r\n")
        while True:
            line = b.readline()
            if line.startswith(b"L8 "):
                assert line.startswith(b"L8 OK"), line
                break
        b.logout()
        # mail no session has seen yet: in new/, maybe without a UID
        late = simple_message("late", b"Late.\r\n", to=BOB[0])
        send_mail(t.smtp_port, SENDER, [BOB[0]], late)
        # refused while the server runs
        r = subprocess.run([tem_bin(), "-c", t.conf_path, "migrate"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "is running" in r.stderr, r.stderr
        t.stop()
        yield {"tem": t, "snap": snap, "mbsync": seen, "queue": queued,
               "late": late}


def migrate_conf(embedded, pg):
    t = embedded["tem"]
    path = os.path.join(t.dir, "migrate-%d.conf" % pg.port)
    with open(t.conf_path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text + "postgresql_dsn = %s\n" % pg.dsn)
    return path


def tem(conf, *args):
    return tem_cli(conf, *args, timeout=300)


@pytest.fixture
def pg(embedded):
    with PgServer() as s:
        yield s


def db_folder(pg, addr, name):
    row = pg.psql("SELECT b.uidvalidity || ' ' || b.uidnext || ' ' || "
                  "b.highestmodseq FROM mailboxes b JOIN users u ON "
                  "u.id = b.user_id WHERE u.address = '%s' AND b.name = "
                  "'%s'" % (addr, name))
    uv, un, hm = map(int, row.split())
    msgs = {}
    out = pg.psql("SELECT m.uid, m.flags, array_to_string(m.keywords, ' '), "
                  "m.modseq, to_char(m.internaldate AT TIME ZONE 'UTC', "
                  "'YYYY-MM-DD HH24:MI:SS'), encode(l.data, 'hex') FROM "
                  "messages m JOIN blobs l ON l.id = m.blob_id JOIN mailboxes "
                  "b ON b.id = m.mailbox_id JOIN users u ON u.id = b.user_id "
                  "WHERE u.address = '%s' AND b.name = '%s'" % (addr, name))
    for line in out.splitlines():
        uid, flags, kws, modseq, idate, data = line.split("|")
        msgs[int(uid)] = (int(flags), sorted(kws.split()), int(modseq),
                          idate, bytes.fromhex(data))
    return uv, un, hm, msgs


def idate_utc(text):
    """IMAP INTERNALDATE "01-Jan-2024 10:00:00 +0000" -> UTC text."""
    import datetime
    d = datetime.datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z")
    return d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def assert_equal(embedded, pg):
    for addr, folders in embedded["snap"].items():
        for name, (uv, un, hm, msgs) in folders.items():
            duv, dun, dhm, dmsgs = db_folder(pg, addr, name)
            if (addr, name) == (BOB[0], "INBOX"):
                # the late message got the next UID when migrate synced
                assert (dun, dhm) == (un + 1, hm + 1)
                assert dmsgs.pop(un)[4].endswith(embedded["late"])
                un, hm = dun, dhm
            assert (duv, dun, dhm) == (uv, un, hm), (addr, name)
            assert set(dmsgs) == set(msgs), (addr, name)
            for uid, (bits, kws, modseq, idate, data) in msgs.items():
                d = dmsgs[uid]
                assert d[:3] == (bits, kws, modseq), (addr, name, uid)
                assert d[3] == idate_utc(idate), (addr, name, uid)
                assert d[4] == data, (addr, name, uid)


def counts(pg):
    return pg.psql("SELECT (SELECT count(*) FROM mailboxes) || ' ' || "
                   "(SELECT count(*) FROM messages) || ' ' || (SELECT "
                   "count(*) FROM blobs) || ' ' || (SELECT max(id) FROM "
                   "blobs) || ' ' || (SELECT count(*) FROM users) || ' ' || "
                   "(SELECT count(*) FROM queue_rcpts) || ' ' || (SELECT "
                   "count(*) FROM sieve_scripts) || ' ' || (SELECT count(*) "
                   "FROM subscriptions) || ' ' || (SELECT count(*) FROM "
                   "expunged) || ' ' || (SELECT count(*) FROM acl) || ' ' "
                   "|| (SELECT count(*) FROM mailbox_metadata)")


# stored byte-exact: a NUL and bare LFs in a binary part
EXACT = (b"From: <a@b.test>\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: binary\r\n\r\na\x00b\nc\nd\r\n")


def test_migrate_keeps_uids_flags_and_bytes(embedded, pg):
    conf = migrate_conf(embedded, pg)
    r = tem(conf, "migrate")
    assert r.returncode == 1 and "tem db init" in r.stderr
    assert tem(conf, "db", "init").returncode == 0
    r = tem(conf, "migrate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MISMATCH" not in r.stdout and "migration done: 0" in r.stdout
    assert re.search(r"^accounts domains=1 users=2 aliases=2 quotas=1$",
                     r.stdout, re.M), r.stdout
    assert "folder alice@a.test \u00c4rger " in r.stdout
    assert_equal(embedded, pg)
    # the ",X=1" file keeps its bytes (bare LFs too), marked exact, its
    # size what text FETCH sends (bare LFs as CRLF)
    assert pg.psql("SELECT m.exact || ' ' || m.size || ' ' || "
                   "encode(l.data, 'hex') FROM messages m JOIN blobs l ON "
                   "l.id = m.blob_id JOIN mailboxes b ON b.id = m.mailbox_id "
                   "WHERE b.name = 'Bin'") == "true %d %s" % (
        len(EXACT) + 2, EXACT.hex())
    assert pg.psql("SELECT count(*) FROM messages WHERE exact") == "1"

    # accounts: the same hashes (so the same passwords), alias, quota
    data = embedded["tem"].data_dir
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(
        data, "accounts.db"), uri=True)
    lite = "\n".join(r[0] for r in db.execute(
        "SELECT address || '|' || hash FROM users ORDER BY address"))
    db.close()
    assert pg.psql("SELECT address || '|' || hash FROM users ORDER BY "
                   "address") == lite
    assert pg.psql("SELECT array_to_string(targets, ',') FROM aliases "
                   "WHERE address = 'info@a.test'") == \
        "alice@a.test,bob@a.test"
    assert pg.psql("SELECT quota_storage || ' ' || quota_messages FROM "
                   "users WHERE address = 'bob@a.test'") == \
        "%d 5000" % (200 << 20)
    # Sieve, subscriptions, expunge log, queue
    assert pg.psql("SELECT name || ' ' || active FROM sieve_scripts ORDER "
                   "BY name") == "main true\nspare false"
    assert pg.psql("SELECT script FROM sieve_scripts WHERE name = "
                   "'main'") == SIEVE.strip()
    assert "Work" in pg.psql("SELECT name FROM subscriptions")
    assert pg.psql("SELECT b.name || ' ' || a.ident || ' ' || a.rights "
                   "FROM acl a JOIN mailboxes b ON b.id = a.mailbox_id") == \
        "Work bob@a.test lr"
    assert pg.psql("SELECT mailbox || ' ' || entry || ' ' || "
                   "convert_from(value, 'UTF8') FROM mailbox_metadata") == \
        "INBOX /private/comment migrated"
    assert pg.psql("SELECT count(*) FROM expunged e JOIN mailboxes b ON "
                   "b.id = e.mailbox_id WHERE b.name = 'INBOX'") == "1"
    qid = embedded["queue"][0]
    assert pg.psql("SELECT q.sender || ' ' || r.address || ' ' || r.state "
                   "FROM queue q JOIN queue_rcpts r ON r.queue_id = q.id "
                   "WHERE q.id = '%s'" % qid) == \
        "%s someone@remote.test 0" % SENDER
    assert "\r\n" not in pg.psql("SELECT convert_from(b.data, 'UTF8') FROM "
                                 "queue q JOIN blobs b ON b.id = q.blob_id")

    # what mbsync saw is what the database holds
    for folder, (uv, uids) in embedded["mbsync"].items():
        duv, _, _, dmsgs = db_folder(pg, ALICE[0], mutf7_decode(folder))
        assert (duv, set(dmsgs)) == (uv, uids), folder
    assert {mutf7_decode(f) for f in embedded["mbsync"]} == \
        set(embedded["snap"][ALICE[0]])

    # a second run changes nothing
    before = counts(pg)
    r = tem(conf, "migrate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "folder alice@a.test INBOX already there" in r.stdout
    assert "queue %s already there" % qid in r.stdout
    assert counts(pg) == before
    assert_equal(embedded, pg)

    # a folder lost (a run stopped before it) is copied again, alone
    pg.psql("DELETE FROM mailboxes WHERE name = 'Work/Old'")
    r = tem(conf, "migrate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^folder alice@a.test Work/Old uidvalidity=\d+ "
                     r"uidnext=4 highestmodseq=\d+ messages=3 octets=\d+$",
                     r.stdout, re.M), r.stdout
    assert counts(pg).split()[:3] == before.split()[:3]
    assert_equal(embedded, pg)

    # a difference is found: exit 1
    pg.psql("DELETE FROM messages WHERE uid = 1 AND mailbox_id = (SELECT "
            "min(id) FROM mailboxes WHERE name = 'F03')")
    r = tem(conf, "migrate")
    assert r.returncode == 1
    assert re.search(r"^check alice@a.test F03 .*MISMATCH$", r.stdout,
                     re.M), r.stdout


def test_killed_half_way_then_finished(embedded, pg):
    conf = migrate_conf(embedded, pg)
    assert tem(conf, "db", "init").returncode == 0
    p = subprocess.Popen([tem_bin(), "-c", conf, "migrate"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        for line in p.stdout:
            if line.startswith("folder "):
                break
        p.send_signal(signal.SIGKILL)
    finally:
        p.communicate(timeout=60)
    partial = int(pg.psql("SELECT count(*) FROM mailboxes"))
    assert partial >= 1
    r = tem(conf, "migrate")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "already there" in r.stdout
    assert_equal(embedded, pg)
    # every blob is referenced exactly as often as it is used
    assert pg.psql("SELECT count(*) FROM blobs b WHERE refs <> (SELECT "
                   "count(*) FROM messages WHERE blob_id = b.id) + (SELECT "
                   "count(*) FROM queue WHERE blob_id = b.id)") == "0"
