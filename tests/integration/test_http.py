"""test_http - the HTTP(S) listener (http_listen, https_listen) against
the real `tem serve`: /healthz with GET and HEAD, the standard headers,
404 and 405 with Allow, keep-alive and pipelining answered in order,
https with the server's certificate (curl -k), hostile input (slow headers
hit the request timeout, huge headers 431, a body over the limit 413,
pipelined garbage 400, each then closed; the per-address cap) with the
server still serving others; client autoconfiguration (Thunderbird's XML
validated by xmllint against tests/data/autoconfig-v1.1.xsd, Outlook's
autodiscover POST, Apple's profile read by plistlib); the MTA-STS policy
parsed as RFC 8461 3.2 says, served over HTTPS only; and the records of
`tem dns-records` that point at all of it.
"""

import hashlib
import http.client
import os
import plistlib
import re
import resource
import select
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from temserver import DATA, TemServer, module_server, wait_for

XSD = os.path.join(DATA, "autoconfig-v1.1.xsd")
PER_IP = 40
AD_REQ = ("http://schemas.microsoft.com/exchange/autodiscover/outlook/"
          "requestschema/2006")
AD_RESP = ("http://schemas.microsoft.com/exchange/autodiscover/outlook/"
           "responseschema/2006a")
AD_BODY = ('<?xml version="1.0" encoding="utf-8"?>\r\n'
           '<Autodiscover xmlns="%s">\r\n  <Request>\r\n'
           '    <EMailAddress>%s</EMailAddress>\r\n'
           '    <AcceptableResponseSchema>%s</AcceptableResponseSchema>\r\n'
           '  </Request>\r\n</Autodiscover>\r\n')


@pytest.fixture(scope="module")
def tem():
    yield from module_server(
        services=("smtp", "http", "https", "imaps", "imap", "submissions",
                  "submission", "pop3s"),
        extra_conf={"max_sessions_per_ip": str(PER_IP),
                    "max_connections_per_minute": "5000"})


def curl(*args, data=None):
    """curl -sS -i ARGS: (status, headers {lower: value}, body bytes)."""
    cmd = ["curl", "-sS", "-i", "--max-time", "10"] + list(args)
    if data is not None:
        cmd += ["--data-binary", "@-"]
    p = subprocess.run(cmd, input=data, capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def url(tem, path, https=False):
    if https:
        return "https://127.0.0.1:%d%s" % (tem.ports["https"], path)
    return "http://127.0.0.1:%d%s" % (tem.ports["http"], path)


def read_response(f, head=False):
    """One response from file f of a raw socket: (status, headers, body);
    HEAD: no body whatever Content-Length says."""
    line = f.readline()
    assert line.startswith(b"HTTP/1.1 "), line
    status = int(line.split()[1])
    headers = {}
    while True:
        ln = f.readline()
        assert ln, "closed inside the header"
        if ln == b"\r\n":
            break
        k, _, v = ln.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    body = b"" if head else f.read(int(headers["content-length"]))
    return status, headers, body


def raw(tem, source="127.0.0.1"):
    s = socket.create_connection(("127.0.0.1", tem.ports["http"]),
                                 timeout=20, source_address=(source, 0))
    return s, s.makefile("rb")


def closed(s):
    """True once the peer closed (reads EOF, or a reset)."""
    try:
        while True:
            if s.recv(65536) == b"":
                return True
    except ConnectionResetError:
        return True


# ---- the listener ----------------------------------------------------------

def test_healthz_get_head_and_headers(tem):
    status, h, body = curl(url(tem, "/healthz"))
    assert (status, body) == (200, b"ok\n")
    assert h["server"] == "tem" and h["content-length"] == "3"
    assert h["connection"] == "keep-alive"
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT",
                        h["date"])
    status, h, body = curl("-I", url(tem, "/healthz"))
    assert (status, h["content-length"], body) == (200, "3", b"")
    assert wait_for(lambda: re.search(
        r"\w{16} http request method=HEAD path=/healthz status=200 bytes=0",
        tem.log_text()), what="the request log line")


