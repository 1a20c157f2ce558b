"""MTA-STS for outbound delivery (RFC 8461, issue 14), end to end.

The world is built here: a test CA and a rogue one (openssl), a local
HTTPS policy server (http.server + ssl, on 127.0.0.4 and the port given to
the sender as TEM_TEST_MTA_STS_PORT) with a certificate from the test CA,
DNS from a test zone (tests/lib/dnsserver.py: MX, A, "_mta-sts" TXT), and
receivers that are tem instances on the shared SMTP port:

  127.0.0.3  certificate of the test CA for every mx.<domain> it serves
  127.0.0.5  certificate of the test CA, but for another name
  127.0.0.6  certificate for its MX name from the rogue CA

The sender trusts the test CA through tls_ca_file. Cases: enforce with a
good certificate delivers (verified); enforce with an unlisted MX, a wrong
name or an untrusted CA defers (the message stays in `tem queue`);
testing with a bad certificate delivers; a policy server that is down, a
redirect and a wrong media type mean no policy (delivered as without
MTA-STS, the failure logged); a cached policy survives a restart (disk
cache) and a changed TXT id makes a new fetch.
"""

import http.server
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading

import pytest

from dnsserver import DnsServer
from temserver import TemServer, insecure_tls_context, shared_port, wait_for

ALICE = ("alice@a.test", "alice-secret-1")
PW = "bob-secret-1"
POLICY_ADDR = "127.0.0.4"
DEAD_ADDR = "127.0.0.7"          # a policy host where nothing listens
GOOD, WRONG_NAME, ROGUE = "127.0.0.3", "127.0.0.5", "127.0.0.6"

# domain -> (MX address, TXT id, the policy server's answer)
#   answer: (status, content type, body, extra headers) or None (no host)
ENFORCE = "version: STSv1\nmode: enforce\nmx: mx.%s\nmax_age: 86400\n"
TESTING = "version: STSv1\nmode: testing\nmx: mx.%s\nmax_age: 86400\n"
ELSEWHERE = "version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\n" \
    "max_age: 86400\n"


def ok(body):
    return (200, "text/plain; charset=utf-8", body, {})


DOMAINS = {
    "good.test": (GOOD, "g1", ok(ENFORCE % "good.test")),
    "unlisted.test": (GOOD, "u1", ok(ELSEWHERE)),
    "badname.test": (WRONG_NAME, "b1", ok(ENFORCE % "badname.test")),
    "rogue.test": (ROGUE, "r1", ok(ENFORCE % "rogue.test")),
    "testing.test": (WRONG_NAME, "t1", ok(TESTING % "testing.test")),
    "down.test": (GOOD, "d1", None),
    "redirect.test": (GOOD, "x1", (301, "text/plain", "moved\n", {
        "Location": "/moved"})),
    "wrongtype.test": (GOOD, "w1", (200, "text/html", ELSEWHERE, {})),
    "invalid.test": (GOOD, "i1", ok("version: STSv1\nmode: strict\n"
                                    "mx: mx.elsewhere.test\nmax_age: 60\n")),
    "hang.test": (GOOD, "h1", "hang"),
    "refresh.test": (GOOD, "f1", ok(ENFORCE.replace("86400", "2")
                                    % "refresh.test")),
    "cache.test": (GOOD, "c1", ok(ENFORCE % "cache.test")),
}
HANG_ADDR = "127.0.0.8"          # a policy host that accepts, never answers


# --- certificates ---------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
            "-out", name + ".crt", "-subj", "/CN=%s" % name, "-days", "30",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_leaf(d, name, ca, sans):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=%s" % sans[0], cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=%s\n" % ",".join("DNS:" + s for s in sans))
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "30",
            "-extfile", name + ".ext", "-out", name + ".crt", cwd=d)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


# --- the policy server -----------------------------------------------------

