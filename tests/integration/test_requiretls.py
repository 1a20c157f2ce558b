"""REQUIRETLS (RFC 8689): offered only over TLS, refused outside it
(530 5.7.10), kept in the queue file, and never relayed without TLS
verified by DANE or MTA-STS: toward a peer with opportunistic TLS only
the message bounces at once with 5.7.10 (the report carries the header
only), and the peer gets nothing. "TLS-Required: No" is stored as a
queue flag.

Hosts and DNS as in test_delivery.py: tem A (sender) submits, tem B on
127.0.0.3 receives for b.test over opportunistic STARTTLS.
"""

import os
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from dsnreader import parse_dsn  # noqa: E402
from temserver import (SMTPConn, insecure_tls_context,  # noqa: E402
                       shared_port, wait_for)
from test_delivery import ALICE, BOB, receiver_tem, sender_tem, zones  # noqa: E402,E501

MSG = ("From: Alice <alice@a.test>\r\nTo: %s\r\nSubject: secret plans\r\n"
       "Message-ID: <rt1@a.test>\r\n%s\r\nthe body stays home\r\n")


def submit(tem, rcpt, requiretls=True, extra_header=""):
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(ALICE[0], [rcpt], (MSG % (rcpt, extra_header)).encode(),
                   mail_options=["REQUIRETLS"] if requiretls else [])


def queue_line(tem):
    out = tem.admin("queue", "list").stdout.decode()
    lines = out.splitlines()
    assert len(lines) == 1, out
    return lines[0]


def ehlo_keywords(reply):
    return [line[4:].split()[0].upper() for line in reply.lines[1:]]


def test_advertised_only_over_tls_and_refused_without_it():
    port = shared_port()
    with DnsServer(zones()) as dns, sender_tem(dns, port) as a:
        for svc in ("smtp", "submission"):
            with SMTPConn(a.ports[svc]) as c:
                assert "REQUIRETLS" not in ehlo_keywords(c.ehlo())
                c.starttls()
                assert "REQUIRETLS" in ehlo_keywords(c.ehlo())
        with SMTPConn(a.ports["smtp"]) as c:
            c.ehlo()
            r = c.cmd("MAIL FROM:<x@remote.test> REQUIRETLS")
            assert r.code == 530 and "5.7.10" in r.text, r
            # the transaction can start again without it
            r = c.cmd("MAIL FROM:<x@remote.test>")
            assert r.code == 250, r
        with SMTPConn(a.ports["smtp"]) as c:
            c.ehlo()
            c.starttls()
            c.ehlo()
            r = c.cmd("MAIL FROM:<x@remote.test> REQUIRETLS=yes")
            assert r.code == 501, r
            r = c.cmd("MAIL FROM:<x@remote.test> REQUIRETLS")
            assert r.code == 250, r
            r = c.cmd("RCPT TO:<%s>" % ALICE[0])
            assert r.code == 250, r
            r = c.data(b"Subject: over TLS\r\n\r\nhi\r\n")
            assert r.code == 250, r
        # local delivery of a REQUIRETLS message is fine
        wait_for(lambda: a.maildir_messages(ALICE[0]), what="local copy")


def test_flags_survive_in_the_queue():
    """dead.test's MX does not answer: the messages wait in the queue
    with their flags."""
    port = shared_port()
    with DnsServer(zones()) as dns, sender_tem(dns, port) as a:
        submit(a, "u@dead.test")
        line = queue_line(a)
        assert " requiretls" in line and "tls-required=no" not in line, line
        a.admin("queue", "del", line.split()[0])
        submit(a, "u@dead.test", requiretls=False,
               extra_header="TLS-Required: No\r\n")
        line = queue_line(a)
        assert " tls-required=no" in line and " requiretls" not in line, line
        a.admin("queue", "del", line.split()[0])
        # with REQUIRETLS the header is ignored (RFC 8689 4.1)
        submit(a, "u@dead.test", extra_header="TLS-Required: No\r\n")
        line = queue_line(a)
        assert " requiretls" in line and "tls-required=no" not in line, line
        a.stop()
        # the flag is in the file itself: still there after a restart
        a.start()
        assert " requiretls" in queue_line(a)


def test_unverified_tls_bounces_at_once_with_5_7_10():
    port = shared_port()
    with DnsServer(zones()) as dns, receiver_tem(port) as b, \
            sender_tem(dns, port) as a:
        submit(a, BOB[0])
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]), what="bounce")
        r = parse_dsn(dsn[0]).recipient(BOB[0])
        assert (r["action"], r["status"]) == ("failed", "5.7.10"), r
        # RFC 8689 5: the report returns the header, not the body
        assert b"text/rfc822-headers" in dsn[0]
        assert b"secret plans" in dsn[0]
        assert b"the body stays home" not in dsn[0]
        a.wait_queue_empty()
        assert b.maildir_messages(BOB[0]) == []
        # a message without REQUIRETLS still goes (opportunistic TLS)
        submit(a, BOB[0], requiretls=False)
        wait_for(lambda: b.maildir_messages(BOB[0]), what="delivery")
