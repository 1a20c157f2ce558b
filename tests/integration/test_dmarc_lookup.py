"""DMARC policy discovery (RFC 7489 6.6.3) of src/policy against real DNS.

The look-ups are driven by build/asan/tests/policy/test-dmarc-tool (built
by `make unit` from src/policy/test-dmarc-tool.c) pointed at a private
unbound (tests/lib/dnsserver.py) on 127.0.0.1. Covered: a record at the
From domain, at the Organizational Domain only (found through Debian's
public suffix list, and the two-label fallback without it), a From
domain's own record winning over its org's, several DMARC records (no
policy, no fallback), non-DMARC TXT records ignored, a record without a
usable policy, SERVFAIL and unreachable servers as temperror, records
split over several strings, case, U-labels, invalid names, the RFC 9091
non-existence check for np, and cancelling checks in flight.
"""

import os
import subprocess

import pytest

from dnsserver import DnsServer, free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = os.path.join(REPO, "build", "asan", "tests", "policy", "test-dmarc-tool")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error")
PSL = "/usr/share/publicsuffix/public_suffix_list.dat"


def txt(name, *strings):
    return "%s. 300 IN TXT %s" % (name, " ".join('"%s"' % s for s in strings))


ZONES = {
    "a.test": [
        txt("_dmarc.a.test", "v=DMARC1; p=reject; adkim=s; pct=50; "
            "rua=mailto:d@a.test"),
        "a.test. 300 IN A 127.0.0.1",
    ],
    "o.test": [
        txt("_dmarc.o.test", "v=DMARC1; p=none; sp=quarantine"),
        txt("_dmarc.own.o.test", "v=DMARC1; p=reject"),
    ],
    "m.test": [
        txt("_dmarc.m.test", "v=DMARC1; p=reject"),
        txt("_dmarc.m.test", "v=DMARC1; p=none"),
        txt("_dmarc.sub.m.test", "v=DMARC1; p=quarantine"),
        txt("_dmarc.sub.m.test", "v=DMARC1; p=reject"),
        txt("_dmarc.one.m.test", "v=spf1 -all"),
        txt("_dmarc.one.m.test", "some other text"),
        txt("_dmarc.one.m.test", "v=DMARC1; p=quarantine"),
    ],
    "i.test": [
        txt("_dmarc.i.test", "v=DMARC1; p=reject"),
        txt("_dmarc.bad.i.test", "v=DMARC1; p=bogus"),
        txt("_dmarc.rua.i.test", "v=DMARC1; p=bogus; rua=mailto:r@i.test"),
    ],
    "s.test": [
        txt("_dmarc.s.test", "v=spf1 ", "-all"),
        txt("_dmarc.split.s.test", "v=DMARC1; ", "p=reject", "; sp=none"),
    ],
    "np.test": [
        txt("_dmarc.np.test", "v=DMARC1; p=none; sp=quarantine; np=reject"),
        "exists.np.test. 300 IN A 127.0.0.1",
        "v6.np.test. 300 IN AAAA ::1",
        "mxonly.np.test. 300 IN MX 10 nowhere.np.test.",
        txt("txtonly.np.test", "no address"),
    ],
    "npsame.test": [
        txt("_dmarc.npsame.test", "v=DMARC1; p=none; sp=reject; np=reject"),
    ],
    "xn--bcher-kva.test": [
        txt("_dmarc.xn--bcher-kva.test", "v=DMARC1; p=quarantine"),
    ],
    "example.co.uk": [
        txt("_dmarc.example.co.uk", "v=DMARC1; p=reject"),
    ],
    "co.uk": [
        txt("_dmarc.co.uk", "v=DMARC1; p=none"),
    ],
}


@pytest.fixture(scope="module")
def dns():
    with DnsServer(ZONES, servfail=["broken.test", "_dmarc.sfo.test"]) as srv:
        yield srv


def run(server, *domains, psl=None, timeout_ms=None, cancel=False):
    """Runs the driver; returns {domain: (status, {key: value})}."""
    if not os.path.exists(DRIVER):
        pytest.fail("%s is missing: run `make unit`" % DRIVER)
    args = [DRIVER]
    if psl is not None:
        args += ["-p", psl]
    if timeout_ms is not None:
        args += ["-t", str(timeout_ms)]
    if cancel:
        args.append("-c")
    args.append(server)
    args += domains
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    if cancel:
        return p.stdout.splitlines()
    out = {}
    lines = p.stdout.splitlines()
    assert len(lines) == len(domains), lines
    for dom, line in zip(domains, lines):
        words = line.split()
        assert words[0] == dom, (dom, line)
        out[dom] = (words[1], dict(w.split("=", 1) for w in words[2:]))
    return out


def one(server, domain, **kw):
    return run(server, domain, **kw)[domain]


def test_record_at_from_domain(dns):
    st, pol = one(dns.addr, "a.test")
    assert st == "ok"
    assert pol == {"at": "a.test", "org": "no", "p": "reject", "sp": "reject",
                   "np": "reject", "adkim": "s", "aspf": "r", "pct": "50",
                   "nonexistent": "no", "rua": "1"}


