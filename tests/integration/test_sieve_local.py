"""test_sieve_local - Sieve for mail the queue delivers to a local mailbox
(mta_local.c through msg/sieve_stage.h), as Pigeonhole's LDA runs it for
every local delivery: a redirect to a local user, a vacation reply to a
local sender, a bounce to a local sender and a reject MDN are each
filtered by their recipient's own script; a redirect loop between two
local users ends with one kept copy.

Mail enters over SMTP (smtplib); what the queue makes of it is seen in
the Maildirs once `tem queue list` is empty: a queued recipient is
marked delivered only after every copy, redirect and reply it caused is
durable (the redirect or reply is itself in the queue by then), so an
empty queue means nothing more will arrive.
"""

import email
import os
import smtplib
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import TemServer, wait_for  # noqa: E402

USERS = {a: a.split("@")[0] + "-Secret-1" for a in (
    "alice@a.test", "bob@a.test", "carol@a.test", "dave@a.test")}


def put(tem, user, text):
    tem.admin("sieve", "put", user, "main", stdin=text)
    tem.admin("sieve", "activate", user, "main")


def send(tem, sender, rcpt, subject):
    msg = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@a.test>"
           "\r\n\r\nbody\r\n" % (sender, rcpt, subject,
                                 subject.replace(" ", "-")))
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=30) as s:
        assert s.sendmail(sender, [rcpt], msg) == {}


def messages(tem, user, folder=""):
    """The messages of a folder ("" = INBOX), read from the Maildir (or
    the database)."""
    if tem.on_pg:
        return [email.message_from_bytes(m.replace(b"\r\n", b"\n"))
                for m in tem.pg_messages(user, folder or "INBOX")]
    root = tem.maildir(user, "." + folder if folder else "")
    out = []
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(root, sub))
        except FileNotFoundError:
            continue
        for n in names:
            with open(os.path.join(root, sub, n), "rb") as f:
                out.append(email.message_from_bytes(f.read()))
    return out


def all_messages(tem, user):
    """Every message of user's Maildir, any folder."""
    if tem.on_pg:
        return [m for f in tem.pg_folders(user)
                for m in messages(tem, user, "" if f == "INBOX" else f)]
    root = tem.maildir(user)
    folders = [""] + [d[1:] for d in os.listdir(root)
                      if d.startswith(".") and
                      os.path.isdir(os.path.join(root, d))]
    return [m for f in folders for m in messages(tem, user, f)]


def arrived(tem, user, folder, n=1):
    """Waits for n messages in user's folder and for the queue to empty
    (nothing more to come); returns the folder's messages."""
    wait_for(lambda: len(messages(tem, user, folder)) >= n,
             what="%d in %s's %s" % (n, user, folder or "INBOX"))
    tem.wait_queue_empty(timeout=60)
    got = messages(tem, user, folder)
    assert len(got) == n, got
    return got


@pytest.fixture
def tem():
    with TemServer(users=USERS, services=("smtp",)) as t:
        yield t


def test_redirect_to_local_user_runs_their_script(tem):
    put(tem, "alice@a.test", 'redirect "bob@a.test";\n')
    put(tem, "bob@a.test", 'require ["fileinto", "mailbox"];\n'
        'if header :contains "subject" "report" {\n'
        '  fileinto :create "Reports";\n}\n')
    send(tem, "carol@a.test", "alice@a.test", "weekly report")
    [msg] = arrived(tem, "bob@a.test", "Reports")
    assert msg["Subject"] == "weekly report"
    assert msg["X-Sieve-Redirected-From"] == "alice@a.test"
    assert msg["Delivered-To"] == "bob@a.test"
    assert msg["Return-Path"] == "<alice@a.test>"
    assert messages(tem, "bob@a.test") == []
    assert all_messages(tem, "alice@a.test") == []
    log = tem.log_text()
    # the queue's own lines: its id, module mta, Sieve's folder
    assert " mta delivered msgid=" in log and "folder=.Reports" in log


