"""DNS look-ups of src/dns (libunbound) against a real DNS server.

The resolver is driven by build/asan/tests/dns/test-dns-resolve (built by
`make unit` from src/dns/test-dns-resolve.c), pointed at a private unbound
(tests/lib/dnsserver.py) serving the zones below on 127.0.0.1. Covered:
MX preference order (RFC 5321 5.1), random order among equal preference,
implicit MX, null MX (RFC 7505), NXDOMAIN, hosts with only AAAA or no
address, SERVFAIL / unreachable / silent servers as temporary failures,
TXT records made of several strings, and PTR look-ups.
"""

import os
import socket
import subprocess
import time

import pytest

from dnsserver import DnsServer, free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(REPO, "build", "asan", "tests", "dns", "test-dns-resolve")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error")

KEY1 = "k" * 200          # with its prefix, one string of 218 octets
KEY2 = "m" * 255          # a second string of the maximum 255

ZONES = {
    "b.test": [
        "b.test. 300 IN MX 20 mx2.b.test.",
        "b.test. 300 IN MX 10 mx1.b.test.",
        "b.test. 300 IN MX 30 mx3.b.test.",
        "mx1.b.test. 300 IN A 127.0.0.11",
        "mx2.b.test. 300 IN A 127.0.0.12",
        "mx2.b.test. 300 IN AAAA ::12",
        "mx3.b.test. 300 IN A 127.0.0.13",
        'b.test. 300 IN TXT "v=spf1 " "ip4:127.0.0.1 " "-all"',
        'b.test. 300 IN TXT "second record"',
        'sel._domainkey.b.test. 300 IN TXT "v=DKIM1; k=rsa; p=%s" "%s"'
        % (KEY1, KEY2),
    ],
    "r.test": [
        "r.test. MX 10 a.r.test.",
        "r.test. MX 10 b.r.test.",
        "r.test. MX 5 c.r.test.",
        "a.r.test. A 127.0.0.1",
        "b.r.test. A 127.0.0.2",
        "c.r.test. A 127.0.0.3",
    ],
    "i.test": ["i.test. A 127.0.0.5"],
    "i6.test": ["i6.test. AAAA 2001:db8::6"],
    "n.test": ["n.test. MX 0 ."],
    "nm.test": ["nm.test. MX 0 .", "nm.test. MX 10 mx.nm.test.",
                "mx.nm.test. A 127.0.0.7"],
    "v6.test": ["v6.test. MX 5 mx.v6.test.", "mx.v6.test. AAAA 2001:db8::25"],
    "na.test": ["na.test. MX 10 nowhere.na.test.", "na.test. MX 20 mx.na.test.",
                "mx.na.test. A 127.0.0.9"],
    "nx.test": ["nx.test. MX 10 nowhere.nx.test."],
    "nd.test": ["nd.test. MX 10 txtonly.nd.test.",
                'txtonly.nd.test. TXT "no address here"'],
    "noaddr.test": ['noaddr.test. TXT "neither MX nor A"'],
    "sf.test": ["sf.test. MX 10 mx.broken.test."],
    "mix.test": ["mix.test. MX 10 mx.broken.test.", "mix.test. MX 20 mx.mix.test.",
                 "mx.mix.test. A 127.0.0.20"],
    # h4 answers A, its AAAA fails (SERVFAIL); h6 the other way round
    "half.test": ["half.test. MX 10 h4.half.test.", "h4.half.test. A 127.0.0.40",
                  "h6.half.test. AAAA 2001:db8::46"],
    # Private ranges: libunbound must ask the server, not answer itself.
    "10.in-addr.arpa": ["25.0.0.10.in-addr.arpa. PTR mx.b.test.",
                        "26.0.0.10.in-addr.arpa. PTR a.test.",
                        "26.0.0.10.in-addr.arpa. PTR B.test."],
    "d.f.ip6.arpa": ["5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                     "0.0.d.f.ip6.arpa. PTR mx6.b.test."],
    "dup.test": ["dup.test. MX 20 MX.dup.test.", "dup.test. MX 10 mx.dup.test.",
                 "mx.dup.test. A 127.0.0.30"],
}


@pytest.fixture(scope="module")
def dns():
    with DnsServer(ZONES, servfail=["broken.test", "h4.half.test",
                                    "h6.half.test"]) as srv:
        yield srv


def run(server, *pairs, timeout_ms=None, repeat=None, free_in_cb=False,
        expect_rc=0):
    """Runs the driver; returns its stdout lines."""
    if not os.path.exists(DRIVER):
        pytest.fail("%s is missing: run `make unit`" % DRIVER)
    args = [DRIVER]
    if timeout_ms is not None:
        args += ["-t", str(timeout_ms)]
    if repeat is not None:
        args += ["-r", str(repeat)]
    if free_in_cb:
        args.append("-x")
    args.append(server)
    for cmd, name in pairs:
        args += [cmd, name]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    assert p.returncode == expect_rc, (p.returncode, p.stdout, p.stderr)
    return p.stdout.splitlines()


def parse(lines):
    """Driver output -> list of dicts, one per look-up, in order."""
    out = []
    for line in lines:
        # " fam=A/AAAA": the status of each family's query
        fam = None
        if " fam=" in line:
            line, _, fam = line.partition(" fam=")
            fam = tuple(fam.split("/"))
        if not line.startswith("  "):
            head, _, error = line.partition(" error=")
            words = head.split()
            out.append({"cmd": words[0], "name": words[1], "status": words[2],
                        "implicit": "implicit" in words[3:],
                        "addrs": words[3].split(",") if words[0] == "addr"
                        and len(words) > 3 else [],
                        "error": error or None, "hosts": [], "txt": [],
                        "fam": fam})
        elif out[-1]["cmd"] == "mx":
            words = line.split()
            out[-1]["hosts"].append({
                "pref": int(words[0]), "name": words[1], "status": words[2],
                "addrs": words[3].split(",") if len(words) > 3 else [],
                "fam": fam})
        else:
            assert line.startswith('  "') and line.endswith('"'), line
            out[-1]["txt"].append(line[3:-1])   # TXT texts or PTR names
    return out


def one(server, cmd, name, **kw):
    res = parse(run(server, (cmd, name), **kw))
    assert len(res) == 1, res
    return res[0]


def hosts(res):
    return [(h["pref"], h["name"], h["status"], h["addrs"]) for h in res["hosts"]]


def test_mx_sorted_by_preference(dns):
    r = one(dns.addr, "mx", "b.test")
    assert r["status"] == "OK" and not r["implicit"] and r["error"] is None
    assert hosts(r) == [
        (10, "mx1.b.test", "OK", ["127.0.0.11"]),
        (20, "mx2.b.test", "OK", ["127.0.0.12", "::12"]),   # A first
        (30, "mx3.b.test", "OK", ["127.0.0.13"]),
    ]


def test_mx_random_among_equal_preference(dns):
    res = parse(run(dns.addr, ("mx", "r.test"), repeat=40))
    assert len(res) == 40
    orders = set()
    for r in res:
        assert r["status"] == "OK"
        names = [h["name"] for h in r["hosts"]]
        assert names[0] == "c.r.test", names        # preference 5 first
        orders.add(tuple(names[1:]))
    assert orders == {("a.r.test", "b.r.test"), ("b.r.test", "a.r.test")}


def test_trailing_dot_and_case(dns):
    r = one(dns.addr, "mx", "B.Test.")
    assert r["status"] == "OK"
    assert [h["name"] for h in r["hosts"]][0] == "mx1.b.test"


def test_implicit_mx(dns):
    r = one(dns.addr, "mx", "i.test")
    assert r["status"] == "OK" and r["implicit"]
    assert hosts(r) == [(0, "i.test", "OK", ["127.0.0.5"])]
    r = one(dns.addr, "mx", "i6.test")
    assert r["status"] == "OK" and r["implicit"]
    assert hosts(r) == [(0, "i6.test", "OK", ["2001:db8::6"])]


def test_no_mx_and_no_address_is_permanent(dns):
    r = one(dns.addr, "mx", "noaddr.test")
    assert r["status"] == "NODATA" and r["implicit"]
    assert "no MX record" in r["error"]
    assert hosts(r) == [(0, "noaddr.test", "NODATA", [])]


def test_null_mx(dns):
    r = one(dns.addr, "mx", "n.test")
    assert r["status"] == "NULL_MX" and r["hosts"] == []
    assert "RFC 7505" in r["error"]


def test_null_mx_mixed_with_others_is_ignored(dns):
    r = one(dns.addr, "mx", "nm.test")
    assert r["status"] == "OK"
    assert hosts(r) == [(10, "mx.nm.test", "OK", ["127.0.0.7"])]


def test_nxdomain(dns):
    res = parse(run(dns.addr, ("mx", "nosuch.test"), ("addr", "nosuch.test"),
                    ("txt", "nosuch.test"), ("mx", "x.nosuch.org")))
    assert [r["status"] for r in res] == ["NXDOMAIN"] * 4
    assert res[0]["error"] == "nosuch.test: domain not found"


def test_aaaa_only_host(dns):
    r = one(dns.addr, "mx", "v6.test")
    assert r["status"] == "OK"
    assert hosts(r) == [(5, "mx.v6.test", "OK", ["2001:db8::25"])]


def test_mx_host_without_address(dns):
    r = one(dns.addr, "mx", "na.test")
    assert r["status"] == "OK"
    assert hosts(r) == [(10, "nowhere.na.test", "NXDOMAIN", []),
                        (20, "mx.na.test", "OK", ["127.0.0.9"])]
    r = one(dns.addr, "mx", "nx.test")
    assert r["status"] == "NODATA"                  # permanent: bounce
    assert "nowhere.nx.test: NXDOMAIN" in r["error"]
    r = one(dns.addr, "mx", "nd.test")
    assert r["status"] == "NODATA"
    assert hosts(r) == [(10, "txtonly.nd.test", "NODATA", [])]


def test_duplicate_mx_host_kept_once(dns):
    r = one(dns.addr, "mx", "dup.test")
    assert r["status"] == "OK"
    assert hosts(r) == [(10, "mx.dup.test", "OK", ["127.0.0.30"])]


def test_servfail_is_temporary(dns):
    res = parse(run(dns.addr, ("mx", "broken.test"), ("mx", "sf.test"),
                    ("addr", "mx.broken.test"), ("txt", "broken.test"),
                    ("mx", "mix.test")))
    assert res[0]["status"] == "TEMPFAIL"
    assert "SERVFAIL" in res[0]["error"]
    assert res[1]["status"] == "TEMPFAIL"           # its only host fails
    assert hosts(res[1]) == [(10, "mx.broken.test", "TEMPFAIL", [])]
    assert res[2]["status"] == "TEMPFAIL"
    assert res[3]["status"] == "TEMPFAIL"
    # One host failing temporarily does not spoil the others.
    assert res[4]["status"] == "OK"
    assert hosts(res[4]) == [(10, "mx.broken.test", "TEMPFAIL", []),
                             (20, "mx.mix.test", "OK", ["127.0.0.20"])]


def test_status_per_address_family(dns):
    """One family failing is reported as such, never folded into OK."""
    res = parse(run(dns.addr, ("addr", "h4.half.test"), ("addr", "h6.half.test"),
                    ("mx", "half.test"), ("addr", "mx2.b.test"),
                    ("addr", "mx1.b.test"), ("addr", "[::1]")))
    assert (res[0]["status"], res[0]["addrs"]) == ("OK", ["127.0.0.40"])
    assert res[0]["fam"] == ("OK", "TEMPFAIL")
    assert (res[1]["status"], res[1]["addrs"]) == ("OK", ["2001:db8::46"])
    assert res[1]["fam"] == ("TEMPFAIL", "OK")
    assert res[2]["status"] == "OK"
    assert res[2]["hosts"][0]["status"] == "OK"
    assert res[2]["hosts"][0]["fam"] == ("OK", "TEMPFAIL")
    assert res[3]["fam"] == ("OK", "OK")
    assert res[4]["fam"] == ("OK", "NODATA")
    assert res[5]["fam"] == ("NODATA", "OK")     # a literal


def test_unreachable_server_is_temporary():
    server = "127.0.0.1:%d" % free_port()           # nothing listens
    t = time.monotonic()
    res = parse(run(server, ("mx", "b.test"), ("addr", "mx1.b.test"),
                    ("txt", "b.test"), timeout_ms=1500))
    assert [r["status"] for r in res] == ["TEMPFAIL"] * 3
    assert time.monotonic() - t < 20


def test_silent_server_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))                    # reads nothing, ever
        server = "127.0.0.1:%d" % s.getsockname()[1]
        t = time.monotonic()
        r = one(server, "mx", "b.test", timeout_ms=1000)
        assert r["status"] == "TEMPFAIL" and "timed out" in r["error"]
        assert 0.9 < time.monotonic() - t < 20


