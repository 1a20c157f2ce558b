"""Abuse controls: DNS block lists at connect, hourly sending limits per
authenticated user, new connections per minute per address."""

import os
import smtplib
import socket
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from temserver import PASSWORDS, insecure_tls_context  # noqa: E402

ALICE = "alice@a.test"


def test_dnsbl_listed_client_is_refused_with_the_lists_reason(make_tem):
    zones = {"bl.test": [
        "1.0.0.127.bl.test. 300 IN A 127.0.0.2",
        '1.0.0.127.bl.test. 300 IN TXT "listed for testing"',
    ], "clean.test": []}
    with DnsServer(zones) as dns:
        tem = make_tem(services=("imap",),     # the harness waits on IMAP
                       extra_conf={"dns_server": dns.addr,
                                   "smtp_listen": "127.0.0.1:%d" %
                                   _port(),
                                   "dnsbl_zones": "clean.test, bl.test"})
        port = int(tem.extra_conf["smtp_listen"].rsplit(":", 1)[1])
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        line = s.makefile("rb").readline()
        assert line.startswith(b"554 5.7.1"), line
        assert b"bl.test" in line and b"listed for testing" in line
        s.close()
        assert "dnsbl-listed" in tem.log_text()


def test_dnsbl_not_listed_gets_the_greeting(make_tem):
    # the list is live (another address is on it) and is really asked
    zones = {"bl.test": ["2.0.0.127.bl.test. 300 IN A 127.0.0.2"]}
    with DnsServer(zones, log_queries=True) as dns:
        tem = make_tem(extra_conf={"dns_server": dns.addr,
                                   "dnsbl_zones": "bl.test"})
        with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=10) as s:
            # smtplib raises unless the greeting is a 220
            assert s.sendmail("x@b.test", [ALICE],
                              b"Subject: ok\r\n\r\nok\r\n") == {}
        assert len(tem.maildir_messages(ALICE)) == 1
        assert "1.0.0.127.bl.test. A IN" in dns.log_text(), dns.log_text()
        assert "dnsbl-listed" not in tem.log_text()


def _port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_hourly_message_and_recipient_limits(make_tem):
    tem = make_tem(services=("smtp", "submission"),
                   extra_conf={"submission_max_messages_per_hour": "2",
                               "submission_max_recipients_per_hour": "3"})
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=10) as s:
        s.starttls(context=insecure_tls_context())
        s.login(ALICE, PASSWORDS[ALICE])
        s.sendmail(ALICE, ["bob@a.test", "alice@a.test"], b"Subject: 1\r\n\r\n1\r\n")
        code, msg = s.docmd("MAIL FROM:<alice@a.test>")
        assert code == 250
        assert s.docmd("RCPT TO:<bob@a.test>")[0] == 250
        code, msg = s.docmd("RCPT TO:<alice@a.test>")
        assert code == 452 and msg.startswith(b"4.7.1")
        s.docmd("RSET")
        code, msg = s.docmd("MAIL FROM:<alice@a.test>")
        assert code == 450 and msg.startswith(b"4.7.1")
    assert "rate-limited" in tem.log_text()


def test_connections_per_minute(make_tem):
    tem = make_tem(extra_conf={"max_connections_per_minute": "4"})
    # the harness's start-up probe took one
    replies = []
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", tem.smtp_port), timeout=10)
        replies.append(s.makefile("rb").readline())
        s.close()
    assert replies[0].startswith(b"220")
    assert any(r.startswith(b"421") for r in replies), replies
