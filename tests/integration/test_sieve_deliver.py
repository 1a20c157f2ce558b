"""test_sieve_deliver - Sieve at delivery through the real server: scripts
put with `tem sieve put` + `activate`, mail over SMTP (smtplib), results
seen over IMAP (imaplib): fileinto (existing folder, :create, a missing
folder falling back to INBOX), imap4flags, editheader, discard, reject
(550 when every recipient rejects, else a rejection MDN to the sender),
the error notice of a script failing at run time, and sieve_before.
(Vacation and redirect end to end are test_sieve_outbound's.)
"""

import email
import imaplib
import os
import smtplib
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import TemServer, wait_for  # noqa: E402

USERS = {
    "alice@a.test": "alice-Secret-1",
    "bob@a.test": "bob-Secret-2",
    "carol@a.test": "carol-Secret-3",
}


def put(tem, user, text, name="main"):
    tem.admin("sieve", "put", user, name, stdin=text)
    tem.admin("sieve", "activate", user, name)


def send(tem, rcpts, subject="hello", sender="carol@a.test", body="body\n",
         extra=""):
    msg = ("From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\n%s" % (
        sender, ", ".join(rcpts), subject, extra, body))
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=30) as s:
        return s.sendmail(sender, rcpts, msg)


def imap(tem, user):
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    m.login(user, USERS[user])
    return m


def fetch_all(m, folder="INBOX"):
    """[(flags, message)] of a folder."""
    typ, _ = m.select('"%s"' % folder, readonly=True)
    assert typ == "OK", folder
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])")
    if typ != "OK" or data == [None]:
        return []
    out = []
    for item in data:
        if isinstance(item, tuple):
            flags = imaplib.ParseFlags(item[0])
            out.append((set(f.decode() for f in flags),
                        email.message_from_bytes(item[1])))
    return out


def count(m, folder):
    typ, data = m.status('"%s"' % folder, "(MESSAGES)")
    assert typ == "OK", (folder, data)
    return int(data[0].split(b"MESSAGES ")[1].rstrip(b")"))


@pytest.fixture
def tem():
    with TemServer(users=USERS, services=("smtp", "imap"),
                   extra_conf={"auth_allow_cleartext": "yes"}) as t:
        yield t


def test_fileinto_create_fallback_and_flags(tem):
    m = imap(tem, "alice@a.test")
    assert m.create("Lists")[0] == "OK"
    put(tem, "alice@a.test", """\
require ["fileinto", "mailbox", "imap4flags"];
if header :contains "subject" "list" { fileinto "Lists"; stop; }
if header :contains "subject" "new" { fileinto :create "New/Sub"; stop; }
if header :contains "subject" "missing" { fileinto "Nowhere"; stop; }
if header :contains "subject" "boss" {
  addflag ["\\\\Flagged", "$Boss"]; keep; stop;
}
""")
    send(tem, ["alice@a.test"], subject="a list mail")
    send(tem, ["alice@a.test"], subject="something new")
    send(tem, ["alice@a.test"], subject="missing folder")
    send(tem, ["alice@a.test"], subject="from the boss")
    send(tem, ["alice@a.test"], subject="plain")
    wait_for(lambda: count(m, "INBOX") == 3, what="INBOX has 3")
    assert count(m, "Lists") == 1
    assert count(m, "New/Sub") == 1
    # :create subscribes the new folder, as Pigeonhole does
    typ, data = m.lsub('""', "*")
    assert any(b"New/Sub" in d for d in data), data
    got = {msg["Subject"]: flags for flags, msg in fetch_all(m)}
    assert set(got) == {"missing folder", "from the boss", "plain"}
    assert {"\\Flagged", "$Boss"} <= got["from the boss"]
    assert "\\Flagged" not in got["plain"]
    assert [msg["Subject"] for _, msg in fetch_all(m, "Lists")] == \
        ["a list mail"]
    m.logout()
    log = tem.log_text()
    assert "sieve fileinto-fallback user=alice@a.test" in log
    if not tem.on_pg:       # the Maildir's names: folder .Lists, info :2,F
        assert " folder=.Lists" in log and " info=F" in log


def test_editheader_and_discard(tem):
    put(tem, "alice@a.test", """\
require ["editheader"];
if header :contains "subject" "drop" { discard; stop; }
addheader "X-Sorted" "by sieve";
deleteheader "X-Remove-Me";
""")
    send(tem, ["alice@a.test", "bob@a.test"], subject="edit me",
         extra="X-Remove-Me: yes\r\n")
    send(tem, ["alice@a.test"], subject="drop this")
    m = imap(tem, "alice@a.test")
    wait_for(lambda: count(m, "INBOX") == 1, what="alice's copy")
    [(_, msg)] = fetch_all(m)
    assert msg["X-Sorted"] == "by sieve"
    assert msg["X-Remove-Me"] is None
    assert msg["Delivered-To"] == "alice@a.test"
    m.logout()
    # bob has no script: his copy is the message as it came
    b = imap(tem, "bob@a.test")
    [(_, bmsg)] = fetch_all(b)
    assert bmsg["X-Remove-Me"] == "yes" and bmsg["X-Sorted"] is None
    b.logout()
    assert "sieve discarded" in tem.log_text()


