"""Milters that fail: a filter that is down, slow (past its timeout, or
alive through SMFIR_PROGRESS), closes, dies mid-message, answers garbage,
an invalid reply code, an action it did not negotiate, or edits past the
header limit never loses mail and never hangs the session:
milter_default_action applies (tempfail 451, accept delivers, reject
550), one log line says why, and the session goes on. A filter that
wants no event at all changes nothing.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from milterharness import (inbox, milter, milter_tem, send,  # noqa: E402,F401
                           transaction)
from temserver import SMTPConn, free_port, wait_for  # noqa: E402


def test_filter_that_wants_nothing(make_tem, milter):
    m = milter(fake="nothing")
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem).reply.code == 250
    assert len(inbox(tem)) == 1
    seen = "".join(e["args"][0] for e in m.events("packet"))
    for cmd in "CHMRTLNB":      # EOM cannot be declined
        assert cmd not in seen, seen


def test_progress_keeps_a_slow_filter_alive(make_tem, milter):
    m = milter(at={"eom": {"progress": 3}})
    # only the content timeout is short: progress must reset it
    tem = milter_tem(make_tem, smtp=[m], milter_content_timeout="1s")
    out = send(tem)
    assert out.reply.code == 250, out.replies
    assert len(inbox(tem)) == 1


# --- a filter that fails: the default action, the session goes on --------

FAILURES = {
    "sleep": dict(at={"mail": {"sleep": 4}}),
    "sleep-eom": dict(at={"eom": {"sleep": 4}}),
    "exit": dict(at={"mail": {"exit": True}}),
    "garbage": dict(fake="garbage"),
    "badlength": dict(fake="badlength"),
    "badcode": dict(fake="badcode"),
    "mute": dict(fake="mute"),
    "close": dict(fake="close"),
    "halfgarbage": dict(fake="halfgarbage"),
    "unasked": dict(fake="unasked"),
}


SHORT = {"milter_connect_timeout": "1s", "milter_command_timeout": "1s",
         "milter_content_timeout": "1s"}


def failing(make_tem, milter, kind, action):
    m = milter(**FAILURES[kind])
    tem = milter_tem(make_tem, smtp=[m], milter_default_action=action,
                     **SHORT)
    return m, tem


def two_messages(tem):
    """Two transactions in one session; the replies to both and to NOOP."""
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        first = transaction(c)
        c.cmd("RSET")
        second = transaction(c)
        noop = c.cmd("NOOP")
        c.cmd("QUIT")
    return first, second, noop


def milter_log_lines(tem):
    return [l for l in tem.log_text().splitlines() if " milter " in l and
            "error=" in l]


# the refusals: every failure with the default tempfail, two with reject


REFUSALS = ([(k, "tempfail", 451, "4.7.1") for k in sorted(FAILURES)] +
            [(k, "reject", 550, "5.7.1") for k in ("sleep", "garbage")])


@pytest.mark.parametrize("kind, action, code, status", REFUSALS)
def test_failing_filter_refuses_by_default_action(make_tem, milter, kind,
                                                  action, code, status):
    m, tem = failing(make_tem, milter, kind, action)
    first, second, noop = two_messages(tem)
    assert first.step is not None, first.replies
    assert first.reply.code == code and status in first.reply.last, \
        first.replies
    # the session goes on: the filter is tried again or left out
    assert second.reply is not None and second.reply.code in (250, code), \
        second.replies
    assert noop.code == 250
    if second.reply.code == code:
        assert inbox(tem) == []
    assert milter_log_lines(tem), tem.log_tail()


@pytest.mark.parametrize("kind", ["sleep", "exit", "garbage", "badcode"])
def test_failing_filter_accept_delivers(make_tem, milter, kind):
    m, tem = failing(make_tem, milter, kind, "accept")
    first, second, noop = two_messages(tem)
    assert first.step is None and first.reply.code == 250, first.replies
    assert second.step is None and second.reply.code == 250, second.replies
    assert noop.code == 250
    wait_for(lambda: len(inbox(tem)) == 2, 10, "two messages")
    assert milter_log_lines(tem), tem.log_tail()


def test_milter_down_tempfails(make_tem):
    """Nothing listens where the filter should be."""
    tem = make_tem(extra_conf=dict(SHORT, smtp_milters="inet:127.0.0.1:%d"
                                   % free_port()))
    first, second, noop = two_messages(tem)
    assert first.reply.code == 451, first.replies
    assert noop.code == 250
    assert inbox(tem) == []


@pytest.mark.parametrize("stage", ["header", "body"])
def test_filter_dies_while_the_message_streams(make_tem, milter, stage):
    """The filter exits while tem still writes a 2 MB message to it: no
    SIGPIPE, no hang; the default action; the next transaction of the
    session has its answer."""
    m = milter(at={stage: {"exit": True}})
    tem = milter_tem(make_tem, smtp=[m], **SHORT)
    body = (b"y" * 998 + b"\r\n") * 2100
    msg = b"From: <sender@b.test>\r\nSubject: dies\r\n\r\n" + body
    with SMTPConn(tem.smtp_port, timeout=60) as c:
        c.ehlo()
        out = transaction(c, msg=msg)
        assert out.reply.code == 451, out.replies
        c.cmd("RSET")
        again = transaction(c)
        assert again.reply.code in (250, 451), again.replies
        assert c.cmd("NOOP").code == 250
        c.cmd("QUIT")
    assert tem.alive()


def test_header_edits_past_the_header_limit(make_tem, milter):
    """300 KB of added fields do not fit the header section (256 KiB):
    the filter counts as failed (the default action, 451) or the fields
    beyond the limit are refused; the session goes on either way."""
    edits = [{"op": "add", "name": "X-Big-%d" % i, "value": "v" * 3000}
             for i in range(100)]
    m = milter(eom={"edits": edits})
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=60) as c:
        c.ehlo()
        out = transaction(c)
        assert out.reply.code in (250, 451), out.replies
        assert c.cmd("NOOP").code == 250
        c.cmd("QUIT")
    for stored in inbox(tem):
        head = stored.split(b"\n\n", 1)[0]
        assert len(head) <= (256 << 10) + 4096, len(head)
