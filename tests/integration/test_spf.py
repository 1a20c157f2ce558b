"""SPF (RFC 7208): tem's evaluator and pyspf agree on a table of cases.

The zones below are served by a private unbound (tests/lib/dnsserver.py).
Each case is evaluated twice against it:
  - by tem, through build/asan/tests/policy/test-spf-tool (built by
    `make unit` from src/policy/test-spf-tool.c; all cases in one run, in
    parallel on one resolver);
  - by pyspf (Debian python3-spf, `spf.check2`), whose dnspython look-ups
    are pointed at the same server by replacing dnspython's default
    resolver for the test.
Both must give the expected result, and for cases with exp= the same
explanation text. Covered: pass, fail, softfail, neutral, none, permerror
(syntax, more than 10 look-ups, more than 2 void look-ups, two records,
include of a domain without SPF, redirect to one, an include loop, more than
10 MX), temperror (SERVFAIL directly, through include, through a, of the
PTR look-up, of a PTR name's address, of the client's address family in a
and mx while the other family answers), include,
redirect, exp= (also through redirect), the macros i ir v l d2 s o h p, ip6
with a prefix, a and mx with dual prefixes (IPv4 and IPv6 clients), ptr,
exists, the HELO identity, upper-case records.
"""

import os
import subprocess

import dns.resolver as dns_resolver  # Debian: python3-dnspython
import pytest
import spf                           # Debian: python3-spf

from dnsserver import DnsServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build", "asan", "tests", "policy",
                    "test-spf-tool")
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error")
Z = "spf.test"

# pyspf calls dnspython's deprecated dns.resolver.query().
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def txt(name, text):
    return '%s. TXT "%s"' % (name, text)


LIMIT_HOSTS = ["h%d.lim.%s" % (i, Z) for i in range(1, 12)]
EXP_TEXT = ("%{s} from %{i} may not send for %{d} "
            "(helo %{h}, local part %{l}, domain %{o})")

