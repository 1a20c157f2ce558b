"""Milters: every action a filter may take, end to end.

The real `tem serve` with smtp_milters pointing at a real milter written
with pymilter (Sendmail's libmilter), started by each test with the
behaviour it needs (tests/lib/testmilter.py): reject and tempfail at each
stage with their reply text, per recipient, discard, quarantine, accept,
header edits, body replacement (20 MB with the process under 128 MB),
envelope changes. What is stored is read from the Maildir and the queue;
what the filter saw from its record. The session side (chains, ports,
macros) is in test_milter_session.py, failing filters in
test_milter_failures.py.
"""

import hashlib
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from milterharness import (ALICE, BOB, TAGGED, body_of, edited, fields,  # noqa: E402,F401
                           inbox, junk, milter, milter_tem, one_message,
                           send, values)
from temserver import free_port, wait_for  # noqa: E402
from testmilter import LINE, replacement_sha256  # noqa: E402
from test_spool import queue_contents, small_quarantine, vm_hwm_kb  # noqa: E402,F401

STAGES = ("connect", "helo", "mail", "rcpt", "data", "header", "eoh",
          "body", "eom")


# --- reject, tempfail and reply codes at each stage ----------------------

# Where the client sees a refusal at STAGE: connect and HELO refusals may
# come at the banner, EHLO or MAIL (Postfix answers the next command);
# the message stages at the end of DATA.

WHERE = {"connect": ("banner", "ehlo", "mail"), "helo": ("ehlo", "mail"),
         "mail": ("mail",), "rcpt": ("rcpt",),
         # Postfix refuses at the DATA command; a client that sends DATA
         # events with the message sees it after the dot
         "data": ("data", "end"),
         "header": ("end",), "eoh": ("end",), "body": ("end",),
         "eom": ("end",)}


