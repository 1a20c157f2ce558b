"""Inbound MX, STARTTLS (RFC 3207) with Python's ssl, and real clients:
smtplib and swaks, plain and with STARTTLS."""

import os
import smtplib
import ssl
import subprocess

import pytest

from temserver import (DATA, HOSTNAME, SMTPConn, assert_stored, expect,
                       insecure_tls_context, simple_message)

CERT = os.path.join(DATA, "mx.a.test.crt")


def deliver_over_tls(tem, c, subject):
    sent = simple_message(subject)
    r = c.ehlo()
    keywords = [line[4:].split()[0].upper() for line in r.lines[1:]
                if line[4:].split()]
    assert "STARTTLS" not in keywords, \
        "STARTTLS offered again inside TLS: %s" % r
    expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
    expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
    expect(c.data(sent), "250")
    expect(c.cmd("QUIT"), "221")
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_starttls_self_signed_default_cert(make_tem):
    """No tls_cert_file: tem makes a self-signed pair for its hostname."""
    tem = make_tem(fixture_cert=False)
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        c.starttls(insecure_tls_context())
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
        der = c.sock.getpeercert(binary_form=True)
        assert der and HOSTNAME.encode() in der, "certificate not for " + HOSTNAME
        deliver_over_tls(tem, c, "tls default cert")


def test_starttls_configured_cert_verifies(tem):
    """The harness configures tests/data/mx.a.test.crt by default."""
    assert "tls_cert_file = " + CERT in open(tem.conf_path).read()
    ctx = ssl.create_default_context(cafile=CERT)
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        c.starttls(ctx, server_hostname=HOSTNAME)
        deliver_over_tls(tem, c, "tls configured cert")


@pytest.mark.release
def test_smtplib_starttls(tem):
    sent = simple_message("smtplib tls")
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        assert s.has_extn("starttls")
        s.starttls(context=insecure_tls_context())
        s.ehlo("client.test")
        refused = s.sendmail("sender@b.test", ["alice@a.test", "bob@a.test"],
                             sent)
        assert refused == {}
    for user in ("alice@a.test", "bob@a.test"):
        (msg,) = tem.maildir_messages(user)
        assert_stored(msg, sent)


@pytest.mark.release
def test_commands_pipelined_behind_starttls_are_discarded(tem):
    """RFC 3207 5 / CVE-2011-0411: plaintext sent after STARTTLS, before the
    handshake, must not be executed inside the TLS session."""
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@b.test>\r\n"
               b"RCPT TO:<bob@a.test>\r\n")
        r = c.reply()
        expect(r, "220")
        assert c.buf == b"", "plaintext reply after 220: %r" % c.buf
        c.sock = insecure_tls_context().wrap_socket(c.sock)
        c.ehlo()
        # Had the injected MAIL run, this RCPT would be accepted.
        expect(c.cmd("RCPT TO:<alice@a.test>"), "503 5.5.1")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(simple_message("after injection")), "250")
    assert len(tem.maildir_messages("alice@a.test")) == 1
    assert tem.maildir_messages("bob@a.test") == []


def test_starttls_twice_and_with_argument(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("STARTTLS now"), "501")
        c.starttls()
        c.ehlo()
        expect(c.cmd("STARTTLS"), "503", "554")
        expect(c.cmd("NOOP"), "250")


def test_failed_handshake_leaves_server_serving(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("STARTTLS"), "220")
        c.send(b"\x16\x03\x01\x00\x05garbage that is not a ClientHello\r\n")
        c.wait_closed()
    with SMTPConn(tem.smtp_port) as c:
        expect(c.banner, "220")
        c.starttls()
        deliver_over_tls(tem, c, "after a bad handshake")


def swaks(tem, *extra, subject="swaks", to="alice@a.test"):
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(tem.smtp_port),
           "--from", "sender@b.test", "--to", to, "--helo", "client.test",
           "--header", "Subject: " + subject,
           "--body", "Sent by swaks.\nSecond line.\n", "--timeout", "10"]
    p = subprocess.run(cmd + list(extra), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, "swaks exit %d:\n%s" % (p.returncode, out)
    return out


def check_swaks_message(tem, subject):
    (msg,) = tem.maildir_messages("alice@a.test")
    assert ("Subject: " + subject + "\n").encode() in msg, msg[:600]
    assert b"Sent by swaks.\nSecond line.\n" in msg
    assert b"\r\n" not in msg
    assert msg.startswith(b"Return-Path: <sender@b.test>\n"), msg[:200]


def test_swaks_plain(tem):
    swaks(tem, subject="swaks plain")
    check_swaks_message(tem, "swaks plain")


@pytest.mark.release
def test_swaks_starttls(tem):
    out = swaks(tem, "--tls", subject="swaks tls")
    assert "TLS started" in out, out
    check_swaks_message(tem, "swaks tls")


def test_swaks_pipelining(tem):
    out = swaks(tem, "--pipeline", subject="swaks pipe")
    check_swaks_message(tem, "swaks pipe")
    assert "PIPELINING" in out
