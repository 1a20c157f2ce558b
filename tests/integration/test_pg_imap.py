"""test_pg_imap - IMAP and POP3 on the mail store on PostgreSQL
(storage = postgresql: mbox_* on pg_mailstore) with real clients against
a real PostgreSQL 15 (tests/lib/pgserver.py):

- the C unit tests of the API on PostgreSQL (build/asan/tests/pg/
  test-pg-mbox: needs TEM_TEST_PG_DSN, so it is run here);
- one node: LIST (INBOX and the special folders), CREATE/RENAME/DELETE,
  APPEND (APPENDUID) and FETCH of the same bytes with RFC822.SIZE equal
  to what is sent, STORE (flags and keywords, seen by a second session
  as FETCH FLAGS), EXPUNGE, COPY and MOVE (COPYUID), STATUS, IDLE woken
  by an APPEND from another connection, POP3 STAT/UIDL/RETR/DELE;
  EMAILID kept by COPY and MOVE (RFC 8474); a literal8 APPEND stored
  byte-exact (RFC 3516, messages.exact);
- two nodes on one database (127.0.0.1 and 127.0.0.2): IDLE on one sees
  an APPEND and a STORE made on the other within a second; with IMAP
  NOTIFY, an APPEND to another folder on the other node (STATUS) and a
  CREATE by another session of its own node (LIST); POP3's exclusive
  maildrop across nodes (a lease in pop3_locks, freed by QUIT or after
  its TTL when the holder's node is killed);
- the database away: NO [UNAVAILABLE] for STATUS, CREATE and LOGIN,
  POP3 -ERR [SYS/TEMP]; served again once it is back, without a restart.
"""

import imaplib
import poplib
import re
import threading
import time

import pytest

from pgserver import pg_unit_check
from temserver import TemServer, insecure_tls_context, wait_for

PW = {"u@a.test": "pw-u"}
MSG = (b"From: a@b.test\r\nTo: u@a.test\r\nSubject: hello\r\n\r\n"
       b"line one\r\nline two\r\n")


def pg_node(dsn, listen_addr="127.0.0.1", users=None, **kw):
    conf = {"storage": "postgresql", "postgresql_dsn": dsn}
    return TemServer(users=users if users is not None else {},
                     listen_addr=listen_addr, extra_conf=conf,
                     services=("smtp", "imap", "pop3"), **kw)


def login(node):
    m = imaplib.IMAP4(node.listen_addr, node.ports["imap"], timeout=30)
    m.starttls(ssl_context=insecure_tls_context())
    m.login("u@a.test", "pw-u")
    return m


@pytest.fixture(scope="module")
def node(pg, tmp_path_factory):
    dsn = pg.init_db(tmp_path_factory.mktemp("one"), "imap")
    with pg_node(dsn, users=PW) as n:
        n.pg_db = re.search(r"dbname=(\S+)", dsn).group(1)
        yield n


def pop3(node):
    p = poplib.POP3(node.listen_addr, node.ports["pop3"], timeout=30)
    p.stls(context=insecure_tls_context())
    return p


def test_unit(pg, tmp_path):
    """The C tests of mbox_* on PostgreSQL (src/pg/test-pg-mbox.c)."""
    pg_unit_check("test-pg-mbox", pg.init_db(tmp_path, "imap"))


def uid_of(resp):
    return int(re.search(rb"APPENDUID \d+ (\d+)", resp).group(1))


def test_list_and_folders(node):
    m = login(node)
    typ, data = m.list()
    assert typ == "OK"
    names = [re.search(rb'"([^"]*)"$|(\S+)$', l).group(0).strip(b'"')
             for l in data]
    assert names[0] == b"INBOX"
    for n in (b"Drafts", b"Sent", b"Trash", b"Junk", b"Archive"):
        assert n in names
    assert any(b"\\Trash" in l for l in data)
    assert m.create("Work/Sub")[0] == "OK"
    typ, data = m.list('""', "Work*")
    assert typ == "OK"
    work = [l for l in data if l.endswith(b" Work") or
            l.endswith(b'"Work"')]
    assert len(work) == 1 and b"\\Noselect" in work[0] and \
        b"\\HasChildren" in work[0], data
    assert m.create("Work/Sub")[0] == "NO"          # ALREADYEXISTS
    assert m.rename("Work/Sub", "Other")[0] == "OK"
    assert m.select("Other")[0] == "OK"
    m.close()
    assert m.delete("Other")[0] == "OK"
    assert m.select("Other")[0] == "NO"
    m.logout()


