"""test_dkim - tem's DKIM (RFC 6376, RFC 8463) against an independent
implementation: dkimpy (Debian package python3-dkim).

tem's signer and verifier are driven through
build/asan/tests/policy/test-dkim-tool (src/policy/test-dkim-tool.c);
keys come from the openssl command line and PyNaCl, so that neither side
checks itself. Covered:
  - tem signs (RSA 2048 and Ed25519, varied messages), dkimpy verifies;
    any change to a signed field or the body makes dkimpy fail;
  - dkimpy signs (both key types, every c= combination, l=), tem verifies;
    content added after l= is flagged partial; changes fail;
  - messages signed by other implementations shipped with dkimpy
    (Exim's Ed25519 prototype, the RFC 8463 draft examples);
  - tem's public key records equal those computed by openssl;
  - `tem dkim keygen` and `tem dns-records` through the real binary
    ($TEM_BIN) with a temp config, and the printed record published in a
    real DNS server (tests/lib/dnsserver.py) for the asynchronous
    verifier, with NXDOMAIN and SERVFAIL keys.
"""

import base64
import os
import re
import stat
import subprocess

import dkim                          # Debian: python3-dkim (dkimpy)
import nacl.signing as nacl_signing  # Debian: python3-nacl
import pytest

from dnsserver import DnsServer
from temadmin import Admin
from temserver import SANITIZER_MARKS, sanitizer_env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build", "asan", "tests", "policy",
                    "test-dkim-tool")
DKIMPY_DATA = os.path.join(os.path.dirname(dkim.__file__), "tests", "data")


MESSAGES = {
    "plain": (b"From: Alice <alice@a.test>\n"
              b"To: Bob <bob@b.test>\n"
              b"Subject: Hello\n"
              b"Date: Sat, 28 Nov 2026 03:00:00 +0000\n"
              b"Message-ID: <1@a.test>\n"
              b"\n"
              b"Hello Bob.\n"),
    "folded": (b"From: Alice\n <alice@a.test>\n"
               b"To: bob@b.test,\n\tcarol@c.test,  \n  dave@d.test\n"
               b"Cc: eve@e.test\n"
               b"Subject:   a  subject\twith   runs   \n"
               b"MIME-Version: 1.0\n"
               b"Content-Type: text/plain;\n charset=utf-8\n"
               b"X-Unsigned: whatever\n"
               b"\n"
               b"  leading space, trailing space   \n"
               b"\ttabs\t\tinside\t\n"
               b"\n\n\n"),
    "empty-body": b"From: alice@a.test\nSubject: nothing\n\n",
    "no-final-newline": b"From: alice@a.test\nSubject: x\n\nlast line",
    "utf8-and-dots": ("From: Jürgen <j@a.test>\nSubject: Grüße\n\n"
                      ".\n..dots\nÜber\n").encode(),
    "two-subjects": (b"From: alice@a.test\nSubject: one\nSubject: two\n"
                     b"\nbody\n"),
}


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def run(*args, check=True):
    p = subprocess.run(list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=sanitizer_env(),
                       timeout=120)
    err = p.stderr.decode(errors="replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    if check:
        assert p.returncode == 0, (args, p.returncode, err)
    return p


def tool(*args):
    assert os.access(TOOL, os.X_OK), "%s not built (make unit)" % TOOL
    return run(TOOL, *args).stdout.decode()


# ---- keys (made by openssl / PyNaCl, not by tem) ----------------------------

def openssl_key(tmp_path, kind):
    path = str(tmp_path / ("key-%s.pem" % kind))
    if kind == "rsa":
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
            "rsa_keygen_bits:2048", "-out", path)
    else:
        run("openssl", "genpkey", "-algorithm", "ED25519", "-out", path)
    der = run("openssl", "pkey", "-in", path, "-pubout", "-outform",
              "DER").stdout
    if kind == "rsa":
        p = base64.b64encode(der).decode()
    else:
        p = base64.b64encode(der[-32:]).decode()   # SPKI ends with the key
    return path, "v=DKIM1; k=%s; p=%s" % (kind, p)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dkimkeys")
    return {kind: openssl_key(tmp, kind) for kind in ("rsa", "ed25519")}


def dnsfunc_for(records):
    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip("."), "").encode()
    return dnsfunc