def test_404_405(tem):
    status, _, _ = curl(url(tem, "/nope"))
    assert status == 404
    status, h, _ = curl("-X", "POST", url(tem, "/healthz"), data=b"x")
    assert status == 405 and h["allow"] == "GET, HEAD"
    status, h, _ = curl(url(tem, "/autodiscover/autodiscover.xml"))
    assert status == 405 and h["allow"] == "POST"
    curl(url(tem, "/a%20b%22c"))
    assert wait_for(lambda: "path=/a%20b%22c status=404" in tem.log_text(),
                    what="the escaped path in the log")


def test_keep_alive_and_http10(tem):
    c = http.client.HTTPConnection("127.0.0.1", tem.ports["http"],
                                   timeout=10)
    socks = set()
    for _ in range(3):
        c.request("GET", "/healthz")
        r = c.getresponse()
        assert (r.status, r.read()) == (200, b"ok\n")
        socks.add(id(c.sock))
    assert len(socks) == 1                     # one connection for all
    c.close()
    s, f = raw(tem)
    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    status, h, _ = read_response(f)
    assert status == 200 and h["connection"] == "close"
    assert closed(s)
    s.close()


def test_pipelining_in_order(tem):
    s, f = raw(tem)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a.test\r\n\r\n"
              b"GET /nope HTTP/1.1\r\nHost: a.test\r\n\r\n"
              b"HEAD /healthz HTTP/1.1\r\nHost: a.test\r\n\r\n"
              b"GET /healthz HTTP/1.1\r\nHost: a.test\r\n"
              b"Connection: close\r\n\r\n")
    assert read_response(f)[0] == 200
    assert read_response(f)[0] == 404
    status, h, body = read_response(f, head=True)
    assert (status, h["content-length"], body) == (200, "3", b"")
    status, h, body = read_response(f)      # right after: HEAD had no body
    assert (status, body, h["connection"]) == (200, b"ok\n", "close")
    assert closed(s)
    s.close()


def test_100_requests_a_connection(tem):
    s, f = raw(tem)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a.test\r\n\r\n" * 101)
    for i in range(100):
        status, h, _ = read_response(f)
        assert status == 200
        assert h["connection"] == ("close" if i == 99 else "keep-alive")
    assert closed(s)
    s.close()


def test_https(tem):
    status, _, body = curl("-k", url(tem, "/healthz", https=True))
    assert (status, body) == (200, b"ok\n")


# ---- hostile input -----------------------------------------------------------

def test_slow_headers_time_out(tem):
    s, f = raw(tem)
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    t0 = time.monotonic()
    s.settimeout(1)
    got = b""
    while True:                    # a header line each second: never done
        try:
            s.sendall(b"X-Slow: y\r\n")
            d = s.recv(4096)
            if d == b"":
                break
            got += d
        except socket.timeout:
            pass
        except (BrokenPipeError, ConnectionResetError):
            break
        assert time.monotonic() - t0 < 60, "never closed"
    assert got.startswith(b"HTTP/1.1 408 "), got
    s.close()
    assert curl(url(tem, "/healthz"))[0] == 200


@pytest.mark.parametrize("req,status", [
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n",
     431),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n", 414),
    (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: a\r\n"
     b"Content-Length: 70000\r\n\r\n", 413),
    (b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
     411),
    (b"GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
], ids=["431-header", "414-line", "413-body", "411-chunked", "505-version"])
def test_limits_answered_then_closed(tem, req, status):
    s, f = raw(tem)
    s.sendall(req)
    assert read_response(f)[0] == status
    assert closed(s)
    s.close()


def test_pipelined_garbage(tem):
    s, f = raw(tem)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
              b"\x00\x01garbage \xff\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n")
    assert read_response(f)[0] == 200
    status, h, _ = read_response(f)
    assert status == 400 and h["connection"] == "close"
    assert closed(s)
    s.close()


def test_per_address_cap(tem):
    """1000 connections from one address: PER_IP served, the rest 503."""
    socks, refused = [], set()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        for _ in range(1000):
            socks.append(raw(tem, source="127.0.0.9")[0])
        # the connections past the cap (whichever the accepting threads
        # took last) get 503 and a close; the others wait for a request
        def more_refused():
            r, _, _ = select.select([s for s in socks if s not in refused],
                                    [], [], 0.2)
            for s in r:
                assert s.recv(4096).startswith(b"HTTP/1.1 503 ")
                refused.add(s)
            return len(refused) == 1000 - PER_IP
        wait_for(more_refused, what="the connections past the cap refused")
        assert not select.select([s for s in socks if s not in refused],
                                 [], [], 0.5)[0]
        # refused by the per-address cap (the log lines are rate-limited)
        assert wait_for(lambda: "http refuse addr=127.0.0.9 reason="
                        "max_sessions_per_ip" in tem.log_text(),
                        what="the refusal logged")
        assert "addr=127.0.0.9 reason=max_connections" not in tem.log_text()
        # another address is served meanwhile
        assert curl(url(tem, "/healthz"))[0] == 200
    finally:
        for s in socks:
            s.close()


