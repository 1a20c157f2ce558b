"""temserver - start the real tem binary for integration tests.

Trust: test code only. Everything runs on 127.0.0.1 in a private temp dir.

TemServer is a context manager that writes a tem.conf for free loopback
ports, runs the admin commands (domain/user/alias add), starts
`tem -c CONF serve`, waits until the SMTP port answers with a banner, and on
exit sends SIGTERM and checks that tem exited 0 within 10 s and that its log
holds no sanitizer report.

SMTPConn is a raw SMTP client (smtplib rewrites line ends and cannot do BDAT
or send hostile bytes); the helpers below it parse what tem stored.
"""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import atexit
import base64

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "tests", "data")

HOSTNAME = "mx.a.test"
PASSWORDS = {
    "alice@a.test": "alice-Secret-1",
    "bob@a.test": "bob-Secret-2",
}
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error",
                   "UndefinedBehaviorSanitizer")
# TEM_TEST_STORAGE=postgresql (make test-pg): every TemServer stores on
# a fresh database of one PgServer per test process instead of data_dir.
STORAGE = os.environ.get("TEM_TEST_STORAGE") or "embedded"
STOP_TIMEOUT = 10          # SPEC: SIGTERM -> exit 0 within 10 s
START_TIMEOUT = 20         # ASan builds start slowly on a loaded machine
IO_TIMEOUT = 10            # no single reply may take longer than this


def tem_bin():
    """The binary under test: $TEM_BIN, else build/asan/tem."""
    path = os.environ.get("TEM_BIN") or os.path.join(REPO, "build", "asan", "tem")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    return path


def wait_for(fn, timeout=30, what="condition", interval=0.05):
    """Polls FN until it returns something true (returned), at most
    TIMEOUT seconds; raises AssertionError naming WHAT after that. For
    waiting on an event (a file, a log line, an empty queue), never as a
    fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def natural_key(name):
    """A sort key ordering digit runs by value (as strverscmp does)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t)
            for t in re.split(r"(\d+)", name) if t]


_HANDED_OUT = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, and
    never one this process handed out before: the kernel may give the
    same free port to two bind(0) calls in a row, and a server started
    with one port for two services would (rightly) refuse its config."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no fresh free port in 100 tries")


