"""Interop: real IMAP clients from Debian against tem.

- mbsync (package isync) syncs an account both ways with a local Maildir
  over IMAPS (and once over STARTTLS): mail delivered to tem by SMTP
  appears locally byte for byte; a message put into the local Maildir, a
  flag change, a deletion and a new local folder appear on tem; flag
  changes, an expunge and new mail on tem come back; further runs change
  nothing (no duplicates).
- curl (imap:// and imaps:// with -k): LIST, EXAMINE, FETCH by UID and by
  sequence number with a section, SEARCH through the URL and with -X, an
  APPEND with -T; fetched bytes equal the stored message with CRLF.

(IDLE pushed by a real SMTP delivery: tests/integration/test_imap_core.py.)

mbsync verifies the server certificate against its host name and ignores
IP address SANs (isync 1.4.4: "certificate owner does not match hostname
127.0.0.1"), so the module makes its own self-signed certificate for
mx.a.test, localhost and 127.0.0.1 and mbsync connects to `localhost`
(which must resolve to 127.0.0.1; tem listens there only).

One server for the module; each test uses a user of its own.
"""

import imaplib
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import (first_difference, module_server,  # noqa: E402
                       insecure_tls_context, simple_message)
from imapinterop import (RUN_TIMEOUT, cert, deliver,  # noqa: E402,F401
                         imap_messages, need, read, tem_contents, tem_files)

USERS = {
    "alice@a.test": "alice-Secret-1",       # mbsync over IMAPS
    "bob@a.test": "bob-Secret-2",           # curl
    "carol@a.test": "carol-Secret-3",       # mbsync over STARTTLS
}
SENDER = "sender@b.test"


# --- fixtures -------------------------------------------------------------

@pytest.fixture(scope="module")
def srv(cert):      # noqa: F811 - the imported fixture
    yield from module_server(services=("smtp", "imap", "imaps"), users=USERS,
                             extra_conf={"auth_allow_cleartext": "yes",
                                         "tls_cert_file": cert[0],
                                         "tls_key_file": cert[1]})


@pytest.fixture
def keep_on_failure(srv, request):
    """Keeps the server's temp dir and shows its log when the test fails."""
    request.node.tem_servers = [srv]
    return srv


# --- helpers --------------------------------------------------------------

def strip_tuid(data):
    """mbsync adds an X-TUID header to each message it propagates."""
    return re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", data)


