"""test_sieve_fast - Sieve at delivery when the stage runs scripts on the
loop (msg/sieve_fast.c: the user's compiled script remembered from the
last job, trusted 1 s): mail in one SMTP session, one message after the
other, gets the same results as through the job (keep, discard, reject
→ 550; fileinto and flags on the loop once a job resolved the same
folder and flag set), and a script changed over
ManageSieve (PUTSCRIPT, RENAMESCRIPT of the active script, SETACTIVE)
applies to the very next message, not after the memory's second.
"""

import os
import smtplib
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from sieveclient import SieveConn, lit, q  # noqa: E402
from temserver import PASSWORDS, TemServer  # noqa: E402

ALICE = "alice@a.test"
SCRIPT = """require ["fileinto", "mailbox", "reject", "imap4flags"];
if header :contains "subject" "drop" { discard; }
elsif header :contains "subject" "refuse" { reject "not wanted"; }
elsif header :contains "subject" "folder" { fileinto :create "F"; }
elsif header :contains "subject" "flag" { addflag "\\\\Flagged"; }
"""


@pytest.fixture
def tem():
    with TemServer(services=("smtp", "managesieve")) as t:
        yield t


def msg(subject, n):
    return ("From: carol@b.test\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%d.%s@b.test>\r\n\r\nbody\r\n" % (
                ALICE, subject, n, subject))


def send(s, subject, n):
    """The reply code of the message's end of data."""
    try:
        s.sendmail("carol@b.test", [ALICE], msg(subject, n))
        return 250
    except smtplib.SMTPDataError as e:
        return e.smtp_code


def files(tem, folder=""):
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(tem.maildir(ALICE, folder), sub)
        if os.path.isdir(d):
            out += [os.path.join(d, n) for n in os.listdir(d)]
    return sorted(out)


def test_results_back_to_back(tem):
    tem.admin("sieve", "put", ALICE, "main", stdin=SCRIPT)
    tem.admin("sieve", "activate", ALICE, "main")
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=30) as s:
        codes = [send(s, subj, i) for i, subj in enumerate(
            ["keep", "drop", "refuse", "folder", "keep", "flag", "drop",
             "keep", "refuse"])]
    assert codes == [250, 250, 550, 250, 250, 250, 250, 250, 550]
    inbox = files(tem)
    assert len(inbox) == 4          # keep x3 + flag
    flagged = [p for p in inbox if p.endswith(":2,F")]
    assert len(flagged) == 1, inbox
    assert len(files(tem, ".F")) == 1


def test_folders_and_flags_repeated(tem):
    # the first of each kind goes through the job, which remembers the
    # folder and the flag letters; the next ones are filed on the loop
    tem.admin("sieve", "put", ALICE, "main", stdin=SCRIPT)
    tem.admin("sieve", "activate", ALICE, "main")
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=30) as s:
        codes = [send(s, subj, i) for i, subj in enumerate(
            ["folder", "folder", "flag", "flag", "folder", "flag"])]
    assert codes == [250] * 6
    assert len(files(tem, ".F")) == 3
    inbox = files(tem)
    assert len(inbox) == 3 and all(p.endswith(":2,F") for p in inbox), \
        inbox


def test_body_test_job_then_loop(tem):
    # the first message goes through the job (nothing known yet), the
    # next ones run on the loop: both read the body
    tem.admin("sieve", "put", ALICE, "b", stdin=(
        'require "body";\nif body :contains "secret-word" { discard; }\n'))
    tem.admin("sieve", "activate", ALICE, "b")
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=30) as s:
        for i in range(4):
            body = "x" * 70000 + "\r\nthe secret-word\r\n" if i % 2 == 0 \
                else "plain\r\n"
            s.sendmail("carol@b.test", [ALICE],
                       msg("b%d" % i, i).replace("body\r\n", body))
    assert len(files(tem)) == 2


def session(tem):
    c = SieveConn(tem.ports["managesieve"])
    c.starttls()
    c.login(ALICE, PASSWORDS[ALICE])
    return c


def test_managesieve_changes_apply_at_once(tem):
    with session(tem) as c, \
            smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=30) as s:
        assert c.cmd("PUTSCRIPT", q("a"),
                     lit('require "reject"; reject "no";')).status == "OK"
        assert c.cmd("SETACTIVE", q("a")).status == "OK"
        assert send(s, "one", 1) == 550
        assert send(s, "two", 2) == 550     # remembered
        assert c.cmd("PUTSCRIPT", q("a"), lit("discard;")).status == "OK"
        assert send(s, "three", 3) == 250
        assert files(tem) == []
        assert c.cmd("PUTSCRIPT", q("b"), lit("keep;")).status == "OK"
        assert c.cmd("SETACTIVE", q("b")).status == "OK"
        assert send(s, "four", 4) == 250
        assert len(files(tem)) == 1
        assert c.cmd("PUTSCRIPT", q("b"),
                     lit('require "reject"; reject "no";')).status == "OK"
        assert c.cmd("RENAMESCRIPT", q("b"), q("c")).status == "OK"
        assert send(s, "five", 5) == 550
        assert c.cmd("SETACTIVE", q("")).status == "OK"
        assert send(s, "six", 6) == 250
        assert len(files(tem)) == 2