def shared_port(addrs=tuple("127.0.0.%d" % h for h in range(1, 12))):
    """A TCP port free on every address of ADDRS (loopback hosts that all
    listen on one port, as MX hosts all listen on 25)."""
    for _ in range(50):
        port = free_port()
        ok = True
        for addr in addrs:
            with socket.socket() as s:
                try:
                    s.bind((addr, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no port free on all of %s" % (addrs,))


def sanitizer_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:"
                   "strict_string_checks=1:detect_stack_use_after_return=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.pop("TEM_CONFIG", None)
    return env


_quiet_dns = None


def quiet_dns_addr():
    """A private unbound that answers NXDOMAIN for every name, shared by
    every TemServer of this test process that names no dns_server: tem's
    SPF/DMARC/MX look-ups then stay on loopback (never the machine's own
    resolver) and answer at once."""
    global _quiet_dns
    if _quiet_dns is None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from dnsserver import DnsServer
        _quiet_dns = DnsServer({})
        _quiet_dns.__enter__()
        atexit.register(_quiet_dns.__exit__, None, None, None)
    return _quiet_dns.addr


_test_pg = None
_test_dbs = [0]


def shared_pg():
    """The PgServer of this test process (one per pytest worker), started
    on first use, stopped when the process exits."""
    global _test_pg
    if _test_pg is None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from pgserver import PgServer
        _test_pg = PgServer().__enter__()
        atexit.register(_test_pg.__exit__, None, None, None)
    return _test_pg


def fresh_pg_db():
    """A fresh, empty database on shared_pg(): its name."""
    _test_dbs[0] += 1
    name = "t%d_%d" % (os.getpid(), _test_dbs[0])
    shared_pg().fresh_db(name)
    return name


def module_server(env=None, **kwargs):
    """Body of a module-scoped fixture: `yield from module_server(...)`
    gives a started TemServer(**kwargs) (ENV added to its environment),
    stopped after the module; its temp dir is kept when the module
    fails."""
    t = TemServer(**kwargs)
    t.env.update(env or {})
    t.__enter__()
    try:
        yield t
    except BaseException:
        t.keep = True
        raise
    finally:
        t.__exit__(None, None, None)


class TemError(AssertionError):
    pass


class TemServer:
    """One tem process in its own temp dir.

    users: {address: password}; domains: added first, in order;
    aliases: {address: [targets]}; extra_conf: extra `key = value` lines
    (a dict or a list of strings); services: which listeners to open,
    among smtp, submission, submissions, imap, imaps, pop3, pop3s,
    managesieve.
    pg, pg_db: store on database pg_db of PgServer pg (storage =
    postgresql; `tem db init` first unless pg_init is false, as for the
    second node of a cluster). Without them, TEM_TEST_STORAGE=postgresql
    gives each server a fresh database of shared_pg(), unless extra_conf
    names the storage itself.
    fixture_cert: use tests/data/mx.a.test.{crt,key} (fast start-up); False
    leaves tls_cert_file unset, so tem makes its own self-signed pair.
    """

    SERVICES = ("smtp", "submission", "submissions", "imap", "imaps",
                "pop3", "pop3s", "managesieve", "http", "https")

    def __init__(self, users=None, domains=("a.test",), aliases=None,
                 extra_conf=None, services=("smtp",), hostname=HOSTNAME,
                 fixture_cert=True, listen_addr="127.0.0.1", smtp_port=None,
                 nofile=None, pg=None, pg_db=None, pg_init=True):
        self.bin = tem_bin()
        self.hostname = hostname
        self.domains = list(domains)
        self.users = dict(PASSWORDS if users is None else users)
        self.aliases = dict(aliases or {})
        self.extra_conf = extra_conf or {}
        self.services = tuple(services)
        self.fixture_cert = fixture_cert
        self.listen_addr = listen_addr   # e.g. 127.0.0.3 for an MX test host
        self.fixed_smtp_port = smtp_port  # a port shared by several hosts
        self.nofile = nofile       # RLIMIT_NOFILE (soft = hard) for serve
        self.dir = None
        self.proc = None
        self.ports = {}
        self.logs = []
        self.exit_codes = []
        self.keep = False          # keep the temp dir (set for failed tests)
        self.start_serial = 0      # accounts.serial when serve last started
        self.env = sanitizer_env()
        self.pg = pg
        self.pg_db = pg_db
        self.pg_init = pg_init
        self.own_db = False        # made by __enter__, dropped by __exit__

    @property
    def on_pg(self):
        return self.pg is not None

    @property
    def pg_dsn(self):
        return self.pg.dsn_of(self.pg_db) if self.pg else None

    # --- set-up ---------------------------------------------------------

    @property
    def conf_path(self):
        return os.path.join(self.dir, "tem.conf")

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data")

    @property
    def smtp_port(self):
        return self.ports["smtp"]

    def _write_conf(self):
        lines = [
            "# written by tests/lib/temserver.py",
            "hostname = %s" % self.hostname,
            "data_dir = %s" % self.data_dir,
            "run_as =",
            "log_level = debug",
        ]
        if self.fixture_cert:
            lines.append("tls_cert_file = " + os.path.join(DATA, "mx.a.test.crt"))
            lines.append("tls_key_file = " + os.path.join(DATA, "mx.a.test.key"))
        for svc in self.services:
            if svc not in self.SERVICES:
                raise ValueError("unknown service " + svc)
            if svc == "smtp" and self.fixed_smtp_port:
                self.ports[svc] = self.fixed_smtp_port
            else:
                self.ports[svc] = free_port()
            lines.append("%s_listen = %s:%d" % (svc, self.listen_addr,
                                                self.ports[svc]))
        extra = self.extra_conf
        if isinstance(extra, dict):
            extra = ["%s = %s" % kv for kv in extra.items()]
        # Later lines win in most config readers, but tem may refuse a key
        # given twice: drop our line for any key the test sets itself.
        keys = {l.split("=", 1)[0].strip() for l in extra if "=" in l}
        if "dns_server" not in keys:
            lines.append("dns_server = %s" % quiet_dns_addr())
        # The test DNS servers serve unsigned zones under "test.", which a
        # validator anchored at the real root would call bogus.
        if "dns_trust_anchor_file" not in keys:
            lines.append("dns_trust_anchor_file = none")
        if self.on_pg and "storage" not in keys:
            lines.append("storage = postgresql")
            lines.append("postgresql_dsn = %s" % self.pg_dsn)
        lines = [l for l in lines if l.split("=", 1)[0].strip() not in keys]
        lines.extend(extra)
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def admin(self, *args, stdin=None, check=True):
        """Runs `tem -c CONF ARGS...`; raises TemError when it fails."""
        cmd = [self.bin, "-c", self.conf_path] + list(args)
        p = subprocess.run(cmd, input=(stdin or "").encode(), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        if check and p.returncode != 0:
            raise TemError("%s -> exit %d\nstdout: %s\nstderr: %s" % (
                " ".join(args), p.returncode,
                p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace")))
        return p

    def add_user(self, address, password):
        self.admin("user", "add", address, stdin=password + "\n")

    def _provision(self):
        for d in self.domains:
            self.admin("domain", "add", d)
        for addr, pw in self.users.items():
            self.add_user(addr, pw)
        for addr, targets in self.aliases.items():
            if isinstance(targets, str):
                targets = [targets]
            self.admin("alias", "add", addr, *targets)

    def __enter__(self):
        if not os.access(self.bin, os.X_OK):
            raise TemError("no tem binary at %s (set TEM_BIN or run make "
                           "build/asan/tem)" % self.bin)
        self.dir = tempfile.mkdtemp(prefix="tem-test-")
        os.chmod(self.dir, 0o755)     # a run_as user must reach data/
        os.mkdir(self.data_dir)
        try:
            if self.pg is None and STORAGE == "postgresql" and \
                    not self._chooses_storage():
                self.pg, self.pg_db = shared_pg(), fresh_pg_db()
                self.own_db = True
            self._write_conf()
            if self.on_pg and self.pg_init:
                self.admin("db", "init")
            self._provision()
            self.start()
        except BaseException:
            self._kill_quietly()
            raise
        return self

    def _chooses_storage(self):
        extra = self.extra_conf
        if isinstance(extra, dict):
            return "storage" in extra
        return any(l.split("=", 1)[0].strip() == "storage" for l in extra)

    def __exit__(self, exc_type, exc, tb):
        ok = exc_type is None
        try:
            if self.proc is not None:
                self.stop(check=ok)
            if ok and self.sanitizer_lines():
                raise TemError("sanitizer report in the server log:\n" +
                               self.log_tail())
        except BaseException:
            ok = False
            raise
        finally:
            self._kill_quietly()
            if ok and not self.keep and not os.environ.get("TEM_KEEP_TMP"):
                shutil.rmtree(self.dir, ignore_errors=True)
                if self.own_db:     # the worker's cluster stays small
                    self.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)"
                              % self.pg_db, db="postgres")
        return False

    def psql(self, sql, db=None):
        """Runs sql on this server's database (storage = postgresql)."""
        return self.pg.psql(sql, db=db or self.pg_db)

    # --- process --------------------------------------------------------

    def start(self):
        """Starts `tem serve` and waits until SMTP answers with a 220."""
        log = os.path.join(self.dir, "serve-%d.log" % (len(self.logs) + 1))
        self.logs.append(log)
        self.start_serial = self.accounts_serial()
        with open(log, "ab") as f:       # O_APPEND: tem's stderr, whole
            self.proc = subprocess.Popen(
                [self.bin, "-c", self.conf_path, "serve"],
                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                env=self.env, cwd=self.dir,
                preexec_fn=self._preexec if self.nofile else None)
        self._wait_ready()

    def _preexec(self):
        """In the child: the open-file limit a service manager would set."""
        if self.nofile:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (self.nofile, self.nofile))

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        port = self.ports.get("smtp") or next(iter(self.ports.values()))
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                self.exit_codes.append(rc)
                raise TemError("tem serve exited %d at start-up:\n%s" % (
                    rc, self.log_tail()))
            if self._probe(port, "smtp" in self.ports, self.listen_addr):
                return
            if time.monotonic() > deadline:
                raise TemError("tem serve did not answer on port %d within "
                               "%d s:\n%s" % (port, START_TIMEOUT,
                                              self.log_tail()))
            time.sleep(0.05)

    @staticmethod
    def _probe(port, smtp, addr="127.0.0.1"):
        """True once the port accepts (and, for SMTP, greets with 220 and
        closes after QUIT, so the probe no longer counts as a session)."""
        try:
            s = socket.create_connection((addr, port), timeout=2)
        except OSError:
            return False
        try:
            if not smtp:
                return True
            s.settimeout(IO_TIMEOUT)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                data += chunk
            if not data.startswith(b"220"):
                raise TemError("unexpected banner %r" % data)
            s.sendall(b"QUIT\r\n")
            while s.recv(4096):
                pass
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self, timeout=STOP_TIMEOUT, check=True):
        """SIGTERM; returns the exit status. With check, raises unless tem
        exited 0 within timeout seconds."""
        p = self.proc
        if p is None:
            return None
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            self.proc = None
            self.exit_codes.append(None)
            if check:
                raise TemError("tem did not exit within %d s of SIGTERM:\n%s"
                               % (timeout, self.log_tail()))
            return None
        self.proc = None
        self.exit_codes.append(rc)
        if check and rc != 0:
            raise TemError("tem exited %d after SIGTERM (want 0):\n%s" % (
                rc, self.log_tail()))
        return rc

    def kill9(self):
        """SIGKILL, no clean-up: what a power cut leaves behind."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.exit_codes.append(-9)
            self.proc = None

    def restart(self):
        """Stops (SIGTERM, checked) if running, then starts again on the
        same config, ports and data."""
        if self.proc is not None:
            self.stop()
        self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill_quietly(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    # --- waiting for the server ----------------------------------------

    def accounts_serial(self):
        """The change serial the admin commands last published."""
        if self.on_pg:
            return int(self.psql("SELECT serial FROM accounts_serial"))
        try:
            with open(os.path.join(self.data_dir, "accounts.serial")) as f:
                return int(f.read())
        except (FileNotFoundError, ValueError):
            return 0

    def wait_accounts(self, timeout=10):
        """Returns once the running server uses the accounts as they are on
        disk now: at once when it loaded that serial at start-up or has
        logged `- server accounts-loaded serial=N` with N at least the
        current serial (admin commands ask the running server to load
        their change before they return, so normally nothing is left to
        wait for); otherwise waits for that line (the 1 s accounts poll is
        the server's fallback)."""
        want = self.accounts_serial()

        def loaded():
            if self.start_serial >= want:
                return True
            got = re.findall(r" server accounts-(?:re)?loaded serial=(\d+)",
                             self.log_text())
            return bool(got) and max(map(int, got)) >= want
        wait_for(loaded, timeout, "the server to load accounts serial %d"
                 % want, interval=0.02)

    def queue_ids(self):
        """The ids `tem queue list` shows."""
        out = self.admin("queue", "list").stdout.decode()
        return [l.split()[0] for l in out.splitlines() if l.strip()]

    def wait_queue_empty(self, timeout=30):
        """Waits until `tem queue list` is empty: every queued message was
        delivered, bounced or dropped, so nothing more will be sent."""
        wait_for(lambda: self.queue_ids() == [], timeout, "the queue of %s "
                 "to empty" % self.hostname, interval=0.1)

    # --- logs -----------------------------------------------------------

    def log_text(self):
        out = []
        for path in self.logs:
            try:
                with open(path, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)

    def log_tail(self, n=120):
        lines = self.log_text().splitlines()
        head = "--- tem log (%s), last %d of %d lines ---\n" % (
            self.dir, min(n, len(lines)), len(lines))
        return head + "\n".join(lines[-n:])

    def sanitizer_lines(self):
        return [l for l in self.log_text().splitlines()
                if any(m in l for m in SANITIZER_MARKS)]

    # --- storage --------------------------------------------------------

    def _embedded_only(self, what):
        if self.on_pg:
            raise AssertionError(
                "%s looks at the embedded store's files: this test needs "
                "@pytest.mark.embedded_only (TEM_TEST_STORAGE=postgresql)"
                % what)

    def maildir(self, address, folder=""):
        """data_dir/mail/DOMAIN/LOCAL[/FOLDER]: domain and ASCII local part
        lower-cased, a UTF-8 local part as is (SPEC: Addresses)."""
        self._embedded_only("maildir()")
        local, _, domain = address.rpartition("@")
        if local.isascii():
            local = local.lower()
        path = os.path.join(self.data_dir, "mail", domain.lower(), local)
        return os.path.join(path, folder) if folder else path

    def maildir_files(self, address, subdirs=("new", "cur")):
        self._embedded_only("maildir_files()")
        out = []
        for sub in subdirs:
            d = os.path.join(self.maildir(address), sub)
            try:
                names = os.listdir(d)
            except FileNotFoundError:
                continue
            out.extend(os.path.join(d, n) for n in names
                       if not n.startswith("."))
        # Ties (coarse mtimes within one second) are broken like tem's
        # own order (strverscmp): digit runs compare as numbers, so
        # "M99999" sorts before "M101753", as the time it stands for.
        return sorted(out, key=lambda p: (os.stat(p).st_mtime_ns,
                                          natural_key(os.path.basename(p))))

    def maildir_messages(self, address):
        """The messages of ADDRESS's INBOX (new/ and cur/), oldest first.
        On PostgreSQL: the INBOX's messages in UID order, CRLF turned
        into LF (the database keeps the wire form, the Maildir LF)."""
        if self.on_pg:
            return [m.replace(b"\r\n", b"\n")
                    for m in self.pg_messages(address)]
        out = []
        for path in self.maildir_files(address):
            with open(path, "rb") as f:
                out.append(f.read())
        return out


    def pg_folders(self, address):
        """The names of ADDRESS's folders on PostgreSQL."""
        return self.psql("SELECT mb.name FROM users u JOIN mailboxes mb ON "
                         "mb.user_id = u.id WHERE tem_fold(u.address) = "
                         "tem_fold('%s') ORDER BY mb.name"
                         % address.replace("'", "''")).splitlines()

    def pg_messages(self, address, folder="INBOX"):
        """The messages of ADDRESS's FOLDER on PostgreSQL, UID order."""
        q = ("SELECT translate(encode(b.data, 'base64'), E'\\n', '') "
             "FROM users u JOIN mailboxes mb ON mb.user_id = u.id "
             "JOIN messages m ON m.mailbox_id = mb.id "
             "JOIN blobs b ON b.id = m.blob_id "
             "WHERE tem_fold(u.address) = tem_fold('%s') AND mb.name = '%s' "
             "ORDER BY m.uid" % (address.replace("'", "''"),
                                 folder.replace("'", "''")))
        return [base64.b64decode(l) for l in self.psql(q).splitlines() if l]


# --- raw line clients (byte-exact; the stdlib ones hide line ends) ------

class ConnClosed(AssertionError):
    """The server closed the connection while a reply was awaited."""


class RawConn:
    """A byte-exact client on HOST:PORT (127.0.0.1 unless told): send
    bytes, read lines, wait for the server to close. Protocol clients
    build on it."""

    def __init__(self, port, timeout=IO_TIMEOUT, tls=False, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.sock = insecure_tls_context().wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise self.closed_error("connection closed by server; unread %r"
                                    % self.buf)
        self.buf += chunk

    closed_error = ConnClosed

    def readline(self):
        """One raw line, its LF removed (a CR before it is kept)."""
        while b"\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def wait_closed(self, timeout=IO_TIMEOUT):
        """Reads until EOF; returns what came before it. Raises on timeout."""
        self.sock.settimeout(timeout)
        got, self.buf = self.buf, b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return got
            if not chunk:
                return got
            got += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# --- raw SMTP client ----------------------------------------------------

class Reply:
    """One (possibly multi-line) SMTP reply."""

    def __init__(self, lines):
        self.lines = lines                    # str, without CRLF
        self.code = int(lines[-1][:3]) if lines and lines[-1][:3].isdigit() else 0

    @property
    def last(self):
        return self.lines[-1] if self.lines else ""

    @property
    def text(self):
        return "\n".join(self.lines)

    def __str__(self):
        return self.text

    __repr__ = __str__


class SMTPClosed(ConnClosed):
    pass


class SMTPConn(RawConn):
    """A byte-exact SMTP client on 127.0.0.1:PORT. Reads the banner."""

    closed_error = SMTPClosed

    def __init__(self, port, timeout=IO_TIMEOUT, read_banner=True,
                 host="127.0.0.1"):
        RawConn.__init__(self, port, timeout, host=host)
        self.banner = self.reply() if read_banner else None

    def reply(self):
        """Reads one full reply; checks each line ends in CRLF."""
        lines = []
        while True:
            raw = self.readline()
            if not raw.endswith(b"\r"):
                raise AssertionError("reply line not ended by CRLF: %r" % raw)
            line = raw[:-1].decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return Reply(lines)

    def cmd(self, line):
        """Sends LINE + CRLF, returns the reply."""
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + b"\r\n")
        return self.reply()

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def ehlo(self, name="client.test"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, r
        return r

    def starttls(self, context=None, server_hostname=None):
        r = self.cmd("STARTTLS")
        assert r.code == 220, r
        assert self.buf == b"", "bytes after the 220 to STARTTLS: %r" % self.buf
        if context is None:
            context = insecure_tls_context()
        self.sock = context.wrap_socket(self.sock,
                                        server_hostname=server_hostname)
        return r

    def data(self, message):
        """DATA with MESSAGE dot-stuffed here; returns the final reply."""
        r = self.cmd("DATA")
        assert r.code == 354, r
        self.send(dot_stuff(message) + b".\r\n")
        return self.reply()


def insecure_tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def dot_stuff(message):
    """RFC 5321 4.5.2 transparency for MESSAGE (bytes, CRLF lines): a
    period at the start of a CRLF-delimited line is doubled; a CRLF is added
    when MESSAGE does not end with one (callers' messages always do)."""
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..")


def send_mail(port, mail_from, rcpts, message, ehlo="client.test",
              host="127.0.0.1"):
    """One plain transaction; asserts every step succeeds."""
    with SMTPConn(port, host=host) as c:
        assert c.banner.code == 220, c.banner
        c.ehlo(ehlo)
        r = c.cmd("MAIL FROM:<%s>" % mail_from)
        assert r.code == 250, r
        for rcpt in rcpts:
            r = c.cmd("RCPT TO:<%s>" % rcpt)
            assert r.code == 250, "RCPT %s: %s" % (rcpt, r)
        r = c.data(message)
        assert r.code == 250, r
        c.cmd("QUIT")
        return r


# --- what tem stored ----------------------------------------------------

# SPEC "Headers tem may add", at the top of a delivered message.
ADDED_HEADERS = ("return-path", "received", "delivered-to",
                 "authentication-results", "received-spf", "dkim-signature")


def _is_added(name):
    return name in ADDED_HEADERS or name.startswith("arc-")


def split_added_headers(stored):
    """Splits STORED into ([(name-lowercase, raw field bytes)], rest): the
    leading header fields tem may add, and the message as the client sent
    it. A sent message must not start with one of those fields."""
    fields = []
    pos = 0
    while True:
        end = stored.find(b"\n", pos)
        if end < 0:
            break
        m = re.match(rb"([A-Za-z0-9-]+):", stored[pos:end + 1])
        if not m or not _is_added(m.group(1).decode().lower()):
            break
        fend = end + 1
        while fend < len(stored) and stored[fend:fend + 1] in (b" ", b"\t"):
            nxt = stored.find(b"\n", fend)
            fend = len(stored) if nxt < 0 else nxt + 1
        fields.append((m.group(1).decode().lower(), stored[pos:fend]))
        pos = fend
    return fields, stored[pos:]


def on_disk(sent):
    """What SENT (bytes as the client meant them) looks like on disk."""
    return sent.replace(b"\r\n", b"\n")


def added_field(fields, name):
    vals = [raw for n, raw in fields if n == name]
    return vals


def first_difference(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    return "first difference at byte %d of %d/%d:\n  got  %r\n  want %r" % (
        i, len(a), len(b), a[max(0, i - 40):i + 40], b[max(0, i - 40):i + 40])


def assert_stored(stored, sent, mail_from=None, rcpt=None, alternatives=()):
    """Asserts STORED is SENT with only SPEC's added headers on top and
    CRLF -> LF; checks Return-Path, Delivered-To and Received are there.
    ALTERNATIVES: other acceptable forms of SENT."""
    fields, rest = split_added_headers(stored)
    names = [n for n, _ in fields]
    for want in ("return-path", "delivered-to", "received"):
        assert want in names, "no %s header added; top of message: %r" % (
            want, stored[:300])
    for _, raw in fields:
        assert b"\r" not in raw, "CR in an added header on disk: %r" % raw
    if mail_from is not None:
        rp = added_field(fields, "return-path")
        assert len(rp) == 1, rp
        assert re.match(rb"Return-Path: ?<" + re.escape(mail_from.encode()) +
                        rb">\n$", rp[0], re.I), rp[0]
    if rcpt is not None:
        dt = added_field(fields, "delivered-to")
        assert any(rcpt.lower().encode() in v.lower() for v in dt), dt
    rec = b"".join(added_field(fields, "received"))
    assert HOSTNAME.encode() in rec, "Received does not name %s: %r" % (
        HOSTNAME, rec)
    wants = [on_disk(sent)] + [on_disk(a) for a in alternatives]
    if rest not in wants:
        raise AssertionError("stored message differs from what was sent; " +
                             first_difference(rest, wants[0]))
    return fields


def expect(reply, *prefixes):
    """Asserts the last line of REPLY starts with one of PREFIXES
    (e.g. "550 5.1.1")."""
    assert any(reply.last.startswith(p) for p in prefixes), \
        "want %s, got %r" % (" or ".join(map(repr, prefixes)), reply.text)
    return reply


def simple_message(subject="test", body=b"Hello.\r\n", mail_from="sender@b.test",
                   to="alice@a.test"):
    """A small RFC 5322 message (CRLF) whose first field is From."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return (b"From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            b"Message-ID: <%s@b.test>\r\n\r\n" % (
                mail_from.encode(), to.encode(), subject.encode(),
                str(time.monotonic_ns()).encode())) + body


def fixture_bytes(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()