class Local:
    """The near side: a Maildir tree NAME/{new,cur,tmp} with mbsync's
    file names (…,U=uid:2,FLAGS)."""

    def __init__(self, root):
        self.root = root

    def files(self, box="INBOX"):
        """{path: flags} of BOX's messages."""
        out = {}
        for sub in ("new", "cur"):
            d = os.path.join(self.root, box, sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            for n in names:
                out[os.path.join(d, n)] = n.partition(":2,")[2]
        return out

    def contents(self, box="INBOX"):
        return sorted(strip_tuid(read(p)) for p in self.files(box))

    def snapshot(self):
        """Every file below the tree except mbsync's own state."""
        out = set()
        for dirpath, _, names in os.walk(self.root):
            for n in names:
                if not n.startswith(".mbsyncstate") and n != ".uidvalidity":
                    out.add(os.path.relpath(os.path.join(dirpath, n),
                                            self.root))
        return out

    def add(self, box, name, data):
        d = os.path.join(self.root, box)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        path = os.path.join(d, "new", name)
        with open(path, "wb") as f:
            f.write(data)
        return path


class MbSync:
    """mbsync with a private config (-c): the far side is tem's account,
    the near side a Maildir tree in DIR/mail; Patterns *, Create, Expunge
    and Sync both ways, SyncState in each near folder."""

    def __init__(self, tmp, port, user, password, cafile, ssltype="IMAPS"):
        self.dir = str(tmp)
        self.local = Local(os.path.join(self.dir, "mail"))
        os.makedirs(self.local.root, exist_ok=True)
        self.conf = os.path.join(self.dir, "mbsyncrc")
        with open(self.conf, "w") as f:
            f.write("IMAPAccount tem\n"
                    "Host localhost\n"
                    "Port %d\n"
                    "User %s\n"
                    "Pass %s\n"
                    "SSLType %s\n"
                    "CertificateFile %s\n"
                    "\n"
                    "IMAPStore far\n"
                    "Account tem\n"
                    "\n"
                    "MaildirStore near\n"
                    "Path %s/\n"
                    "Inbox %s/INBOX\n"
                    "SubFolders Verbatim\n"
                    "\n"
                    "Channel sync\n"
                    "Far :far:\n"
                    "Near :near:\n"
                    "Patterns *\n"
                    "Create Both\n"
                    "Expunge Both\n"
                    "SyncState *\n"
                    "Sync All\n"
                    % (port, user, password, ssltype, cafile,
                       self.local.root, self.local.root))
        self.env = dict(os.environ, HOME=self.dir)

    def run(self):
        p = subprocess.run(["mbsync", "-V", "-c", self.conf, "sync"],
                           env=self.env, capture_output=True,
                           timeout=RUN_TIMEOUT, cwd=self.dir)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        assert p.returncode == 0, "mbsync exit %d:\n%s" % (p.returncode, out)
        return out


def crlf(data):
    return data.replace(b"\n", b"\r\n")


# --- mbsync -----------------------------------------------------------------

def test_mbsync_both_ways_and_stable(keep_on_failure, cert, tmp_path):
    need("mbsync", "isync")
    srv = keep_on_failure
    addr = "alice@a.test"
    sent = deliver(srv, addr, 3, "first")
    mb = MbSync(tmp_path, srv.ports["imaps"], addr, USERS[addr], cert[0])
    loc = mb.local

    # 1. tem -> local: the delivered messages, byte for byte as stored.
    out = mb.run()
    assert "Connection is now encrypted" in out, out
    assert len(loc.files()) == 3, out
    assert loc.contents() == tem_contents(srv, addr)
    for s in sent:
        assert any(c.endswith(s.replace(b"\r\n", b"\n"))
                   for c in loc.contents()), "sent message not synced"
    for box in ("Archive", "Drafts", "Junk", "Sent", "Trash"):
        assert os.path.isdir(os.path.join(loc.root, box, "cur")), box

    # 2. local -> tem: a new message, flags, a deletion, a new folder.
    by_subject = {}
    for path in loc.files():
        subj = re.search(rb"(?m)^Subject: (.*)$", read(path)).group(1)
        by_subject[subj] = path
    flagged = by_subject[b"first 0"]
    os.rename(flagged, os.path.join(os.path.dirname(os.path.dirname(
        flagged)), "cur", os.path.basename(flagged).partition(":2,")[0]
        + ":2,FS"))
    os.unlink(by_subject[b"first 1"])
    up = (b"From: <alice@a.test>\nTo: <x@b.test>\nSubject: from mbsync\n"
          b"Message-ID: <up-1@a.test>\n\nWritten into the local Maildir.\n")
    loc.add("INBOX", "100.local1.client", up)
    proj = (b"From: <alice@a.test>\nTo: <y@b.test>\nSubject: project\n"
            b"Message-ID: <up-2@a.test>\n\nIn a new local folder.\n")
    loc.add("Projects", "101.local2.client", proj)
    out = mb.run()

    msgs = imap_messages(srv, addr, USERS[addr])
    assert len(msgs) == 3, (out, msgs.keys())
    bodies = {re.search(rb"(?m)^Subject: (.*)\r$", b).group(1): (f, b)
              for f, b in msgs.values()}
    assert set(bodies) == {b"first 0", b"first 2", b"from mbsync"}, bodies
    assert {"\\Flagged", "\\Seen"} <= bodies[b"first 0"][0]
    assert "\\Seen" not in bodies[b"first 2"][0]
    got = strip_tuid(bodies[b"from mbsync"][1].replace(b"\r\n", b"\n"))
    assert got == up, first_difference(got, up)
    # on tem's disk: the flags in the file names, LF line ends
    disk = tem_files(srv, addr)
    assert sorted(f for _, f in disk.values()) == ["", "", "FS"], disk
    assert up in [strip_tuid(read(p)) for p in disk]
    assert [strip_tuid(c) for c in tem_contents(srv, addr, ".Projects")] \
        == [proj], "new local folder not created on tem"

    # 3. tem -> local again: a flag set, an expunge and new mail on tem.
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.ports["imaps"],
                          ssl_context=insecure_tls_context())
    m.login(addr, USERS[addr])
    m.select("INBOX")
    uid_of = {re.search(rb"(?m)^Subject: (.*)\r$", b).group(1): u
              for u, (_, b) in msgs.items()}
    typ, dat = m.uid("STORE", str(uid_of[b"first 2"]), "+FLAGS",
                     "(\\Answered)")
    assert typ == "OK", dat
    typ, dat = m.uid("STORE", str(uid_of[b"from mbsync"]), "+FLAGS",
                     "(\\Deleted)")
    assert typ == "OK", dat
    typ, dat = m.expunge()
    assert typ == "OK", dat
    m.logout()
    later = deliver(srv, addr, 1, "later")
    out = mb.run()
    files = loc.files()
    subjects = {re.search(rb"(?m)^Subject: (.*)$", read(p)).group(1): fl
                for p, fl in files.items()}
    assert subjects == {b"first 0": "FS", b"first 2": "R", b"later 0": ""}, \
        (subjects, out)
    assert loc.contents() == sorted(strip_tuid(c)
                                    for c in tem_contents(srv, addr))
    assert any(c.endswith(later[0].replace(b"\r\n", b"\n"))
               for c in loc.contents())

    # 4. Two more runs change nothing on either side (no duplicates).
    before = (loc.snapshot(), sorted(tem_files(srv, addr).values()),
              sorted(tem_files(srv, addr, ".Projects").values()))
    for _ in range(2):
        mb.run()
        after = (loc.snapshot(), sorted(tem_files(srv, addr).values()),
                 sorted(tem_files(srv, addr, ".Projects").values()))
        assert after == before, "a repeated sync changed something"
    assert len(imap_messages(srv, addr, USERS[addr])) == 3


