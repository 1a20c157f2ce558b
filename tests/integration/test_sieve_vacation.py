"""Sieve's outbound mail between two tem instances: vacation replies
(RFC 5230, RFC 3834) and redirects go through A's queue to B.

Hosts: tem A serves a.test on 127.0.0.2, tem B serves b.test on
127.0.0.3, both on one shared port (as MX hosts all listen on 25) and both
resolving through a private unbound (tests/lib/dnsserver.py). Users of B
submit mail to users of A over B's submission port; A runs its users'
scripts at delivery.

Waiting: A's replies and redirects are queued (durable) before A answers
the 250 that ends B's delivery, so "B's queue is empty, then A's queue is
empty" means every message A was going to send has been sent; a reply
that did not arrive by then was never made.
"""

import email
import email.policy
import os
import smtplib
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from temserver import (TemServer, insecure_tls_context,  # noqa: E402
                       shared_port, wait_for)

A_USERS = {
    "alice@a.test": "alice-secret-1",   # on vacation
    "fred@a.test": "fred-secret-1",     # redirects to carol@b.test
    "gus@a.test": "gus-secret-1",       # redirects to hal@b.test (loop)
    "kim@a.test": "kim-secret-1",       # a script that fails at run time
    "lee@a.test": "lee-secret-1",       # no script: writes to alice
    "max@a.test": "max-secret-1",       # rejects everything
}
B_USERS = {a: a.split("@")[0] + "-secret-1" for a in (
    "bob@b.test", "carol@b.test", "dave@b.test", "erin@b.test",
    "hal@b.test", "ivy@b.test")}

VACATION = """require ["vacation"];
vacation :days 7 :subject "Away: back on Monday"
    :addresses ["alice@a.test"]
    "I am away until Monday.
Your mail will be read then.
";
"""
REDIRECT_FRED = 'redirect "carol@b.test";\n'
REDIRECT_GUS = 'redirect "hal@b.test";\n'
REDIRECT_HAL = 'redirect "gus@a.test";\n'
REJECT = 'require "reject";\nreject "I do not take mail any more.";\n'
FAILING = 'require "include";\nkeep;\ninclude :personal "missing";\n'


def zones():
    return {
        "a.test": ["a.test. 300 IN MX 10 mx.a.test.",
                   "mx.a.test. 300 IN A 127.0.0.2"],
        "b.test": ["b.test. 300 IN MX 10 mx.b.test.",
                   "mx.b.test. 300 IN A 127.0.0.3"],
    }


def put_script(tem, address, text):
    tem.admin("sieve", "put", address, "main", stdin=text)
    tem.admin("sieve", "activate", address, "main")


@pytest.fixture(scope="module")
def hosts():
    port = shared_port()
    dns = DnsServer(zones())
    dns.__enter__()
    conf = {"dns_server": dns.addr, "outbound_port": str(port),
            "queue_retry_base": "1s"}
    a = TemServer(users=A_USERS, domains=("a.test",), hostname="mx.a.test",
                  listen_addr="127.0.0.2", smtp_port=port,
                  services=("smtp", "submission"), extra_conf=conf)
    b = TemServer(users=B_USERS, domains=("b.test",), hostname="mx.b.test",
                  listen_addr="127.0.0.3", smtp_port=port,
                  services=("smtp", "submission"), extra_conf=conf)
    started = []
    try:
        for t in (a, b):
            t.__enter__()
            started.append(t)
        put_script(a, "alice@a.test", VACATION)
        put_script(a, "fred@a.test", REDIRECT_FRED)
        put_script(a, "gus@a.test", REDIRECT_GUS)
        put_script(a, "kim@a.test", FAILING)
        put_script(a, "max@a.test", REJECT)
        put_script(b, "hal@b.test", REDIRECT_HAL)
        yield a, b
    except BaseException:
        for t in started:
            t.keep = True
        raise
    finally:
        for t in reversed(started):
            t.__exit__(None, None, None)
        dns.__exit__(None, None, None)