def tem_sign(tmp_path, msg, keyfile, domain="a.test", selector="sel"):
    f = tmp_path / "msg.eml"
    f.write_bytes(msg)
    out = tool("sign", str(f), keyfile, domain, selector)
    assert out.startswith("DKIM-Signature: ") and out.endswith("\n")
    assert "\r" not in out
    assert all(len(line) <= 78 for line in out.split("\n")), out
    return out.encode()


def tem_verify(tmp_path, data, records, now=None):
    f = tmp_path / "in.eml"
    f.write_bytes(data)
    args = ["verify", str(f)] + ["%s=%s" % kv for kv in records.items()]
    if now is not None:
        args += ["--now", str(now)]
    return tool(*args).splitlines()


# ---- tem signs, dkimpy verifies ----------------------------------------------

@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_tem_signs_dkimpy_verifies(tmp_path, keys, kind, name):
    keyfile, record = keys[kind]
    msg = MESSAGES[name]
    sig = tem_sign(tmp_path, msg, keyfile)
    assert b"a=%s-sha256;" % kind.encode() in sig
    dnsfunc = dnsfunc_for({"sel._domainkey.a.test": record})
    wire = crlf(sig + msg)
    d = dkim.DKIM(wire)
    assert d.verify(dnsfunc=dnsfunc), (sig, d.logger)
    # tem's own verifier agrees
    assert tem_verify(tmp_path, sig + msg,
                      {"sel._domainkey.a.test": record})[0].startswith(
                          "pass d=a.test s=sel a=%s-sha256" % kind)


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_tem_signature_breaks_on_change(tmp_path, keys, kind):
    keyfile, record = keys[kind]
    msg = MESSAGES["plain"]
    sig = tem_sign(tmp_path, msg, keyfile)
    dnsfunc = dnsfunc_for({"sel._domainkey.a.test": record})
    changes = [
        msg.replace(b"Hello Bob.", b"Hello Rob."),            # body
        msg.replace(b"Subject: Hello", b"Subject: Hallo"),    # signed field
        b"From: mallory@evil.test\n" + msg,                   # oversigned
        b"Subject: again\n" + msg,                            # oversigned
        msg + b"appended\n",                                  # no l=
    ]
    for changed in changes:
        assert not dkim.verify(crlf(sig + changed), dnsfunc=dnsfunc), changed
    # an unsigned field, and white space changes, survive relaxed/relaxed
    ok = b"X-Added: by a relay\n" + msg.replace(b"To: Bob", b"To:   Bob")
    assert dkim.verify(crlf(sig + ok), dnsfunc=dnsfunc)


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_tem_record_matches_openssl(tmp_path, keys, kind):
    keyfile, record = keys[kind]
    assert tool("record", keyfile).strip() == record


# ---- dkimpy signs, tem verifies ----------------------------------------------

@pytest.fixture(scope="module")
def dkimpy_keys(keys):
    """dkimpy's own key forms: RSA PEM, Ed25519 as a base64 seed."""
    seed = nacl_signing.SigningKey.generate()
    pub = base64.b64encode(bytes(seed.verify_key)).decode()
    with open(keys["rsa"][0], "rb") as f:
        rsa_pem = f.read()
    return {
        "rsa": (rsa_pem, keys["rsa"][1]),
        "ed25519": (base64.b64encode(bytes(seed)),
                    "v=DKIM1; k=ed25519; p=%s" % pub),
    }