ZONES = {
    Z: [
        txt("pass." + Z, "v=spf1 ip4:192.0.2.0/24 -all"),
        txt("soft." + Z, "v=spf1 ip4:192.0.2.1 ~all"),
        txt("neutral." + Z, "v=spf1 ?all"),
        txt("empty." + Z, "v=spf1"),
        txt("nospf." + Z, "site-verification=abc"),
        txt("upper." + Z, "V=SPF1 IP4:192.0.2.10 -ALL"),
        # permerror
        txt("syntax." + Z, "v=spf1 ip4:192.0.2.10 foo -all"),
        txt("badip." + Z, "v=spf1 ip4:192.0.2.300 -all"),
        txt("two." + Z, "v=spf1 -all"),
        txt("two." + Z, "v=spf1 +all"),
        txt("lim10." + Z, "v=spf1 " + " ".join(
            "a:" + h for h in LIMIT_HOSTS[:10]) + " -all"),
        txt("lim11." + Z, "v=spf1 " + " ".join(
            "a:" + h for h in LIMIT_HOSTS) + " -all"),
        txt("void2." + Z, "v=spf1 a:n1.void.%s a:n2.void.%s -all" % (Z, Z)),
        txt("void3." + Z, "v=spf1 a:n1.void.%s mx:n2.void.%s "
            "exists:n3.void.%s -all" % (Z, Z, Z)),
        txt("loop." + Z, "v=spf1 include:loop.%s -all" % Z),
        txt("mx11." + Z, "v=spf1 mx -all"),
        # include, redirect
        txt("incl." + Z, "v=spf1 include:pass.%s -all" % Z),
        txt("inclsoft." + Z, "v=spf1 include:soft.%s ?all" % Z),
        txt("inclnospf." + Z, "v=spf1 include:nospf.%s -all" % Z),
        txt("inclnx." + Z, "v=spf1 include:nowhere.%s -all" % Z),
        txt("incltemp." + Z, "v=spf1 include:broken.test -all"),
        txt("atemp." + Z, "v=spf1 a:broken.test -all"),
        # h6only answers AAAA, its A look-up fails (SERVFAIL below): an
        # IPv4 client must get temperror, not "no match"
        "h6only.%s. AAAA 2001:db8::99" % Z,
        txt("ahalf." + Z, "v=spf1 a:h6only.%s -all" % Z),
        txt("mxhalf." + Z, "v=spf1 mx -all"),
        "mxhalf.%s. MX 10 h6only.%s." % (Z, Z),
        txt("redir." + Z, "v=spf1 redirect=pass.%s" % Z),
        txt("redirnospf." + Z, "v=spf1 redirect=nospf.%s" % Z),
        txt("redirall." + Z, "v=spf1 -all redirect=pass.%s" % Z),
        # exp=
        txt("exp." + Z, "v=spf1 ip4:192.0.2.1 -all exp=why.exp.%s" % Z),
        txt("why.exp." + Z, EXP_TEXT),
        txt("expredir." + Z,
            "v=spf1 redirect=exp.%s exp=other.exp.%s" % (Z, Z)),
        txt("other.exp." + Z, "the wrong explanation"),
        txt("expmissing." + Z, "v=spf1 -all exp=nowhere.%s" % Z),
        txt("expp." + Z, "v=spf1 -all exp=why.expp.%s" % Z),
        txt("why.expp." + Z, "%{p} is not allowed for %{d}"),
        # macros
        txt("mi." + Z, "v=spf1 exists:%%{i}.allow.%s -all" % Z),
        "192.0.2.10.allow.%s. A 127.0.0.2" % Z,
        txt("mir." + Z, "v=spf1 exists:%%{ir}.%%{v}.rev.%s -all" % Z),
        "10.2.0.192.in-addr.rev.%s. A 127.0.0.2" % Z,
        txt("ml." + Z, "v=spf1 exists:%%{l}.users.%s -all" % Z),
        "alice.users.%s. A 127.0.0.2" % Z,
        txt("mail.md2." + Z, "v=spf1 a:relay.%{d2} -all"),
        "relay.%s. A 192.0.2.10" % Z,
        txt("mh." + Z, "v=spf1 exists:%%{h}.helos.%s -all" % Z),
        "mx.good.test.helos.%s. A 127.0.0.2" % Z,
        txt("mp." + Z, "v=spf1 exists:%%{p}.names.%s -all" % Z),
        "mail.ptr.%s.names.%s. A 127.0.0.2" % (Z, Z),
        # ip6, a, mx
        txt("ip6." + Z, "v=spf1 ip6:2001:db8:1::/48 -all"),
        txt("dual." + Z, "v=spf1 a:h.dual.%s/24//64 -all" % Z),
        "h.dual.%s. A 192.0.2.1" % Z,
        "h.dual.%s. AAAA 2001:db8:5::1" % Z,
        txt("mxd." + Z, "v=spf1 mx/24//64 -all"),
        "mxd.%s. MX 10 mx1.mxd.%s." % (Z, Z),
        "mx1.mxd.%s. A 198.51.100.1" % Z,
        "mx1.mxd.%s. AAAA 2001:db8:7::1" % Z,
        txt("mx." + Z, "v=spf1 mx -all"),
        "mx.%s. MX 10 m1.mx.%s." % (Z, Z),
        "mx.%s. MX 20 m2.mx.%s." % (Z, Z),
        "m1.mx.%s. A 198.51.100.7" % Z,
        "m2.mx.%s. A 192.0.2.10" % Z,
        txt("mxnone." + Z, "v=spf1 mx -all"),
        txt("a6." + Z, "v=spf1 a -all"),
        "a6.%s. AAAA 2001:db8:9::1" % Z,
        # ptr, exists
        txt("ptr." + Z, "v=spf1 ptr -all"),
        "mail.ptr.%s. A 192.0.2.20" % Z,
        txt("ptrtemp." + Z, "v=spf1 ptr:brokenptr.test -all"),
        txt("ex." + Z, "v=spf1 exists:yes.%s -all" % Z),
        "yes.%s. A 127.0.0.1" % Z,
        txt("exno." + Z, "v=spf1 exists:no.%s -all" % Z),
        # HELO identity
        txt("helo." + Z, "v=spf1 a -all"),
        "helo.%s. A 192.0.2.30" % Z,
    ] + ["%s. A 198.51.100.1" % h for h in LIMIT_HOSTS]
      + ["mx11.%s. MX %d m%d.mx11.%s." % (Z, i, i, Z) for i in range(1, 12)]
      + ["m%d.mx11.%s. A 192.0.2.%d" % (i, Z, i) for i in range(1, 12)],
    "2.0.192.in-addr.arpa": [
        "20.2.0.192.in-addr.arpa. PTR mail.ptr.%s." % Z,
        "21.2.0.192.in-addr.arpa. PTR mail.ptr.%s." % Z,
        "79.2.0.192.in-addr.arpa. PTR mail.brokenptr.test.",
    ],
}

