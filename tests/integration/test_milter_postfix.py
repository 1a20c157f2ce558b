"""Milters: where tem's milter client behaves as Postfix's does (milter8.c,
smtpd_milter.c, cleanup_milter.c), checked from the filter's side.

- Macro lists a filter asks for at negotiation (libmilter's
  smfi_setsymlist: SMFIM_* lists after SMFIR_OPTNEG) replace the default
  list of that stage: exactly the requested macros are sent.
- The DATA event goes at the DATA command, so a filter's refusal answers
  DATA (instead of the 354), not the end of the message.
- tem's own Received header is not shown to filters; a filter's header
  indexes count without it for change/delete, and with it for insert
  (index 0 lands above it), as in Postfix.

Real `tem serve`, filters from tests/lib/testmilter.py (pymilter, i.e.
Sendmail's libmilter, and a raw-socket fake that records the macro
packets octet for octet).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from milterharness import (ALICE, TAGGED, edited, fields, inbox,  # noqa: E402,F401
                           milter, milter_tem, one_message, send, values)
from temserver import SMTPConn, wait_for  # noqa: E402


# --- macro lists asked for at negotiation ---------------------------------

def test_setsymlist_with_libmilter_sends_what_the_filter_asked(
        make_tem, milter):
    m = milter(symlist={"connect": ["{client_addr}"],
                        "envrcpt": ["{rcpt_addr}", "j"],
                        "eom": ["{daemon_name}"]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem).reply.code == 250
    assert len(inbox(tem)) == 1
    conn = m.events("connect")[0]["macros"]
    # the default connect list (j, {daemon_name}, v, _ ...) is replaced
    assert conn == {"{client_addr}": "127.0.0.1"}, conn
    rcpt = m.events("rcpt")[0]["macros"]
    assert rcpt["{rcpt_addr}"] == ALICE and rcpt["j"], rcpt
    assert "{rcpt_host}" not in rcpt and "{rcpt_mailer}" not in rcpt, rcpt
    eom = m.events("eom")[0]["macros"]
    assert eom.get("{daemon_name}") == "smtp", eom
    # stages it named no list for keep Postfix's defaults
    helo = m.events("helo")[0]["macros"]
    assert "{daemon_name}" not in helo and "j" not in helo, helo


def test_macro_lists_on_the_wire_exactly(make_tem, milter):
    """A raw filter asks for lists in SMFIR_OPTNEG (stage numbers as
    libmilter sends them); each SMFIC_MACRO packet holds exactly the asked
    names with a value, spelt as asked, unknown ones left out."""
    m = milter(fake="symlist", symlist_raw={
        "0": "{client_addr} v {no_such_macro}",     # connect
        "2": "mail_addr,{auth_type}",               # MAIL; no auth: none
        "3": "",                                    # RCPT: empty = default
        "9": "j"})                                  # unknown stage: ignored
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem).reply.code == 250
    macros = {}
    for e in m.events("macros"):
        macros.setdefault(e["args"][0], e["args"][1])
    assert macros["C"] == {"{client_addr}": "127.0.0.1",
                           "v": macros["C"]["v"]}, macros
    assert macros["C"]["v"].startswith("tem "), macros
    assert macros["M"] == {"mail_addr": "sender@b.test"}, macros
    assert macros["R"]["{rcpt_addr}"] == ALICE, macros
    assert set(macros["R"]) >= {"{rcpt_host}", "{rcpt_mailer}"}, macros
    assert "macro-list-ignored stage=9" in tem.log_text()


# --- tem's own Received header and the header indexes --------------------

UPSTREAM = (b"Received: from relay.b.test by mx.b.test; "
            b"Sun, 6 Dec 2026 10:00:00 +0000\r\n" + TAGGED)


def ours(value):
    return "(tem)" in value


def test_own_received_is_not_shown_to_filters(make_tem, milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=UPSTREAM).reply.code == 250
    seen = m.headers()
    # the upstream Received is the only one the filter sees; ours, stored
    # on top, never (the trace fields below ours it does see)
    assert [v for n, v in seen if n == "Received"] == [
        "from relay.b.test by mx.b.test; Sun, 6 Dec 2026 10:00:00 +0000"], \
        seen
    assert seen[0][0] == "Authentication-Results", seen
    assert not [v for n, v in seen if n == "Received" and ours(v)], seen
    f = fields(one_message(tem))
    rec = [v for n, v in f if n == "Received"]
    assert ours(rec[0]) and "relay.b.test" in rec[1], f


def test_delete_index_1_is_the_first_received_the_filter_saw(
        make_tem, milter):
    m = milter(eom={"edits": [
        {"op": "delete", "index": 1, "name": "received"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=UPSTREAM).reply.code == 250
    rec = values(one_message(tem), "Received")
    # the upstream one is gone, ours (which it could not see) stays
    assert len(rec) == 1 and ours(rec[0]), rec


def test_edits_relative_to_what_the_filter_saw(make_tem, milter):
    m = milter(eom={"edits": [
        {"op": "change", "index": 1, "name": "Received", "value": "changed"},
        {"op": "insert", "index": 1, "name": "X-Second", "value": "2nd"},
        {"op": "insert", "index": 0, "name": "X-Top", "value": "top"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=UPSTREAM).reply.code == 250
    f = fields(one_message(tem))
    names = [n for n, _ in f]
    at = names.index("X-Top")
    # insert 1: just below our Received; then insert 0: above it (each
    # index counts the head as the edits before left it, as Postfix)
    assert names[at + 1] == "Received" and ours(f[at + 1][1]), f
    assert names[at + 2] == "X-Second", f
    rec = [v.strip() for n, v in f if n == "Received"]
    assert ours(rec[0]) and rec[1] == "changed", f


def test_second_filter_sees_first_filters_top_field_not_ours(
        make_tem, milter):
    a = milter(eom={"edits": [
        {"op": "insert", "index": 0, "name": "X-Signed", "value": "by a"}]})
    b = milter(eom={"edits": [
        {"op": "delete", "index": 1, "name": "X-Signed"},
        {"op": "insert", "index": 0, "name": "X-B", "value": "b"}]})
    tem = milter_tem(make_tem, smtp=[a, b])
    assert send(tem, msg=UPSTREAM).reply.code == 250
    seen = b.headers()
    assert seen[0] == ("X-Signed", "by a"), seen
    assert not [v for n, v in seen if ours(v)], seen
    f = fields(one_message(tem))
    names = [n for n, _ in f]
    # X-Signed gone; X-B on top, above our Received (still ours)
    assert "X-Signed" not in names, f
    at = names.index("X-B")
    assert names[at + 1] == "Received" and ours(f[at + 1][1]), f


# --- DATA at the DATA command --------------------------------------------

def test_refusal_at_data_answers_the_data_command(make_tem, milter):
    m = milter(at={"data": {"do": "reject",
                            "reply": ["554", "5.7.1", "no data today"]}})
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        assert c.cmd("EHLO client.test").code == 250
        assert c.cmd("MAIL FROM:<sender@b.test>").code == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE).code == 250
        r = c.cmd("DATA")
        # instead of the 354: the client never sends the content
        assert r.code == 554 and "no data today" in r.text, r
        # the transaction is over; the session goes on
        assert c.cmd("RCPT TO:<%s>" % ALICE).code == 503
        assert c.cmd("MAIL FROM:<sender@b.test>").code == 250
        c.cmd("QUIT")
    assert m.events("header") == [] and m.events("eom") == []
    assert inbox(tem) == []


def test_data_event_once_before_the_content_with_the_queue_id(
        make_tem, milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem).reply.code == 250
    assert len(inbox(tem)) == 1
    evs = [e["ev"] for e in m.events()]
    assert evs.count("data") == 1, evs
    assert evs.index("data") < evs.index("header"), evs
    data = m.events("data")[0]
    eom = m.events("eom")[0]
    assert data["macros"].get("i") and \
        data["macros"]["i"] == eom["macros"].get("i"), (data, eom)


def test_tempfail_at_data_with_two_filters_stops_at_the_first(
        make_tem, milter):
    a = milter(at={"data": {"do": "tempfail"}})
    b = milter()
    tem = milter_tem(make_tem, smtp=[a, b])
    out = send(tem)
    assert out.step == "data" and out.reply.code == 451, out.replies
    assert b.events("data") == [], b.events()


# --- the client's ESMTP parameters -----------------------------------------

def test_mail_and_rcpt_parameters_reach_the_filter(make_tem, milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        assert c.cmd("EHLO client.test").code == 250
        assert c.cmd("MAIL FROM:<> SIZE=100 BODY=8BITMIME RET=HDRS "
                     "ENVID=QQ314159").code == 250
        assert c.cmd("RCPT TO:<%s> NOTIFY=FAILURE,DELAY "
                     "ORCPT=rfc822;alice@a.test" % ALICE).code == 250
        c.cmd("QUIT")
    mail = m.events("mail")[0]["args"]
    # the null sender as "<>", then the parameters, as Postfix sends them
    assert mail == ["<>", "SIZE=100", "BODY=8BITMIME", "RET=HDRS",
                    "ENVID=QQ314159"], mail
    rcpt = m.events("rcpt")[0]["args"]
    assert rcpt == ["<%s>" % ALICE, "NOTIFY=FAILURE,DELAY",
                    "ORCPT=rfc822;alice@a.test"], rcpt
