"""ARC (RFC 8617) end to end against dkimpy's implementation (Debian
python3-dkim): chains sealed by dkimpy (1, 2 and 3 hops, and broken ones)
sent into tem over SMTP, the sealers' keys in a real test DNS server: tem's
Authentication-Results says arc=pass / fail as dkimpy's arc_verify does.
A trusted sealer (arc_trusted_sealers) whose chain passes and whose AAR
says dmarc=pass overrides a p=reject DMARC fail; an untrusted one does not.
tem's sealer (through test-arc's seal command: the forwarding paths do
not seal yet) makes sets dkimpy verifies: a new chain (cv=none), a dkimpy
chain extended (i=3, cv=pass), a broken one sealed cv=fail."""

import base64
import datetime
import os
import re
import smtplib
import sqlite3
import subprocess
import sys

import dkim  # Debian: python3-dkim (dkimpy)
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from temserver import (SANITIZER_MARKS, TemServer,  # noqa: E402
                       sanitizer_env, shared_port, wait_for)

BOB = ("bob@b.test", "bob-secret-1")
SEALERS = ("lists.example.org", "fwd.test", "third.test", "tem.test")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build", "asan", "tests", "policy", "test-arc")


def txt_rr(name, value):
    parts = [value[i:i + 255] for i in range(0, len(value), 255)]
    return "%s 300 IN TXT %s" % (name, " ".join('"%s"' % p for p in parts))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """One RSA key per sealer: (PEM private key, DKIM record value)."""
    d = tmp_path_factory.mktemp("arckeys")
    out = {}
    for name in SEALERS:
        pem = d / (name + ".pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                        "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(pem)],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", str(pem), "-pubout",
                              "-outform", "DER"], check=True,
                             capture_output=True).stdout
        out[name] = (pem.read_bytes(),
                     "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode())
    return out


def zones(keys):
    z = {
        "b.test": ["b.test. 300 IN MX 10 mx.b.test.",
                   "mx.b.test. 300 IN A 127.0.0.3"],
        # the author's domain: only its own server may send for it
        "bank.test": [txt_rr("bank.test.", "v=spf1 -all"),
                      txt_rr("_dmarc.bank.test.",
                                     "v=DMARC1; p=reject; "
                                     "rua=mailto:dmarc@bank.test")],
    }
    for name in SEALERS:
        z[name] = [txt_rr(name + ".", "v=spf1 ip4:127.0.0.1 -all"),
                   txt_rr("arc._domainkey.%s." % name, keys[name][1])]
    return z


def dnsfunc_for(keys):
    def dnsfunc(name, timeout=5):
        for s in SEALERS:
            if name.decode().rstrip(".") == "arc._domainkey." + s:
                return keys[s][1].encode()
        return None
    return dnsfunc


MSG = (b"From: CEO <ceo@bank.test>\r\nTo: bob@b.test\r\n"
       b"Subject: quarterly numbers\r\nDate: Mon, 07 Dec 2026 01:00:00 +0000\r\n"
       b"Message-ID: <q4@bank.test>\r\n\r\nThe numbers are good.\r\n")


def seal(msg, keys, sealer, results):
    """One hop: the sealer's own Authentication-Results, then its set."""
    ar = b"Authentication-Results: %s; %s\r\n" % (sealer.encode(), results)
    msg = ar + msg
    hdrs = dkim.arc_sign(msg, b"arc", sealer.encode(), keys[sealer][0],
                         sealer.encode(), include_headers=[
                             b"from", b"to", b"subject", b"date",
                             b"message-id"])
    return b"".join(hdrs) + msg


def chain(keys, hops):
    msg = MSG
    for i, sealer in enumerate(SEALERS[:hops]):
        results = (b"spf=pass smtp.mailfrom=ceo@bank.test; "
                   b"dkim=pass header.d=bank.test; "
                   b"dmarc=pass header.from=bank.test") if i == 0 \
            else b"arc=pass"
        msg = seal(msg, keys, sealer, results)
    return msg


def receiver(dns, trusted=None):
    conf = {"dns_server": dns.addr}
    if trusted:
        conf["arc_trusted_sealers"] = trusted
    return TemServer(users=dict([BOB]), domains=("b.test",),
                     hostname="mx.b.test", listen_addr="127.0.0.3",
                     smtp_port=shared_port(), extra_conf=conf)


def send(b, msg, mail_from="bounce@lists.example.org"):
    with smtplib.SMTP("127.0.0.3", b.smtp_port, timeout=30) as s:
        s.sendmail(mail_from, [BOB[0]], msg)


def our_results(text):
    m = re.search(r"Authentication-Results: mx\.b\.test;.*?\n(?=\S)", text,
                  re.S)
    assert m, text
    return m.group(0)


def dkimpy_says(msg, keys):
    cv, _, why = dkim.arc_verify(msg, dnsfunc=dnsfunc_for(keys))
    # dkimpy answers None for a chain whose newest seal says cv=fail
    return (cv or b"fail").decode(), why


def delivered(keys, msg):
    """msg sent into tem under a DMARC policy that does not reject: our
    Authentication-Results on the stored copy, and tem's log."""
    z = zones(keys)
    z["bank.test"][1] = txt_rr("_dmarc.bank.test.", "v=DMARC1; p=none")
    with DnsServer(z) as dns, receiver(dns) as b:
        send(b, msg)
        got = wait_for(lambda: b.maildir_messages(BOB[0]), what="delivery")
        return our_results(got[0].decode()), b.log_text()


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_dkimpy_chains_verify(keys, hops):
    msg = chain(keys, hops)
    assert dkimpy_says(msg, keys)[0] == "pass"
    ar, log = delivered(keys, msg)
    assert "arc=pass" in ar, ar
    assert "smtp.remote-ip=127.0.0.1" in ar, ar
    assert "dmarc=fail" in ar, ar
    assert "arc result=pass sets=%d sealer=%s" % (
        hops, SEALERS[hops - 1]) in log


def broken_chains(keys):
    two = chain(keys, 2)
    yield "body", two.replace(b"are good", b"are bad")
    yield "signed-field", two.replace(b"Subject: quarterly",
                                      b"Subject: annual")
    # the first hop's results rewritten: only the seals cover them
    yield "old-aar", two.replace(b"i=1; lists.example.org;",
                                 b"i=1; evil.example.org;")
    # a set dropped: instance 1 missing
    one = chain(keys, 1)
    lines = re.split(rb"\r\n(?=\S)", one)
    yield "missing-set", b"\r\n".join(
        l for l in lines if not l.startswith(b"ARC-Seal")) \
        .replace(b"i=1;", b"i=2;")


@pytest.mark.parametrize("case", ["body", "signed-field", "old-aar",
                                  "missing-set"])
def test_broken_chains_fail_like_dkimpy(keys, case):
    msg = dict(broken_chains(keys))[case]
    assert dkimpy_says(msg, keys)[0] == "fail"
    ar, _ = delivered(keys, msg)
    assert "arc=fail" in ar, ar


def test_unsealed_mail_says_arc_none(keys):
    assert "arc=none" in delivered(keys, MSG)[0]


def test_trusted_sealer_overrides_dmarc_reject(keys):
    msg = chain(keys, 1)
    with DnsServer(zones(keys)) as dns, \
            receiver(dns, trusted="lists.example.org") as b:
        send(b, msg)
        got = wait_for(lambda: b.maildir_messages(BOB[0]), what="delivery")
        ar = our_results(got[0].decode())
        assert "arc=pass" in ar and "dmarc=fail" in ar, ar
        assert "policy.arc-override=lists.example.org" in ar, ar
        assert "dis=none" in ar, ar
        assert re.search(r"arc override dmarc=fail disposition=reject "
                         r"sealer=lists\.example\.org from=bank\.test",
                         b.log_text())
        # the DMARC aggregate report says why the policy was not applied
        # (RFC 7489 PolicyOverrideType); `report run` flushes the counts
        today = datetime.datetime.now(
            datetime.timezone.utc).strftime("%Y-%m-%d")
        b.admin("report", "run", "--date", today)
        db = sqlite3.connect(os.path.join(b.data_dir, "reports",
                                          "reports.db"))
        rows = db.execute("SELECT disp, reason, n FROM dmarc_row WHERE "
                          "domain = 'bank.test'").fetchall()
        db.close()
        assert rows == [("none", "trusted_forwarder", 1)], rows


def test_untrusted_sealer_does_not_override(keys):
    msg = chain(keys, 1)
    with DnsServer(zones(keys)) as dns, \
            receiver(dns, trusted="other.example.org") as b:
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(b, msg)
        assert e.value.smtp_code == 550
        assert b.maildir_messages(BOB[0]) == []
        assert "arc result=pass" in b.log_text()


def test_trusted_sealer_with_broken_chain_does_not_override(keys):
    msg = chain(keys, 1).replace(b"are good", b"are bad")
    with DnsServer(zones(keys)) as dns, \
            receiver(dns, trusted="lists.example.org") as b:
        with pytest.raises(smtplib.SMTPDataError) as e:
            send(b, msg)
        assert e.value.smtp_code == 550


# ---- tem's sealer, verified by dkimpy ---------------------------------------

def tem_seal(tmp_path, keys, msg, ok=True):
    """tem's set for msg (sealed for tem.test), CRLF line ends."""
    assert os.access(TOOL, os.X_OK), "%s not built (make unit)" % TOOL
    f = tmp_path / "in.eml"
    f.write_bytes(msg)
    pem = tmp_path / "tem.pem"
    pem.write_bytes(keys["tem.test"][0])
    recs = ["arc._domainkey.%s=%s" % (s, keys[s][1]) for s in SEALERS]
    p = subprocess.run([TOOL, "seal", str(f), str(pem), "tem.test", "arc"] +
                       recs, capture_output=True, env=sanitizer_env(),
                       timeout=60)
    err = p.stderr.decode(errors="replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    assert (p.returncode == 0) == ok, err
    out = p.stdout.decode()
    assert "\r" not in out
    assert all(len(line) <= 78 for line in out.split("\n")), out
    return out.replace("\n", "\r\n").encode(), err


OUR_AR = (b"Authentication-Results: mx.fwd.test; spf=pass "
          b"smtp.mailfrom=ceo@bank.test;\r\n\tdmarc=pass header.from=bank.test"
          b"\r\n")


def test_tem_seals_dkimpy_verifies(tmp_path, keys):
    msg = OUR_AR + MSG
    arc, err = tem_seal(tmp_path, keys, msg)
    assert arc.startswith(b"ARC-Seal: i=1;") and b"cv=none;" in arc, arc
    assert b"ARC-Authentication-Results: i=1;\r\n\tmx.fwd.test; spf=pass" in arc
    assert dkimpy_says(arc + msg, keys)[0] == "pass"
    # changed after sealing: dkimpy sees it
    assert dkimpy_says((arc + msg).replace(b"are good", b"are bad"),
                       keys)[0] == "fail"


def test_tem_extends_a_dkimpy_chain(tmp_path, keys):
    msg = OUR_AR + chain(keys, 2)
    arc, err = tem_seal(tmp_path, keys, msg)
    assert "chain=pass n=2" in err
    assert arc.startswith(b"ARC-Seal: i=3;") and b"cv=pass;" in arc, arc
    assert dkimpy_says(arc + msg, keys)[0] == "pass"
    # and dkimpy extends tem's: i=4
    four = seal(arc + msg, keys, "third.test", b"arc=pass")
    assert b"ARC-Seal: i=4;" in four
    assert dkimpy_says(four, keys)[0] == "pass"


def test_tem_seals_a_broken_chain_cv_fail(tmp_path, keys):
    msg = OUR_AR + chain(keys, 2).replace(b"are good", b"are bad")
    arc, err = tem_seal(tmp_path, keys, msg)
    assert "chain=fail n=2" in err
    assert arc.startswith(b"ARC-Seal: i=3;") and b"cv=fail;" in arc, arc
    assert dkimpy_says(arc + msg, keys)[0] == "fail"
    # a chain whose newest seal says cv=fail is not extended
    tem_seal(tmp_path, keys, arc + msg, ok=False)


# ---- tem seals what it forwards (an alias leading out) ----------------------

def forward_zones(keys):
    z = zones(keys)
    z["bank.test"][1] = txt_rr("_dmarc.bank.test.", "v=DMARC1; p=none")
    z["fake.test"] = ["fake.test. 300 IN MX 10 mx.fake.test.",
                      "mx.fake.test. 300 IN A 127.0.0.7"]
    return z


def forwarder(dns, port, **kw):
    return TemServer(users=dict([BOB]), domains=("b.test",),
                     hostname="mx.b.test", listen_addr="127.0.0.3",
                     smtp_port=port,
                     aliases={"list@b.test": "u@fake.test"},
                     extra_conf={"dns_server": dns.addr,
                                 "outbound_port": str(port),
                                 "queue_retry_base": "1s"}, **kw)


def tem_dnsfunc(tem, keys):
    """dkimpy's look-ups: the sealers' keys and tem's own (dns-records)."""
    recs = {}
    out = tem.admin("dns-records", "b.test").stdout.decode()
    for line in out.splitlines():
        m = re.match(r"(\S+)\.? IN TXT (.*)$", line)
        if m and "_domainkey" in m.group(1):
            recs[m.group(1).rstrip(".")] = "".join(
                re.findall(r'"([^"]*)"', m.group(2))).encode()
    for s in SEALERS:
        recs["arc._domainkey." + s] = keys[s][1].encode()
    return lambda name, timeout=5: recs.get(name.decode().rstrip("."))


def forwarded(keys, msg, rcpt="list@b.test"):
    """msg sent to rcpt through tem (list@b.test: an alias of u@fake.test;
    bob@b.test: his Sieve script redirects to u@fake.test): what the
    remote got, dkimpy's look-ups, and tem's log."""
    from fakesmtp import FakeSMTP
    port = shared_port()
    with DnsServer(forward_zones(keys)) as dns, \
            FakeSMTP("127.0.0.7", port) as peer, forwarder(dns, port) as b:
        b.admin("dkim", "keygen", "b.test")     # the sealing key
        b.admin("sieve", "put", BOB[0], "main",
                stdin='redirect "u@fake.test";\n')
        b.admin("sieve", "activate", BOB[0], "main")
        b.restart()
        with smtplib.SMTP("127.0.0.3", port, timeout=30) as s:
            s.sendmail("bounce@lists.example.org", [rcpt], msg)
        wait_for(lambda: peer.messages, what="the forwarded copy")
        b.wait_queue_empty()
        return peer.messages[0][2], tem_dnsfunc(b, keys), b.log_text()


def test_alias_forward_is_sealed_and_verifies_with_dkimpy(keys):
    data, dnsfunc, log = forwarded(keys, MSG)
    assert b"ARC-Seal: i=1;" in data and b"cv=none;" in data, data
    assert re.search(rb"ARC-Authentication-Results: i=1;\r\n\tmx\.b\.test;",
                     data), data
    cv, _, why = dkim.arc_verify(data, dnsfunc=dnsfunc)
    assert cv == b"pass", why
    assert re.search(r"arc sealed msgid=\S+ domain=b\.test instance=1", log)


def test_alias_forward_extends_a_chain(keys):
    data, dnsfunc, log = forwarded(keys, chain(keys, 2))
    assert b"ARC-Seal: i=3;" in data and b"cv=pass;" in data, data
    cv, _, why = dkim.arc_verify(data, dnsfunc=dnsfunc)
    assert cv == b"pass", why
    assert "arc result=pass sets=2" in log


@pytest.mark.parametrize("hops", [0, 2])
def test_sieve_redirect_is_sealed(keys, hops):
    msg = chain(keys, hops) if hops else MSG
    data, dnsfunc, log = forwarded(keys, msg, rcpt=BOB[0])
    assert b"X-Sieve-Redirected-From: bob@b.test" in data, data
    assert b"ARC-Seal: i=%d;" % (hops + 1) in data, data
    assert (b"cv=pass;" if hops else b"cv=none;") in data
    cv, _, why = dkim.arc_verify(data, dnsfunc=dnsfunc)
    assert cv == b"pass", why
    assert re.search(r"sieve arc sealed domain=b\.test instance=%d" %
                     (hops + 1), log), log
