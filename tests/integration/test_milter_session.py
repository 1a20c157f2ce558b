"""Milters and the SMTP session: several filters in a row, port 25 and
submission each with their own list, what a filter is told (macros,
envelope, tem's Authentication-Results, the body in CRLF), the SMTP side
around the filters (pipelining, BDAT, STARTTLS, a session's second
message), protocol options (SKIP, SMFIP_RCPT_REJ, no replies), many
sessions at once, and tem's DKIM signature of submitted mail.
"""

import hashlib
import re
import smtplib
import threading
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import dkim  # noqa: E402
from milterharness import (ALICE, BOB, SENDER, TAGGED, body_of, dot,  # noqa: E402,F401
                           fields, inbox, m_names, milter, milter_tem,
                           one_message, send, submit, transaction, values)
from temserver import HOSTNAME, SMTPConn, simple_message, wait_for  # noqa: E402


# --- several milters, the two ports, what a milter sees ----------------------

def test_milters_in_a_row_second_sees_first_edit(make_tem, milter):
    first = milter(eom={"edits": [
        {"op": "add", "name": "X-First", "value": "1"},
        {"op": "delete", "index": 1, "name": "Subject"}]})
    second = milter(eom={"edits": [
        {"op": "add", "name": "X-Second", "value": "2"}]})
    tem = milter_tem(make_tem, smtp=[first, second])
    assert send(tem, msg=TAGGED).reply.code == 250
    seen = m_names(second)
    assert "X-First" in seen and "Subject" not in seen, seen
    assert "Subject" in m_names(first)
    stored = one_message(tem)
    assert values(stored, "X-First") == ["1"]
    assert values(stored, "X-Second") == ["2"]


def test_first_milter_rejects_second_never_sees_the_message(make_tem,
                                                            milter):
    first = milter(at={"eom": {"do": "reject"}})
    second = milter()
    tem = milter_tem(make_tem, smtp=[first, second])
    assert send(tem).reply.code == 550
    assert second.events("eom") == []


def test_second_filter_sees_the_replaced_body(make_tem, milter):
    first = milter(eom={"replace_body": {"text": "replaced\r\n"}})
    second = milter()
    tem = milter_tem(make_tem, smtp=[first, second])
    assert send(tem, msg=TAGGED).reply.code == 250
    assert first.events("eom")[-1]["body"] == "body\r\n"
    assert second.events("eom")[-1]["body"] == "replaced\r\n"
    assert body_of(one_message(tem)) == b"replaced\n"


def test_submission_milters_on_587_smtp_milters_on_25(make_tem, milter):
    on25 = milter(eom={"edits": [{"op": "add", "name": "X-Port",
                                  "value": "25"}]})
    on587 = milter(eom={"edits": [{"op": "add", "name": "X-Port",
                                   "value": "587"}]})
    tem = milter_tem(make_tem, smtp=[on25], submission=[on587],
                     services=("smtp", "submission"))
    submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB))
    stored = one_message(tem, BOB)
    assert values(stored, "X-Port") == ["587"]
    # (port 25's filter saw the start-up probe connect, and no mail)
    assert on25.events("mail") == []
    mail = on587.events("mail")[-1]
    assert mail["args"][0] == "<alice@a.test>"
    assert mail["macros"].get("{auth_authen}") == ALICE, mail
    # and port 25 uses the other list
    sessions = len(on587.events("connect"))
    assert send(tem).reply.code == 250
    assert values(one_message(tem, ALICE), "X-Port") == ["25"]
    assert len(on587.events("connect")) == sessions
    assert len(on25.events("mail")) == 1


def test_submission_reject(make_tem, milter):
    m = milter(at={"eom": {"do": "reject",
                           "reply": ["550", "5.7.1", "not from you"]}})
    tem = milter_tem(make_tem, submission=[m],
                     services=("smtp", "submission"))
    with pytest.raises(smtplib.SMTPDataError) as e:
        submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB))
    assert e.value.smtp_code == 550 and b"not from you" in e.value.smtp_error
    assert inbox(tem, BOB) == []


def test_milter_sees_envelope_macros_and_authentication_results(make_tem,
                                                               milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, rcpts=(ALICE, BOB), msg=TAGGED).reply.code == 250
    conn = m.events("connect")[-1]
    assert conn["macros"].get("j") == HOSTNAME, conn
    assert "127.0.0.1" in repr(conn["args"]), conn
    assert m.events("helo")[-1]["args"] == ["client.test"]
    assert m.events("mail")[-1]["args"][0] == "<%s>" % SENDER
    assert [e["args"][0] for e in m.events("rcpt")] == [
        "<%s>" % ALICE, "<%s>" % BOB]
    hdrs = m.headers()
    ar = [v for n, v in hdrs if n.lower() == "authentication-results"]
    assert ar and HOSTNAME in ar[0], hdrs
    assert ("Subject", "tags") in hdrs or ("Subject", " tags") in hdrs, hdrs
    eom = m.events("eom")[-1]
    assert eom["body"] == "body\r\n"
    assert eom["macros"].get("i"), eom     # the queue id