SERVFAIL = ["broken.test", "brokenptr.test", "77.2.0.192.in-addr.arpa",
            "h6only." + Z]
IN = "192.0.2.10"        # inside pass.spf.test's network
OUT = "198.51.100.99"    # outside everything

# (id, client ip, MAIL FROM (empty: HELO identity), HELO, expected,
#  compare the explanation with pyspf's)
CASES = [
    ("pass", IN, "alice@pass." + Z, "mx.good.test", "pass", False),
    ("fail", OUT, "alice@pass." + Z, "mx.good.test", "fail", False),
    ("softfail", IN, "alice@soft." + Z, "mx.good.test", "softfail", False),
    ("neutral", IN, "alice@neutral." + Z, "mx.good.test", "neutral", False),
    ("neutral-empty-record", IN, "alice@empty." + Z, "mx.good.test",
     "neutral", False),
    ("none-no-spf-record", IN, "alice@nospf." + Z, "mx.good.test", "none",
     False),
    ("none-nxdomain", IN, "alice@nowhere." + Z, "mx.good.test", "none",
     False),
    ("upper-case-record", IN, "alice@upper." + Z, "mx.good.test", "pass",
     False),
    ("permerror-syntax", IN, "alice@syntax." + Z, "mx.good.test",
     "permerror", False),
    ("permerror-bad-ip4", IN, "alice@badip." + Z, "mx.good.test",
     "permerror", False),
    ("permerror-two-records", IN, "alice@two." + Z, "mx.good.test",
     "permerror", False),
    ("ten-lookups-ok", IN, "alice@lim10." + Z, "mx.good.test", "fail",
     False),
    ("permerror-eleven-lookups", IN, "alice@lim11." + Z, "mx.good.test",
     "permerror", False),
    ("two-void-lookups-ok", IN, "alice@void2." + Z, "mx.good.test", "fail",
     False),
    ("permerror-three-void-lookups", IN, "alice@void3." + Z, "mx.good.test",
     "permerror", False),
    ("permerror-include-loop", IN, "alice@loop." + Z, "mx.good.test",
     "permerror", False),
    ("permerror-more-than-10-mx", "192.0.2.1", "alice@mx11." + Z,
     "mx.good.test", "permerror", False),
    ("include-pass", IN, "alice@incl." + Z, "mx.good.test", "pass", False),
    ("include-fail", OUT, "alice@incl." + Z, "mx.good.test", "fail", False),
    ("include-softfail-no-match", IN, "alice@inclsoft." + Z, "mx.good.test",
     "neutral", False),
    ("permerror-include-without-spf", IN, "alice@inclnospf." + Z,
     "mx.good.test", "permerror", False),
    ("permerror-include-nxdomain", IN, "alice@inclnx." + Z, "mx.good.test",
     "permerror", False),
    ("temperror-servfail", IN, "alice@broken.test", "mx.good.test",
     "temperror", False),
    ("temperror-include-servfail", IN, "alice@incltemp." + Z,
     "mx.good.test", "temperror", False),
    ("temperror-a-servfail", IN, "alice@atemp." + Z, "mx.good.test",
     "temperror", False),
    ("temperror-a-own-family-servfail", IN, "alice@ahalf." + Z,
     "mx.good.test", "temperror", False),
    ("temperror-mx-own-family-servfail", IN, "alice@mxhalf." + Z,
     "mx.good.test", "temperror", False),
    ("redirect-pass", IN, "alice@redir." + Z, "mx.good.test", "pass", False),
    ("redirect-fail", OUT, "alice@redir." + Z, "mx.good.test", "fail",
     False),
    ("permerror-redirect-without-spf", IN, "alice@redirnospf." + Z,
     "mx.good.test", "permerror", False),
    ("redirect-ignored-with-all", IN, "alice@redirall." + Z, "mx.good.test",
     "fail", False),
    ("exp-macros-s-i-d-h-l-o", IN, "alice@exp." + Z, "mx.good.test", "fail",
     True),
    ("exp-from-redirect-target", IN, "bob@expredir." + Z, "mx.good.test",
     "fail", True),
    ("exp-macro-p", "192.0.2.20", "alice@expp." + Z, "mx.good.test",
     "fail", True),
    ("exp-missing", IN, "alice@expmissing." + Z, "mx.good.test", "fail",
     False),
    ("macro-i-pass", IN, "alice@mi." + Z, "mx.good.test", "pass", False),
    ("macro-i-fail", "192.0.2.11", "alice@mi." + Z, "mx.good.test", "fail",
     False),
    ("macro-ir-v", IN, "alice@mir." + Z, "mx.good.test", "pass", False),
    ("macro-l-pass", IN, "alice@ml." + Z, "mx.good.test", "pass", False),
    ("macro-l-fail", IN, "bob@ml." + Z, "mx.good.test", "fail", False),
    ("macro-d2", IN, "alice@mail.md2." + Z, "mx.good.test", "pass", False),
    ("macro-h", IN, "alice@mh." + Z, "mx.good.test", "pass", False),
    ("macro-h-fail", IN, "alice@mh." + Z, "mx.bad.test", "fail", False),
    ("macro-p", "192.0.2.20", "alice@mp." + Z, "mx.good.test", "pass",
     False),
    ("ip6-cidr-pass", "2001:db8:1:2::5", "alice@ip6." + Z, "mx.good.test",
     "pass", False),
    ("ip6-cidr-fail", "2001:db8:2::1", "alice@ip6." + Z, "mx.good.test",
     "fail", False),
    ("ip6-rule-ipv4-client", IN, "alice@ip6." + Z, "mx.good.test", "fail",
     False),
    ("a-dual-cidr-v4-pass", "192.0.2.200", "alice@dual." + Z,
     "mx.good.test", "pass", False),
    ("a-dual-cidr-v4-fail", "192.0.3.1", "alice@dual." + Z, "mx.good.test",
     "fail", False),
    ("a-dual-cidr-v6-pass", "2001:db8:5::abcd", "alice@dual." + Z,
     "mx.good.test", "pass", False),
    ("a-dual-cidr-v6-fail", "2001:db8:5:1::1", "alice@dual." + Z,
     "mx.good.test", "fail", False),
    ("mx-dual-cidr-v4-pass", "198.51.100.77", "alice@mxd." + Z,
     "mx.good.test", "pass", False),
    ("mx-dual-cidr-v6-pass", "2001:db8:7::99", "alice@mxd." + Z,
     "mx.good.test", "pass", False),
    ("mx-dual-cidr-fail", "203.0.113.1", "alice@mxd." + Z, "mx.good.test",
     "fail", False),
    ("mx-second-host", IN, "alice@mx." + Z, "mx.good.test", "pass", False),
    ("mx-first-host", "198.51.100.7", "alice@mx." + Z, "mx.good.test",
     "pass", False),
    ("mx-no-mx-records", IN, "alice@mxnone." + Z, "mx.good.test", "fail",
     False),
    ("a-ipv6-client", "2001:db8:9::1", "alice@a6." + Z, "mx.good.test",
     "pass", False),
    ("ptr-validated", "192.0.2.20", "alice@ptr." + Z, "mx.good.test",
     "pass", False),
    ("ptr-not-validated", "192.0.2.21", "alice@ptr." + Z, "mx.good.test",
     "fail", False),
    ("ptr-no-ptr-record", "192.0.2.22", "alice@ptr." + Z, "mx.good.test",
     "fail", False),
    ("temperror-ptr-servfail", "192.0.2.77", "alice@ptr." + Z,
     "mx.good.test", "temperror", False),
    ("temperror-ptr-name-servfail", "192.0.2.79", "alice@ptrtemp." + Z,
     "mx.good.test", "temperror", False),
    ("exists-pass", IN, "alice@ex." + Z, "mx.good.test", "pass", False),
    ("exists-fail", IN, "alice@exno." + Z, "mx.good.test", "fail", False),
    ("helo-identity-pass", "192.0.2.30", "", "helo." + Z, "pass", False),
    ("helo-identity-fail", "192.0.2.31", "", "helo." + Z, "fail", False),
]


