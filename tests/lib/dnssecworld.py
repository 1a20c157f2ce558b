"""dnssecworld - a small DNSSEC-signed DNS world for tests, on loopback.

Trust: test code only. Everything lives in a temp dir: a key made with
ldns-keygen, the zone "test." signed with ldns-signzone, and Debian's nsd
serving it (authoritative only) on 127.0.0.1:<free port>, stopped by its
own pid on exit. Needs the Debian packages ldnsutils and nsd (only the
binaries are used; the packaged service is not started).

    with DnssecWorld() as w:
        w.addr       # "127.0.0.1:PORT", for tem's dns_server
        w.anchor     # the DS of "test.", for dns_trust_anchor_file

A test may add records: DnssecWorld(extra=[...]) to test. (signed),
extra_insecure=[...] to insecure.test., and tamper=[(regex, repl)]
applied to the signed zone text after signing (each must match once), to
make chosen records bogus.

The world:
  test.                 signed, its key is the trust anchor: secure
    www, mx             A 127.0.0.1
    test. MX            10 mx.test.
    _25._tcp.mx         TLSA 3 1 1 (TLSA_HEX)
    bad.test. MX        10 mx.test., changed to 20 after signing: bogus
  insecure.test.        delegated from test. without DS, unsigned: insecure
    www                 A 127.0.0.2
    insecure.test. MX   10 mx.test.
"""

import os
import re
import shutil
import subprocess

from dnsserver import DnsServer

NSD = "/usr/sbin/nsd"
TLSA_HEX = "030101" + "ab" * 32     # usage 3, selector 1, SHA-256

TEST_ZONE = """$ORIGIN test.
$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.test.
@ IN MX 10 mx.test.
ns IN A 127.0.0.1
www IN A 127.0.0.1
mx IN A 127.0.0.1
_25._tcp.mx IN TLSA 3 1 1 %s
bad IN MX 10 mx.test.
insecure IN NS ns.insecure.test.
ns.insecure IN A 127.0.0.1
""" % ("ab" * 32)

INSECURE_ZONE = """$ORIGIN insecure.test.
$TTL 300
@ IN SOA ns.insecure.test. hostmaster.test. 1 3600 600 86400 300
@ IN NS ns.insecure.test.
@ IN MX 10 mx.test.
ns IN A 127.0.0.1
www IN A 127.0.0.2
"""


def _run(args, cwd):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


class DnssecWorld(DnsServer):
    """nsd serving the signed world; started and stopped as DnsServer."""

    PROGRAM = NSD
    PACKAGE = "nsd"
    CONF_NAME = "nsd.conf"
    READY_NAME = "www.test"

    def __init__(self, extra=(), extra_insecure=(), tamper=()):
        super().__init__({})
        self.extra = list(extra)
        self.extra_insecure = list(extra_insecure)
        self.tamper = list(tamper)

    @property
    def anchor(self):
        return os.path.join(self.dir, "anchor.ds")

    def prepare(self):
        """The key, the signed zone (one record then changed), the
        unsigned zone."""
        d = self.dir
        if not os.path.exists("/usr/bin/ldns-signzone"):
            raise RuntimeError("ldns-signzone missing: apt-get install "
                               "ldnsutils")
        key = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "test."],
                   d)
        with open(os.path.join(d, "test.zone"), "w") as f:
            f.write(TEST_ZONE + "".join(r + "\n" for r in self.extra))
        _run(["ldns-signzone", "-f", "test.zone.signed", "test.zone", key],
             d)
        shutil.copy(os.path.join(d, key + ".ds"), self.anchor)
        # Tamper with bad.test's signed MX: its RRSIG no longer fits.
        path = os.path.join(d, "test.zone.signed")
        with open(path) as f:
            text = f.read()
        text, n = re.subn(r"^(bad\.test\.\s+\d+\s+IN\s+MX\s+)10 ",
                          r"\g<1>20 ", text, flags=re.M)
        assert n == 1, "bad.test. MX not found in the signed zone"
        for pattern, repl in self.tamper:
            text, n = re.subn(pattern, repl, text, flags=re.M)
            assert n == 1, "%r matched %d times in the signed zone" % (
                pattern, n)
        with open(path, "w") as f:
            f.write(text)
        with open(os.path.join(d, "insecure.zone"), "w") as f:
            f.write(INSECURE_ZONE +
                    "".join(r + "\n" for r in self.extra_insecure))

    def config(self):
        d = self.dir
        return "\n".join([
            "server:",
            "  ip-address: 127.0.0.1",
            "  port: %d" % self.port,
            "  do-ip6: no",
            "  username: \"\"",
            "  chroot: \"\"",
            "  zonesdir: \"%s\"" % d,
            "  database: \"\"",
            "  pidfile: \"%s\"" % os.path.join(d, "nsd.pid"),
            "  xfrdfile: \"%s\"" % os.path.join(d, "xfrd.state"),
            "  zonelistfile: \"%s\"" % os.path.join(d, "zone.list"),
            "  logfile: \"/dev/stderr\"",
            "  server-count: 1",
            "  verbosity: 1",
            "remote-control:",
            "  control-enable: no",
            "zone:",
            "  name: test.",
            "  zonefile: test.zone.signed",
            "zone:",
            "  name: insecure.test.",
            "  zonefile: insecure.zone",
            ""])