def test_envelope_macros(make_tem, milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, rcpts=(ALICE, BOB)).reply.code == 250
    assert m.events("mail")[-1]["macros"].get("{mail_addr}") == SENDER
    assert [e["macros"].get("{rcpt_addr}") for e in m.events("rcpt")] == [
        ALICE, BOB]


def test_tls_macros_after_starttls(make_tem, milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        out = transaction(c)
        assert out.reply.code == 250, out.replies
        c.cmd("QUIT")
    macros = m.events("mail")[-1]["macros"]
    assert macros.get("{tls_version}", "").startswith("TLS"), macros
    assert macros.get("{cipher}"), macros


def test_body_reaches_the_filter_whole_in_crlf(make_tem, milter):
    """A 300 KB body (several spool buffers, dot-stuffed lines) reaches
    the filter as the client meant it: CRLF line ends, no stuffing."""
    body = b"".join(b".line %06d of the body\r\n" % i for i in range(12000))
    msg = b"From: <sender@b.test>\r\nSubject: long\r\n\r\n" + body
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=msg).reply.code == 250
    eom = m.events("eom")[-1]
    assert eom["body_size"] == len(body)
    assert eom["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert max(e["args"][0] for e in m.events("body")) <= 65535
    assert body_of(one_message(tem)) == body.replace(b"\r\n", b"\n")


# --- the SMTP side around the filters ----------------------------------------

def test_pipelined_commands_answered_in_order(make_tem, milter):
    """MAIL, two RCPTs and DATA in one write while the filter answers each
    event: the replies come in order, the refused recipient in its
    place."""
    m = milter(rcpt={BOB: {"do": "reject"}})
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        c.send("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\n"
               "DATA\r\n" % (SENDER, BOB, ALICE))
        codes = [r.code for r in c.replies(4)]
        assert codes == [250, 550, 250, 354], codes
        c.send(dot(simple_message()) + b".\r\n")
        assert c.reply().code == 250
        c.cmd("QUIT")
    assert len(inbox(tem, ALICE)) == 1 and inbox(tem, BOB) == []


def test_bdat_message_goes_through_the_filter(make_tem, milter):
    m = milter(eom={"edits": [{"op": "add", "name": "X-Bdat",
                               "value": "seen"}]})
    tem = milter_tem(make_tem, smtp=[m])
    msg = TAGGED
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<%s>" % SENDER).code == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE).code == 250
        c.send(b"BDAT 20\r\n" + msg[:20])
        assert c.reply().code == 250
        rest = msg[20:]
        c.send(b"BDAT %d LAST\r\n" % len(rest) + rest)
        assert c.reply().code == 250
        c.cmd("QUIT")
    stored = one_message(tem)
    assert values(stored, "X-Bdat") == ["seen"]
    assert m.events("eom")[-1]["body"] == "body\r\n"


def test_second_message_of_a_session_starts_clean(make_tem, milter):
    """Envelope changes and header edits belong to one message: the
    second message of the session gets its own, once."""
    m = milter(eom={"add_rcpt": ["<bob@a.test>"], "edits": [
        {"op": "add", "name": "X-Once", "value": "1"}]})
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        for i in range(2):
            out = transaction(c, msg=simple_message(subject="n%d" % i))
            assert out.step is None and out.reply.code == 250, out.replies
        c.cmd("QUIT")
    wait_for(lambda: len(inbox(tem, BOB)) == 2, 10, "two copies for bob")
    for who in (ALICE, BOB):
        msgs = inbox(tem, who)
        assert len(msgs) == 2, who
        for stored in msgs:
            assert values(stored, "X-Once") == ["1"], fields(stored)
    assert len(m.events("eom")) == 2


def test_many_sessions_through_one_filter_at_once(make_tem, milter):
    """Twelve sessions at once through one (threaded) filter that edits
    every message: each stored copy has its own edit, once."""
    m = milter(eom={"edits": [{"op": "add", "name": "X-Seen",
                               "value": "yes"}]})
    tem = milter_tem(make_tem, smtp=[m])
    results = [None] * 12

    def one(i):
        try:
            results[i] = send(tem, msg=simple_message(subject="s%d" % i))
        except Exception as e:      # reported below
            results[i] = e
    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert not isinstance(r, Exception) and r.reply.code == 250, r
    msgs = wait_for(lambda: len(inbox(tem)) == 12 and inbox(tem), 20,
                    "twelve messages")
    subjects = sorted(values(s, "Subject")[0] for s in msgs)
    assert subjects == sorted("s%d" % i for i in range(12))
    for stored in msgs:
        assert values(stored, "X-Seen") == ["yes"]


# --- more of the protocol ------------------------------------------------------

def test_skip_ends_the_body_early(make_tem, milter):
    body = b"x" * 998 + b"\r\n"
    msg = b"From: <sender@b.test>\r\nSubject: skip\r\n\r\n" + body * 500
    m = milter(at={"body": {"do": "skip"}})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=msg).reply.code == 250
    assert len(m.events("body")) == 1, m.events("body")
    assert len(m.events("eom")) == 1
    assert len(body_of(one_message(tem))) == 999 * 500


