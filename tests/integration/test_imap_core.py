"""IMAP session core: greeting, capabilities, login rules, TLS, SASL,
ENABLE, bad-command limits, IDLE pushed by a real SMTP delivery."""

import imaplib
import os
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import (PASSWORDS, insecure_tls_context, send_mail,  # noqa
                       wait_for)

ALICE = "alice@a.test"


def imap_tem(make_tem, **conf):
    return make_tem(services=("smtp", "imap", "imaps"), extra_conf=conf)


def raw(port, tls=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        s = insecure_tls_context().wrap_socket(s)
    return s, s.makefile("rb")


def test_greeting_and_logindisabled_before_tls(make_tem):
    tem = imap_tem(make_tem)
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    caps = m.capabilities
    assert "IMAP4REV1" in caps and "IMAP4REV2" in caps
    assert "STARTTLS" in caps and "LOGINDISABLED" in caps
    assert "AUTH=PLAIN" not in caps
    typ, dat = m._simple_command("LOGIN", ALICE, PASSWORDS[ALICE]) \
        if False else ("NO", None)
    try:
        m.login(ALICE, PASSWORDS[ALICE])
        assert False, "LOGIN accepted before TLS"
    except imaplib.IMAP4.error as e:
        assert "PRIVACYREQUIRED" in str(e)
    m.starttls(ssl_context=insecure_tls_context())
    typ, dat = m.capability()
    assert b"AUTH=PLAIN" in dat[0] and b"LOGINDISABLED" not in dat[0]
    typ, dat = m.login(ALICE, PASSWORDS[ALICE])
    assert typ == "OK"
    assert b"CAPABILITY" in dat[0] and b"IDLE" in dat[0]
    m.logout()


@pytest.mark.release
def test_imaps_and_authenticate_plain_both_ways(make_tem):
    tem = imap_tem(make_tem)
    ctx = insecure_tls_context()
    m = imaplib.IMAP4_SSL("127.0.0.1", tem.ports["imaps"], ssl_context=ctx)
    # imaplib sends the response after a "+" continuation
    cred = ("\0%s\0%s" % (ALICE, PASSWORDS[ALICE])).encode()
    typ, _ = m.authenticate("PLAIN", lambda _: cred)
    assert typ == "OK"
    m.logout()
    # SASL-IR: the response on the command line itself
    import base64
    s, f = raw(tem.ports["imaps"], tls=True)
    f.readline()
    s.sendall(b"a AUTHENTICATE PLAIN " + base64.b64encode(cred) + b"\r\n")
    assert f.readline().startswith(b"a OK")
    s.close()


def test_wrong_password_is_delayed_and_logged(make_tem):
    tem = imap_tem(make_tem, auth_allow_cleartext="yes")
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    t0 = time.monotonic()
    try:
        m.login(ALICE, "wrong")
        assert False
    except imaplib.IMAP4.error as e:
        assert "AUTHENTICATIONFAILED" in str(e)
    assert time.monotonic() - t0 >= 0.9
    assert "imap auth-failed" in tem.log_text()
    assert "127.0.0.1" in tem.log_text()


def test_commands_need_the_right_state(make_tem):
    tem = imap_tem(make_tem)
    s, f = raw(tem.ports["imap"])
    f.readline()
    s.sendall(b"a1 SELECT INBOX\r\na2 FROB\r\na3 NOOP\r\na4 UID NOOP\r\n")
    assert f.readline().startswith(b"a1 BAD")
    assert f.readline().startswith(b"a2 BAD")
    assert f.readline().startswith(b"a3 OK")
    assert f.readline().startswith(b"a4 BAD")
    s.close()


def test_too_many_bad_commands_end_the_session(make_tem):
    tem = imap_tem(make_tem)
    s, f = raw(tem.ports["imap"])
    f.readline()
    s.sendall(b"".join(b"x%d FROB\r\n" % i for i in range(30)))
    lines = []
    while True:
        line = f.readline()
        if not line:
            break
        lines.append(line)
    assert any(l.startswith(b"* BYE") for l in lines)
    assert len(lines) <= 25


def test_long_line_before_login_is_refused(make_tem):
    tem = imap_tem(make_tem)
    s, f = raw(tem.ports["imap"])
    f.readline()
    try:
        s.sendall(b"a LOGIN " + b"x" * 70000 + b" y\r\n")
        data = b""
        while True:
            line = f.readline()
            if not line:
                break
            data += line
        assert b"BYE" in data or b"BAD" in data
    except ConnectionResetError:
        pass    # closed with our bytes unread: the kernel sends RST
    # the session ended; the server goes on
    s2, f2 = raw(tem.ports["imap"])
    assert f2.readline().startswith(b"* OK")
    s2.close()


def test_enable_and_id(make_tem):
    tem = imap_tem(make_tem, auth_allow_cleartext="yes")
    s, f = raw(tem.ports["imap"])
    f.readline()
    s.sendall(b"a LOGIN alice@a.test %s\r\n" % PASSWORDS[ALICE].encode())
    assert f.readline().startswith(b"a OK")
    s.sendall(b"b ENABLE IMAP4rev2 CONDSTORE\r\nc ID NIL\r\n")
    assert f.readline() == b"* ENABLED IMAP4rev2 CONDSTORE\r\n"
    assert f.readline().startswith(b"b OK")
    assert f.readline().startswith(b"* ID")
    assert f.readline().startswith(b"c OK")
    s.close()


@pytest.mark.release
def test_idle_announces_smtp_delivery(make_tem):
    tem = imap_tem(make_tem, auth_allow_cleartext="yes")
    s, f = raw(tem.ports["imap"])
    f.readline()
    s.sendall(b"a LOGIN alice@a.test %s\r\n" % PASSWORDS[ALICE].encode())
    assert f.readline().startswith(b"a OK")
    s.sendall(b"b SELECT INBOX\r\n")
    while True:
        line = f.readline()
        assert line, "connection closed"
        if line.startswith(b"b "):
            assert line.startswith(b"b OK"), line
            break
    s.sendall(b"c IDLE\r\n")
    assert f.readline().startswith(b"+")
    send_mail(tem.smtp_port, "bob@a.test", [ALICE],
              b"Subject: push\r\n\r\nhello\r\n")
    # pushed unasked, while the client only waits (how fast: bench/imap)
    line = f.readline()
    assert line == b"* 1 EXISTS\r\n", line
    s.sendall(b"DONE\r\n")
    while True:
        line = f.readline()
        if line.startswith(b"c "):
            assert line.startswith(b"c OK")
            break
    s.close()


def test_sessions_per_user_are_capped(make_tem):
    tem = imap_tem(make_tem, auth_allow_cleartext="yes",
                   imap_max_sessions_per_user="2")
    held = []
    for i in range(2):
        m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
        m.login(ALICE, PASSWORDS[ALICE])
        held.append(m)
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    try:
        m.login(ALICE, PASSWORDS[ALICE])
        assert False, "third session accepted"
    except imaplib.IMAP4.error as e:
        assert "LIMIT" in str(e)
    held.pop().logout()

    def login():            # a slot is free once the server saw the logout
        try:
            m.login(ALICE, PASSWORDS[ALICE])
            return True
        except imaplib.IMAP4.error as e:
            assert "LIMIT" in str(e)
            return False
    wait_for(login, 10, "a free session slot")
    m.logout()
    held[0].logout()
