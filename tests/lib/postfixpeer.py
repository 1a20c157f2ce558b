"""postfixpeer - a private Postfix (Debian package) as tem's peer MTA.

Trust: test code only. Everything lives in a temp dir: config dir
(DIR/etc), queue_directory, data_directory, the Maildirs and the log.
Every Postfix command gets `-c DIR/etc`, so /etc/postfix, the system's mail
set-up and port 25 are never touched; the instance listens on one loopback
address and port only, and is stopped with `postfix -c DIR/etc stop`
(then, if its master is still there, killed by the pid in its own pid file).
Set up like bench/smtp/postfix.sh (PEERS.md): no DNS, chroot off, logging to
a file (there is no syslog daemon).

    with PostfixPeer("127.0.0.5", port, hostname="mx.p.test",
                     mailboxes=["user@p.test"],
                     transports={"b.test": "smtp:[127.0.0.3]:%d" % port},
                     extra={"smtpd_tls_cert_file": ...}) as pf:
        pf.messages("user@p.test")     # delivered files, oldest first
        pf.log_text()                  # DIR/maillog
        pf.reload()                    # after changing a table file

Domain `p.test` (the `domain` argument) is delivered by Postfix's
virtual(8) agent into DIR/vmail/DOMAIN/LOCAL/ (Maildir), owned by `nobody`;
any other address of that domain is rejected with 550 5.1.1 at RCPT. The
access table DIR/etc/rcpt_access (texthash, checked first at RCPT) lets a
test defer or reject chosen recipients: set_rcpt_access({...}) + reload.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
MASTER_CF_DIST = "/usr/share/postfix/master.cf.dist"
START_TIMEOUT = 15
STOP_TIMEOUT = 10


class PostfixUnavailable(Exception):
    """Postfix is not installed and could not be installed."""


def _installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return p.returncode == 0 and b"ok installed" in p.stdout


def listening_on(port, addr=None):
    """True when some TCP socket listens on PORT (on ADDR, or on any)."""
    want_port = "%04X" % port
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) < 4 or cols[3] != "0A":
                continue
            hexaddr, _, hexport = cols[1].partition(":")
            if hexport != want_port:
                continue
            if addr is None or path.endswith("6"):
                return True
            # /proc/net/tcp: the IPv4 address in host (little-endian) order
            ip = socket.inet_ntoa(bytes.fromhex(hexaddr)[::-1])
            if ip in (addr, "0.0.0.0"):
                return True
    return False


def ensure_installed():
    """Installs the Debian package `postfix` if missing, as
    bench/smtp/postfix.sh does: debconf "No configuration", a policy-rc.d
    so that no system instance starts, boot-time start disabled. Raises
    PostfixUnavailable when it cannot."""
    if _installed("postfix") and os.access(POSTFIX, os.X_OK):
        return False
    if os.getuid() != 0:
        raise PostfixUnavailable("postfix missing and not root to install it")
    sel = b"postfix postfix/main_mailer_type select No configuration\n"
    subprocess.run(["debconf-set-selections"], input=sel, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    policy = "/usr/sbin/policy-rc.d"
    made_policy = False
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")   # 101: start no service now
        os.chmod(policy, 0o755)
        made_policy = True
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        p = subprocess.run(["apt-get", "install", "-y", "-q",
                            "--no-install-recommends", "postfix"],
                           env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PostfixUnavailable("apt-get install postfix: %s" % e)
    finally:
        if made_policy:
            os.unlink(policy)
    if p.returncode != 0 or not os.access(POSTFIX, os.X_OK):
        raise PostfixUnavailable("apt-get install postfix failed:\n" +
                                 p.stdout.decode(errors="replace")[-2000:])
    subprocess.run(["update-rc.d", "postfix", "disable"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "disable", "postfix"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def _texthash(entries):
    return "".join("%s %s\n" % kv for kv in entries.items())


class PostfixPeer:
    """One private Postfix instance on ADDR:PORT (see the module doc).

    mailboxes: addresses of `domain` delivered to Maildirs; transports:
    {domain: "smtp:[host]:port"} for transport_maps; extra: main.cf
    settings added last (they win); debug_peers: a debug_peer_list (the
    whole SMTP dialogue with those peers, in the log)."""

    def __init__(self, addr, port, hostname="mx.p.test", domain="p.test",
                 mailboxes=(), transports=None, extra=None, debug_peers=""):
        self.addr = addr
        self.port = port
        self.hostname = hostname
        self.domain = domain
        self.mailboxes = list(mailboxes)
        self.transports = dict(transports or {})
        self.extra = dict(extra or {})
        self.debug_peers = debug_peers
        self.dir = None
        self.started = False
        self.keep = False

    # --- paths ----------------------------------------------------------

    @property
    def etc(self):
        return os.path.join(self.dir, "etc")

    @property
    def spool(self):
        return os.path.join(self.dir, "spool")

    @property
    def vmail(self):
        return os.path.join(self.dir, "vmail")

    @property
    def log_path(self):
        return os.path.join(self.dir, "maillog")

    def maildir(self, address):
        local, _, domain = address.rpartition("@")
        return os.path.join(self.vmail, domain.lower(), local.lower())

    # --- configuration --------------------------------------------------

    def _main_cf(self):
        nobody = pwd.getpwnam("nobody")
        vmap = {a.lower(): "%s/%s/" % (a.rpartition("@")[2].lower(),
                                       a.rpartition("@")[0].lower())
                for a in self.mailboxes}
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            f.write(_texthash(vmap))
        with open(os.path.join(self.etc, "transport"), "w") as f:
            f.write(_texthash(self.transports))
        self.set_rcpt_access({})
        e = self.etc
        conf = {
            "compatibility_level": "3.6",
            "myhostname": self.hostname,
            "mydomain": self.hostname.partition(".")[2] or self.hostname,
            "myorigin": "$myhostname",
            "mydestination": "",
            # master.cf binds the smtp service to ADDR:PORT itself; Postfix
            # refuses inet_interfaces that are not an interface's own
            # address (127.0.0.5 is not, only routed on lo)
            "inet_interfaces": "127.0.0.1",
            "proxy_interfaces": self.addr,
            "inet_protocols": "ipv4",
            "smtp_bind_address": self.addr,    # outbound from ADDR too
            "mynetworks": "127.0.0.0/8",
            # no header rewriting for any client: what comes in goes out
            "local_header_rewrite_clients": "",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtputf8_enable": "no",
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "biff": "no",
            "queue_directory": self.spool,
            "data_directory": os.path.join(self.dir, "data"),
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
            # local delivery: virtual(8) into Maildirs owned by nobody
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_maps": "texthash:%s/vmailbox" % e,
            "virtual_mailbox_base": self.vmail,
            "virtual_uid_maps": "static:%d" % nobody.pw_uid,
            "virtual_gid_maps": "static:%d" % nobody.pw_gid,
            "transport_maps": "texthash:%s/transport" % e,
            "smtpd_recipient_restrictions":
                "check_recipient_access texthash:%s/rcpt_access" % e,
            # no waiting: tests want deliveries and retries now
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "in_flow_delay": "0",
            "debug_peer_list": self.debug_peers,
            "debug_peer_level": "2",
        }
        conf.update(self.extra)
        return "".join("%s = %s\n" % kv for kv in conf.items())

    def _master_cf(self):
        """Debian's master.cf.dist: the smtp inet service on ADDR:PORT,
        chroot off everywhere (as bench/smtp/postfix.sh does)."""
        out = []
        with open(MASTER_CF_DIST) as f:
            for line in f:
                if (line.startswith("#") or not line.strip() or
                        line[0] in " \t"):
                    out.append(line)
                    continue
                cols = line.split()
                if cols[0] == "smtp" and cols[1] == "inet":
                    cols[0] = "%s:%d" % (self.addr, self.port)
                if len(cols) >= 8:
                    cols[4] = "n"
                out.append(" ".join(cols) + "\n")
        return "".join(out)

    def set_rcpt_access(self, entries):
        """RCPT-time verdicts: {address: "450 4.2.0 try later"}; takes
        effect after reload() (or at start)."""
        with open(os.path.join(self.etc, "rcpt_access"), "w") as f:
            f.write(_texthash(entries))

    # --- process --------------------------------------------------------

    def _run(self, *args, check=True):
        p = subprocess.run([POSTFIX, "-c", self.etc] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("postfix %s -> exit %d:\n%s\n%s" % (
                " ".join(args), p.returncode,
                p.stdout.decode(errors="replace"), self.log_tail()))
        return p

    def postconf(self, *args):
        p = subprocess.run([POSTCONF, "-c", self.etc] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30, check=True)
        return p.stdout.decode(errors="replace")

    def start(self):
        if not os.access(MASTER_CF_DIST, os.R_OK):
            raise PostfixUnavailable("%s missing" % MASTER_CF_DIST)
        if listening_on(self.port, self.addr):
            raise AssertionError("%s:%d already in use" % (self.addr,
                                                           self.port))
        self.dir = tempfile.mkdtemp(prefix="tem-postfix-")
        os.chmod(self.dir, 0o755)      # virtual(8) runs as nobody below it
        for d in ("etc", "spool", "data", "vmail"):
            os.mkdir(os.path.join(self.dir, d))
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "data"), pf.pw_uid, pf.pw_gid)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.vmail, nobody.pw_uid, nobody.pw_gid)
        for addr in self.mailboxes:
            # made in advance so that tests can wait on DIR/new
            md = self.maildir(addr)
            for sub in ("", "new", "cur", "tmp"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
            for root, _, _ in os.walk(os.path.dirname(md)):
                os.chown(root, nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(self._master_cf())
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(self._main_cf())
        # check: creates the queue and data directories with their owners
        self._run("check")
        self._run("start")
        self.started = True
        deadline = time.monotonic() + START_TIMEOUT
        while not listening_on(self.port, self.addr):
            if time.monotonic() > deadline:
                raise AssertionError("postfix does not listen on %s:%d:\n%s"
                                     % (self.addr, self.port,
                                        self.log_tail()))
            time.sleep(0.05)
        return self

    def reload(self):
        """Re-reads main.cf and the tables: returns once the master logged
        the reload (it then ends its old children; new processes use the
        new settings)."""
        done = self.log_text().count("]: reload -- ")
        self._run("reload")
        deadline = time.monotonic() + START_TIMEOUT
        while self.log_text().count("]: reload -- ") <= done:
            if time.monotonic() > deadline:
                raise AssertionError("postfix did not log its reload:\n%s"
                                     % self.log_tail())
            time.sleep(0.02)

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def _alive(self, pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # a reused pid must still be that master: its cmdline says so
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return b"master" in f.read()
        except OSError:
            return False

    def stop(self):
        """`postfix -c DIR stop`, waits (bounded) for the master to exit,
        then SIGKILLs that master by its pid if it is still there."""
        if not self.started:
            return
        pid = self.master_pid()
        self._run("stop", check=False)
        deadline = time.monotonic() + STOP_TIMEOUT
        while pid and self._alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid and self._alive(pid):
            self._run("abort", check=False)
            time.sleep(0.5)
            if self._alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.started = False

    def cleanup(self):
        if self.dir and not self.keep and not os.environ.get("TEM_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.keep = True
            self.stop()
            raise

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self.keep = True
        self.stop()
        self.cleanup()
        return False

    # --- what it did ----------------------------------------------------

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=120):
        lines = self.log_text().splitlines()
        return "--- postfix log (%s), last %d of %d lines ---\n%s" % (
            self.dir, min(n, len(lines)), len(lines),
            "\n".join(lines[-n:]))

    def message_files(self, address):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir(address), sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            out.extend(os.path.join(d, n) for n in names
                       if not n.startswith("."))
        return sorted(out, key=lambda p: (os.stat(p).st_mtime_ns, p))

    def messages(self, address):
        """The messages delivered to ADDRESS, oldest first (bytes, LF)."""
        out = []
        for path in self.message_files(address):
            with open(path, "rb") as f:
                out.append(f.read())
        return out