def test_mbsync_over_starttls(keep_on_failure, cert, tmp_path):
    need("mbsync", "isync")
    srv = keep_on_failure
    addr = "carol@a.test"
    deliver(srv, addr, 2, "plain port")
    mb = MbSync(tmp_path, srv.ports["imap"], addr, USERS[addr], cert[0],
                ssltype="STARTTLS")
    out = mb.run()
    assert "Connection is now encrypted" in out, out
    assert mb.local.contents() == tem_contents(srv, addr)
    assert len(mb.local.files()) == 2


# --- curl -------------------------------------------------------------------

def curl(srv, path, *extra, tls=False):
    """curl URL (imap[s]://127.0.0.1:PORT/PATH) as bob; returns stdout."""
    scheme, port = ("imaps", srv.ports["imaps"]) if tls else \
        ("imap", srv.ports["imap"])
    cmd = ["curl", "-sS", "--max-time", "20", "-u",
           "bob@a.test:" + USERS["bob@a.test"]]
    if tls:
        cmd.append("-k")
    cmd += list(extra) + ["%s://127.0.0.1:%d/%s" % (scheme, port, path)]
    p = subprocess.run(cmd, capture_output=True, timeout=RUN_TIMEOUT)
    assert p.returncode == 0, "%s -> exit %d: %s" % (
        " ".join(cmd[4:]), p.returncode, p.stderr.decode(errors="replace"))
    return p.stdout