def send_from_b(b, sender, rcpts, subject, msgid, to=None, extra=""):
    """bob (or another user of B, or of A when b is A) submits a message
    on b; returns once b accepted it."""
    msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"
           "Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n%s\r\nHello.\r\n"
           % (sender, to or ", ".join(rcpts), subject, msgid, extra))
    with smtplib.SMTP(b.listen_addr, b.ports["submission"],
                      timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(sender, {**A_USERS, **B_USERS}[sender])
        s.sendmail(sender, rcpts, msg.encode())


def settle(a, b):
    """Everything B sent reached A, and everything A then queued left."""
    b.wait_queue_empty()
    a.wait_queue_empty()


def inbox(tem, address):
    return [email.message_from_bytes(m, policy=email.policy.default)
            for m in tem.maildir_messages(address)]


def replies_in(tem, address):
    return [m for m in inbox(tem, address)
            if m.get("Auto-Submitted", "").startswith("auto-replied")]


def test_vacation_reply_arrives_once(hosts):
    a, b = hosts
    send_from_b(b, "bob@b.test", ["alice@a.test"], "lunch?", "m1@b.test")
    settle(a, b)
    got = wait_for(lambda: replies_in(b, "bob@b.test"),
                   what="the vacation reply at B")
    assert len(got) == 1
    r = got[0]
    raw = b.maildir_messages("bob@b.test")[0]
    # sent from the null sender (RFC 5230 5): B stored Return-Path <>
    assert raw.startswith(b"Return-Path: <>\n")
    assert r["From"].addresses[0].addr_spec == "alice@a.test"
    assert r["To"].addresses[0].addr_spec == "bob@b.test"
    assert str(r["Subject"]) == "Away: back on Monday"
    assert r["Auto-Submitted"] == "auto-replied"
    assert r["In-Reply-To"] == "<m1@b.test>"
    assert "<m1@b.test>" in r["References"]
    assert r["Message-ID"].endswith("@mx.a.test>")
    assert "I am away until Monday." in r.get_content()
    # alice got the message itself
    assert any(str(m["Subject"]) == "lunch?" for m in inbox(a,
                                                             "alice@a.test"))

    # a second message within :days: kept, not answered again
    send_from_b(b, "bob@b.test", ["alice@a.test"], "lunch!", "m2@b.test")
    settle(a, b)
    wait_for(lambda: len(inbox(a, "alice@a.test")) == 2,
             what="the second message at A")
    assert len(replies_in(b, "bob@b.test")) == 1
    # the period is per sender: ivy is answered
    send_from_b(b, "ivy@b.test", ["alice@a.test"], "hi", "m3@b.test")
    settle(a, b)
    assert len(wait_for(lambda: replies_in(b, "ivy@b.test"),
                        what="the reply to ivy")) == 1
    # the memory is on disk, 0600, where the scripts are (on PostgreSQL:
    # table sieve_vacation, nothing on disk)
    if not a.on_pg:
        st = os.path.join(a.data_dir, "sieve", "a.test", "alice", "state.db")
        assert os.stat(st).st_mode & 0o777 == 0o600


def test_vacation_reply_to_a_local_sender(hosts):
    """lee is on A too: the reply leaves A's queue by its local path."""
    a, b = hosts
    send_from_b(a, "lee@a.test", ["alice@a.test"], "same house", "l1@a.test")
    got = wait_for(lambda: replies_in(a, "lee@a.test"),
                   what="the vacation reply in lee's INBOX")
    a.wait_queue_empty()
    assert len(got) == 1
    assert a.maildir_messages("lee@a.test")[0].startswith(
        b"Return-Path: <>\n")
    assert got[0]["In-Reply-To"] == "<l1@a.test>"


@pytest.mark.parametrize("sender,extra", [
    ("carol@b.test", "List-Id: <friends.b.test>\r\n"),
    ("dave@b.test", "Precedence: bulk\r\n"),
])
def test_no_reply_to_list_mail(hosts, sender, extra):
    a, b = hosts
    n = len(inbox(a, "alice@a.test"))
    send_from_b(b, sender, ["alice@a.test"], "news", "l-%s" % sender,
                extra=extra)
    settle(a, b)
    wait_for(lambda: len(inbox(a, "alice@a.test")) == n + 1,
             what="the list message at A")
    assert replies_in(b, sender) == []


def test_no_reply_when_not_addressed_to_the_user(hosts):
    """alice only on the envelope (a Bcc): RFC 5230 4.5 says no reply."""
    a, b = hosts
    n = len(inbox(a, "alice@a.test"))
    send_from_b(b, "erin@b.test", ["alice@a.test"], "to the team",
                "bcc1@b.test", to="team@b.test")
    settle(a, b)
    wait_for(lambda: len(inbox(a, "alice@a.test")) == n + 1,
             what="the Bcc'd message at A")
    assert replies_in(b, "erin@b.test") == []


def test_redirect_to_the_other_server(hosts):
    a, b = hosts
    send_from_b(b, "bob@b.test", ["fred@a.test"], "for carol",
                "r1@b.test")
    settle(a, b)
    got = wait_for(lambda: inbox(b, "carol@b.test"),
                   what="the redirected message at B")
    assert len(got) == 1
    m = got[0]
    assert str(m["Subject"]) == "for carol"
    assert m["Message-ID"] == "<r1@b.test>"
    # redirect is not keep: fred's INBOX stays empty
    assert inbox(a, "fred@a.test") == []
    # the envelope sender sieve-deliver chose: the redirecting user (no
    # SPF trouble for A, bounces come back to fred)
    raw = b.maildir_messages("carol@b.test")[0]
    assert raw.startswith(b"Return-Path: <fred@a.test>\n")


def test_redirect_loop_is_caught(hosts):
    """gus@a.test redirects to hal@b.test, who redirects back: the second
    time the message reaches gus it is kept, not sent round again."""
    a, b = hosts
    send_from_b(b, "bob@b.test", ["gus@a.test"], "round and round",
                "loop1@b.test")
    got = wait_for(lambda: inbox(a, "gus@a.test"), timeout=60,
                   what="the looping message kept at A")
    settle(a, b)
    assert len(got) == 1 and str(got[0]["Subject"]) == "round and round"
    assert inbox(b, "hal@b.test") == []
    assert "sieve redirect-refused user=gus@a.test to=<hal@b.test> " \
        "reason=loop" in a.log_text()


def test_failing_script_keeps_and_tells_the_user(hosts):
    """A run-time error (a missing include): the message is kept in INBOX
    and a notice saying which line failed is filed there too."""
    a, b = hosts
    send_from_b(b, "bob@b.test", ["kim@a.test"], "still here", "f1@b.test")
    settle(a, b)
    got = wait_for(lambda: len(inbox(a, "kim@a.test")) >= 2 and
                   inbox(a, "kim@a.test"), what="the message and notice")
    assert len(got) == 2
    kept = [m for m in got if str(m["Subject"]) == "still here"]
    notice = [m for m in got if m is not kept[0]][0]
    assert len(kept) == 1
    assert str(notice["Subject"]) == "Sieve script failed: main"
    assert notice["To"].addresses[0].addr_spec == "kim@a.test"
    assert notice["Auto-Submitted"] == "auto-generated"
    text = notice.get_content()
    assert "line 3:" in text and "missing" in text and "kept" in text


def test_reject_sends_an_mdn_when_others_take_the_message(hosts):
    """One transaction to max (rejects) and lee (no script): lee gets the
    message, and the sender gets max's RFC 5429 MDN from <>."""
    a, b = hosts
    n = len(inbox(a, "lee@a.test"))
    send_from_b(b, "dave@b.test", ["max@a.test", "lee@a.test"], "for two",
                "rj1@b.test")
    settle(a, b)
    wait_for(lambda: len(inbox(a, "lee@a.test")) == n + 1,
             what="lee's copy")
    assert inbox(a, "max@a.test") == []
    got = wait_for(lambda: replies_in(b, "dave@b.test"), what="the MDN")
    assert len(got) == 1
    mdn = got[0]
    assert b.maildir_messages("dave@b.test")[0].startswith(
        b"Return-Path: <>\n")
    assert mdn.get_content_type() == "multipart/report"
    assert mdn.get_param("report-type") == "disposition-notification"
    assert str(mdn["Subject"]) == "Rejected: for two"
    parts = list(mdn.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "message/disposition-notification",
        "text/rfc822-headers"]
    assert "I do not take mail any more." in parts[0].get_content()
    report = parts[1].get_payload()
    report = report if isinstance(report, str) else "\n".join(
        str(x) for x in report)
    assert "Final-Recipient: rfc822; max@a.test" in report
    assert "Original-Message-ID: <rj1@b.test>" in report
    assert "automatic-action/MDN-sent-automatically; deleted" in report
