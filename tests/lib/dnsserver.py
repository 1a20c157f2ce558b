"""dnsserver - a real DNS server (Debian's unbound) for tests, on loopback.

Trust: test code only. The server listens on 127.0.0.1:<free port> with a
private config, pid file and working directory in a temp dir; it never
touches port 53, /etc/unbound or the system resolver, and is stopped by its
own pid on exit. Needs the Debian package `unbound` (only /usr/sbin/unbound
is used; the packaged service is not started).

    zones = {
        "b.test": [
            "b.test. 300 IN MX 10 mx1.b.test.",
            "mx1.b.test. 300 IN A 127.0.0.1",
            'b.test. 300 IN TXT "v=spf1 " "-all"',
        ],
    }
    with DnsServer(zones, servfail=["broken.test"]) as dns:
        dns.addr      # "127.0.0.1:PORT", for tem's dns_server
        dns.query("b.test", "MX")   # a raw answer, for checks

Each zone is a `static` local zone: a name under it without records is
NXDOMAIN, a name with records but not of the asked type is NODATA. Every
name outside the given zones is NXDOMAIN too (nothing is ever looked up on
the internet). Names in `servfail` are answered with SERVFAIL (they are
forwarded to a closed port), as a broken authority would, except for the
types a zone gives them records of: a name with only an A record there
answers A and fails AAAA (one address family broken).
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

UNBOUND = "/usr/sbin/unbound"
START_TIMEOUT = 10


def free_port(kind=socket.SOCK_DGRAM):
    """A port on 127.0.0.1 free for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def _quote(s):
    if '"' not in s:
        return '"%s"' % s
    if "'" in s:
        raise ValueError("RR holds both quote kinds: %r" % s)
    return "'%s'" % s


def _fqdn(name):
    return name if name.endswith(".") else name + "."


def _encode_name(name):
    out = b""
    for label in _fqdn(name).rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15,
          "TXT": 16, "AAAA": 28}


def query(addr, port, name, qtype="A", timeout=2.0):
    """One UDP query; returns (rcode, answer_count) or None on timeout."""
    qid = os.getpid() & 0xFFFF
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    pkt += _encode_name(name) + struct.pack(">HH", QTYPES[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(pkt, (addr, port))
        try:
            data = s.recv(65535)
        except socket.timeout:
            return None
    if len(data) < 12:
        return None
    _, flags, _, ancount, _, _ = struct.unpack(">HHHHHH", data[:12])
    return flags & 0xF, ancount


class DnsServer:
    """unbound serving `zones` ({zone: [RR strings]}) on 127.0.0.1.

    A subclass may run another server (dnssecworld.py: nsd): it sets
    PROGRAM, PACKAGE, CONF_NAME and READY_NAME (a name the server answers
    once it is up) and overrides prepare() (files made before each start)
    and config()."""

    PROGRAM = UNBOUND
    PACKAGE = "unbound"
    CONF_NAME = "unbound.conf"
    READY_NAME = "ready.invalid"

    def __init__(self, zones, servfail=(), verbosity=1, log_queries=False):
        self.zones = zones
        self.servfail = list(servfail)
        self.verbosity = verbosity
        self.log_queries = log_queries    # unbound logs each query asked
        self.dir = None
        self.proc = None
        self.port = None
        self.log = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def config(self):
        d = self.dir
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            "  port: %d" % self.port,
            "  do-ip6: no",
            "  do-daemonize: no",
            "  chroot: \"\"",
            "  username: \"\"",
            "  directory: \"%s\"" % d,
            "  pidfile: \"%s\"" % os.path.join(d, "unbound.pid"),
            "  logfile: \"\"",
            "  use-syslog: no",
            "  verbosity: %d" % self.verbosity,
            "  log-queries: %s" % ("yes" if self.log_queries else "no"),
            "  num-threads: 1",
            "  so-reuseport: no",
            "  do-not-query-localhost: no",
            "  module-config: \"iterator\"",
            "  access-control: 127.0.0.0/8 allow",
            "  rrset-roundrobin: no",
            "  minimal-responses: yes",
            "  infra-cache-max-rtt: 100",
            # Every name is answered here; nothing goes to the internet.
            "  local-zone: \".\" static",
        ]
        for zone, rrs in self.zones.items():
            lines.append("  local-zone: %s static" % _quote(_fqdn(zone)))
            for rr in rrs:
                lines.append("  local-data: %s" % _quote(rr))
        for name in self.servfail:
            lines.append("  local-zone: %s typetransparent"
                         % _quote(_fqdn(name)))
        for name in self.servfail:
            lines += ["forward-zone:",
                      "  name: %s" % _quote(_fqdn(name)),
                      "  forward-addr: 127.0.0.1@%d" % self.dead_port]
        lines += ["remote-control:", "  control-enable: no", ""]
        return "\n".join(lines)

    def prepare(self):
        self.dead_port = free_port()      # nothing listens there

    def start(self):
        if not os.path.exists(self.PROGRAM):
            raise RuntimeError("%s missing: apt-get install %s"
                               % (self.PROGRAM, self.PACKAGE))
        self.dir = tempfile.mkdtemp(prefix="tem-dns-")
        self.prepare()
        last = None
        for _ in range(5):                # a port can be taken meanwhile
            self.port = free_port()
            try:
                self._launch()
                return self
            except RuntimeError as e:
                last = e
                self._stop_proc()
        raise last

    def _launch(self):
        conf = os.path.join(self.dir, self.CONF_NAME)
        with open(conf, "w") as f:
            f.write(self.config())
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [self.PROGRAM, "-d", "-c", conf], stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()

    def change(self, zones):
        """Serves ZONES from now on, on the same port (a tem pointed at
        it stays right): the server is restarted with them."""
        self.zones = zones
        self._stop_proc()
        self._launch()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited %s: %s" % (
                    self.PACKAGE, self.proc.returncode, self.log_text()))
            try:
                if query("127.0.0.1", self.port, self.READY_NAME, "A",
                         timeout=0.2) is not None:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s did not answer: %s" % (self.PACKAGE,
                                                       self.log_text()))

    def log_text(self):
        if self.log is None:
            return ""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def query(self, name, qtype="A"):
        return query("127.0.0.1", self.port, name, qtype)

    def _stop_proc(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
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
        return False
