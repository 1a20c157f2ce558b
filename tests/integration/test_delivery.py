"""Send mail: submission → queue → DNS (a real unbound) → SMTP to the
recipient's server, with retries and bounces.

Hosts: every peer listens on its own loopback address (127.0.0.3, .4, ...)
on one shared port, the sending tem's outbound_port, as real MX hosts all
listen on port 25. DNS answers come from Debian's unbound serving test
zones (tests/lib/dnsserver.py).
"""

import os
import smtplib
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from dsnreader import parse_dsn  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402
from temserver import (TemServer, insecure_tls_context,  # noqa: E402
                       shared_port, wait_for)

ALICE = ("alice@a.test", "alice-secret-1")
BOB = ("bob@b.test", "bob-secret-1")


def zones(port_unused=None):
    return {
        "a.test": [
            "a.test. 300 IN MX 10 mx.a.test.",
            "mx.a.test. 300 IN A 127.0.0.2",
        ],
        "b.test": [
            "b.test. 300 IN MX 10 mx.b.test.",
            "mx.b.test. 300 IN A 127.0.0.3",
        ],
        # preference: mx1 (nothing listens) first, then mx2 (tem B)
        "pref.test": [
            "pref.test. 300 IN MX 10 mx1.pref.test.",
            "pref.test. 300 IN MX 20 mx2.pref.test.",
            "mx1.pref.test. 300 IN A 127.0.0.9",
            "mx2.pref.test. 300 IN A 127.0.0.3",
        ],
        # no MX: the domain's own address (RFC 5321 5.1)
        "amx.test": ["amx.test. 300 IN A 127.0.0.3"],
        # RFC 7505 null MX
        "null.test": ["null.test. 300 IN MX 0 ."],
        # an MX nobody answers on
        "dead.test": [
            "dead.test. 300 IN MX 10 mx.dead.test.",
            "mx.dead.test. 300 IN A 127.0.0.10",
        ],
        "fake.test": [
            "fake.test. 300 IN MX 10 mx.fake.test.",
            "mx.fake.test. 300 IN A 127.0.0.7",
        ],
        "later.test": [
            "later.test. 300 IN MX 10 mx.later.test.",
            "mx.later.test. 300 IN A 127.0.0.8",
        ],
    }


def sender_tem(dns, port, **extra):
    conf = {"dns_server": dns.addr, "outbound_port": str(port),
            "queue_retry_base": "1s"}
    conf.update(extra)
    return TemServer(users=dict([ALICE]), domains=("a.test",),
                     services=("smtp", "submission"), extra_conf=conf)


def receiver_tem(port, domains=("b.test", "amx.test", "pref.test")):
    return TemServer(users=dict([BOB]), domains=domains, hostname="mx.b.test",
                     aliases={"bob@pref.test": "bob@b.test"},
                     listen_addr="127.0.0.3", smtp_port=port)


def submit(tem, rcpts, body, sender=ALICE[0]):
    msg = ("From: Alice <%s>\r\nTo: %s\r\nSubject: hello\r\n"
           "Message-ID: <m1@a.test>\r\nDate: Sat, 28 Nov 2026 02:00:00 +0000"
           "\r\n\r\n%s" % (sender, ", ".join(rcpts), body))
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(sender, rcpts, msg.encode())
    return msg.encode()


def body_of(stored):
    return stored.split(b"\n\n", 1)[1]


def headers_of(stored):
    return stored.split(b"\n\n", 1)[0].decode("utf-8", "replace")