def test_reject_all_is_550_else_mdn(tem):
    put(tem, "alice@a.test", """\
require ["reject"];
if header :contains "subject" "spam" {
  reject "Not wanted here.\r\nGo away.";
}
""")
    # the only recipient rejects: the client hears it
    with pytest.raises(smtplib.SMTPDataError) as e:
        send(tem, ["alice@a.test"], subject="spam offer")
    assert e.value.smtp_code == 550
    assert b"5.7.1 Not wanted here.  Go away." in e.value.smtp_error
    # another recipient takes it: 250, and an MDN goes to the sender
    assert send(tem, ["alice@a.test", "bob@a.test"],
                subject="more spam") == {}
    b = imap(tem, "bob@a.test")
    wait_for(lambda: count(b, "INBOX") == 1, what="bob's copy")
    b.logout()
    c = imap(tem, "carol@a.test")
    wait_for(lambda: count(c, "INBOX") == 1, what="the MDN", timeout=60)
    [(_, mdn)] = fetch_all(c)
    c.logout()
    assert mdn["Subject"].startswith("Rejected:")
    assert mdn.get_content_type() == "multipart/report"
    a = imap(tem, "alice@a.test")
    assert count(a, "INBOX") == 0
    a.logout()


def test_runtime_error_keeps_and_notifies(tem):
    put(tem, "alice@a.test", """\
require ["include", "fileinto"];
include :personal "no-such-script";
fileinto "Never";
""")
    send(tem, ["alice@a.test"], subject="important")
    m = imap(tem, "alice@a.test")
    wait_for(lambda: count(m, "INBOX") == 2, what="message and notice")
    subjects = [msg["Subject"] for _, msg in fetch_all(m)]
    m.logout()
    assert "important" in subjects
    assert "Sieve script failed: main" in subjects
    log = tem.log_text()
    assert "sieve script-failed" in log and "user=alice@a.test" in log


def test_sieve_before(tmp_path):
    before = tmp_path / "before.sieve"
    before.write_text('require ["fileinto", "mailbox"];\n'
                      'if header :contains "subject" "[spam]" {\n'
                      '  fileinto :create "Junk-Sieve"; stop;\n}\n')
    with TemServer(users=USERS, services=("smtp", "imap"),
                   extra_conf={"sieve_before": str(before),
                               "auth_allow_cleartext": "yes"}) as tem:
        # bob has no script of his own: the global one still runs
        send(tem, ["bob@a.test"], subject="[spam] buy now")
        send(tem, ["bob@a.test"], subject="hi bob")
        b = imap(tem, "bob@a.test")
        wait_for(lambda: count(b, "INBOX") == 1, what="bob's INBOX")
        assert count(b, "Junk-Sieve") == 1
        b.logout()


def test_sieve_before_must_compile(tmp_path):
    before = tmp_path / "before.sieve"
    before.write_text('keep;\nfrobnicate;\n')
    conf = tmp_path / "tem.conf"
    conf.write_text("data_dir = %s\nrun_as =\nsieve_before = %s\n"
                    "smtp_listen = 127.0.0.1:0\n" % (tmp_path / "data", before))
    p = subprocess.run([TemServer().bin, "-c", str(conf), "serve"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode != 0, out
    assert "%s:2: " % before in out, out


def test_alias_runs_each_users_script(tmp_path):
    with TemServer(users=USERS, services=("smtp", "imap"),
                   aliases={"team@a.test": ["alice@a.test", "bob@a.test"]},
                   extra_conf={"auth_allow_cleartext": "yes"}) as tem:
        put(tem, "alice@a.test", 'require ["fileinto", "mailbox"];\n'
            'if address :is "to" "team@a.test" {\n'
            '  fileinto :create "Team"; stop;\n}\n')
        put(tem, "bob@a.test", 'require "imap4flags";\n'
            'addflag "\\\\Seen";\n')
        send(tem, ["team@a.test"], subject="to the team")
        a = imap(tem, "alice@a.test")
        wait_for(lambda: count(a, "Team") == 1, what="alice's Team")
        assert count(a, "INBOX") == 0
        a.logout()
        b = imap(tem, "bob@a.test")
        wait_for(lambda: count(b, "INBOX") == 1, what="bob's INBOX")
        [(flags, msg)] = fetch_all(b)
        assert "\\Seen" in flags and msg["Subject"] == "to the team"
        b.logout()
