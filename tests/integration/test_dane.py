"""DANE for outbound SMTP (RFC 7672, issue 14): the sending tem resolves
through a DNSSEC-signed world (tests/lib/dnssecworld.py: ldns-signzone,
nsd) whose TLSA records the test computes from certificates it makes with
`openssl` (a test CA, leaves for each MX name). The receivers are other
tem instances on 127.0.0.x presenting those certificates, or small SMTP
sinks (tests/lib/fakesmtp.py) that offer no STARTTLS.

  - DANE-EE (3 1 1 of the leaf's key) and DANE-TA (2 1 1 of the CA's key,
    the leaf naming the MX host): delivered over verified TLS;
  - a TLSA record that matches nothing: deferred, the receiver gets
    nothing;
  - a TLSA record for a host that offers no STARTTLS: deferred, never sent
    in clear;
  - a TLSA answer whose signature is broken (bogus), or a bogus MX
    answer: the host is not even contacted, the message is deferred;
  - an insecure (unsigned) MX answer: no DANE, opportunistic TLS as
    before, even towards a host whose TLSA would not match;
  - dane = no: no TLSA look-up, opportunistic delivery;
  - each TLS attempt is one TLS-RPT event (the debug line of
    mta_tls_policy_note) with its policy type and RFC 8460 result.
"""

import hashlib
import os
import smtplib
import subprocess

from dnssecworld import DnssecWorld
from fakesmtp import FakeSMTP
from temserver import TemServer, insecure_tls_context, shared_port, wait_for

ALICE = ("alice@a.test", "alice-secret-1")
BAD_HEX = "cd" * 32


def openssl(*args, cwd):
    return subprocess.run(("openssl",) + args, cwd=cwd, check=True,
                          capture_output=True).stdout


class Certs:
    """A test CA and leaves it signs, made with the openssl command."""

    def __init__(self, d):
        self.d = d
        self.leaves = {}
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                "-out", "ca.crt", "-days", "30", "-subj", "/CN=DANE test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", cwd=d)

    def leaf(self, name):
        """(chain file: leaf then CA, key file) for host name."""
        if name in self.leaves:
            return self.leaves[name]
        ext = os.path.join(self.d, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "subjectAltName=DNS:%s\n" % name)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + name, cwd=self.d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                "-extfile", ext, "-out", name + ".crt", cwd=self.d)
        chain = os.path.join(self.d, name + ".chain")
        with open(chain, "wb") as f:
            for part in (name + ".crt", "ca.crt"):
                with open(os.path.join(self.d, part), "rb") as g:
                    f.write(g.read())
        self.leaves[name] = chain, os.path.join(self.d, name + ".key")
        return self.leaves[name]

    def spki_sha256(self, crt):
        """The TLSA 1 1 data (SHA-256 of the SubjectPublicKeyInfo)."""
        pem = openssl("x509", "-in", crt, "-noout", "-pubkey", cwd=self.d)
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                             input=pem, check=True,
                             capture_output=True).stdout
        return hashlib.sha256(der).hexdigest()


def world_records(certs):
    """The signed names: NAME.test MX mx-NAME.test at 127.0.0.N with its
    TLSA record."""
    certs.leaf("mx-ee.test")
    ee = certs.spki_sha256(os.path.join(certs.d, "mx-ee.test.crt"))
    ca = certs.spki_sha256(os.path.join(certs.d, "ca.crt"))
    hosts = [("ee", 2, "3 1 1 " + ee), ("ta", 3, "2 1 1 " + ca),
             ("wrong", 4, "3 1 1 " + BAD_HEX),
             ("plain", 5, "3 1 1 " + ee), ("bogus", 6, "3 1 1 " + ee)]
    recs = []
    for name, n, tlsa in hosts:
        recs += ["%s IN MX 10 mx-%s.test." % (name, name),
                 "mx-%s IN A 127.0.0.%d" % (name, n),
                 "_25._tcp.mx-%s IN TLSA %s" % (name, tlsa)]
    return recs


# The TLSA record of mx-bogus changed after signing: its RRSIG fails.
TAMPER = [(r"^(_25\._tcp\.mx-bogus\.test\.\s+\d+\s+IN\s+TLSA\s+3 1 1 )\S+$",
           r"\g<1>" + BAD_HEX)]
# An unsigned name whose MX is a signed host with a wrong TLSA record.
INSECURE = ["w IN MX 10 mx-wrong.test."]


def receiver(certs, name, n, port, domains):
    chain, key = certs.leaf("mx-%s.test" % name)
    users = {"bob@" + d: "bob-secret-1" for d in domains}
    return TemServer(users=users, domains=domains, hostname="mx-%s.test"
                     % name, fixture_cert=False,
                     listen_addr="127.0.0.%d" % n, smtp_port=port,
                     extra_conf={"tls_cert_file": chain,
                                 "tls_key_file": key})


def sender(world, port, **extra):
    conf = {"dns_server": world.addr, "dns_trust_anchor_file": world.anchor,
            "outbound_port": str(port)}
    conf.update(extra)
    return TemServer(users=dict([ALICE]), domains=("a.test",),
                     services=("smtp", "submission"), extra_conf=conf)


def submit(tem, rcpt):
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: dane\r\n\r\nhi\r\n"
           % (ALICE[0], rcpt))
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(ALICE[0], [rcpt], msg.encode())


def deferred_to(tem, rcpt):
    return "mta to=<%s>" % rcpt in tem.log_text() and any(
        "to=<%s>" % rcpt in l and "status=deferred" in l
        for l in tem.log_text().splitlines())