@pytest.mark.release
def test_submission_to_remote_domain_arrives_byte_identical():
    port = shared_port()
    with DnsServer(zones()) as dns, receiver_tem(port) as b, \
            sender_tem(dns, port) as a:
        sent = submit(a, [BOB[0]], "Hi Bob,\r\n.leading dot\r\n\r\nbye\r\n")
        got = wait_for(lambda: b.maildir_messages(BOB[0]), what="delivery")
        assert len(got) == 1
        stored = got[0]
        # the body is byte-identical (CRLF -> LF on disk)
        assert body_of(stored) == body_of(sent.replace(b"\r\n", b"\n"))
        h = headers_of(stored)
        assert h.startswith("Return-Path: <alice@a.test>\nDelivered-To: "
                            "bob@b.test\nReceived: from mx.a.test")
        # both hops left a Received line, the sender's with ESMTPSA
        assert h.count("Received: ") == 2
        assert "with ESMTPSA" in h
        # the original header fields follow unchanged
        assert "\nFrom: Alice <alice@a.test>\nTo: bob@b.test\n" in h
        a.wait_queue_empty()
        assert "status=sent" in a.log_text()


def test_mx_preference_and_fallback_to_next_host():
    port = shared_port()
    with DnsServer(zones()) as dns, receiver_tem(port) as b, \
            sender_tem(dns, port) as a:
        submit(a, ["bob@pref.test"], "via the second MX\r\n")
        wait_for(lambda: b.maildir_messages(BOB[0]), what="delivery via mx2")
        log = a.log_text()
        assert "127.0.0.9" in log          # mx1 was tried first
        assert "mx2.pref.test[127.0.0.3]" in log


def test_no_mx_falls_back_to_address_record():
    port = shared_port()
    with DnsServer(zones()) as dns, receiver_tem(port) as b, \
            sender_tem(dns, port) as a:
        b.add_user("carol@amx.test", "carol-secret-1")
        b.wait_accounts()
        submit(a, ["carol@amx.test"], "no MX here\r\n")
        wait_for(lambda: b.maildir_messages("carol@amx.test"),
                 what="delivery by A record")


def test_null_mx_bounces_at_once():
    port = shared_port()
    with DnsServer(zones()) as dns, sender_tem(dns, port) as a:
        submit(a, ["someone@null.test"], "nowhere\r\n")
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]), what="bounce")
        text = dsn[0].decode("utf-8", "replace")
        assert "Return-Path: <>" in text
        assert "multipart/report" in text
        assert "report-type=delivery-status" in text
        assert "Final-Recipient: rfc822; someone@null.test" in text
        assert "Status: 5.1.10" in text
        assert "Action: failed" in text
        r = parse_dsn(dsn[0]).recipient("someone@null.test")
        assert (r["action"], r["status"]) == ("failed", "5.1.10"), r
        a.wait_queue_empty()


def test_unreachable_host_is_retried_then_bounced():
    port = shared_port()
    with DnsServer(zones()) as dns, \
            sender_tem(dns, port, queue_lifetime="4s") as a:
        submit(a, ["x@dead.test"], "nobody home\r\n")
        wait_for(lambda: "status=deferred" in a.log_text(),
                 what="the first attempt to fail")
        assert len(a.queue_ids()) == 1     # deferred, not bounced
        assert a.maildir_messages(ALICE[0]) == []
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]), timeout=40,
                       what="bounce after queue_lifetime")
        text = dsn[0].decode("utf-8", "replace")
        assert "Final-Recipient: rfc822; x@dead.test" in text
        assert "Action: failed" in text
        r = parse_dsn(dsn[0]).recipient("x@dead.test")
        assert r["action"] == "failed" and r["status"].startswith("5."), r
        log = a.log_text()
        assert log.count("status=deferred") >= 2   # retried
        a.wait_queue_empty()


def test_peer_4xx_then_2xx_is_delivered_once():
    port = shared_port()
    with DnsServer(zones()) as dns, \
            FakeSMTP("127.0.0.7", port,
                     rcpt=["451 4.3.0 try again later", "250 2.1.5 ok"]) \
            as peer, sender_tem(dns, port) as a:
        submit(a, ["u@fake.test"], "second time lucky\r\n")
        wait_for(lambda: peer.messages, what="delivery after 4xx")
        a.wait_queue_empty()           # tem is done: nothing more is sent
        assert len(peer.messages) == 1
        assert a.log_text().count("status=sent") == 1
        assert peer.messages[0][1] == ["<u@fake.test>"]
        assert a.maildir_messages(ALICE[0]) == []   # no bounce
        assert "status=deferred" in a.log_text()