CANONS = [(b"simple", b"simple"), (b"relaxed", b"relaxed"),
          (b"simple", b"relaxed"), (b"relaxed", b"simple")]


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
@pytest.mark.parametrize("canon", CANONS, ids=lambda c: b"/".join(c).decode())
def test_dkimpy_signs_tem_verifies(tmp_path, dkimpy_keys, kind, canon):
    key, record = dkimpy_keys[kind]
    recs = {"py._domainkey.b.test": record}
    for name in sorted(MESSAGES):
        msg = crlf(MESSAGES[name])
        sig = dkim.sign(msg, b"py", b"b.test", key, canonicalize=canon,
                        signature_algorithm=b"%s-sha256" % kind.encode())
        lines = tem_verify(tmp_path, sig + msg, recs)
        assert len(lines) == 1, lines
        assert lines[0].startswith("pass d=b.test s=py a=%s-sha256" % kind), \
            (name, lines, sig)
        assert "partial" not in lines[0]
        bad = msg.replace(b"\r\n\r\n", b"\r\n\r\nX", 1)
        lines = tem_verify(tmp_path, sig + bad, recs)
        assert lines[0].startswith("fail "), (name, lines)


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_dkimpy_length_tag(tmp_path, dkimpy_keys, kind):
    key, record = dkimpy_keys[kind]
    recs = {"py._domainkey.b.test": record}
    msg = crlf(MESSAGES["plain"])
    sig = dkim.sign(msg, b"py", b"b.test", key, length=True,
                    signature_algorithm=b"%s-sha256" % kind.encode())
    assert b"l=" in sig
    line = tem_verify(tmp_path, sig + msg, recs)[0]
    assert line.startswith("pass ") and " l=" in line, line
    assert "partial" not in line
    # what follows l= is not covered: still pass, but flagged
    line = tem_verify(tmp_path, sig + msg + b"Click: http://evil.test/\r\n",
                      recs)[0]
    assert line.startswith("pass ") and line.split()[-1] == "partial", line
    # the covered part changed: fail
    line = tem_verify(tmp_path, sig + msg.replace(b"Hello Bob", b"Hello Rob"),
                      recs)[0]
    assert line.startswith("fail "), line


def test_other_implementations(tmp_path):
    """Signatures made by others, shipped with dkimpy's tests."""
    def data(name):
        with open(os.path.join(DKIMPY_DATA, name), "rb") as f:
            return f.read()
    assert os.path.isdir(DKIMPY_DATA), "python3-dkim ships no test data?"
    # Exim's Ed25519 prototype (tag separators on continuation lines)
    lines = tem_verify(tmp_path, data("ed25519test2.msg"),
                       {"sed._domainkey.test.ex":
                        data("eximtest.dns").decode().strip()})
    assert lines == ["pass d=test.ex s=sed a=ed25519-sha256 bits=256"]
    # RFC 8463 draft examples: simple/simple, Ed25519 and RSA
    recs = {"brisbane._domainkey.football.example.com":
            "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "test._domainkey.football.example.com":
            data("test.txt").decode().strip()}
    lines = tem_verify(tmp_path, data("rfc6376.signed.msg"), recs)
    assert [ln.split()[0] for ln in lines] == ["pass", "pass"], lines
    lines = tem_verify(tmp_path, data("rfc6376.signed.rsa.msg"), recs)
    assert all(ln.startswith("pass ") for ln in lines), lines


# ---- tem dkim keygen, tem dns-records ------------------------------------------

@pytest.fixture
def admin(tmp_path):
    a = Admin(tmp_path, extra="hostname = mx.a.test\n")
    a.ok("domain", "add", "a.test")
    return a


RECORD_LINE = re.compile(
    r'^(?P<sel>[a-z0-9-]+)\._domainkey\.a\.test\. IN TXT '
    r'(?P<strings>"[^"]*"(?: "[^"]*")*)$')


def parse_record_line(line):
    m = RECORD_LINE.match(line)
    assert m, line
    strings = re.findall(r'"([^"]*)"', m.group("strings"))
    assert all(len(s) <= 255 for s in strings), strings
    return m.group("sel"), "".join(strings)


