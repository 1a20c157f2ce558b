"""dnssecworld - a small DNSSEC-signed DNS world for tests, on loopback.

Trust: test code only. Everything lives in a temp dir: a key made with
ldns-keygen, the zone "test." signed with ldns-signzone, and Debian's nsd
serving it (authoritative only) on 127.0.0.1:<free port>, stopped by its
own pid on exit. Needs the Debian packages ldnsutils and nsd (only the
binaries are used; the packaged service is not started).

    with DnssecWorld() as w:
        w.addr       # "127.0.0.1:PORT", for tem's dns_server
        w.anchor     # the DS of "test.", for dns_trust_anchor_file

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
import signal
import subprocess
import tempfile
import time

from dnsserver import free_port, query

NSD = "/usr/sbin/nsd"
START_TIMEOUT = 10
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


class DnssecWorld:
    def __init__(self):
        self.dir = None
        self.proc = None
        self.port = None
        self.log = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    @property
    def anchor(self):
        return os.path.join(self.dir, "anchor.ds")

    def _sign(self):
        d = self.dir
        key = _run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "test."],
                   d)
        with open(os.path.join(d, "test.zone"), "w") as f:
            f.write(TEST_ZONE)
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
        with open(path, "w") as f:
            f.write(text)
        with open(os.path.join(d, "insecure.zone"), "w") as f:
            f.write(INSECURE_ZONE)

    def _config(self):
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
            "  logfile: \"%s\"" % os.path.join(d, "nsd.log"),
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

    def start(self):
        for tool in (NSD, "/usr/bin/ldns-signzone"):
            if not os.path.exists(tool):
                raise RuntimeError("%s missing: apt-get install nsd "
                                   "ldnsutils" % tool)
        self.dir = tempfile.mkdtemp(prefix="tem-dnssec-")
        self._sign()
        last = None
        for _ in range(5):                # a port can be taken meanwhile
            self.port = free_port()
            conf = os.path.join(self.dir, "nsd.conf")
            with open(conf, "w") as f:
                f.write(self._config())
            self.log = open(os.path.join(self.dir, "nsd.out"), "w+")
            self.proc = subprocess.Popen(
                [NSD, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                stdout=self.log, stderr=subprocess.STDOUT)
            try:
                self._wait_ready()
                return self
            except RuntimeError as e:
                last = e
                self._stop_proc()
        raise last

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nsd exited %s: %s" % (
                    self.proc.returncode, self.log_text()))
            try:
                if query("127.0.0.1", self.port, "www.test", "A",
                         timeout=0.2) is not None:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nsd did not answer: %s" % self.log_text())

    def log_text(self):
        parts = []
        for name in ("nsd.out", "nsd.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    parts.append(f.read())
        return "\n".join(parts)

    def _stop_proc(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def stop(self):
        self._stop_proc()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