@pytest.fixture(scope="module")
def dns():
    with DnsServer(ZONES, servfail=SERVFAIL) as srv:
        yield srv


@pytest.fixture(scope="module")
def pyspf_dns(dns):
    """Points dnspython's default resolver (used by pyspf) at `dns`."""
    saved = dns_resolver.default_resolver
    r = dns_resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = dns.port
    r.timeout = 5
    r.lifetime = 10
    dns_resolver.default_resolver = r
    yield r
    dns_resolver.default_resolver = saved


@pytest.fixture(scope="module")
def tem_results(dns):
    """Every case through test-spf-tool in one run: {id: (result, text)}."""
    if not os.path.exists(TOOL):
        pytest.fail("%s is missing: run `make unit`" % TOOL)
    args = [TOOL, dns.addr]
    for _, ip, sender, helo, _, _ in CASES:
        args += [ip, sender, helo]
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    for mark in SANITIZER_MARKS:
        assert mark not in p.stderr, p.stderr
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    assert len(lines) == len(CASES), p.stdout
    out = {}
    for case, line in zip(CASES, lines):
        res, _, text = line.partition(" ")
        out[case[0]] = (res, text or None)
    return out


def pyspf_check(ip, sender, helo):
    return spf.check2(i=ip, s=sender, h=helo, querytime=30)


