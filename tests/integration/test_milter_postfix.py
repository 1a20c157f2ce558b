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