class PolicyServer:
    """HTTPS on POLICY_ADDR:port answering /.well-known/mta-sts.txt by the
    Host header from `answers` (changeable); every request recorded."""

    def __init__(self, port, cert, key, answers):
        self.answers = answers
        self.requests = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                owner.requests.append((host, self.path))
                domain = host[len("mta-sts."):]
                a = owner.answers.get(domain)
                if a is None or self.path != "/.well-known/mta-sts.txt":
                    a = (404, "text/plain", "no\n", {})
                status, ctype, body, extra = a
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((POLICY_ADDR, port),
                                                     Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                            server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def fetches(self, domain):
        return [r for r in self.requests if r[0] == "mta-sts." + domain]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


# --- DNS --------------------------------------------------------------------

def policy_addr(answer):
    if answer is None:
        return DEAD_ADDR
    return HANG_ADDR if answer == "hang" else POLICY_ADDR


def zones(ids):
    z = {}
    for domain, (mx, _, answer) in DOMAINS.items():
        z[domain] = [
            "%s. 300 IN MX 10 mx.%s." % (domain, domain),
            "mx.%s. 300 IN A %s" % (domain, mx),
            "mta-sts.%s. 300 IN A %s" % (domain, policy_addr(answer)),
            # TTL 0: never cached, a changed id is seen at once
            '_mta-sts.%s. 0 IN TXT "v=STSv1; id=%s"' % (domain, ids[domain]),
        ]
    return z


# --- the world --------------------------------------------------------------

class World:
    pass


@pytest.fixture(scope="module")
def world():
    w = World()
    w.dir = tempfile.mkdtemp(prefix="tem-sts-")
    make_ca(w.dir, "ca")
    make_ca(w.dir, "rogue")
    w.ca = os.path.join(w.dir, "ca.crt")
    good_names = ["mx.%s" % d for d, v in DOMAINS.items() if v[0] == GOOD]
    certs = {
        GOOD: make_leaf(w.dir, "good", "ca", good_names),
        WRONG_NAME: make_leaf(w.dir, "wrong", "ca", ["wrong.test"]),
        ROGUE: make_leaf(w.dir, "rogue-leaf", "rogue", ["mx.rogue.test"]),
    }
    policy_cert = make_leaf(w.dir, "policy", "ca",
                            ["mta-sts.%s" % d for d in DOMAINS])
    w.smtp_port = shared_port()
    w.policy_port = shared_port((POLICY_ADDR, DEAD_ADDR, HANG_ADDR))
    # connections to HANG_ADDR wait in the backlog: no TLS answer ever
    w.hang = socket.socket()
    w.hang.bind((HANG_ADDR, w.policy_port))
    w.hang.listen(8)
    w.ids = {d: v[1] for d, v in DOMAINS.items()}
    w.dns = DnsServer(zones(w.ids))
    w.dns.__enter__()
    w.policy = PolicyServer(w.policy_port, *policy_cert,
                            {d: v[2] for d, v in DOMAINS.items()})
    w.receivers = {}
    try:
        for addr, (crt, key) in certs.items():
            served = [d for d, v in DOMAINS.items() if v[0] == addr]
            r = TemServer(users={"bob@" + d: PW for d in served},
                          domains=served, listen_addr=addr,
                          smtp_port=w.smtp_port, fixture_cert=False,
                          hostname="mx." + served[0],
                          extra_conf={"tls_cert_file": crt,
                                      "tls_key_file": key,
                                      "dns_server": w.dns.addr})
            r.__enter__()
            w.receivers[addr] = r
        yield w
    finally:
        for r in w.receivers.values():
            r.__exit__(None, None, None)
        w.policy.close()
        w.hang.close()
        w.dns.__exit__(None, None, None)
        shutil.rmtree(w.dir, ignore_errors=True)


def sender(w, **extra):
    conf = {"dns_server": w.dns.addr, "outbound_port": str(w.smtp_port),
            "tls_ca_file": w.ca, "queue_retry_base": "1h"}
    conf.update(extra)
    s = TemServer(users=dict([ALICE]), domains=("a.test",),
                  services=("smtp", "submission"), extra_conf=conf)
    s.env["TEM_TEST_MTA_STS_PORT"] = str(w.policy_port)
    return s


def submit(tem, rcpt):
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: sts\r\n\r\nhi\r\n"
           % (ALICE[0], rcpt))
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(ALICE[0], [rcpt], msg.encode())