def test_dane_outcomes(tmp_path):
    port = shared_port()
    certs = Certs(str(tmp_path))
    with DnssecWorld(extra=world_records(certs), extra_insecure=INSECURE,
                     tamper=TAMPER) as w, \
            receiver(certs, "ee", 2, port, ("ee.test",)) as r_ee, \
            receiver(certs, "ta", 3, port, ("ta.test",)) as r_ta, \
            receiver(certs, "wrong", 4, port,
                     ("wrong.test", "w.insecure.test")) as r_wrong, \
            FakeSMTP("127.0.0.5", port) as plain, \
            FakeSMTP("127.0.0.6", port) as bogus, \
            FakeSMTP("127.0.0.1", port) as mx_test, \
            sender(w, port) as a:
        # DANE-EE: delivered, verified
        submit(a, "bob@ee.test")
        wait_for(lambda: r_ee.maildir_messages("bob@ee.test"),
                 what="delivery to mx-ee over DANE-EE")
        log = a.log_text()
        assert "mta dane dest=ee.test host=mx-ee.test tlsa=1" in log
        assert "host=mx-ee.test[127.0.0.2] TLSv1" in log
        assert any("host=mx-ee.test[127.0.0.2]" in l and "policy=dane "
                   "verified=yes" in l for l in log.splitlines()), log

        # DANE-TA: the CA's key, the leaf names the MX host
        submit(a, "bob@ta.test")
        wait_for(lambda: r_ta.maildir_messages("bob@ta.test"),
                 what="delivery to mx-ta over DANE-TA")
        assert any("host=mx-ta.test[127.0.0.3]" in l and "policy=dane "
                   "verified=yes" in l for l in a.log_text().splitlines())

        # A TLSA record that matches nothing: deferred after the handshake
        submit(a, "bob@wrong.test")
        wait_for(lambda: deferred_to(a, "bob@wrong.test"),
                 what="the wrong TLSA to defer the message")
        log = a.log_text()
        assert ("mta tls-policy-failed host=mx-wrong.test[127.0.0.4] "
                "policy=dane result=tlsa-invalid enforced=yes") in log
        assert "4.7.5 TLS policy dane of host mx-wrong.test" in log
        assert r_wrong.maildir_messages("bob@wrong.test") == []

        # TLSA, but no STARTTLS offered: deferred, nothing sent in clear
        submit(a, "bob@plain.test")
        wait_for(lambda: deferred_to(a, "bob@plain.test"),
                 what="the host without STARTTLS to defer the message")
        assert ("mta tls-policy-failed host=mx-plain.test[127.0.0.5] "
                "policy=dane result=starttls-not-supported") in a.log_text()
        assert plain.sessions >= 1 and plain.messages == []

        # A bogus TLSA answer: the host is never contacted
        submit(a, "bob@bogus.test")
        wait_for(lambda: deferred_to(a, "bob@bogus.test"),
                 what="the bogus TLSA answer to defer the message")
        log = a.log_text()
        assert ("mta tls-policy-failed dest=bogus.test host=mx-bogus.test "
                "policy=dane result=dnssec-invalid") in log
        assert ("TLSA look-up for mx-bogus.test failed DNSSEC validation "
                "(dnssec-invalid)") in log
        assert bogus.sessions == 0

        # A bogus MX answer (bad.test, dnssecworld.py): never contacted
        submit(a, "bob@bad.test")
        wait_for(lambda: deferred_to(a, "bob@bad.test"),
                 what="the bogus MX answer to defer the message")
        assert mx_test.sessions == 0

        # An insecure MX answer: no DANE, opportunistic TLS as before
        submit(a, "bob@w.insecure.test")
        wait_for(lambda: r_wrong.maildir_messages("bob@w.insecure.test"),
                 what="opportunistic delivery for the insecure domain")
        assert any("host=mx-wrong.test[127.0.0.4]" in l and "policy=none "
                   "verified=no" in l for l in a.log_text().splitlines())
        assert "mta dane dest=w.insecure.test" not in a.log_text()

        # one TLS-RPT event per attempt, with its RFC 8460 result
        log = a.log_text()
        for event in ("domain=ee.test type=tlsa result=success "
                      "mx=mx-ee.test ip=127.0.0.2 helo=mx-ee.test",
                      "domain=ta.test type=tlsa result=success",
                      "domain=wrong.test type=tlsa result=tlsa-invalid",
                      "domain=plain.test type=tlsa "
                      "result=starttls-not-supported",
                      "domain=bogus.test type=tlsa result=dnssec-invalid "
                      "mx=mx-bogus.test ip=-",
                      "domain=w.insecure.test type=no-policy-found "
                      "result=success"):
            assert "mta tlsrpt " + event in log, event

        # the four deferred messages wait in the queue
        assert len(a.queue_ids()) == 4
        assert r_wrong.maildir_messages("bob@wrong.test") == []
        assert plain.messages == []


def test_dane_no_is_opportunistic(tmp_path):
    port = shared_port()
    certs = Certs(str(tmp_path))
    with DnssecWorld(extra=world_records(certs), extra_insecure=INSECURE,
                     tamper=TAMPER) as w, \
            receiver(certs, "wrong", 4, port, ("wrong.test",)) as r_wrong, \
            sender(w, port, dane="no") as a:
        submit(a, "bob@wrong.test")
        wait_for(lambda: r_wrong.maildir_messages("bob@wrong.test"),
                 what="opportunistic delivery with dane = no")
        log = a.log_text()
        assert "mta dane dest=" not in log
        assert "tls-policy-failed" not in log
        assert any("host=mx-wrong.test[127.0.0.4]" in l and "policy=none "
                   "verified=no" in l for l in log.splitlines())
        a.wait_queue_empty()
