"""REQUIRETLS (RFC 8689): offered only over TLS, refused outside it
(530 5.7.10), kept in the queue file, and never relayed without TLS
verified by DANE or MTA-STS: toward a peer with opportunistic TLS only
the message bounces at once with 5.7.10 (the report carries the header
only), and the peer gets nothing. "TLS-Required: No" is stored as a
queue flag, and lets a message through a DANE policy that would defer
it. Over DANE-verified TLS a REQUIRETLS message is delivered and the
receiver records the flag.

Hosts and DNS as in test_delivery.py: tem A (sender) submits, tem B on
127.0.0.3 receives for b.test over opportunistic STARTTLS. The DANE case
uses test_dane.py's signed world and certificates.
"""

import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from dsnreader import parse_dsn  # noqa: E402
from temserver import (SMTPConn, insecure_tls_context,  # noqa: E402
                       shared_port, wait_for)
from test_delivery import ALICE, BOB, receiver_tem, sender_tem, zones  # noqa: E402,E501
from dnssecworld import DnssecWorld  # noqa: E402
from temserver import TemServer  # noqa: E402
import test_dane  # noqa: E402

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


def dane_receiver(certs, world, port):
    """tem on 127.0.0.2 as mx-ee.test (DANE-EE matches its key), taking
    ee.test; keep@ee.test forwards to hold.test, whose MX never answers,
    so a message it got stays in its queue for the test to read."""
    chain, key = certs.leaf("mx-ee.test")
    return TemServer(users={"bob@ee.test": "bob-secret-1",
                            "bob@two.test": "bob-secret-2"},
                     domains=("ee.test", "two.test"), hostname="mx-ee.test",
                     fixture_cert=False, listen_addr="127.0.0.2",
                     smtp_port=port,
                     aliases={"keep@ee.test": "x@hold.test"},
                     extra_conf={"tls_cert_file": chain,
                                 "tls_key_file": key,
                                 "dns_server": world.addr,
                                 "dns_trust_anchor_file": world.anchor,
                                 "outbound_port": str(port)})


def test_requiretls_over_dane(tmp_path):
    port = shared_port()
    certs = test_dane.Certs(str(tmp_path))
    recs = test_dane.world_records(certs) + [
        "hold IN MX 10 mx-hold.test.", "mx-hold IN A 127.0.0.9",
        # two.test: first an MX without TLSA (TLS, but not verified),
        # then the DANE one
        "two IN MX 10 mx-notlsa.test.", "two IN MX 20 mx-ee.test.",
        "mx-notlsa IN A 127.0.0.4",
        # three.test: the same first MX, then one that does not answer
        "three IN MX 10 mx-notlsa.test.", "three IN MX 20 mx-hold.test."]
    with DnssecWorld(extra=recs, extra_insecure=test_dane.INSECURE) as w, \
            dane_receiver(certs, w, port) as r_ee, \
            test_dane.receiver(certs, "wrong", 4, port,
                               ("wrong.test", "w.insecure.test")) as r_wrong, \
            test_dane.sender(w, port, queue_retry_base="1s") as a:
        # DANE-verified TLS to a peer offering REQUIRETLS: delivered,
        # and the receiver keeps the flag for its own relaying
        submit(a, "keep@ee.test")
        line = wait_for(lambda: r_ee.admin("queue", "list").stdout.decode(),
                        what="the message queued by the receiver")
        assert "to=<x@hold.test>" in line and " requiretls" in line, line
        assert any("host=mx-ee.test[127.0.0.2]" in l and "verified=yes" in l
                   for l in a.log_text().splitlines())
        a.wait_queue_empty()
        submit(a, "bob@ee.test")
        wait_for(lambda: r_ee.maildir_messages("bob@ee.test"),
                 what="REQUIRETLS delivery over DANE")

        # RFC 8689 4.2.1: a host REQUIRETLS cannot use is passed over
        # for the next MX host, which DANE verifies: delivered, no DSN
        submit(a, "bob@two.test")
        wait_for(lambda: r_ee.maildir_messages("bob@two.test"),
                 what="REQUIRETLS delivery through the second MX")
        assert re.search(r"mta requiretls-next dest=two\.test "
                         r"host=mx-notlsa\.test messages=1 \(5\.7\.10 ",
                         a.log_text())
        a.wait_queue_empty()
        assert a.maildir_messages(ALICE[0]) == []
        # no host left that REQUIRETLS allows: not sent, bounced at once
        # with the refusal, not retried as the dead host's deferral
        submit(a, "bob@three.test")
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]), what="bounce")
        r = parse_dsn(dsn[0]).recipient("bob@three.test")
        assert (r["action"], r["status"]) == ("failed", "5.7.10"), r
        a.wait_queue_empty()
        for f in os.listdir(os.path.join(a.maildir(ALICE[0]), "new")):
            os.unlink(os.path.join(a.maildir(ALICE[0]), "new", f))

        # an insecure MX: TLS but not verified, so 5.7.10 at once
        submit(a, "bob@w.insecure.test")
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]), what="bounce")
        r = parse_dsn(dsn[0]).recipient("bob@w.insecure.test")
        assert (r["action"], r["status"]) == ("failed", "5.7.10"), r
        assert r_wrong.maildir_messages("bob@w.insecure.test") == []

        # TLS-Required: No gets past a TLSA record that matches nothing
        # (delivered with opportunistic TLS instead of deferred)
        submit(a, "bob@wrong.test", requiretls=False,
               extra_header="TLS-Required: No\r\n")
        wait_for(lambda: r_wrong.maildir_messages("bob@wrong.test"),
                 what="delivery despite the DANE policy")
        assert "mta tls-required-no dest=wrong.test host=mx-wrong.test" \
            in a.log_text()