def delivered(w, domain, n=1):
    r = w.receivers[DOMAINS[domain][0]]
    wait_for(lambda: len(r.maildir_messages("bob@" + domain)) >= n,
             what="delivery to bob@%s" % domain)


def deferred(tem, domain):
    line = "to=<bob@%s>" % domain
    wait_for(lambda: any(line in l and "status=deferred" in l
                         for l in tem.log_text().splitlines()),
             what="the message to %s deferred" % domain)
    assert len(tem.queue_ids()) >= 1        # kept, not bounced


# --- the cases --------------------------------------------------------------

def test_enforce_good_certificate_delivered(world):
    with sender(world) as a:
        submit(a, "bob@good.test")
        delivered(world, "good.test")
        log = a.log_text()
        assert ("mta-sts policy domain=good.test id=g1 mode=enforce "
                "max_age=86400") in log
        assert "host=mx.good.test" in log and "verified=yes" in log
        a.wait_queue_empty()
        # the policy is on disk, one file a domain
        path = os.path.join(a.data_dir, "mta-sts", "good.test")
        with open(path) as f:
            text = f.read()
        assert "id g1\n" in text and text.endswith(ENFORCE % "good.test")


def test_enforce_unlisted_mx_deferred(world):
    with sender(world) as a:
        submit(a, "bob@unlisted.test")
        deferred(a, "unlisted.test")
        assert "not listed in the MTA-STS policy" in a.log_text()
        assert world.receivers[GOOD].maildir_messages(
            "bob@unlisted.test") == []


@pytest.mark.parametrize("domain", ["badname.test", "rogue.test"])
def test_enforce_bad_certificate_deferred(world, domain):
    with sender(world) as a:
        submit(a, "bob@" + domain)
        deferred(a, domain)
        assert "tls-policy-failed host=mx.%s" % domain in a.log_text()
        assert world.receivers[DOMAINS[domain][0]].maildir_messages(
            "bob@" + domain) == []


def test_testing_bad_certificate_delivered(world):
    with sender(world) as a:
        submit(a, "bob@testing.test")
        delivered(world, "testing.test")
        assert ("mta-sts policy domain=testing.test id=t1 mode=testing"
                in a.log_text())


def test_policy_server_down_delivers_opportunistically(world):
    with sender(world) as a:
        submit(a, "bob@down.test")
        delivered(world, "down.test")
        log = a.log_text()
        assert "mta-sts fetch-failed domain=down.test id=d1" in log
        assert "mta-sts policy domain=down.test" not in log
        # the route was told: a TXT record announced a policy (TLS-RPT)
        assert ("sts-policy-failed dest=down.test "
                "result=sts-policy-fetch-error") in log
        # a second message soon after: the failure is held, no new fetch
        submit(a, "bob@down.test")
        delivered(world, "down.test", 2)
        log = a.log_text()
        assert log.count("sts-policy-failed dest=down.test") == 2
        assert log.count("mta-sts fetch-failed domain=down.test") == 1


def test_invalid_policy_is_no_policy(world):
    """A policy that does not parse ("mode: strict") is refused: the mail
    goes out as without one, and the failure is a policy-invalid one."""
    with sender(world) as a:
        submit(a, "bob@invalid.test")
        delivered(world, "invalid.test")
        log = a.log_text()
        assert "mta-sts fetch-failed domain=invalid.test" in log
        assert "error=\"invalid policy: " in log
        assert ("sts-policy-failed dest=invalid.test "
                "result=sts-policy-invalid") in log