def test_append_fetch_store_expunge(node):
    m = login(node)
    typ, data = m.append("INBOX", "(\\Seen $Work)", None, MSG)
    assert typ == "OK", data
    uid = uid_of(data[0])
    typ, data = m.select("INBOX")
    assert typ == "OK"
    n = int(data[0])
    typ, data = m.uid("FETCH", str(uid),
                      "(FLAGS RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    assert data[0][1] == MSG
    assert b"RFC822.SIZE %d" % len(MSG) in data[0][0]
    assert b"\\Seen" in data[0][0] and b"$Work" in data[0][0]
    # header fields (no header cache on PostgreSQL: read from the
    # message) and SEARCH on them
    typ, data = m.uid("FETCH", str(uid),
                      "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: hello\r\n\r\n", data
    typ, data = m.uid("SEARCH", "SUBJECT", "hello")
    assert str(uid).encode() in data[0].split()
    typ, data = m.uid("SEARCH", "BODY", "two")
    assert str(uid).encode() in data[0].split()
    # a second session sees the first one's STORE as FETCH FLAGS
    m2 = login(node)
    m2.select("INBOX")
    typ, data = m.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)")
    assert typ == "OK" and b"\\Flagged" in data[0]
    typ, data = m2.noop()
    assert any(b"\\Flagged" in d for d in m2.untagged_responses.get(
        "FETCH", [])), m2.untagged_responses
    # EXPUNGE: gone here, reported to the other session
    m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
    typ, data = m.expunge()
    assert typ == "OK" and data[0] == str(n).encode()
    m2.noop()
    assert m2.untagged_responses.get("EXPUNGE") == [str(n).encode()]
    m2.logout()
    m.logout()


def test_copy_move_status(node):
    m = login(node)
    uids = [uid_of(m.append("INBOX", None, None, MSG)[1][0])
            for _ in range(3)]
    m.select("INBOX")
    typ, data = m._simple_command("UID", "COPY", "%d,%d" % (uids[0],
                                  uids[1]), "Archive")
    assert typ == "OK" and b"COPYUID" in data[0], data
    typ, data = m.uid("MOVE", str(uids[2]), "Trash")
    assert typ == "OK", data
    typ, data = m.status("Archive", "(MESSAGES UIDNEXT)")
    assert b"MESSAGES 2" in data[0]
    typ, data = m.uid("SEARCH", "ALL")
    assert str(uids[2]).encode() not in data[0].split()
    typ, data = m._simple_command("UID", "COPY", str(uids[0]), "Nowhere")
    assert typ == "NO" and b"[TRYCREATE]" in data[0], data
    m.logout()


def emailid(m, uid):
    typ, data = m.uid("FETCH", str(uid), "(EMAILID)")
    assert typ == "OK", data
    return re.search(rb"EMAILID \(([^)]+)\)", data[0]).group(1)


def test_emailid_kept_by_copy_and_move(node):
    """RFC 8474: COPY and MOVE keep EMAILID (copies share the blob, whose
    id it is), a new APPEND of the same bytes gets a new one."""
    m = login(node)
    m.create("Eid")
    a = uid_of(m.append("INBOX", None, None, MSG)[1][0])
    b = uid_of(m.append("INBOX", None, None, MSG)[1][0])
    m.select("INBOX")
    ea, eb = emailid(m, a), emailid(m, b)
    assert ea != eb
    typ, data = m.uid("COPY", str(a), "Eid")
    assert typ == "OK", data
    typ, data = m.uid("MOVE", str(b), "Eid")
    assert typ == "OK", data
    m.select("Eid")
    typ, data = m.uid("SEARCH", "ALL")
    got = [emailid(m, int(u)) for u in data[0].split()]
    assert sorted(got) == sorted([ea, eb]), got
    # the original stays with its id beside its copy
    m.select("INBOX")
    assert emailid(m, a) == ea
    m.logout()


def append_literal8(m, box, data):
    """A literal8 APPEND (RFC 3516) through imaplib's socket: imaplib
    only sends {n} literals."""
    m.send(b"L8 APPEND " + box.encode() + b" ~{%d+}\r\n" % len(data) +
           data + b"\r\n")
    while True:
        line = m.readline()
        if line.startswith(b"L8 "):
            return line


def test_literal8_byte_exact(pg, node):
    """A literal8 APPEND with bare LFs and a NUL is stored as sent
    (messages.exact): BINARY gives the part byte for byte, RFC822.SIZE
    is what FETCH BODY[] sends (bare LFs as CRLF, a NUL as 0x80), a COPY
    keeps it."""
    part = b"a\x00b\nc\nd"
    data = (b"From: <a@b.test>\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: binary\r\n\r\n" + part +
            b"\r\n--XX\r\nContent-Type: text/plain\r\n\r\nText\nhere\r\n"
            b"--XX--\r\n")
    m = login(node)
    m.create("Bin8")
    line = append_literal8(m, "Bin8", data)
    assert line.startswith(b"L8 OK"), line
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", line).group(1))
    m.select("Bin8")
    typ, d = m.uid("FETCH", str(uid), "(BINARY.PEEK[1] RFC822.SIZE "
                   "BODY.PEEK[])")
    assert typ == "OK", d
    assert d[0][1] == part, d
    head = d[0][0] + (d[1][0] if isinstance(d[1], tuple) else d[1])
    size = int(re.search(rb"RFC822.SIZE (\d+)", head).group(1))
    body = d[1][1] if isinstance(d[1], tuple) else None
    # as text a NUL goes as 0x80 (never raw outside BINARY)
    wire = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") \
        .replace(b"\x00", b"\x80")
    assert size == len(wire) and body == wire, d
    assert pg.psql("SELECT count(*) FROM messages WHERE exact",
                   db=node.pg_db) == "1"
    typ, _ = m.uid("COPY", str(uid), "INBOX")
    assert typ == "OK"
    assert pg.psql("SELECT count(*) FROM messages WHERE exact",
                   db=node.pg_db) == "2"
    m.select("INBOX")
    typ, d = m.fetch("*", "(BINARY.PEEK[1])")
    assert d[0][1] == part, d
    m.logout()


def idle_until(m, pred, timeout=5):
    """IDLE on m until an untagged line satisfies pred (within timeout
    seconds: the wake-up comes from a NOTIFY, well under a second when
    the machine is not loaded); the lines."""
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+")
    lines = []
    m.sock.settimeout(timeout)
    try:
        while True:
            line = m.readline()
            assert line, "connection closed"
            lines.append(line)
            if pred(line):
                break
    finally:
        m.send(b"DONE\r\n")
        while not m.readline().startswith(tag):
            pass
        m.sock.settimeout(30)
    return lines


def test_idle_woken_by_append(node):
    m = login(node)
    m.select("INBOX")
    other = login(node)
    threading.Timer(0.3, lambda: other.append("INBOX", None, None,
                                              MSG)).start()
    lines = idle_until(m, lambda l: l.endswith(b"EXISTS\r\n"))
    assert lines[-1].endswith(b"EXISTS\r\n")
    other.logout()
    m.logout()


def test_pop3(node):
    m = login(node)
    m.append("INBOX", None, None, MSG)
    m.logout()
    p = pop3(node)
    p.user("u@a.test")
    p.pass_("pw-u")
    count, size = p.stat()
    assert count >= 1
    uidls = p.uidl()[1]
    assert len(uidls) == count
    resp, lines, octets = p.retr(count)
    assert b"\r\n".join(lines) + b"\r\n" == MSG
    assert p.dele(count).startswith(b"+OK")
    p.quit()
    p = pop3(node)
    p.user("u@a.test")
    p.pass_("pw-u")
    assert p.stat()[0] == count - 1
    p.quit()


def pop3_login(node):
    """A POP3 session of u@a.test on node: (session, None) once in, or
    (None, the -ERR line)."""
    p = pop3(node)
    p.user("u@a.test")
    try:
        p.pass_("pw-u")
    except poplib.error_proto as e:
        p.close()
        return None, e.args[0]
    return p, None


def test_pop3_lock_across_nodes(pg, tmp_path):
    """RFC 1939's exclusive maildrop across nodes (pop3_locks): a session
    on node one makes node two answer -ERR [IN-USE], also after more than
    the lease's TTL (renewed); after QUIT node two gets in; with node one
    killed -9 while holding, node two gets in once the lease ran out.
    TEM_TEST_POP3_LOCK_TTL=3 makes the TTL 3 s (90 s otherwise)."""
    ttl = 3
    dsn = pg.init_db(tmp_path, "imap")
    one = pg_node(dsn, users=PW)
    two = pg_node(dsn, listen_addr="127.0.0.2", domains=())
    for n in (one, two):
        n.env["TEM_TEST_POP3_LOCK_TTL"] = str(ttl)
    with one, two:
        p1, err = pop3_login(one)
        assert err is None, err
        p2, err = pop3_login(two)
        assert p2 is None and err.startswith(b"-ERR [IN-USE]"), err
        p1.quit()
        p2, err = pop3_login(two)
        assert err is None, err
        p2.quit()

        # held past its TTL: the renewer keeps it
        p1, err = pop3_login(one)
        assert err is None, err
        db = re.search(r"dbname=(\S+)", dsn).group(1)
        first = pg.psql("SELECT until FROM pop3_locks", db=db)
        t0 = time.monotonic()
        wait_for(lambda: time.monotonic() > t0 + ttl + 1 and
                 pg.psql("SELECT until FROM pop3_locks", db=db) != first,
                 timeout=ttl * 4, what="the lease renewed past its TTL")
        p2, err = pop3_login(two)
        assert p2 is None and err.startswith(b"-ERR [IN-USE]"), err

        # the holder's node dies: the lease runs out, node two gets in
        one.kill9()
        got = wait_for(lambda: pop3_login(two)[0], timeout=ttl * 5,
                       interval=0.5, what="node two's POP3 login")
        got.quit()
        assert pg.psql("SELECT count(*) FROM pop3_locks", db=db) == "0"


def test_two_nodes_idle(pg, tmp_path):
    dsn = pg.init_db(tmp_path, "imap")
    with pg_node(dsn, users=PW) as one, \
            pg_node(dsn, listen_addr="127.0.0.2", domains=()) as two:
        a = login(one)
        uid = uid_of(a.append("INBOX", None, None, MSG)[1][0])
        b = login(two)
        b.select("INBOX")
        threading.Timer(0.2, lambda: a.append("INBOX", None, None,
                                              MSG)).start()
        idle_until(b, lambda l: l.endswith(b"EXISTS\r\n"))
        a.select("INBOX")
        threading.Timer(0.2, lambda: a.uid("STORE", str(uid), "+FLAGS",
                                           "(\\Answered)")).start()
        idle_until(b, lambda l: b"FETCH" in l and b"\\Answered" in l)
        # IMAP NOTIFY: an APPEND to another folder on node one is a
        # STATUS on node two; a CREATE on node two a LIST there
        imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))
        typ, data = b._simple_command("NOTIFY", "SET", "(personal",
                                      "(MessageNew", "MessageExpunge",
                                      "MailboxName))")
        assert typ == "OK", data
        threading.Timer(0.2, lambda: a.append("Archive", None, None,
                                              MSG)).start()
        lines = idle_until(b, lambda l: l.startswith(b"* STATUS"))
        assert b"Archive" in lines[-1] and b"MESSAGES 1" in lines[-1], lines
        c = login(two)
        threading.Timer(0.2, lambda: c.create("Fresh")).start()
        lines = idle_until(b, lambda l: l.startswith(b"* LIST"))
        assert b"Fresh" in lines[-1], lines
        c.logout()
        a.logout()
        b.logout()


