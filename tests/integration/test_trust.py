"""Trust end to end between two tem instances: tem A signs what its users
send (DKIM), publishes SPF/DKIM/DMARC in a real test DNS server; tem B checks
SPF, DKIM and DMARC and writes Authentication-Results; DMARC p=reject mail
is refused with 550 5.7.1, p=quarantine mail is filed in Junk."""

import os
import re
import smtplib
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from temserver import (TemServer, insecure_tls_context,  # noqa: E402
                       shared_port, wait_for)

ALICE = ("alice@a.test", "alice-secret-1")
BOB = ("bob@b.test", "bob-secret-1")


def txt_rr(name, value):
    """A TXT record, the value split into 255-octet strings."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)]
    return "%s 300 IN TXT %s" % (name, " ".join('"%s"' % p for p in parts))


def base_zones(a_dmarc="p=reject"):
    return {
        "a.test": [
            "a.test. 300 IN MX 10 mx.a.test.",
            "mx.a.test. 300 IN A 127.0.0.1",
            txt_rr("a.test.", "v=spf1 ip4:127.0.0.1 -all"),
            txt_rr("_dmarc.a.test.", "v=DMARC1; %s; adkim=s; aspf=s" % a_dmarc),
        ],
        "b.test": [
            "b.test. 300 IN MX 10 mx.b.test.",
            "mx.b.test. 300 IN A 127.0.0.3",
        ],
        # a domain whose SPF allows nobody: forged mail from it fails
        "bank.test": [
            txt_rr("bank.test.", "v=spf1 -all"),
            txt_rr("_dmarc.bank.test.", "v=DMARC1; p=reject"),
        ],
        "shop.test": [
            txt_rr("shop.test.", "v=spf1 -all"),
            txt_rr("_dmarc.shop.test.", "v=DMARC1; p=quarantine"),
        ],
    }


def dkim_records(tem):
    """tem's own `dns-records a.test` DKIM lines, as unbound RRs."""
    out = tem.admin("dns-records", "a.test").stdout.decode()
    rrs = []
    for line in out.splitlines():
        m = re.match(r"(\S+) IN TXT (.*)$", line)
        if m and "_domainkey" in m.group(1):
            rrs.append("%s 300 IN TXT %s" % (m.group(1), m.group(2)))
    return rrs


# a body that spans many spool buffers: DKIM hashes it as it streams
BIG_BODY = b"".join(b"line %d of a big signed body .\r\n.dot line\r\n" % i
                    for i in range(60000))


@pytest.mark.parametrize("body", [b"hello Bob\r\n", BIG_BODY],
                         ids=["small", "3MB"])
def test_signed_mail_passes_spf_dkim_dmarc_at_the_receiver(tmp_path, body):
    port = shared_port()
    # keys first (tem A's data), then DNS with them, then the servers
    with TemServer(users=dict([ALICE]), domains=("a.test",),
                   services=("smtp", "submission")) as a0:
        a0.admin("dkim", "keygen", "a.test")
        a0.admin("dkim", "keygen", "a.test", "--type", "ed25519")
        zones = base_zones()
        zones["a.test"] += dkim_records(a0)
        with DnsServer(zones) as dns, \
                TemServer(users=dict([BOB]), domains=("b.test",),
                          hostname="mx.b.test", listen_addr="127.0.0.3",
                          smtp_port=port,
                          extra_conf={"dns_server": dns.addr}) as b:
            a0.stop()
            with open(a0.conf_path) as f:
                lines = [l for l in f if not l.startswith("dns_server")]
            lines.append("dns_server = %s\noutbound_port = %d\n"
                         "queue_retry_base = 1s\n" % (dns.addr, port))
            with open(a0.conf_path, "w") as f:
                f.writelines(lines)
            a0.extra_conf = {}
            a0.start()
            # keys are read at start-up, before the first connection
            with open(a0.logs[-1]) as f:
                assert "server dkim-keys domains=1" in f.read()
            msg = (b"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\n"
                   b"Subject: signed\r\n\r\n" + body)
            with smtplib.SMTP("127.0.0.1", a0.ports["submission"],
                              timeout=20) as s:
                s.starttls(context=insecure_tls_context())
                s.login(*ALICE)
                s.sendmail(ALICE[0], [BOB[0]], msg)
            got = wait_for(lambda: b.maildir_messages(BOB[0]),
                           what="delivery")
            text = got[0].decode()
            ar = re.search(r"Authentication-Results: mx\.b\.test;.*?\n(?=\S)",
                           text, re.S).group(0)
            assert "spf=pass" in ar
            assert ar.count("dkim=pass") == 2, ar      # rsa and ed25519
            assert "header.d=a.test" in ar
            assert "dmarc=pass" in ar
            assert text.count("DKIM-Signature:") == 2


