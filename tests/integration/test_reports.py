"""DMARC aggregate reports (RFC 7489 7.2) and SMTP TLS reports (RFC 8460)
sent by one tem ("A", the reporter) to another ("R", at 127.0.0.3), over
DNS served by a private unbound (tests/lib/dnsserver.py).

A day of traffic: inbound mail to A from several source addresses and
From domains (DMARC pass, fail with p=none, fail with p=reject), and
outbound deliveries from A with STARTTLS (R) and without (a FakeSMTP at
127.0.0.4). `tem report run --date TODAY` makes A report now; the test
then reads the report mails R received: the gzip'd JSON is validated
against a JSON schema written from RFC 8460 4.4
(tests/data/tlsrpt-report.schema.json), the gzip'd XML with xmllint
against RFC 7489 appendix C's XSD (tests/data/dmarc-rua.xsd), and the
counts are checked. A rua in another organizational domain gets its
report only with the authorization record of RFC 7489 7.1; an https: rua
gets the same JSON POSTed (a local HTTPS sink). Also: the report of a
DANE failure (test_dane's DNSSEC world), MTA-STS outcomes as counted
(test_mta_sts_out's world), and the config switches that turn both off.
"""

import datetime
import email
import email.policy
import gzip
import http.server
import json
import os
import re
import smtplib
import ssl
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET

import jsonschema                 # Debian: python3-jsonschema

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402
from temserver import (TemServer, free_port,  # noqa: E402
                       insecure_tls_context, shared_port, wait_for)

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
ALICE = ("alice@a.test", "alice-secret-1")
R_USERS = {"bob@b.test": "bob-secret-1", "tls@rep.test": "tls-secret-1",
           "dmarc@rep.test": "dmarc-secret-1",
           "dmarc@s1.test": "dmarc-secret-2"}


class ReportSink:
    """An HTTPS server for the https: rua (mx.a.test's fixture
    certificate, which A trusts through tls_ca_file): it keeps every
    POST as (path, headers, body)."""

    def __init__(self):
        self.port = free_port()
        self.posts = []

    def __enter__(self):
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers["Content-Length"])
                sink.posts.append((self.path, dict(self.headers),
                                   self.rfile.read(n)))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", self.port),
                                            Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(DATA, "mx.a.test.crt"),
                            os.path.join(DATA, "mx.a.test.key"))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def txt(name, text):
    return '%s. 300 IN TXT "%s"' % (name, text)


def zones(https_port):
    spf = "v=spf1 ip4:127.0.0.5 -all"
    return {
        "a.test": ["a.test. 300 IN MX 10 mx.a.test.",
                   "mx.a.test. 300 IN A 127.0.0.1"],
        "b.test": ["b.test. 300 IN MX 10 mx.b.test.",
                   "mx.b.test. 300 IN A 127.0.0.3",
                   txt("_smtp._tls.b.test",
                       "v=TLSRPTv1; rua=mailto:tls@rep.test")],
        "nostls.test": ["nostls.test. 300 IN MX 10 mx.nostls.test.",
                        "mx.nostls.test. 300 IN A 127.0.0.4",
                        txt("_smtp._tls.nostls.test",
                            "v=TLSRPTv1;rua=https://mx.a.test:%d/tlsrpt,"
                            "mailto:tls@rep.test" % https_port)],
        "rep.test": ["rep.test. 300 IN MX 10 mx.rep.test.",
                     "mx.rep.test. 300 IN A 127.0.0.3",
                     # s2.test may send its reports here; s3.test may not
                     txt("s2.test._report._dmarc.rep.test", "v=DMARC1")],
        # rua in its own domain: no authorization needed
        "s1.test": ["s1.test. 300 IN MX 10 mx.rep.test.", txt("s1.test", spf),
                    txt("_dmarc.s1.test", "v=DMARC1; p=none; "
                        "rua=mailto:dmarc@s1.test")],
        "s2.test": [txt("s2.test", spf),
                    txt("_dmarc.s2.test", "v=DMARC1; p=reject; adkim=s; "
                        "rua=mailto:dmarc@rep.test!10m")],
        "s3.test": [txt("s3.test", spf),
                    txt("_dmarc.s3.test", "v=DMARC1; p=quarantine; "
                        "rua=mailto:dmarc@rep.test")],
    }


def inbound(a, source_ip, from_domain):
    """One message to alice@a.test from source_ip; True when accepted."""
    msg = ("From: x@%s\r\nTo: alice@a.test\r\nSubject: traffic\r\n"
           "Message-ID: <%s.%s@t>\r\n\r\nhello\r\n" % (
               from_domain, source_ip, from_domain))
    with smtplib.SMTP("127.0.0.1", a.smtp_port, timeout=20,
                      source_address=(source_ip, 0)) as s:
        try:
            s.sendmail("x@" + from_domain, ["alice@a.test"], msg.encode())
            return True
        except smtplib.SMTPDataError as e:
            assert e.smtp_code == 550
            return False