def test_accept_at_connect_leaves_the_filter_out(make_tem, milter):
    m = milter(at={"connect": {"do": "accept"}})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem).reply.code == 250
    assert len(inbox(tem)) == 1
    assert m.events("mail") == [] and m.events("eom") == []


def test_refused_recipients_reach_only_filters_that_ask(make_tem, milter):
    asks = milter(rcpt_rej=True)
    plain = milter()
    tem = milter_tem(make_tem, smtp=[asks, plain])
    out = send(tem, rcpts=(ALICE, "nobody@a.test"))
    assert out.rcpts["nobody@a.test"].code == 550, out.rcpts
    assert out.replies["end"].code == 250, out.replies
    seen = {e["args"][0]: e["macros"] for e in asks.events("rcpt")}
    assert set(seen) == {"<alice@a.test>", "<nobody@a.test>"}, seen
    assert seen["<nobody@a.test>"].get("{rcpt_mailer}") == "error", seen
    assert seen["<alice@a.test>"].get("{rcpt_mailer}") not in (None,
                                                                "error")
    assert [e["args"][0] for e in plain.events("rcpt")] == ["<alice@a.test>"]


def test_filter_that_never_replies_to_events(make_tem, milter):
    """SMFIP_NR_*: a filter that sends no reply to connect ... body is
    not waited for (its edits at the end still count)."""
    m = milter(noreply=["connect", "hello", "envfrom", "envrcpt", "data",
                        "header", "eoh", "body"],
               eom={"edits": [{"op": "add", "name": "X-NR", "value": "1"}]})
    tem = milter_tem(make_tem, smtp=[m], milter_command_timeout="5s",
                     milter_content_timeout="5s")
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        for i in range(2):
            out = transaction(c, msg=TAGGED)
            assert out.step is None and out.reply.code == 250, out.replies
        c.cmd("QUIT")
    wait_for(lambda: len(inbox(tem)) == 2, 10, "two messages")
    for stored in inbox(tem):
        assert values(stored, "X-NR") == ["1"]
    assert len(m.events("header")) >= 10
    assert "error=" not in tem.log_text()
    # the filter did ask for it: SMFIP_NR_HDR, SMFIP_NR_BODY negotiated
    proto = m.events("negotiate")[-1]["args"][1]
    assert proto & 0x80 and proto & 0x80000, hex(proto)


# --- tem's DKIM signature and the filters --------------------------------

def dkim_verifies(records, stored):
    """True when the DKIM-Signature on STORED verifies with RECORDS
    ({name: TXT bytes}) as the DNS."""
    return dkim.verify(stored.replace(b"\n", b"\r\n"),
                       dnsfunc=lambda n, timeout=5:
                       records.get(n.decode().rstrip("."), b""))


def signing_tem(make_tem, milters, **conf):
    """A server signing a.test's submitted mail with a new Ed25519 key,
    with MILTERS on submission (and CONF); returns it and the key's DNS
    record."""
    tem = milter_tem(make_tem, submission=milters,
                     services=("smtp", "submission"), **conf)
    out = tem.admin("dkim", "keygen", "a.test", "--type",
                    "ed25519").stdout.decode()
    sel = out.split("._domainkey", 1)[0]
    records = {"%s._domainkey.a.test" % sel:
               "".join(re.findall(r'"([^"]*)"', out)).encode()}
    wait_for(lambda: "dkim-keys domains=1" in tem.log_text(), 10,
             "the new key to be loaded")
    return tem, records


def test_submission_signature_without_edits_verifies(make_tem, milter):
    tem, records = signing_tem(make_tem, [milter()])
    submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB))
    stored = one_message(tem, BOB)
    assert values(stored, "DKIM-Signature"), stored[:600]
    assert dkim_verifies(records, stored)


def test_submission_signature_covers_milter_edits(make_tem, milter):
    """A filter on submission that changes the Subject and adds a footer
    (a disclaimer milter): what leaves must still carry a valid signature
    of tem's own domain."""
    m = milter(eom={"replace_body": {"text": "Hello.\r\n-- \r\nfooter\r\n"},
                    "edits": [{"op": "change", "index": 1, "name": "Subject",
                               "value": "[ext] test"}]})
    tem, records = signing_tem(make_tem, [m])
    submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB))
    stored = one_message(tem, BOB)
    assert body_of(stored).endswith(b"footer\n")
    assert dkim_verifies(records, stored)