def test_table_is_big_enough():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_spf_case(case, tem_results, pyspf_dns):
    cid, ip, sender, helo, want, compare_exp = case
    py_res, py_exp = pyspf_check(ip, sender, helo)
    tem_res, tem_text = tem_results[cid]
    assert py_res == want, ("pyspf", py_res, py_exp)
    assert tem_res == want, ("tem", tem_res, tem_text)
    if compare_exp:
        assert tem_text == py_exp


def test_exp_text_expanded(tem_results):
    """The explanation, spelled out (pyspf agrees, see above)."""
    assert tem_results["exp-macros-s-i-d-h-l-o"][1] == (
        "alice@exp.spf.test from 192.0.2.10 may not send for exp.spf.test "
        "(helo mx.good.test, local part alice, domain exp.spf.test)")
    assert tem_results["exp-from-redirect-target"][1] == (
        "bob@expredir.spf.test from 192.0.2.10 may not send for "
        "exp.spf.test (helo mx.good.test, local part bob, domain "
        "expredir.spf.test)")
    assert tem_results["exp-macro-p"][1] == (
        "mail.ptr.spf.test is not allowed for expp.spf.test")
    assert tem_results["exp-missing"][1] is None


def test_errors_have_reasons(tem_results):
    """temperror and permerror come with a reason for the logs."""
    for cid, _, _, _, want, _ in CASES:
        res, text = tem_results[cid]
        if res in ("temperror", "permerror"):
            assert text, cid
    assert "10" in tem_results["permerror-eleven-lookups"][1]
    assert "void" in tem_results["permerror-three-void-lookups"][1]
