"""test_mutt - mutt (SPEC: `mutt -f` on the Maildir) reads what tem
delivered: two messages arrive over SMTP, then `mutt -f MAILDIR` runs in a
pseudo-terminal (Python's pty, 120x40) and is typed at like a user, each
key sent once the screen shows what the previous one should have: the
index must list both subjects, Enter must show the first body in the
pager, `j` the second one (quoted-printable UTF-8, shown decoded), `q q`
quits.

mutt runs with -n -F /dev/null (no system or user config) and -R (read
only: it changes nothing in the Maildir)."""

import os
import shutil

from ptyscreen import Screen, terminal_env
from temserver import send_mail

ALICE = "alice@a.test"


def test_mutt_reads_the_delivered_maildir(tem, tmp_path):
    mutt = shutil.which("mutt")
    assert mutt, "mutt missing (Debian package mutt; scripts/deps.sh TEST)"
    send_mail(tem.smtp_port, "sender@b.test", [ALICE],
              b"From: Sender <sender@b.test>\r\nTo: <alice@a.test>\r\n"
              b"Subject: first from tem\r\nDate: Sun, 6 Dec 2026 10:00:00 "
              b"+0000\r\nMessage-ID: <m1@b.test>\r\n\r\n"
              b"plain body line seen in the pager\r\n")
    send_mail(tem.smtp_port, "sender@b.test", [ALICE],
              b"From: Sender <sender@b.test>\r\nTo: <alice@a.test>\r\n"
              b"Subject: second from tem\r\nDate: Sun, 6 Dec 2026 10:01:00 "
              b"+0000\r\nMessage-ID: <m2@b.test>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: text/plain; charset=utf-8\r\n"
              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
              b"Gr=C3=BC=C3=9Fe aus dem Maildir\r\n")
    maildir = tem.maildir(ALICE)
    os.mkdir(str(tmp_path / "Mail"))     # mutt's $folder, else it asks
    env = terminal_env(tmp_path)
    scr = Screen([mutt, "-n", "-F", "/dev/null", "-R", "-f", maildir,
                  "-e", "set sort=date quit=yes mark_old=no help=no "
                  "charset=utf-8 pager_index_lines=0"], env)
    try:
        # the index: both messages, by subject
        scr.wait_text("first from tem")
        scr.wait_text("second from tem")
        # Enter: the first message in the pager; j: the next one there
        at = scr.keys(b"\r")
        scr.wait_text("plain body line seen in the pager", at)
        at = scr.keys(b"j")
        # its body decoded from quoted-printable UTF-8
        scr.wait_text("Grüße aus dem Maildir", at)
        assert "=C3=BC" not in scr.text
        scr.keys(b"q")            # pager -> index
        scr.keys(b"q")            # quit (quit=yes: no question)
        status = scr.wait_exit()
    except BaseException:
        scr.kill()
        raise
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    # read only: the files are untouched in new/
    assert len(os.listdir(os.path.join(maildir, "new"))) == 2