def inbound(b, mail_from, header_from, subject="x"):
    with smtplib.SMTP("127.0.0.3", b.smtp_port, timeout=20) as s:
        return s.sendmail(mail_from, [BOB[0]],
                          ("From: %s\r\nTo: bob@b.test\r\nSubject: %s\r\n\r\n"
                           "body\r\n" % (header_from, subject)).encode())


def receiver(dns, port):
    return TemServer(users=dict([BOB]), domains=("b.test",),
                     hostname="mx.b.test", listen_addr="127.0.0.3",
                     smtp_port=port, extra_conf={"dns_server": dns.addr})


def test_dmarc_reject_is_refused_with_550():
    port = shared_port()
    with DnsServer(base_zones()) as dns, receiver(dns, port) as b:
        with pytest.raises(smtplib.SMTPDataError) as e:
            inbound(b, "ceo@bank.test", "CEO <ceo@bank.test>")
        assert e.value.smtp_code == 550
        assert e.value.smtp_error.startswith(b"5.7.1")
        assert b.maildir_messages(BOB[0]) == []
        assert "dmarc=fail" in b.log_text()


def test_dmarc_quarantine_goes_to_junk():
    port = shared_port()
    with DnsServer(base_zones()) as dns, receiver(dns, port) as b:
        inbound(b, "sale@shop.test", "Shop <sale@shop.test>", "cheap")
        junk = wait_for(lambda: b.maildir_messages(BOB[0] + "/.Junk") or
                        _junk(b), what="quarantined message")
        assert b.maildir_messages(BOB[0]) == []
        assert b"dmarc=fail" in junk[0]


def _junk(b):
    d = os.path.join(b.maildir(BOB[0]), ".Junk", "new")
    if not os.path.isdir(d):
        return []
    return [open(os.path.join(d, f), "rb").read() for f in os.listdir(d)]


def test_unsigned_mail_without_policy_is_delivered_with_results():
    port = shared_port()
    zones = base_zones()
    zones["plain.test"] = [txt_rr("plain.test.", "v=spf1 ip4:127.0.0.1 -all")]
    with DnsServer(zones) as dns, receiver(dns, port) as b:
        inbound(b, "joe@plain.test", "Joe <joe@plain.test>")
        got = wait_for(lambda: b.maildir_messages(BOB[0]), what="delivery")
        text = got[0].decode()
        assert "Authentication-Results: mx.b.test;" in text
        assert "spf=pass" in text and "dkim=none" in text
        assert "dmarc=none" in text


def test_forged_results_with_our_name_are_removed():
    port = shared_port()
    with DnsServer(base_zones()) as dns, receiver(dns, port) as b:
        with smtplib.SMTP("127.0.0.3", b.smtp_port, timeout=20) as s:
            s.sendmail("joe@nowhere.test", [BOB[0]],
                       b"Authentication-Results: mx.b.test; dkim=pass "
                       b"header.d=bank.test\r\n"
                       b"Authentication-Results: other.test; spf=pass\r\n"
                       b"From: joe@nowhere.test\r\nSubject: forged\r\n\r\n"
                       b"trust me\r\n")
        got = wait_for(lambda: b.maildir_messages(BOB[0]), what="delivery")
        text = got[0].decode()
        assert "header.d=bank.test" not in text
        assert "Authentication-Results: other.test; spf=pass" in text
        assert text.count("Authentication-Results: mx.b.test;") == 1


def test_our_domain_failing_spf_from_outside_is_refused():
    port = shared_port()
    zones = base_zones()
    zones["b.test"].append(txt_rr("b.test.", "v=spf1 ip4:192.0.2.1 -all"))
    with DnsServer(zones) as dns, receiver(dns, port) as b:
        with pytest.raises(smtplib.SMTPDataError) as e:
            inbound(b, "bob@b.test", "bob@b.test")
        assert e.value.smtp_code == 550