def test_record_at_org_domain_only(dns):
    res = run(dns.addr, "sub.a.test", "deep.x.y.a.test", "mail.o.test")
    for dom in ("sub.a.test", "deep.x.y.a.test"):
        st, pol = res[dom]
        assert st == "ok" and pol["at"] == "a.test" and pol["org"] == "yes"
    st, pol = res["mail.o.test"]
    assert st == "ok" and pol["at"] == "o.test" and pol["org"] == "yes"
    assert (pol["p"], pol["sp"]) == ("none", "quarantine")


def test_own_record_wins_over_org(dns):
    st, pol = one(dns.addr, "own.o.test")
    assert st == "ok" and pol["at"] == "own.o.test" and pol["org"] == "no"
    assert pol["p"] == "reject"


def test_org_domain_from_public_suffix_list(dns):
    # co.uk is a public suffix: the org domain of mail.example.co.uk is
    # example.co.uk, never co.uk (whose record says p=none).
    st, pol = one(dns.addr, "mail.example.co.uk")
    assert st == "ok" and pol["at"] == "example.co.uk" and pol["p"] == "reject"
    assert pol["org"] == "yes"


def test_without_list_the_last_two_labels(dns):
    st, pol = one(dns.addr, "mail.example.co.uk", psl="/nonexistent/psl.dat")
    assert st == "ok" and pol["at"] == "co.uk" and pol["p"] == "none"


def test_multiple_records(dns):
    res = run(dns.addr, "m.test", "sub.m.test", "x.m.test")
    assert res["m.test"][0] == "multiple"
    # Several at the From domain: no fallback to the org domain.
    assert res["sub.m.test"][0] == "multiple"
    # None at x.m.test: the org domain's are several.
    assert res["x.m.test"][0] == "multiple"


def test_other_txt_records_ignored(dns):
    st, pol = one(dns.addr, "one.m.test")
    assert st == "ok" and pol["p"] == "quarantine" and pol["at"] == "one.m.test"
    # Only an SPF record at _dmarc.s.test: no DMARC record.
    assert one(dns.addr, "s.test")[0] == "none"


def test_record_in_several_strings(dns):
    st, pol = one(dns.addr, "split.s.test")
    assert st == "ok" and (pol["p"], pol["sp"]) == ("reject", "none")


def test_record_without_policy(dns):
    res = run(dns.addr, "bad.i.test", "rua.i.test")
    # A DMARC record without valid p: no DMARC, and no fallback either.
    assert res["bad.i.test"][0] == "invalid"
    # ...unless it has a valid rua: then p=none (6.6.3 step 6).
    st, pol = res["rua.i.test"]
    assert st == "ok" and pol["p"] == "none" and pol["at"] == "rua.i.test"


def test_no_record_anywhere(dns):
    res = run(dns.addr, "nosuch.test", "x.nosuch.test", "a..test", "[127.0.0.1]")
    assert [res[d][0] for d in res] == ["none"] * 4


def test_servfail_is_temperror(dns):
    res = run(dns.addr, "broken.test", "x.broken.test", "x.sfo.test")
    assert res["broken.test"][0] == "temperror"
    assert res["x.broken.test"][0] == "temperror"
    # Nothing at _dmarc.x.sfo.test; SERVFAIL at the org domain's name.
    assert res["x.sfo.test"][0] == "temperror"


def test_unreachable_server_is_temperror():
    res = run("127.0.0.1:%d" % free_port(), "a.test", timeout_ms=500)
    assert res["a.test"][0] == "temperror"


def test_case_trailing_dot_and_u_labels(dns):
    res = run(dns.addr, "A.Test.", "bücher.test", "mail.BÜCHER.test")
    assert res["A.Test."][1]["at"] == "a.test"
    st, pol = res["bücher.test"]
    assert st == "ok" and pol["at"] == "xn--bcher-kva.test"
    # Non-ASCII upper case is not folded (no IDNA mapping): no such name.
    assert res["mail.BÜCHER.test"][0] == "none"


def test_np_for_non_existent_subdomains(dns):
    res = run(dns.addr, "nx.np.test", "txtonly.np.test", "exists.np.test",
              "v6.np.test", "mxonly.np.test", "nx.npsame.test")
    for dom in ("nx.np.test", "txtonly.np.test"):
        st, pol = res[dom]
        assert st == "ok" and pol["nonexistent"] == "yes", dom
        assert (pol["sp"], pol["np"]) == ("quarantine", "reject")
    for dom in ("exists.np.test", "v6.np.test", "mxonly.np.test"):
        st, pol = res[dom]
        assert st == "ok" and pol["nonexistent"] == "no", dom
    # np equal to sp: nothing to decide, not looked up.
    st, pol = res["nx.npsame.test"]
    assert st == "ok" and pol["nonexistent"] == "no" and pol["np"] == "reject"


def test_many_in_parallel(dns):
    doms = ["a.test", "sub.a.test", "m.test", "nosuch.test", "broken.test"] * 8
    lines = subprocess.run([DRIVER, dns.addr] + doms, capture_output=True,
                           text=True, timeout=120).stdout.splitlines()
    want = {"a.test": "ok", "sub.a.test": "ok", "m.test": "multiple",
            "nosuch.test": "none", "broken.test": "temperror"}
    assert len(lines) == len(doms)
    for dom, line in zip(doms, lines):
        assert line.split()[:2] == [dom, want[dom]], line


def test_cancel_in_flight(dns):
    lines = run(dns.addr, "a.test", "sub.a.test", "broken.test", "np.test",
                cancel=True)
    assert lines == ["cancelled callbacks=0"]