def test_disabled_fetches_nothing(world):
    """mta_sts = no: the unlisted MX is used, no TXT or policy asked."""
    before = len(world.policy.fetches("unlisted.test"))
    got = len(world.receivers[GOOD].maildir_messages("bob@unlisted.test"))
    with sender(world, mta_sts="no") as a:
        submit(a, "bob@unlisted.test")
        delivered(world, "unlisted.test", got + 1)
        assert "mta-sts" not in a.log_text()
    assert len(world.policy.fetches("unlisted.test")) == before


def test_stop_during_a_hanging_fetch(world):
    """A policy server that never answers holds the message (up to the
    fetch timeout), and a stop does not wait for it."""
    a = sender(world)
    with a:
        submit(a, "bob@hang.test")
        wait_for(lambda: "mta-sts fetch domain=hang.test" in a.log_text(),
                 what="the fetch started")
        a.stop()                # TemServer.stop: within its time limit
        assert "mta-sts policy domain=hang.test" not in a.log_text()
        a.start()               # started again for the fixture's stop


@pytest.mark.parametrize("domain,why", [
    ("redirect.test", "HTTP status 301"),
    ("wrongtype.test", "media type text/html, not text/plain")])
def test_redirect_or_wrong_type_refused(world, domain, why):
    """Either policy, taken, would defer the message (its MX is not
    listed): it is refused, so the mail goes out as without one."""
    with sender(world) as a:
        submit(a, "bob@" + domain)
        delivered(world, domain)
        log = a.log_text()
        assert ('mta-sts fetch-failed domain=%s id=%s error="%s"'
                % (domain, DOMAINS[domain][1], why)) in log
        assert "mta-sts policy domain=%s" % domain not in log
    # one GET, the Location (/moved) not followed
    assert world.policy.fetches(domain) == [
        ("mta-sts." + domain, "/.well-known/mta-sts.txt")]


def test_background_refresh(world):
    """A cached policy is fetched again before it expires (half its
    max_age, here 2 s), with no mail asking for it."""
    with sender(world) as a:
        submit(a, "bob@refresh.test")
        delivered(world, "refresh.test")
        n = len(world.policy.fetches("refresh.test"))
        wait_for(lambda: len(world.policy.fetches("refresh.test")) > n,
                 what="a background refresh")
        wait_for(lambda: "mta-sts policy-refreshed domain=refresh.test id=f1"
                 in a.log_text(), what="the refresh to be logged")
        assert "mta-sts refresh domain=refresh.test" in a.log_text()


def test_cache_survives_restart_and_changed_id_refetches(world):
    w = world
    with sender(w) as a:
        submit(a, "bob@cache.test")
        delivered(w, "cache.test")
        assert "mta-sts policy domain=cache.test id=c1" in a.log_text()
        assert len(w.policy.fetches("cache.test")) == 1
        # the same id: answered from memory, no fetch
        submit(a, "bob@cache.test")
        delivered(w, "cache.test", 2)
        assert len(w.policy.fetches("cache.test")) == 1
        a.wait_queue_empty()
        # restarted while the policy server is gone: the disk cache
        # answers (a fetch would fail and be logged)
        w.policy.answers["cache.test"] = (503, "text/plain", "down\n", {})
        a.stop()
        a.start()
        assert "mta-sts started cached=" in a.log_text()
        submit(a, "bob@cache.test")
        delivered(w, "cache.test", 3)
        log = a.log_text()
        assert "mta-sts fetch-failed domain=cache.test" not in log
        assert "sts-policy dest=cache.test mode=enforce" in log
        assert len(w.policy.fetches("cache.test")) == 1
        # a new id in DNS: fetched again, the new policy taken
        w.policy.answers["cache.test"] = ok(TESTING % "cache.test")
        w.ids["cache.test"] = "c2"
        w.dns.change(zones(w.ids))
        submit(a, "bob@cache.test")
        delivered(w, "cache.test", 4)
        wait_for(lambda: "mta-sts policy domain=cache.test id=c2 "
                 "mode=testing" in a.log_text(), what="the new policy")
        assert len(w.policy.fetches("cache.test")) == 2
