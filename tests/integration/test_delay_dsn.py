"""Delay notices (RFC 3461 4.1, RFC 3464 "Action: delayed"): a recipient
still pending after delay_warning_time gets exactly one, across retries
and a restart, and only when its NOTIFY allows it.

Hosts and DNS as in test_delivery.py: a scripted peer (fakesmtp.py) on
127.0.0.7 that answers every RCPT with a 4xx.
"""

import os
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from dsnreader import parse_dsn  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402
from temserver import insecure_tls_context, shared_port, wait_for  # noqa: E402
from test_delivery import ALICE, sender_tem, zones  # noqa: E402

MSG = (b"From: Alice <alice@a.test>\r\nTo: u@fake.test\r\n"
       b"Subject: slow one\r\nMessage-ID: <d1@a.test>\r\n\r\nstill coming\r\n")


def submit_notify(tem, rcpts):
    """rcpts: [(address, [RCPT options])], sent from alice."""
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.ehlo()
        assert s.mail(ALICE[0])[0] == 250
        for addr, opts in rcpts:
            assert s.rcpt(addr, opts)[0] == 250
        assert s.data(MSG)[0] == 250


def deferrals(tem):
    return tem.log_text().count("status=deferred")


def test_delay_dsn_once_across_retries_and_restart():
    port = shared_port()
    with DnsServer(zones()) as dns, \
            FakeSMTP("127.0.0.7", port,
                     rcpt=["451 4.7.1 greylisted, try later"]), \
            sender_tem(dns, port, delay_warning_time="3s",
                       queue_lifetime="1h") as a:
        # u: no NOTIFY (we warn); w: FAILURE only; x: asks for DELAY
        submit_notify(a, [("u@fake.test", []),
                          ("w@fake.test", ["NOTIFY=FAILURE"]),
                          ("x@fake.test", ["NOTIFY=DELAY,FAILURE"])])
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]),
                       what="the delay notice")
        assert len(dsn) == 1
        d = parse_dsn(dsn[0])
        got = sorted(r["final-recipient"] for r in d.recipients)
        assert got == ["rfc822; u@fake.test", "rfc822; x@fake.test"], got
        for addr in ("u@fake.test", "x@fake.test"):
            r = d.recipient(addr)
            assert (r["action"], r["status"]) == ("delayed", "4.7.1"), r
            assert "greylisted" in r["diagnostic-code"], r
            assert "will-retry-until" in r, r
        assert d.msg["Subject"].startswith("Delayed"), d.msg["Subject"]
        assert d.original is not None
        # from <> (never answered by a bounce), to the sender
        assert b"Return-Path: <>" in dsn[0]
        assert d.msg["To"].endswith("alice@a.test") or \
            "alice@a.test" in d.msg["To"]
        assert "delayed=2" in a.log_text()

        # more retries, then a restart, then more retries: no second one
        seen = deferrals(a)
        wait_for(lambda: deferrals(a) >= seen + 3, timeout=40,
                 what="two more attempts")
        a.restart()
        seen = deferrals(a)
        wait_for(lambda: deferrals(a) >= seen + 3, timeout=40,
                 what="attempts after the restart")
        assert len(a.maildir_messages(ALICE[0])) == 1
        assert len(a.queue_ids()) == 1          # still pending


def test_delay_warning_time_zero_sends_none():
    port = shared_port()
    with DnsServer(zones()) as dns, \
            FakeSMTP("127.0.0.7", port, rcpt=["451 4.3.0 later"]), \
            sender_tem(dns, port, delay_warning_time="0",
                       queue_lifetime="1h") as a:
        submit_notify(a, [("u@fake.test", ["NOTIFY=DELAY"])])
        wait_for(lambda: deferrals(a) >= 4, timeout=40, what="4 attempts")
        assert a.maildir_messages(ALICE[0]) == []
