"""Interop: neomutt (Debian package neomutt) reads and changes a mailbox
on tem over IMAPS.

neomutt runs with no system or user config but a generated one (-n -F):
the account on tem's IMAPS port at `localhost`, the test's own
certificate trusted ($certificate_file, see test_imap_clients.py for the
host name). It runs in a pseudo-terminal (tests/lib/ptyscreen.py) and is typed
at, each key once the screen shows what the previous one should have:

- the index lists both delivered messages; Enter shows the first body
  (a FETCH: \\Seen set), `F` flags it;
- the second is saved (`s`) to =Archive and the mailbox synced (`$`):
  neomutt copies it, marks it \\Deleted and expunges it;
- `c` `?` Tab opens the folder browser on the account: tem's folders are
  listed (IMAP LIST);
- then quit. tem's side is checked through imaplib and on its disk: INBOX
  holds the first message, \\Seen and \\Flagged; Archive holds the second,
  byte for byte.
"""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import module_server, send_mail  # noqa: E402
from imapinterop import cert, read, tem_files  # noqa: E402,F401
from ptyscreen import Screen, terminal_env  # noqa: E402

ADDR = "erin@a.test"
USERS = {ADDR: "erin-Secret-5"}
FIRST = (b"From: Sender <sender@b.test>\r\nTo: <erin@a.test>\r\n"
         b"Subject: neomutt first\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\n"
         b"Message-ID: <n1@b.test>\r\n\r\nthe first body, read in the "
         b"pager\r\n")
SECOND = (b"From: Sender <sender@b.test>\r\nTo: <erin@a.test>\r\n"
          b"Subject: neomutt second\r\nDate: Sun, 6 Dec 2026 10:01:00 "
          b"+0000\r\nMessage-ID: <n2@b.test>\r\n\r\nthe second body, "
          b"saved to the archive\r\n")


@pytest.fixture(scope="module")
def srv(cert):      # noqa: F811 - the imported fixture
    yield from module_server(services=("smtp", "imaps"), users=USERS,
                             extra_conf={"tls_cert_file": cert[0],
                                         "tls_key_file": cert[1]})


def muttrc(path, port, cafile):
    with open(path, "w") as f:
        f.write('set folder="imaps://localhost:%d/"\n'
                'set imap_user="%s"\nset imap_pass="%s"\n'
                'set spoolfile="+INBOX"\nset certificate_file="%s"\n'
                "set ssl_verify_host=yes\nset sort=date\nset quit=yes\n"
                "set delete=yes\nset confirmappend=no\nset mark_old=no\n"
                "set help=no\nset move=no\nset imap_check_subscribed=no\n"
                "set charset=utf-8\nset header_cache=\n"
                "set message_cachedir=\nset timeout=1\n"
                "set mail_check=1\nset pager_index_lines=0\n"
                % (port, ADDR, USERS[ADDR], cafile))


def test_neomutt_reads_flags_and_moves(srv, cert, tmp_path,  # noqa: F811
                                       request):
    neomutt = shutil.which("neomutt")
    assert neomutt, "neomutt missing (Debian package neomutt; " \
        "scripts/deps.sh TEST)"
    request.node.tem_servers = [srv]
    for m in (FIRST, SECOND):
        send_mail(srv.smtp_port, "sender@b.test", [ADDR], m)
    rc = str(tmp_path / "muttrc")
    muttrc(rc, srv.ports["imaps"], cert[0])
    env = terminal_env(tmp_path)
    scr = Screen([neomutt, "-n", "-F", rc], env)
    try:
        # the index over IMAPS: both messages (sort=date: first on top)
        scr.wait_text("neomutt first")
        scr.wait_text("neomutt second")
        # Enter: the first body in the pager (FETCH); back with i
        at = scr.keys(b"\r")
        scr.wait_text("the first body, read in the pager", at)
        at = scr.keys(b"i")
        scr.wait_text("neomutt second", at)
        # F flags the first; j s =Archive saves the second there
        scr.keys(b"F")
        at = scr.keys(b"j")
        at = scr.keys(b"s")
        scr.wait_text("Save to mailbox", at)
        at = scr.keys(b"\x15=Archive\r")    # ^U: not the default =sender
        scr.wait_text("Copying to", at)
        # $ writes the changes: \Flagged, and the saved one expunged
        at = scr.keys(b"$")
        scr.wait_text("neomutt first", at)
        # c ?: the folder browser lists tem's folders
        at = scr.keys(b"c")
        scr.wait_text("Open mailbox", at)
        at = scr.keys(b"?")
        scr.wait_text("Mailboxes", at)  # none declared: Tab lists $folder
        at = scr.keys(b"\t")
        for box in ("Archive", "Drafts", "Junk", "Sent", "Trash"):
            scr.wait_text(box, at)
        at = scr.keys(b"q")     # leave the browser
        scr.wait_text("NeoMutt: +INBOX", at)
        scr.keys(b"q")          # quit (quit=yes: no question)
        status = scr.wait_exit()
    except BaseException:
        scr.kill()
        raise
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    inbox = tem_files(srv, ADDR)
    assert len(inbox) == 1, inbox
    (path, (_, flags)), = inbox.items()
    assert read(path).endswith(FIRST.replace(b"\r\n", b"\n"))
    assert flags == "FS", flags
    archive = tem_files(srv, ADDR, ".Archive")
    assert len(archive) == 1, archive
    (path, _), = archive.items()
    assert read(path).endswith(SECOND.replace(b"\r\n", b"\n")), read(path)