@pytest.mark.parametrize("stage", STAGES)
def test_reject_at_each_stage_with_reply_text(make_tem, milter, stage):
    text = "milter refuses at %s" % stage
    m = milter(at={stage: {"do": "reject",
                           "reply": ["554", "5.7.1", text]}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step in WHERE[stage], (out.step, out.replies)
    assert out.reply.code == 554, out.reply
    assert "5.7.1" in out.reply.last and text in out.reply.text, out.reply
    assert inbox(tem) == []


@pytest.mark.parametrize("stage", STAGES)
def test_tempfail_at_each_stage(make_tem, milter, stage):
    m = milter(at={stage: {"do": "tempfail"}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step in WHERE[stage], (out.step, out.replies)
    assert 400 <= out.reply.code < 500, out.reply
    assert inbox(tem) == []


def test_reject_without_text_is_550_5_7_1(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(at={"eom": {"do": "reject"}})])
    out = send(tem)
    assert out.step == "end" and out.reply.code == 550, out.reply
    assert out.reply.last.startswith("550 5.7.1"), out.reply
    assert inbox(tem) == []


def test_multiline_reply_reaches_the_client(make_tem, milter):
    m = milter(at={"eom": {"do": "reject", "reply": [
        "550", "5.7.0", "first line", "second line"]}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step == "end", out.replies
    lines = out.reply.lines
    assert len(lines) == 2, lines
    assert lines[0].startswith("550-5.7.0") and "first line" in lines[0]
    assert lines[1].startswith("550 5.7.0") and "second line" in lines[1]


def test_per_recipient_reject_at_rcpt(make_tem, milter):
    m = milter(rcpt={BOB: {"do": "reject",
                           "reply": ["550", "5.1.1", "bob is not wanted"]}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.rcpts[ALICE].code == 250, out.rcpts
    r = out.rcpts[BOB]
    assert r.code == 550 and "5.1.1" in r.last and "bob is not wanted" in \
        r.last, r
    assert out.replies["end"].code == 250, out.replies
    assert len(inbox(tem, ALICE)) == 1
    assert inbox(tem, BOB) == []


def test_tempfail_one_recipient(make_tem, milter):
    m = milter(rcpt={BOB: {"do": "tempfail"}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.rcpts[BOB].code // 100 == 4, out.rcpts
    assert out.replies["end"].code == 250, out.replies
    assert len(inbox(tem, ALICE)) == 1 and inbox(tem, BOB) == []


# --- discard, quarantine, accept ------------------------------------------

def test_discard_answers_250_and_stores_nothing(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(at={"eom": {"do": "discard"}})])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.step is None and out.reply.code == 250, out.replies
    assert inbox(tem, ALICE) == [] and inbox(tem, BOB) == []
    assert junk(tem) == []
    assert tem.queue_ids() == []


def test_discard_at_rcpt_drops_the_message(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(at={"rcpt": {"do": "discard"}})])
    out = send(tem)
    assert out.step is None and out.reply.code == 250, out.replies
    assert inbox(tem) == []


def test_quarantine_files_into_junk_not_inbox(make_tem, milter):
    m = milter(eom={"quarantine": "looks like spam"})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.step is None and out.reply.code == 250, out.replies
    for who in (ALICE, BOB):
        assert len(wait_for(lambda: junk(tem, who), 10, "Junk")) == 1
        assert inbox(tem, who) == []


def test_accept_at_mail_skips_the_rest_and_delivers(make_tem, milter):
    m = milter(at={"mail": {"do": "accept"}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step is None and out.reply.code == 250, out.replies
    assert len(inbox(tem)) == 1
    # accepted: the filter hears no more of this message
    assert m.events("eom") == [] and m.events("header") == []


# --- header edits ---------------------------------------------------------

def test_add_header_over_inet(make_tem, milter):
    m, stored = edited(make_tem, milter,
                       {"op": "add", "name": "X-Milter", "value": "added"},
                       {"op": "add", "name": "X-Folded", "value": "a\r\n\tb"},
                       inet=True)
    f = fields(stored)
    assert ("X-Milter", " added") in f, f
    assert ("X-Folded", " a\n\tb") in f, f
    # appended after the last field, before the body
    assert f[-1][0] == "X-Folded" and f[-2][0] == "X-Milter", f
    assert body_of(stored) == b"body\n"


@pytest.mark.parametrize("index", [0, 1, 3, 1000])
def test_insert_header(make_tem, milter, index):
    m, stored = edited(make_tem, milter, {"op": "insert", "index": index,
                                          "name": "X-Ins", "value": "here"})
    f = fields(stored)
    seen = [n for n, _ in m.headers()]     # what the filter counted
    names = [n for n, _ in f]
    at = names.index("X-Ins")
    assert names.count("X-Ins") == 1
    if index == 0:
        # on top, above tem's own Received (counted by insert indexes,
        # never shown to the filter: Postfix's way)
        assert names[at + 1] == "Received" and "Received" not in seen, \
            (names, seen)
    elif index <= len(seen):
        # before the index-th field counting ours: seen[index - 1]
        assert names[at + 1] == seen[index - 1], (names, seen)
    else:
        assert at == len(names) - 1, names      # past the end: appended
    # nothing else moved: what the filter saw is the end of the head
    rest = [n for n in names if n != "X-Ins"]
    assert rest[-len(seen):] == seen, (names, seen)


def test_change_nth_header_case_insensitively(make_tem, milter):
    _, stored = edited(make_tem, milter, {"op": "change", "index": 2,
                                          "name": "x-TAG", "value": "changed"})
    assert values(stored, "X-Tag") == ["one", "changed", "three"], \
        fields(stored)
    assert b"folded" not in stored


def test_delete_header(make_tem, milter):
    _, stored = edited(make_tem, milter,
                       {"op": "delete", "index": 1, "name": "X-Tag"},
                       {"op": "delete", "index": 1, "name": "Subject"})
    # the first X-Tag and the Subject gone, the rest as it was
    assert values(stored, "X-Tag") == ["two\n\tfolded", "three"], \
        fields(stored)
    assert values(stored, "Subject") == []
    assert body_of(stored) == b"body\n"


def test_change_of_missing_header_appends_delete_of_missing_is_noop(
        make_tem, milter):
    _, stored = edited(
        make_tem, milter,
        {"op": "change", "index": 1, "name": "X-New", "value": "appended"},
        {"op": "delete", "index": 5, "name": "X-Tag"})
    assert values(stored, "X-New") == ["appended"]
    assert len(values(stored, "X-Tag")) == 3


def test_leading_space_negotiated(make_tem, milter):
    m, stored = edited(
        make_tem, milter,
        {"op": "add", "name": "X-Lead", "value": " kept as sent"},
        {"op": "add", "name": "X-Tight", "value": "nospace"}, leadspc=True)
    assert b"\nX-Lead: kept as sent\n" in stored
    assert b"\nX-Tight:nospace\n" in stored
    # the filter got values with their own leading space
    assert ("Subject", " tags") in m.headers(), m.headers()


def test_header_value_cannot_forge_a_field(make_tem, milter):
    """A value with a line end that is no folding never becomes a field of
    its own: the edit fails (the default action applies) or is refused."""
    m = milter(eom={"edits": [{"op": "add", "name": "X-Bad",
                               "value": "a\nForged: yes"}]})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.reply.code in (250, 451), out.replies
    for stored in inbox(tem):
        assert values(stored, "Forged") == [], fields(stored)


# --- the body ----------------------------------------------------------------

def test_replace_body(make_tem, milter):
    m = milter(eom={"replace_body": {"text": "new body\r\nline two\r\n"}})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    assert body_of(stored) == b"new body\nline two\n"
    assert values(stored, "Subject") == ["tags"]
    assert len(values(stored, "X-Tag")) == 3
    # the filter got the old body, CRLF
    assert m.events("eom")[-1]["body"] == "body\r\n"


def test_replace_body_with_nothing(make_tem, milter):
    m = milter(eom={"replace_body": {"text": ""}})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    assert body_of(stored) == b"", stored
    assert values(stored, "Subject") == ["tags"]


def test_replace_body_and_headers_of_a_queued_copy(make_tem, milter):
    """The copy for a remote recipient (queued) gets the edits too."""
    m = milter(eom={"replace_body": {"text": "new body\r\n"}, "edits": [
        {"op": "add", "name": "X-Milter", "value": "queued too"}]})
    # the remote copy stays queued: its relay refuses connections
    tem = milter_tem(make_tem, smtp=[m], aliases={"fwd@a.test":
                                                  "far@remote.test"},
                     relay_host="127.0.0.1:%d" % free_port())
    assert send(tem, rcpts=(ALICE, "fwd@a.test"),
                msg=TAGGED).reply.code == 250
    for stored in [one_message(tem)] + list(queue_contents(tem).values()):
        assert body_of(stored) == b"new body\n", stored
        assert values(stored, "X-Milter") == ["queued too"], stored
        assert values(stored, "Subject") == ["tags"], stored
    assert len(queue_contents(tem)) == 1


def big_body_message(size):
    """A message whose body is SIZE bytes of CRLF lines."""
    line = b"x" * (LINE - 2) + b"\r\n"
    return (b"From: <sender@b.test>\r\nTo: <alice@a.test>\r\n"
            b"Subject: big\r\n\r\n" + line * (size // LINE))


def test_replace_20mb_body_with_20mb_bounded_memory(make_tem, milter,
                                                    small_quarantine):
    size = (20 << 20) // LINE * LINE
    m = milter(eom={"replace_body": {"size": size}})
    tem = milter_tem(make_tem, smtp=[m],
                     message_size_limit=str(64 << 20))
    out = send(tem, msg=big_body_message(20 << 20), timeout=300)
    assert out.reply.code == 250, out.replies
    peak = vm_hwm_kb(tem.proc.pid)
    print("peak RSS %d kB replacing a %d-byte body" % (peak, size))
    stored = one_message(tem)
    assert values(stored, "Subject") == ["big"]
    body = body_of(stored)
    del stored
    assert len(body) == size - size // LINE     # CRLF -> LF
    got = hashlib.sha256(body.replace(b"\n", b"\r\n")).hexdigest()
    del body
    assert got == replacement_sha256(size), "stored body is not the new one"
    ev = m.events("eom")[-1]
    assert ev["body_size"] == (20 << 20) // LINE * LINE
    assert peak < 128 * 1024, "peak RSS %d kB >= 128 MB" % peak


# --- the envelope --------------------------------------------------------------

def test_add_local_recipient(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(eom={"add_rcpt": ["<bob@a.test>"]})])
    assert send(tem).reply.code == 250
    assert len(inbox(tem, ALICE)) == 1
    stored = one_message(tem, BOB)
    assert any(BOB in v for v in values(stored, "Delivered-To")), \
        fields(stored)


def test_add_remote_recipient_is_queued(make_tem, milter):
    m = milter(eom={"add_rcpt": ["<far@remote.test>"]})
    # the remote copy stays queued: its relay refuses connections
    tem = milter_tem(make_tem, smtp=[m],
                     relay_host="127.0.0.1:%d" % free_port())
    assert send(tem).reply.code == 250
    assert len(inbox(tem, ALICE)) == 1
    ids = tem.queue_ids()
    assert len(ids) == 1, ids
    out = tem.admin("queue", "list").stdout.decode()
    assert "far@remote.test" in out, out


def test_add_recipient_with_parameters(make_tem, milter):
    m = milter(eom={"add_rcpt_par": [["<bob@a.test>", "NOTIFY=NEVER"]]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem).reply.code == 250
    assert len(inbox(tem, ALICE)) == 1
    assert len(one_message(tem, BOB)) > 0


def test_delete_recipient(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(eom={"del_rcpt": ["<bob@a.test>"]})])
    assert send(tem, rcpts=(ALICE, BOB)).reply.code == 250
    assert len(inbox(tem, ALICE)) == 1
    assert inbox(tem, BOB) == []


def test_change_sender(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(eom={"chg_from": "<new@b.test>"})])
    assert send(tem).reply.code == 250
    stored = one_message(tem)
    assert values(stored, "Return-Path") == ["<new@b.test>"], fields(stored)


def test_change_sender_to_null(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(eom={"chg_from": "<>"})])
    assert send(tem).reply.code == 250
    assert values(one_message(tem), "Return-Path") == ["<>"]