def test_keygen_and_dns_records(admin, tmp_path):
    out = admin.ok("dkim", "keygen", "a.test")
    assert out.count("\n") == 1
    rsa_sel, rsa_rec = parse_record_line(out.rstrip("\n"))
    assert rsa_rec.startswith("v=DKIM1; k=rsa; p=MIIBIjAN")  # 2048 bits
    assert len(re.findall(r'"', out)) >= 4                  # split in two
    out = admin.ok("dkim", "keygen", "A.TEST", "--type", "ed25519")
    ed_sel, ed_rec = parse_record_line(out.rstrip("\n"))
    assert ed_rec.startswith("v=DKIM1; k=ed25519; p=")
    assert ed_sel != rsa_sel
    out = admin.ok("dkim", "keygen", "a.test", "mine", "--type=ed25519")
    assert parse_record_line(out.rstrip("\n"))[0] == "mine"

    for sel, kind in ((rsa_sel, "rsa"), (ed_sel, "ed25519")):
        path = os.path.join(admin.data, "dkim", "a.test",
                            "%s.%s.pem" % (sel, kind))
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(admin.data, "dkim")).st_mode) \
        == 0o700

    # A key made by keygen signs mail that dkimpy verifies with the
    # record keygen printed.
    msg = MESSAGES["folded"]
    for sel, kind, rec in ((rsa_sel, "rsa", rsa_rec),
                           (ed_sel, "ed25519", ed_rec)):
        keyfile = os.path.join(admin.data, "dkim", "a.test",
                               "%s.%s.pem" % (sel, kind))
        sig = tem_sign(tmp_path, msg, keyfile, "a.test", sel)
        dnsfunc = dnsfunc_for({"%s._domainkey.a.test" % sel: rec})
        assert dkim.verify(crlf(sig + msg), dnsfunc=dnsfunc)

    lines = admin.ok("dns-records", "a.test").splitlines()
    assert lines[0] == "a.test. IN MX 10 mx.a.test."
    assert lines[1] == 'a.test. IN TXT "v=spf1 mx -all"'
    dmarc = [i for i, ln in enumerate(lines) if ln.startswith("_dmarc.")]
    assert lines[dmarc[0]].startswith('_dmarc.a.test. IN TXT "v=DMARC1; p=')
    dkim_lines = lines[2:dmarc[0]]     # service records follow (test_http)
    assert len(dkim_lines) == 3
    sels = [parse_record_line(ln)[0] for ln in dkim_lines]
    assert sels[0] == "mine"                       # newest first
    assert sorted(sels) == sorted(["mine", rsa_sel, ed_sel])
    assert dict(parse_record_line(ln) for ln in dkim_lines)[rsa_sel] == \
        rsa_rec


def test_keygen_refusals(admin):
    assert "not local" in admin.fails("dkim", "keygen", "b.test")
    assert "not local" in admin.fails("dns-records", "b.test")
    admin.ok("dkim", "keygen", "a.test", "s1")
    assert "already has a key" in admin.fails("dkim", "keygen", "a.test",
                                              "s1", "--type", "ed25519")
    assert "key type" in admin.fails("dkim", "keygen", "a.test", "--type",
                                     "dsa")
    admin.fails("dkim", "keygen", "a.test", "bad/selector")
    admin.fails("dkim", "keygen")
    admin.fails("dkim", "frobnicate")
    admin.fails("dns-records")
    rc, out, err = admin.run("dkim", "--help")
    assert rc == 0 and "keygen" in out
    lines = admin.ok("dns-records", "a.test").splitlines()
    assert len([ln for ln in lines if "_domainkey" in ln]) == 1


def test_dns_records_without_key(admin):
    lines = admin.ok("dns-records", "a.test").splitlines()
    assert lines[2].startswith(";")        # a zone-file comment
    assert lines[3].startswith("_dmarc.")  # service records follow


# ---- the asynchronous verifier against a real DNS server ---------------------

def test_verify_through_dns(admin, tmp_path):
    out = admin.ok("dkim", "keygen", "a.test", "sel")
    line = out.rstrip("\n")
    msg = MESSAGES["plain"]
    keyfile = os.path.join(admin.data, "dkim", "a.test", "sel.rsa.pem")
    sig = tem_sign(tmp_path, msg, keyfile, "a.test", "sel")
    gone = tem_sign(tmp_path, msg, keyfile, "a.test", "gone")
    broken = tem_sign(tmp_path, msg, keyfile, "broken.test", "sel")
    zones = {"a.test": [line.replace(" IN TXT ", " 300 IN TXT ", 1)]}
    f = tmp_path / "signed.eml"
    with DnsServer(zones, servfail=["broken.test"]) as dns:
        f.write_bytes(sig + msg)
        out = tool("verify-dns", dns.addr, str(f))
        assert out.splitlines() == ["pass d=a.test s=sel a=rsa-sha256 "
                                    "bits=2048"]
        f.write_bytes(broken + gone + sig + msg)
        lines = tool("verify-dns", dns.addr, str(f)).splitlines()
        assert lines[0].startswith("temperror d=broken.test "), lines
        assert lines[1].startswith("permerror d=a.test s=gone "), lines
        assert "no key for signature" in lines[1]
        assert lines[2].startswith("pass d=a.test s=sel "), lines
        f.write_bytes(msg)
        assert tool("verify-dns", dns.addr, str(f)).splitlines() == ["none"]
