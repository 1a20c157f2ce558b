"""pebble - Debian's pebble ACME test CA and pebble-challtestsrv, started on
free loopback ports for the ACME tests.

Trust: test code only; both servers listen on 127.0.0.1 and are killed by
pid. Pebble validates against the ports tem listens on (http_port,
tls_port) and asks challtestsrv for every name's address, which answers
127.0.0.1 unless a test sets another default.
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

from temserver import free_port, wait_for


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Pebble:
    """Context manager: pebble + challtestsrv; .directory, .ca_file."""

    def __init__(self, http_port, tls_port):
        self.http_port = http_port
        self.tls_port = tls_port
        self.dir = None
        self.procs = []

    def _make_certs(self):
        # pebble's HTTPS certificate for 127.0.0.1, from a CA of our own
        # (Debian's package ships no test certificates).
        d = self.dir
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                 "-subj", "/CN=tem test pebble CA", "-keyout", "ca.key",
                 "-out", "ca.pem", cwd=d)
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "key.pem",
                 "-out", "req.pem", cwd=d)
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        _openssl("x509", "-req", "-in", "req.pem", "-CA", "ca.pem",
                 "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                 "-extfile", "ext.cnf", "-out", "cert.pem", cwd=d)

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="tem-pebble-")
        try:
            self._make_certs()
            self.dns_port = free_port()
            self.mgmt_port = free_port()
            self.port = free_port()
            self.pebble_mgmt = free_port()
            self._spawn("challtestsrv", [
                "pebble-challtestsrv", "-defaultIPv4", "127.0.0.1",
                "-defaultIPv6", "", "-dns01", "127.0.0.1:%d" % self.dns_port,
                "-management", "127.0.0.1:%d" % self.mgmt_port,
                "-http01", "", "-https01", "", "-tlsalpn01", ""], {})
            cfg = {"pebble": {
                "listenAddress": "127.0.0.1:%d" % self.port,
                "managementListenAddress": "127.0.0.1:%d" % self.pebble_mgmt,
                "certificate": os.path.join(self.dir, "cert.pem"),
                "privateKey": os.path.join(self.dir, "key.pem"),
                "httpPort": self.http_port, "tlsPort": self.tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False}}
            path = os.path.join(self.dir, "pebble.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            # No sleep before validating; reuse no authorization, so a
            # failed one is tried again on the next order.
            self._spawn("pebble", [
                "pebble", "-config", path, "-dnsserver",
                "127.0.0.1:%d" % self.dns_port],
                {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_AUTHZREUSE": "0"})
            wait_for(lambda: self._answers(self.port), 20, "pebble")
            wait_for(lambda: self._answers(self.mgmt_port), 20,
                     "challtestsrv")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _spawn(self, name, argv, env):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        e = dict(os.environ)
        e.update(env)
        self.procs.append(subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, env=e, cwd=self.dir))
        log.close()

    @staticmethod
    def _answers(port):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return True
        except OSError:
            return False

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        self.procs = []
        if exc[0] is None and not os.environ.get("TEM_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    @property
    def ca_file(self):
        return os.path.join(self.dir, "ca.pem")

    def log(self, name="pebble"):
        with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
            return f.read()

    def set_default_ipv4(self, ip):
        """challtestsrv answers every A query with IP from now on."""
        req = urllib.request.Request(
            "http://127.0.0.1:%d/set-default-ipv4" % self.mgmt_port,
            data=json.dumps({"ip": ip}).encode(), method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def intermediate_pem(self):
        """The intermediate CA pebble signs leaf certificates with."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        url = "https://127.0.0.1:%d/intermediates/0" % self.pebble_mgmt
        return urllib.request.urlopen(url, context=ctx,
                                      timeout=10).read().decode()
