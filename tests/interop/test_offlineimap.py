"""Interop: offlineimap (Debian package offlineimap) against tem.

offlineimap syncs an account over IMAPS (certificate checked against
`localhost`, see test_imap_clients.py) with a local Maildir, driven by a
generated config, one run at a time (`-o -u basic`):

1. tem -> local: delivered mail arrives byte for byte; every folder is
   listed and made locally.
2. local -> tem: a flag change, a deletion, a new message and a message
   moved from INBOX to Archive are found on tem's disk and through IMAP.
3. tem -> local: a flag set and new mail on tem come back; a further run
   changes nothing on either side.
"""

import imaplib
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import insecure_tls_context, module_server  # noqa: E402
from imapinterop import (RUN_TIMEOUT, cert, deliver,  # noqa: E402,F401
                               imap_messages, need, read, tem_contents,
                               tem_files)

USERS = {"dave@a.test": "dave-Secret-4"}
ADDR = "dave@a.test"


@pytest.fixture(scope="module")
def srv(cert):      # noqa: F811 - the imported fixture
    yield from module_server(services=("smtp", "imaps"), users=USERS,
                             extra_conf={"tls_cert_file": cert[0],
                                         "tls_key_file": cert[1]})


class OfflineImap:
    """offlineimap with a private config: tem's account (IMAPS) against a
    Maildir tree in DIR/mail, metadata in DIR/meta."""

    def __init__(self, tmp, port, cafile):
        self.dir = str(tmp)
        self.mail = os.path.join(self.dir, "mail")
        self.conf = os.path.join(self.dir, "offlineimaprc")
        with open(self.conf, "w") as f:
            f.write("[general]\naccounts = tem\nmetadata = %s/meta\n\n"
                    "[Account tem]\nlocalrepository = near\n"
                    "remoterepository = far\n\n"
                    "[Repository near]\ntype = Maildir\n"
                    "localfolders = %s\nsep = /\n\n"
                    "[Repository far]\ntype = IMAP\nremotehost = localhost\n"
                    "remoteport = %d\nremoteuser = %s\nremotepass = %s\n"
                    "ssl = yes\nsslcacertfile = %s\n"
                    % (self.dir, self.mail, port, ADDR, USERS[ADDR], cafile))
        self.env = dict(os.environ, HOME=self.dir)

    def run(self):
        p = subprocess.run(["offlineimap", "-c", self.conf, "-o", "-u",
                            "basic"], env=self.env, capture_output=True,
                           timeout=RUN_TIMEOUT, cwd=self.dir)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        assert p.returncode == 0, "offlineimap exit %d:\n%s" % (
            p.returncode, out)
        assert "ERROR" not in out, out
        return out

    def files(self, box="INBOX"):
        """{path: flags} of a local folder's messages."""
        out = {}
        for sub in ("new", "cur"):
            d = os.path.join(self.mail, box, sub)
            for n in (os.listdir(d) if os.path.isdir(d) else ()):
                out[os.path.join(d, n)] = n.partition(":2,")[2]
        return out

    def by_subject(self, box="INBOX"):
        return {re.search(rb"(?m)^Subject: (.*)$", read(p)).group(1): p
                for p in self.files(box)}


def imap_box(srv, box):
    """{subject: (flags set, BODY[] bytes)} of BOX, read with imaplib."""
    return {re.search(rb"(?m)^Subject: (.*)\r$", body).group(1):
            (flags, body) for flags, body in
            imap_messages(srv, ADDR, USERS[ADDR], box).values()}


def test_offlineimap_both_ways(srv, cert, tmp_path, request):  # noqa: F811
    need("offlineimap", "offlineimap")
    request.node.tem_servers = [srv]
    sent = deliver(srv, ADDR, 4, "oi")
    oi = OfflineImap(tmp_path, srv.ports["imaps"], cert[0])

    # 1. tem -> local: the four messages (LF line ends, as stored) and
    # every folder of the account.
    oi.run()
    local = sorted(read(p) for p in oi.files())
    assert local == tem_contents(srv, ADDR)
    for m in sent:
        assert any(c.endswith(m.replace(b"\r\n", b"\n")) for c in local)
    for box in ("Archive", "Drafts", "Junk", "Sent", "Trash"):
        assert os.path.isdir(os.path.join(oi.mail, box, "cur")), box

    # 2. local -> tem: flags, a deletion, a new message, a move.
    local = oi.by_subject()
    p = local[b"oi 0"]
    os.rename(p, os.path.join(os.path.dirname(os.path.dirname(p)), "cur",
                              os.path.basename(p).partition(":2,")[0]
                              + ":2,FS"))
    os.unlink(local[b"oi 1"])
    moved = read(local[b"oi 2"])
    os.rename(local[b"oi 2"], os.path.join(
        oi.mail, "Archive", "new", os.path.basename(local[b"oi 2"])
        .partition(",U=")[0]))
    up = (b"From: <dave@a.test>\nTo: <x@b.test>\nSubject: from offlineimap"
          b"\nMessage-ID: <oi-up@a.test>\n\nWritten into the local "
          b"Maildir.\n")
    with open(os.path.join(oi.mail, "INBOX", "new", "1.oi-up.client"),
              "wb") as f:
        f.write(up)
    oi.run()

    inbox = imap_box(srv, "INBOX")
    assert set(inbox) == {b"oi 0", b"oi 3", b"from offlineimap"}, inbox
    assert {"\\Flagged", "\\Seen"} <= inbox[b"oi 0"][0], inbox
    assert "\\Seen" not in inbox[b"oi 3"][0], inbox
    archive = imap_box(srv, "Archive")
    assert [b for _, b in archive.values()] == [
        moved.replace(b"\n", b"\r\n")], archive
    # on tem's disk: the flags in the file names, the new message as sent
    disk = tem_files(srv, ADDR)
    assert sorted(f for _, f in disk.values()) == ["", "", "FS"], disk
    assert up in [read(p) for p in disk], "new local message not on tem"
    assert tem_contents(srv, ADDR, ".Archive") == [moved]

    # 3. tem -> local: a flag set and new mail on tem come back.
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.ports["imaps"],
                          ssl_context=insecure_tls_context())
    m.login(ADDR, USERS[ADDR])
    m.select("INBOX")
    typ, dat = m.search(None, "SUBJECT", '"oi 3"')
    assert typ == "OK" and len(dat[0].split()) == 1, dat
    typ, dat = m.store(dat[0].decode(), "+FLAGS", "(\\Answered)")
    assert typ == "OK", dat
    m.logout()
    later = deliver(srv, ADDR, 1, "later")
    oi.run()
    flags = {s: oi.files()[p] for s, p in oi.by_subject().items()}
    assert flags == {b"oi 0": "FS", b"oi 3": "R", b"from offlineimap": "",
                     b"later 0": ""}, flags
    assert read(oi.by_subject()[b"later 0"]).endswith(
        later[0].replace(b"\r\n", b"\n"))

    # 4. Another run changes nothing on either side.
    before = (sorted(oi.files().items()), sorted(oi.files("Archive")),
              sorted(tem_files(srv, ADDR).values()),
              sorted(tem_files(srv, ADDR, ".Archive").values()))
    oi.run()
    after = (sorted(oi.files().items()), sorted(oi.files("Archive")),
             sorted(tem_files(srv, ADDR).values()),
             sorted(tem_files(srv, ADDR, ".Archive").values()))
    assert after == before, "a repeated sync changed something"