def outbound(a, rcpt):
    with smtplib.SMTP("127.0.0.1", a.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(ALICE[0], [rcpt], (
            "From: %s\r\nTo: %s\r\nSubject: out\r\n\r\nhi\r\n" % (
                ALICE[0], rcpt)).encode())


def attachment(stored):
    """(message, filename, decompressed bytes) of one stored report."""
    m = email.message_from_bytes(stored, policy=email.policy.default)
    for part in m.walk():
        if part.get_content_type() in ("application/tlsrpt+gzip",
                                       "application/gzip"):
            return m, part.get_filename(), gzip.decompress(
                part.get_payload(decode=True))
    raise AssertionError("no report attachment in:\n%r" % stored[:2000])


def xml_valid(tmp_path, doc):
    path = tmp_path / "report.xml"
    path.write_bytes(doc)
    p = subprocess.run(["xmllint", "--noout", "--schema",
                        os.path.join(DATA, "dmarc-rua.xsd"), str(path)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout.decode()


def rows(root):
    out = {}
    for rec in root.findall("record"):
        out[rec.findtext("row/source_ip")] = {
            "count": int(rec.findtext("row/count")),
            "disposition": rec.findtext("row/policy_evaluated/disposition"),
            "dkim": rec.findtext("row/policy_evaluated/dkim"),
            "spf": rec.findtext("row/policy_evaluated/spf"),
            "header_from": rec.findtext("identifiers/header_from"),
            "spf_result": rec.findtext("auth_results/spf/result"),
        }
    return out


def test_daily_reports(tmp_path):
    port = shared_port()
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    with ReportSink() as web, DnsServer(zones(web.port)) as dns, \
            TemServer(users=R_USERS, domains=("b.test", "rep.test",
                                               "s1.test"),
                      hostname="mx.rep.test", listen_addr="127.0.0.3",
                      smtp_port=port) as r, \
            FakeSMTP("127.0.0.4", port) as plain, \
            TemServer(users=dict([ALICE]), domains=("a.test",),
                      services=("smtp", "submission"),
                      extra_conf={"dns_server": dns.addr,
                                  "outbound_port": str(port),
                                  "queue_retry_base": "1s",
                                  "tls_ca_file": os.path.join(
                                      DATA, "mx.a.test.crt")}) as a:
        # the key read at start: the reports are DKIM-signed with it
        a.stop()
        a.admin("dkim", "keygen", "a.test")
        a.start()
        # inbound: s1 passes twice from .5, fails once from .6 (p=none);
        # s2 fails from .6 (p=reject: refused, still reported); s3 passes
        assert inbound(a, "127.0.0.5", "s1.test")
        assert inbound(a, "127.0.0.5", "s1.test")
        assert inbound(a, "127.0.0.6", "s1.test")
        assert not inbound(a, "127.0.0.6", "s2.test")
        assert inbound(a, "127.0.0.5", "s3.test")
        # outbound: STARTTLS at R, none at the FakeSMTP
        outbound(a, "bob@b.test")
        wait_for(lambda: r.maildir_messages("bob@b.test"), what="delivery")
        outbound(a, "someone@nostls.test")
        wait_for(lambda: plain.messages, what="clear delivery")
        a.wait_queue_empty()

        p = a.admin("report", "run", "--date", today)
        assert p.stdout.decode().strip() == "jobs=5 queued=4 posted=1", \
            p.stdout

        tls = wait_for(lambda: len(r.maildir_messages("tls@rep.test")) == 2
                       and r.maildir_messages("tls@rep.test"),
                       what="two TLS reports")
        d_s1 = wait_for(lambda: r.maildir_messages("dmarc@s1.test"),
                        what="the s1.test DMARC report")
        d_rep = wait_for(lambda: r.maildir_messages("dmarc@rep.test"),
                         what="the s2.test DMARC report")
        a.wait_queue_empty()

        # --- TLS-RPT ----------------------------------------------------
        schema = json.load(open(os.path.join(
            DATA, "tlsrpt-report.schema.json")))
        by_domain = {}
        for stored in tls:
            m, name, doc = attachment(stored)
            report = json.loads(doc)
            jsonschema.validate(report, schema)
            dom = m["TLS-Report-Domain"]
            by_domain[dom] = report
            assert m["TLS-Report-Submitter"] == "mx.a.test"
            assert m.get_content_type() == "multipart/report"
            assert m.get_param("report-type") == "tlsrpt"
            assert re.fullmatch(r"Report Domain: %s Submitter: mx\.a\.test "
                                r"Report-ID: <[^>]+>" % re.escape(dom),
                                m["Subject"]), m["Subject"]
            assert re.fullmatch(r"mx\.a\.test!%s!\d+!\d+\.json\.gz" %
                                re.escape(dom), name), name
            assert "d=a.test" in str(m["DKIM-Signature"])
            assert report["date-range"]["start-datetime"] == \
                today + "T00:00:00Z"
        assert sorted(by_domain) == ["b.test", "nostls.test"]
        (pol,) = by_domain["b.test"]["policies"]
        assert pol["policy"]["policy-type"] == "no-policy-found"
        assert pol["policy"]["policy-domain"] == "b.test"
        assert pol["summary"] == {"total-successful-session-count": 1,
                                  "total-failure-session-count": 0}
        (pol,) = by_domain["nostls.test"]["policies"]
        assert pol["summary"]["total-failure-session-count"] == 1
        (fd,) = pol["failure-details"]
        assert fd["result-type"] == "starttls-not-supported"
        assert fd["receiving-mx-hostname"] == "mx.nostls.test"
        assert fd["receiving-ip"] == "127.0.0.4"
        assert fd["failed-session-count"] == 1
        # the same report POSTed to the https: rua (RFC 8460 3)
        ((path, headers, body),) = web.posts
        assert path == "/tlsrpt"
        assert headers["Content-Type"] == "application/tlsrpt+gzip"
        assert json.loads(gzip.decompress(body)) == by_domain["nostls.test"]

        # --- DMARC ------------------------------------------------------
        (stored,) = d_s1
        m, name, doc = attachment(stored)
        xml_valid(tmp_path, doc)
        assert re.fullmatch(r"mx\.a\.test!s1\.test!\d+!\d+\.xml\.gz", name)
        assert re.fullmatch(r"Report Domain: s1\.test Submitter: mx\.a\.test"
                            r" Report-ID: .+", m["Subject"]), m["Subject"]
        root = ET.fromstring(doc)
        assert root.findtext("policy_published/domain") == "s1.test"
        assert root.findtext("policy_published/p") == "none"
        got = rows(root)
        assert got["127.0.0.5"] == {"count": 2, "disposition": "none",
                                    "dkim": "fail", "spf": "pass",
                                    "header_from": "s1.test",
                                    "spf_result": "pass"}
        assert got["127.0.0.6"]["count"] == 1
        assert got["127.0.0.6"]["spf"] == "fail"
        assert got["127.0.0.6"]["spf_result"] == "fail"

        (stored,) = d_rep      # s2 only: s3.test is not authorized
        m, name, doc = attachment(stored)
        xml_valid(tmp_path, doc)
        root = ET.fromstring(doc)
        assert root.findtext("policy_published/domain") == "s2.test"
        assert root.findtext("policy_published/p") == "reject"
        assert root.findtext("policy_published/adkim") == "s"
        assert rows(root) == {"127.0.0.6": {
            "count": 1, "disposition": "reject", "dkim": "fail",
            "spf": "fail", "header_from": "s2.test", "spf_result": "fail"}}
        log = a.log_text()
        assert re.search(r"report rua-refused kind=dmarc domain=s3\.test "
                         r"to=<dmarc@rep\.test> reason=no-authorization",
                         log), log[-3000:]
        assert "report posted kind=tls domain=nostls.test " \
               "url=\"https://mx.a.test:%d/tlsrpt\" status=201" % web.port \
            in log

        # reported once: today's data is not sent again (the new jobs are
        # the TLS sessions of the report mails themselves, to domains
        # without a _smtp._tls record), and the run without --date only
        # takes finished days
        p = a.admin("report", "run", "--date", today)
        assert p.stdout.decode().strip() == "jobs=2 queued=0 posted=0"
        log = a.log_text()
        assert "report no-rua kind=tls domain=rep.test dns=NXDOMAIN" in log
        assert "report no-rua kind=tls domain=s1.test dns=NXDOMAIN" in log
        p = a.admin("report", "run")
        assert p.stdout.decode().strip() == "jobs=0 queued=0 posted=0"


def test_report_run_needs_a_server_and_a_date():
    with TemServer() as a:
        p = a.admin("report", "run", "--date", "2026-1-07", check=False)
        assert p.returncode == 2 and b"YYYY-MM-DD" in p.stderr
        a.stop()
        p = a.admin("report", "run", check=False)
        assert p.returncode == 1 and b"no server" in p.stderr


def test_tls_report_of_a_dane_failure(tmp_path):
    """A TLSA record that matches nothing (DANE, RFC 7672): the report has
    the "tlsa" policy with its record and a tlsa-invalid failure; it goes
    to the rua over DANE-EE verified TLS."""
    from test_dane import (BAD_HEX, Certs, receiver, sender, submit,
                           deferred_to, world_records)
    from dnssecworld import DnssecWorld

    port = shared_port()
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    certs = Certs(str(tmp_path))
    extra = world_records(certs) + [
        '_smtp._tls.wrong IN TXT "v=TLSRPTv1; rua=mailto:bob@ee.test"']
    with DnssecWorld(extra=extra) as w, \
            receiver(certs, "ee", 2, port, ("ee.test",)) as r_ee, \
            receiver(certs, "wrong", 4, port, ("wrong.test",)), \
            sender(w, port) as a:
        submit(a, "bob@wrong.test")
        wait_for(lambda: deferred_to(a, "bob@wrong.test"),
                 what="the wrong TLSA to defer the message")
        p = a.admin("report", "run", "--date", today)
        assert p.stdout.decode().strip() == "jobs=1 queued=1 posted=0", \
            p.stdout
        (stored,) = wait_for(lambda: r_ee.maildir_messages("bob@ee.test"),
                             what="the TLS report over DANE")
        m, name, doc = attachment(stored)
        report = json.loads(doc)
        jsonschema.validate(report, json.load(open(os.path.join(
            DATA, "tlsrpt-report.schema.json"))))
        assert m["TLS-Report-Domain"] == "wrong.test"
        (pol,) = report["policies"]
        assert pol["policy"] == {"policy-type": "tlsa",
                                 "policy-string": ["3 1 1 " + BAD_HEX],
                                 "policy-domain": "wrong.test"}
        assert pol["summary"]["total-successful-session-count"] == 0
        assert pol["summary"]["total-failure-session-count"] >= 1
        (fd,) = pol["failure-details"]
        assert fd["result-type"] == "tlsa-invalid"
        assert fd["receiving-mx-hostname"] == "mx-wrong.test"
        assert fd["receiving-ip"] == "127.0.0.4"
        assert fd["sending-mta-ip"] == "127.0.0.1"


def test_switched_off_nothing_is_counted_or_sent():
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    with DnsServer(zones(443)) as dns, \
            TemServer(users=dict([ALICE]), domains=("a.test",),
                      extra_conf={"dns_server": dns.addr,
                                  "dmarc_reports": "no",
                                  "tlsrpt": "no"}) as a:
        assert inbound(a, "127.0.0.5", "s1.test")
        assert "dmarc=pass" in a.log_text()
        p = a.admin("report", "run", "--date", today)
        assert p.stdout.decode().strip() == "jobs=0 queued=0 posted=0"


# The MTA-STS world of test_mta_sts_out (policy server, CA, receivers).
from test_mta_sts_out import world  # noqa: E402,F401


def test_tls_counts_of_mta_sts_deliveries(world):  # noqa: F811
    """MTA-STS outcomes as counted for the reports: an enforced policy
    delivered (success), an untrusted certificate (certificate-not-
    trusted), a policy server that is down (sts-policy-fetch-error). The
    world's domains publish no _smtp._tls record, so the run sends
    nothing; the counts are read from the store."""
    import sqlite3
    from test_mta_sts_out import deferred, delivered, sender
    from test_mta_sts_out import submit as sts_submit

    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    with sender(world) as a:
        sts_submit(a, "bob@good.test")
        delivered(world, "good.test")
        sts_submit(a, "bob@rogue.test")
        deferred(a, "rogue.test")
        sts_submit(a, "bob@down.test")
        delivered(world, "down.test")
        p = a.admin("report", "run", "--date", today)
        assert p.stdout.decode().strip() == "jobs=3 queued=0 posted=0"
        assert "report no-rua kind=tls domain=good.test" in a.log_text()
        db = sqlite3.connect(os.path.join(a.data_dir, "reports",
                                          "reports.db"))
        pols = {}
        for dom, pol, ok, fail in db.execute(
                "SELECT domain, policy, success, failure FROM tls_policy"):
            pol = json.loads(pol)
            pols[(dom, pol["policy-type"])] = (pol, ok, fail)
        details = {(dom, res) for dom, res in db.execute(
            "SELECT domain, result FROM tls_detail")}
        db.close()
        pol, ok, fail = pols[("good.test", "sts")]
        assert (ok, fail) == (1, 0)
        assert pol["mx-host"] == ["mx.good.test"]
        assert "mode: enforce" in pol["policy-string"]
        pol, ok, fail = pols[("rogue.test", "sts")]
        assert ok == 0 and fail >= 1
        assert ("rogue.test", "certificate-not-trusted") in details
        assert pols[("down.test", "sts")][2] >= 1
        assert ("down.test", "sts-policy-fetch-error") in details