# ---- client autoconfiguration ----------------------------------------------

def check_xsd(body, tmp_path):
    p = tmp_path / "config.xml"
    p.write_bytes(body)
    r = subprocess.run(["xmllint", "--noout", "--schema", XSD, str(p)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_thunderbird(tem, tmp_path):
    for args in ([url(tem, "/mail/config-v1.1.xml?emailaddress=alice%40a.test")],
                 ["-H", "Host: autoconfig.a.test",
                  url(tem, "/.well-known/autoconfig/mail/config-v1.1.xml")]):
        status, h, body = curl(*args)
        assert status == 200 and h["content-type"].startswith(
            "application/xml")
        check_xsd(body, tmp_path)
        prov = ET.fromstring(body).find("emailProvider")
        assert prov.get("id") == "a.test"
        servers = [(s.tag, s.get("type"), int(s.findtext("port")),
                    s.findtext("socketType")) for s in prov
                   if s.tag.endswith("Server")]
        assert servers == [
            ("incomingServer", "imap", tem.ports["imaps"], "SSL"),
            ("incomingServer", "imap", tem.ports["imap"], "STARTTLS"),
            ("incomingServer", "pop3", tem.ports["pop3s"], "SSL"),
            ("outgoingServer", "smtp", tem.ports["submissions"], "SSL"),
            ("outgoingServer", "smtp", tem.ports["submission"], "STARTTLS")]
        for s in prov.iter("username"):
            assert s.text == "%EMAILADDRESS%"
    assert curl(url(tem, "/mail/config-v1.1.xml?emailaddress=x@b.test"))[0] \
        == 404
    assert curl("-H", "Host: autoconfig.b.test",
                url(tem, "/mail/config-v1.1.xml"))[0] == 404


def test_autodiscover(tem):
    status, h, body = curl(
        "-H", "Content-Type: text/xml",
        url(tem, "/autodiscover/autodiscover.xml"),
        data=(AD_BODY % (AD_REQ, "alice@a.test", AD_RESP)).encode())
    assert status == 200
    ns = {"r": AD_RESP}
    acct = ET.fromstring(body).find("r:Response/r:Account", ns)
    assert acct.findtext("r:Action", namespaces=ns) == "settings"
    protos = {p.findtext("r:Type", namespaces=ns):
              (int(p.findtext("r:Port", namespaces=ns)),
               p.findtext("r:LoginName", namespaces=ns),
               p.findtext("r:SSL", namespaces=ns))
              for p in acct.findall("r:Protocol", ns)}
    assert protos["IMAP"] == (tem.ports["imaps"], "alice@a.test", "on")
    assert protos["SMTP"] == (tem.ports["submissions"], "alice@a.test", "on")
    status, _, body = curl(
        url(tem, "/autodiscover/autodiscover.xml"),
        data=(AD_BODY % (AD_REQ.replace("outlook", "mobilesync"),
                         "alice@a.test", AD_RESP.replace(
                             "outlook", "mobilesync").replace("2006a",
                                                              "2006"))
              ).encode())
    assert status == 200 and b"<Error>" in body
    for addr, want in (("bob@b.test", 404), ("not-an-address", 400)):
        status, _, _ = curl(url(tem, "/autodiscover/autodiscover.xml"),
                            data=(AD_BODY % (AD_REQ, addr, AD_RESP)).encode())
        assert status == want


def test_autodiscover_expect_continue(tem):
    """A large body (curl asks Expect: 100-continue): answered at once."""
    body = (AD_BODY % (AD_REQ, "alice@a.test", AD_RESP)).encode()
    body += b"<!--" + b" " * 4000 + b"-->\r\n"
    s, f = raw(tem)
    s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\n"
              b"Host: autodiscover.a.test\r\nExpect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    assert f.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert f.readline() == b"\r\n"
    s.sendall(body)
    status, _, answer = read_response(f)
    assert status == 200 and b"<Type>IMAP</Type>" in answer
    s.close()


def test_mobileconfig(tem):
    status, h, body = curl(
        url(tem, "/apple/mobileconfig?emailaddress=alice@a.test"))
    assert status == 200
    assert h["content-type"] == "application/x-apple-aspen-config"
    prof = plistlib.loads(body)
    assert prof["PayloadType"] == "Configuration"
    mail = prof["PayloadContent"][0]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAddress"] == "alice@a.test"
    assert mail["IncomingMailServerPortNumber"] == tem.ports["imaps"]
    assert mail["OutgoingMailServerPortNumber"] == tem.ports["submissions"]
    assert curl(url(tem, "/apple/mobileconfig?emailaddress=x@b.test"))[0] \
        == 404


# ---- MTA-STS and dns-records -------------------------------------------------

STS_FIELD = re.compile(r"([A-Za-z0-9_]+):[ \t]*([\x21-\x7e]+)[ \t]*")


def parse_policy(text):
    """RFC 8461 3.2: CRLF (or LF) separated key: value lines; version
    STSv1 first, mode, max_age up to 31557600, one or more mx."""
    fields = []
    for line in re.split(r"\r?\n", text.rstrip("\r\n")):
        m = STS_FIELD.fullmatch(line)
        assert m, "bad policy line %r" % line
        fields.append(m.groups())
    assert fields[0] == ("version", "STSv1")
    d = {}
    for k, v in fields:
        d.setdefault(k, []).append(v)
    assert d["mode"][0] in ("enforce", "testing", "none")
    assert re.fullmatch(r"\d{1,10}", d["max_age"][0])
    assert int(d["max_age"][0]) <= 31557600
    assert d["mx"]
    return d


def fetch_policy(tem):
    status, h, body = curl("-k", "-H", "Host: mta-sts.a.test", url(
        tem, "/.well-known/mta-sts.txt", https=True))
    assert status == 200 and h["content-type"].startswith("text/plain")
    return body


def test_mta_sts(tem):
    body = fetch_policy(tem)
    pol = parse_policy(body.decode())
    assert pol["mode"] == ["testing"] and pol["max_age"] == ["86400"]
    assert pol["mx"] == ["mx.a.test"]
    # RFC 8461 3.3: HTTPS only; and only for a local domain
    assert curl("-H", "Host: mta-sts.a.test",
                url(tem, "/.well-known/mta-sts.txt"))[0] == 404
    assert curl("-k", "-H", "Host: mta-sts.b.test", url(
        tem, "/.well-known/mta-sts.txt", https=True))[0] == 404


def test_dns_records(tem):
    out = tem.admin("dns-records", "a.test").stdout.decode().splitlines()
    p = tem.ports
    for svc, port in (("submissions", p["submissions"]),
                      ("submission", p["submission"]),
                      ("imaps", p["imaps"]), ("imap", p["imap"]),
                      ("pop3s", p["pop3s"])):
        assert "_%s._tcp.a.test. IN SRV 0 1 %d mx.a.test." % (svc, port) \
            in out
    assert "_pop3._tcp.a.test. IN SRV 0 0 0 ." in out   # off
    for name in ("mail", "autoconfig", "autodiscover", "mta-sts"):
        assert "%s.a.test. IN CNAME mx.a.test." % name in out
    sts_id = hashlib.sha256(fetch_policy(tem)).hexdigest()[:20]
    assert '_mta-sts.a.test. IN TXT "v=STSv1; id=%s"' % sts_id in out
    assert ('_smtp._tls.a.test. IN TXT "v=TLSRPTv1; '
            'rua=mailto:postmaster@a.test"') in out


def test_mta_sts_enforce_and_bad_mode():
    with TemServer(services=("smtp", "https"),
                   extra_conf={"mta_sts_mode": "enforce"}) as t:
        pol = parse_policy(fetch_policy(t).decode())
        assert pol["mode"] == ["enforce"] and pol["max_age"] == ["604800"]
        with open(t.conf_path, "a") as f:
            f.write("mta_sts_mode = strict\n")
        r = t.admin("dns-records", "a.test", check=False)
        assert r.returncode != 0 and b"mta_sts_mode" in r.stderr
