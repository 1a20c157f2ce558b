"""Submission (RFC 6409, RFC 8314): AUTH only under TLS, 530 before AUTH,
535 with delay, lockout, sender ownership, Date/Message-ID added, local
recipients delivered at once."""

import base64
import os
import smtplib
import socket
import ssl
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import PASSWORDS, insecure_tls_context  # noqa: E402

ALICE = "alice@a.test"


def sub_tem(make_tem, **conf):
    return make_tem(services=("smtp", "submission", "submissions"),
                    extra_conf=conf)


def test_auth_offered_only_after_starttls(make_tem):
    tem = sub_tem(make_tem)
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=10) as s:
        s.ehlo("c.test")
        assert not s.has_extn("auth")
        assert s.has_extn("starttls")
        code, msg = s.docmd("AUTH PLAIN " + base64.b64encode(
            b"\0alice@a.test\0x").decode())
        assert code == 538 and msg.startswith(b"5.7.11")
        code, msg = s.docmd("MAIL FROM:<alice@a.test>")
        assert code == 530 and msg.startswith(b"5.7.0")
        s.starttls(context=insecure_tls_context())
        s.ehlo("c.test")
        assert "PLAIN" in s.esmtp_features["auth"]
        s.login(ALICE, PASSWORDS[ALICE])


def test_implicit_tls_port(make_tem):
    tem = sub_tem(make_tem)
    with smtplib.SMTP_SSL("127.0.0.1", tem.ports["submissions"], timeout=10,
                          context=insecure_tls_context()) as s:
        s.login(ALICE, PASSWORDS[ALICE])
        s.sendmail(ALICE, ["bob@a.test"], b"Subject: x\r\n\r\nhi\r\n")
    assert len(tem.maildir_messages("bob@a.test")) == 1


def test_wrong_password_535_delayed_logged_and_closed_cleanly(make_tem):
    tem = sub_tem(make_tem)
    with smtplib.SMTP_SSL("127.0.0.1", tem.ports["submissions"], timeout=10,
                          context=insecure_tls_context()) as s:
        t0 = time.monotonic()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login(ALICE, "wrong")
        assert e.value.smtp_code == 535
        assert e.value.smtp_error.startswith(b"5.7.8")
        assert time.monotonic() - t0 >= 0.9
        code, _ = s.docmd("QUIT")
        assert code == 221
        # the server closes its side: no session left half-open
        s.sock.settimeout(5)
        assert s.sock.recv(1) == b""
    log = tem.log_text()
    assert "smtp auth-failed" in log and "addr=127.0.0.1" in log
    # the session was freed (its disconnect line is there)
    assert log.count("smtp disconnect") >= 1


def test_many_failures_lock_the_address_out(make_tem):
    tem = sub_tem(make_tem, auth_allow_cleartext="yes")
    cred = base64.b64encode(b"\0alice@a.test\0wrong").decode()

    def attempt(_):
        s = socket.create_connection(("127.0.0.1", tem.ports["submission"]),
                                     timeout=20)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO c\r\n")
        while f.readline()[3:4] == b"-":
            pass
        s.sendall(b"AUTH PLAIN " + cred.encode() + b"\r\n")
        r = f.readline()
        s.close()
        return r

    # failures in parallel: each one's 535 is delayed, not the others'
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(12) as ex:
        replies = list(ex.map(attempt, range(12)))
    assert all(r.startswith(b"535") for r in replies), replies
    r = attempt(0)
    assert r.startswith(b"421"), r
    assert "auth-locked" in tem.log_text()


def test_sender_must_belong_to_the_user(make_tem):
    tem = sub_tem(make_tem)
    tem.admin("alias", "add", "sales@a.test", ALICE)
    tem.wait_accounts()
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=10) as s:
        s.starttls(context=insecure_tls_context())
        s.login(ALICE, PASSWORDS[ALICE])
        code, msg = s.docmd("MAIL FROM:<bob@a.test>")
        assert code == 553 and msg.startswith(b"5.7.1")
        code, _ = s.docmd("MAIL FROM:<sales@a.test>")
        assert code == 250


def test_date_and_message_id_added_when_missing(make_tem):
    tem = sub_tem(make_tem)
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=10) as s:
        s.starttls(context=insecure_tls_context())
        s.login(ALICE, PASSWORDS[ALICE])
        s.sendmail(ALICE, ["bob@a.test"], b"Subject: bare\r\n\r\nbody\r\n")
        s.sendmail(ALICE, ["bob@a.test"],
                   b"Subject: full\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                   b"Message-ID: <keep@a.test>\r\n\r\nbody\r\n")
    msgs = sorted(tem.maildir_messages("bob@a.test"),
                  key=lambda m: b"Subject: full" in m)
    bare, full = msgs
    hdr = bare.split(b"\n\n", 1)[0]
    assert b"\nDate: " in hdr and b"\nMessage-ID: <" in hdr
    hdr = full.split(b"\n\n", 1)[0]
    assert hdr.count(b"Date:") == 1 and hdr.count(b"Message-ID:") == 1
    assert b"<keep@a.test>" in hdr