@pytest.mark.parametrize("tls", [False, True], ids=["imap", "imaps"])
def test_curl_reads_the_mailbox(keep_on_failure, tls):
    need("curl", "curl")
    srv = keep_on_failure
    addr = "bob@a.test"
    before = len(tem_files(srv, addr))
    deliver(srv, addr, 2, "curl %s" % tls)
    stored = [read(p) for p in srv.maildir_files(addr)]
    assert len(stored) == before + 2

    # LIST (the URL names no mailbox)
    out = curl(srv, "", tls=tls)
    lines = out.split(b"\r\n")
    assert b'* LIST (\\HasNoChildren) "/" INBOX' in lines, out
    assert any(l.startswith(b"* LIST (") and l.endswith(b'"/" Sent')
               and b"\\Sent" in l for l in lines), out

    # EXAMINE with -X: the untagged answers are curl's output
    out = curl(srv, "INBOX", "-X", "EXAMINE INBOX", tls=tls)
    assert b"* %d EXISTS\r\n" % (before + 2) in out, out
    assert re.search(rb"\* OK \[UIDVALIDITY \d+\]", out), out
    assert re.search(rb"\* OK \[UIDNEXT \d+\]", out), out

    # FETCH by UID (curl: SELECT, then UID FETCH n BODY[]): the stored
    # message with CRLF line ends, byte for byte.
    uids = [int(x) for x in re.findall(
        rb"\d+", curl(srv, "INBOX", "-X", "UID SEARCH ALL", tls=tls)
        .partition(b"SEARCH")[2])]
    assert len(uids) == before + 2, uids
    # Maildir names do not sort in arrival order within one second, so
    # each fetched message is matched to the stored copy with its id.
    wanted = {crlf(d) for d in stored}
    seen = set()
    for uid in sorted(uids)[-2:]:
        got = curl(srv, "INBOX;UID=%d" % uid, tls=tls)
        assert got in wanted, min((first_difference(got, w)
                                   for w in wanted), key=len)
        seen.add(got)
    assert len(seen) == 2

    # a section of a message chosen by sequence number
    n = before + 2
    got = curl(srv, "INBOX;MAILINDEX=%d;SECTION=HEADER.FIELDS%%20(SUBJECT)"
               % n, tls=tls)
    assert got == b"Subject: curl %s 1\r\n\r\n" % str(tls).encode(), got

    # SEARCH through the URL (SEARCH in the selected mailbox) and with -X
    out = curl(srv, "INBOX?SUBJECT%%20%%22curl%%20%s%%22" % tls, tls=tls)
    assert out.strip() == b"* SEARCH %d %d" % (n - 1, n), out
    out = curl(srv, "INBOX", "-X", "UID SEARCH SUBJECT \"curl %s 1\"" % tls,
               tls=tls)
    assert out.strip() == b"* SEARCH %d" % max(uids), out
    # fetching them whole by UID (BODY[]) set \Seen on both
    out = curl(srv, "INBOX", "-X", "UID SEARCH UNSEEN", tls=tls)
    unseen = [int(x) for x in re.findall(rb"\d+", out)]
    assert not set(sorted(uids)[-2:]) & set(unseen), out


def test_curl_appends(keep_on_failure, tmp_path):
    need("curl", "curl")
    srv = keep_on_failure
    addr = "bob@a.test"
    msg = simple_message("uploaded by curl", b"Line 1.\r\n.\r\nLast.\r\n",
                         mail_from=addr, to="x@b.test")
    src = tmp_path / "msg.eml"
    src.write_bytes(msg)
    before = set(tem_files(srv, addr))
    curl(srv, "INBOX", "-T", str(src))
    new = [p for p in tem_files(srv, addr) if p not in before]
    assert len(new) == 1, new
    assert read(new[0]) == msg.replace(b"\r\n", b"\n")
    out = curl(srv, "INBOX", "-X", 'SEARCH SUBJECT "uploaded by curl"')
    assert re.fullmatch(rb"\* SEARCH \d+", out.strip()), out