@pytest.mark.release
def test_peer_5xx_bounces_at_once():
    port = shared_port()
    with DnsServer(zones()) as dns, \
            FakeSMTP("127.0.0.7", port,
                     rcpt=["550 5.1.1 <u@fake.test>: no such user"]) as peer, \
            sender_tem(dns, port) as a:
        submit(a, ["u@fake.test"], "nope\r\n")
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]), what="bounce")
        text = dsn[0].decode("utf-8", "replace")
        assert "Status: 5.1.1" in text
        assert "no such user" in text
        assert "Subject: hello" in text    # the original headers come back
        d = parse_dsn(dsn[0])
        r = d.recipient("u@fake.test")
        assert (r["action"], r["status"]) == ("failed", "5.1.1"), r
        assert "no such user" in r["diagnostic-code"], r
        assert d.original["Subject"] == "hello", d.original_type
        assert peer.messages == []


def test_kill9_with_mail_in_queue_then_restart_delivers_once():
    port = shared_port()
    with DnsServer(zones()) as dns, sender_tem(dns, port) as a:
        submit(a, ["v@later.test"], "survive a crash\r\n")
        wait_for(lambda: "status=deferred" in a.log_text(),
                 what="first attempt to fail")
        a.kill9()
        with FakeSMTP("127.0.0.8", port) as peer:
            a.start()
            wait_for(lambda: peer.messages, what="delivery after restart")
            a.wait_queue_empty()       # tem is done: nothing more is sent
            assert len(peer.messages) == 1
            assert b"survive a crash" in peer.messages[0][2]


def test_null_sender_is_never_bounced():
    """A bounce that cannot be delivered is dropped, never bounced again."""
    port = shared_port()
    with DnsServer(zones()) as dns, \
            FakeSMTP("127.0.0.7", port, rcpt=["550 5.1.1 no"]) as peer, \
            sender_tem(dns, port) as a:
        # inbound on port 25 from a stranger with the null sender to a
        # local alias that forwards outside
        a.admin("alias", "add", "fwd@a.test", "u@fake.test")
        a.wait_accounts()
        with smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=20) as s:
            s.sendmail("", ["fwd@a.test"], b"Subject: x\r\n\r\nbody\r\n")
        wait_for(lambda: "status=bounced" in a.log_text(), what="5xx")
        a.wait_queue_empty()
        assert a.maildir_messages(ALICE[0]) == []
        assert peer.sessions >= 1


def test_relay_host_replaces_mx_lookup_and_bind_address_is_used():
    port = shared_port()
    with DnsServer(zones()) as dns, FakeSMTP("127.0.0.7", port) as peer, \
            sender_tem(dns, port, relay_host="127.0.0.7:%d" % port,
                       outbound_bind_address="127.0.0.11") as a:
        # no DNS record exists for nowhere.test: the relay takes it all
        submit(a, ["x@nowhere.test", "y@b.test"], "via the smarthost\r\n")
        wait_for(lambda: peer.messages, what="relay delivery")
        a.wait_queue_empty()
        rcpts = sorted(r for m in peer.messages for r in m[1])
        assert rcpts == ["<x@nowhere.test>", "<y@b.test>"]
        assert set(peer.peers) == {"127.0.0.11"}


def test_queue_list_shows_id_age_sender_recipients_and_error():
    port = shared_port()
    with DnsServer(zones()) as dns, sender_tem(dns, port) as a:
        submit(a, ["x@dead.test"], "waiting\r\n")
        wait_for(lambda: "status=deferred" in a.log_text(), what="deferral")
        out = a.admin("queue", "list").stdout.decode()
        lines = out.splitlines()
        assert len(lines) == 1
        qid = lines[0].split()[0]
        assert len(qid) == 16
        assert "alice@a.test" in lines[0] and "x@dead.test" in lines[0]
        a.admin("queue", "del", qid)
        assert a.admin("queue", "list").stdout.decode().strip() == ""
        p = a.admin("queue", "del", qid, check=False)
        assert p.returncode != 0 and len(p.stderr.decode().splitlines()) == 1