def test_txt_multiple_strings(dns):
    res = parse(run(dns.addr, ("txt", "b.test"), ("txt", "sel._domainkey.b.test"),
                    ("txt", "i.test")))
    assert res[0]["status"] == "OK"
    assert sorted(res[0]["txt"]) == ["second record",
                                     "v=spf1 ip4:127.0.0.1 -all"]
    assert res[1]["txt"] == ["v=DKIM1; k=rsa; p=%s%s" % (KEY1, KEY2)]
    assert res[2]["status"] == "NODATA" and res[2]["txt"] == []


def test_addr_lookups_and_literals(dns):
    res = parse(run(dns.addr, ("addr", "mx2.b.test"), ("addr", "127.0.0.1"),
                    ("addr", "[::1]"), ("addr", "txtonly.nd.test"),
                    ("addr", "a..b")))
    assert (res[0]["status"], res[0]["addrs"]) == ("OK", ["127.0.0.12", "::12"])
    assert (res[1]["status"], res[1]["addrs"]) == ("OK", ["127.0.0.1"])
    assert (res[2]["status"], res[2]["addrs"]) == ("OK", ["::1"])
    assert res[3]["status"] == "NODATA"
    assert res[4]["status"] == "NXDOMAIN"


def test_many_parallel_lookups(dns):
    pairs = [("mx", "b.test"), ("mx", "r.test"), ("mx", "na.test"),
             ("txt", "b.test"), ("addr", "mx.v6.test")] * 20
    res = parse(run(dns.addr, *pairs))
    assert len(res) == 100
    assert all(r["status"] == "OK" for r in res)


def test_free_resolver_inside_callback(dns):
    lines = run(dns.addr, ("mx", "b.test"), ("mx", "r.test"), ("txt", "b.test"),
                ("addr", "mx1.b.test"), ("mx", "sf.test"), free_in_cb=True)
    assert lines[0] == "freed-in-callback callbacks=1"


def test_ptr(dns):
    res = parse(run(dns.addr, ("ptr", "10.0.0.25"), ("ptr", "10.0.0.26"),
                    ("ptr", "fd00::25"), ("ptr", "10.0.0.99")))
    assert (res[0]["status"], res[0]["txt"]) == ("OK", ["mx.b.test"])
    assert res[1]["status"] == "OK"
    assert sorted(res[1]["txt"]) == ["a.test", "b.test"]    # lowercased
    assert (res[2]["status"], res[2]["txt"]) == ("OK", ["mx6.b.test"])
    assert res[3]["status"] == "NXDOMAIN"