def test_database_away(pg, node):
    """Last (it stops the module's database): what clients are told while
    PostgreSQL is away, and that the same server serves again after."""
    m = login(node)
    m.append("INBOX", None, None, MSG)
    m.select("INBOX")
    p = pop3(node)
    pg.stop()
    try:
        typ, data = m.status("Archive", "(MESSAGES)")
        assert typ == "NO" and b"[UNAVAILABLE]" in data[0], data
        typ, data = m._simple_command("CREATE", "Later")
        assert typ == "NO" and b"[UNAVAILABLE]" in data[0], data
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "NO", data
        m.logout()
        # no session holds the user now: a login needs the database
        other = imaplib.IMAP4(node.listen_addr, node.ports["imap"],
                              timeout=30)
        other.starttls(ssl_context=insecure_tls_context())
        typ, data = other._simple_command("LOGIN", "u@a.test", "pw-u")
        assert typ == "NO" and b"[UNAVAILABLE]" in data[0], data
        other.logout()
        p.user("u@a.test")
        with pytest.raises(poplib.error_proto) as e:
            p.pass_("pw-u")
        assert b"[SYS/TEMP]" in e.value.args[0]
    finally:
        pg.restart()

    def serves():
        try:
            m = login(node)
        except imaplib.IMAP4.error:
            return False
        typ, data = m.select("INBOX")
        m.logout()
        return typ == "OK"
    # the connections come back by themselves
    wait_for(serves, timeout=10, what="a login once the database is back")
