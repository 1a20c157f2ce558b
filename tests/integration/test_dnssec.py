"""DNSSEC validation in tem's resolver (issue 14): a signed world built by
the test (tests/lib/dnssecworld.py: ldns-signzone, served by nsd), tem's
libunbound pointed at it with dns_server and the signed zone's DS as
dns_trust_anchor_file.

  - by the resolver alone, through build/asan/tests/dns/test-dns-tool (a
    diagnostic printing status, security and records of one look-up):
    signed answers are secure, an unsigned delegation is insecure, a
    record changed after signing is bogus and comes back as TEMPFAIL;
  - by tem serving mail: a message to a domain whose MX answer is bogus
    is deferred and never sent, one to a secure domain is delivered.
"""

import os
import smtplib
import subprocess

from dnsserver import DnsServer
from dnssecworld import TLSA_HEX, DnssecWorld
from fakesmtp import FakeSMTP
from temserver import TemServer, insecure_tls_context, shared_port, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build", "asan", "tests", "dns", "test-dns-tool")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error")
ALICE = ("alice@a.test", "alice-secret-1")


def look(world, qtype, name, anchor=None):
    """[status security, records...] of one look-up by tem's resolver."""
    r = subprocess.run([TOOL, world.addr, anchor or world.anchor, qtype,
                        name], capture_output=True, text=True, timeout=90)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r.stdout.splitlines(), r.stderr


def test_signed_answers_are_secure():
    with DnssecWorld() as w:
        assert look(w, "a", "www.test")[0] == ["OK secure", " 127.0.0.1"]
        assert look(w, "mx", "test")[0] == [
            "OK secure", "10 mx.test 127.0.0.1 secure"]
        assert look(w, "tlsa", "_25._tcp.mx.test")[0] == [
            "OK secure", "3 1 1 " + TLSA_HEX[6:]]
        # a validated denial is secure too
        assert look(w, "tlsa", "_25._tcp.nx.test")[0] == ["NXDOMAIN secure"]


def test_unsigned_delegation_is_insecure():
    with DnssecWorld() as w:
        assert look(w, "a", "www.insecure.test")[0] == [
            "OK insecure", " 127.0.0.2"]
        # the MX answer is insecure, its host (in test.) secure
        assert look(w, "mx", "insecure.test")[0] == [
            "OK insecure", "10 mx.test 127.0.0.1 secure"]


def test_broken_signature_is_bogus_and_never_data():
    with DnssecWorld() as w:
        out, err = look(w, "mx", "bad.test")
        assert out[0].startswith("TEMPFAIL bogus "), out
        assert "DNSSEC bogus" in out[0]
        assert len(out) == 1                # no host taken from it
        assert "dns bogus name=bad.test type=15" in err
        assert "signature verification failed" in err
        # without a trust anchor nothing is validated: the changed
        # record is taken as it is, insecure
        assert look(w, "mx", "bad.test", anchor="none")[0] == [
            "OK insecure", "20 mx.test 127.0.0.1 insecure"]


def test_root_anchor_leaves_a_local_test_zone_insecure():
    """The default anchor (the root's): a local unsigned zone under the
    special-use "test." is insecure, not bogus against the root."""
    zones = {"plain.test": ["plain.test. 300 IN MX 10 mx.plain.test.",
                            "mx.plain.test. 300 IN A 127.0.0.5"]}
    with DnsServer(zones) as d:
        assert look(d, "mx", "plain.test",
                    anchor="/usr/share/dns/root.key")[0] == [
            "OK insecure", "10 mx.plain.test 127.0.0.5 insecure"]


def submit(tem, rcpt):
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: dnssec\r\n\r\nhi\r\n"
           % (ALICE[0], rcpt))
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(ALICE[0], [rcpt], msg.encode())


def test_mail_to_a_bogus_domain_is_deferred_never_sent():
    port = shared_port()
    with DnssecWorld() as w, FakeSMTP("127.0.0.1", port) as peer, \
            TemServer(users=dict([ALICE]), domains=("a.test",),
                      services=("smtp", "submission"),
                      extra_conf={"dns_server": w.addr,
                                  "dns_trust_anchor_file": w.anchor,
                                  "outbound_port": str(port),
                                  # mx.test's TLSA matches no peer and
                                  # the peer has no STARTTLS: DANE would
                                  # defer carol@test (test_dane.py)
                                  "dane": "no",
                                  "queue_retry_base": "1s"}) as a:
        submit(a, "bob@bad.test")
        wait_for(lambda: "status=deferred" in a.log_text(),
                 what="the bogus MX to defer the message")
        log = a.log_text()
        assert "dns bogus name=bad.test type=15" in log
        assert len(a.queue_ids()) == 1      # kept, not bounced
        # the secure domain next to it is delivered over the same resolver
        submit(a, "carol@test")
        wait_for(lambda: peer.messages, what="delivery to mx.test")
        assert [m[1] for m in peer.messages] == [["<carol@test>"]]
        # bad.test's message still waits (carol's goes once reported)
        wait_for(lambda: len(a.queue_ids()) == 1, what="carol's removal")
        bob = " ".join(l for l in a.log_text().splitlines()
                       if "to=<bob@bad.test>" in l)
        assert "status=sent" not in bob and "status=bounced" not in bob