@pytest.mark.embedded_only
def test_vacation_reply_filtered_by_local_sender(tem):
    put(tem, "bob@a.test", 'require ["vacation"];\n'
        'vacation :days 1 :addresses ["bob@a.test"] "Away until Monday.";\n')
    os.makedirs(os.path.join(tem.maildir("dave@a.test", ".Auto"), "cur"))
    put(tem, "dave@a.test", 'require "fileinto";\n'
        'if header :is "auto-submitted" "auto-replied" {\n'
        '  fileinto "Auto";\n}\n')
    send(tem, "dave@a.test", "bob@a.test", "are you there")
    [reply] = arrived(tem, "dave@a.test", "Auto")
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == "<are-you-there@a.test>"
    assert messages(tem, "dave@a.test") == []
    assert len(messages(tem, "bob@a.test")) == 1


def test_bounce_and_reject_mdn_filtered_by_local_sender(tem):
    # alice's redirects go to bob (who rejects them) or to no one (the
    # queue bounces them to alice); what comes back from <> is sorted
    put(tem, "alice@a.test", 'require ["envelope", "fileinto", "mailbox"];\n'
        'if envelope :is "from" "" { fileinto :create "Returns"; stop; }\n'
        'if header :contains "subject" "lost" { redirect "nobody@a.test";'
        ' stop; }\n'
        'redirect "bob@a.test";\n')
    put(tem, "bob@a.test", 'require "reject";\n'
        'reject "Not from you.";\n')
    send(tem, "carol@a.test", "alice@a.test", "lost letter")
    send(tem, "carol@a.test", "alice@a.test", "for bob")
    reports = arrived(tem, "alice@a.test", "Returns", 2)
    assert [m.get_content_type() for m in reports] == \
        ["multipart/report"] * 2
    kinds = sorted(m.get_param("report-type") for m in reports)
    assert kinds == ["delivery-status", "disposition-notification"]
    assert messages(tem, "alice@a.test") == []
    assert all_messages(tem, "bob@a.test") == []
    log = tem.log_text()
    assert "sieve rejected msgid=" in log and "user=bob@a.test" in log


def test_reject_of_null_sender_is_dropped(tem):
    # a bounce (from <>) to bob, whose script rejects it: no MDN to <>
    put(tem, "bob@a.test", 'require ["envelope", "reject"];\n'
        'if envelope :is "from" "" { reject "No bounces."; stop; }\n'
        'redirect "nobody@a.test";\n')
    send(tem, "carol@a.test", "bob@a.test", "to no one")
    wait_for(lambda: "sieve reject-dropped" in tem.log_text(),
             what="the dropped reject")
    tem.wait_queue_empty(timeout=60)
    assert all_messages(tem, "bob@a.test") == []
    assert all_messages(tem, "carol@a.test") == []
    log = tem.log_text()
    assert "sieve reject-dropped msgid=" in log
    assert "user=bob@a.test from=<>" in log


def test_redirect_loop_between_local_users(tem):
    put(tem, "alice@a.test", 'redirect "bob@a.test";\n')
    put(tem, "bob@a.test", 'redirect "alice@a.test";\n')
    send(tem, "carol@a.test", "alice@a.test", "round and round")
    wait_for(lambda: "sieve redirect-refused" in tem.log_text(),
             what="the loop caught")
    tem.wait_queue_empty(timeout=60)
    # alice → bob → alice: the second visit keeps it, nothing more moves
    [kept] = all_messages(tem, "alice@a.test")
    assert kept["X-Sieve-Redirected-From"] is not None
    assert all_messages(tem, "bob@a.test") == []
    assert all_messages(tem, "carol@a.test") == []
    log = tem.log_text()
    assert log.count(" redirected msgid=") == 2, log
    assert "sieve redirect-refused user=alice@a.test to=<bob@a.test> " \
        "reason=loop" in log
    assert tem.queue_ids() == []


def test_redirect_of_one_message_is_sent_once(tem):
    # the same message (one Message-ID) coming back to alice is neither
    # redirected again nor kept, as Pigeonhole's redirect memory does:
    # scripts redirecting to each other cannot multiply a message
    put(tem, "alice@a.test", 'redirect "bob@a.test";\n')
    send(tem, "carol@a.test", "alice@a.test", "only once")
    arrived(tem, "bob@a.test", "")
    send(tem, "carol@a.test", "alice@a.test", "only once")
    wait_for(lambda: "sieve redirect-duplicate" in tem.log_text(),
             what="the duplicate redirect")
    tem.wait_queue_empty(timeout=60)
    assert len(all_messages(tem, "bob@a.test")) == 1
    assert all_messages(tem, "alice@a.test") == []
    send(tem, "carol@a.test", "alice@a.test", "another one")
    arrived(tem, "bob@a.test", "", 2)
