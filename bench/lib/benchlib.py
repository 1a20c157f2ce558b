"""benchlib: what tem's benchmarks (bench/*/run.py) share.

Trust: benchmark code run as root on a test machine; talks only to
127.0.0.1, starts servers in a temporary directory and stops them.

- /proc sampling: CPU time of a process tree (live and reaped processes)
  and its pids,
  of the whole machine, of this script's children; memory of a process.
- Small blocking SMTP probes (banner, RCPT, AUTH) for readiness checks.
- Postfix: a private instance through bench/lib/postfix.sh.
- Tem: build/tem serve with a given config, a domain and a user added.
- Stop / on_signal: signal handlers raise Stop so that `finally` blocks
  stop the servers.
- NewFiles: counts files arriving in a Maildir new/ through inotify (the
  driver sleeps in the kernel instead of listing the folder).
- store_check: the compared servers' stores are on one disk filesystem.
- Repeats and raw data: spread() (min / median / max), machine_info()
  (commit, CPU model) and write_json() for --json FILE.
Python 3 standard library only.
"""

import base64
import ctypes
import ctypes.util
import datetime
import json
import os
import resource
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POSTFIX_SH = os.path.join(HERE, "postfix.sh")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Stop(Exception):
    """Raised from a signal handler so that `finally` stops the servers."""


def on_signal(signum, _frame):
    raise Stop("signal %d" % signum)


def catch_signals(handler=on_signal):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def make_log(prefix):
    """A log(msg) function writing "PREFIX: msg" to stderr."""
    def log(msg):
        print(prefix + ": " + msg, file=sys.stderr, flush=True)
    return log


def parse_known(parser, log):
    """PARSER's options from argv. bench/run.sh passes the same options to
    every benchmark, so those of another one (e.g. bench/smtp's --idle)
    are named in the log and ignored rather than an error."""
    args, unknown = parser.parse_known_args()
    if unknown:
        log("ignoring options of other benchmarks: %s" % " ".join(unknown))
    return args


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """Return (ppid, own ticks, reaped children's ticks) or None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(b")") + 2:].split()
    # rest[0] = state (field 3); utime = field 14 -> rest[11].
    ppid = int(rest[1])
    own = int(rest[11]) + int(rest[12])
    kids = int(rest[13]) + int(rest[14])
    return ppid, own, kids


def tree_cpu_ms(root):
    """CPU milliseconds of ROOT and all its descendants, living or reaped.

    A process reaped by a member of the tree is counted in its parent's
    cutime/cstime; a live (or zombie) one by its own utime/stime.
    """
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                stats[int(name)] = st
    if root not in stats:
        return None
    children = {}
    for pid, st in stats.items():
        children.setdefault(st[0], []).append(pid)
    total = 0
    todo = [root]
    seen = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        _, own, kids = stats[pid]
        total += own + kids
        todo.extend(children.get(pid, []))
    return total * 1000.0 / CLK_TCK


def tree_pids(root):
    """ROOT and its live descendants."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                parent[int(name)] = st[0]
    kids = {}
    for pid, pp in parent.items():
        kids.setdefault(pp, []).append(pid)
    out, todo = [], [root] if root in parent else []
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def machine_busy_ms():
    """CPU milliseconds the whole machine spent busy (all CPUs) since boot."""
    with open("/proc/stat") as f:
        cols = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: busy = all but
    # idle and iowait (guest time is already inside user).
    busy = sum(cols[:8]) - cols[3] - cols[4]
    return busy * 1000.0 / CLK_TCK


def children_cpu_ms():
    """CPU milliseconds of this script's reaped children (load generators)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000.0


def self_cpu_ms():
    """CPU milliseconds of this script (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


def mem_kb(pid):
    """(PSS, RSS) of PID in KB from smaps_rollup."""
    pss = rss = None
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    return pss, rss


def listening(port):
    """True when something listens on TCP PORT (any address)."""
    want = ":%04X" % port
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[1].endswith(want) and cols[3] == "0A":
                        return True
        except OSError:
            pass
    return False


# ---------------------------------------------------------------- inotify

_IN_CLOEXEC = 0o2000000
_IN_NONBLOCK = 0o4000
_IN_CREATE = 0x100
_IN_MOVED_TO = 0x80
_IN_Q_OVERFLOW = 0x4000
_EVENT = struct.Struct("iIII")      # wd, mask, cookie, len; then the name
_libc = None


def _inotify():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                            use_errno=True)
    return _libc


class NewFiles:
    """Counts names created in or renamed into DIRECTORY (a Maildir new/,
    where both Postfix and tem rename finished messages) from now on.

    wait_for(n, deadline) sleeps in select() on the inotify descriptor:
    no listing of a folder of thousands of files while the server under
    test delivers, and wake-ups are batched (at most one per BATCH s) so
    that the counting costs the machine next to nothing. If the kernel's
    event queue overflows the folder is listed once to resynchronise."""

    BATCH = 0.01

    def __init__(self, directory):
        libc = _inotify()
        self.dir = directory
        self.fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = libc.inotify_add_watch(self.fd, os.fsencode(directory),
                                    _IN_CREATE | _IN_MOVED_TO)
        if wd < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "inotify_add_watch %s" % directory)
        self.n = len(os.listdir(directory))

    def _drain(self):
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            off = 0
            while off + _EVENT.size <= len(data):
                _, mask, _, nlen = _EVENT.unpack_from(data, off)
                off += _EVENT.size + nlen
                if mask & _IN_Q_OVERFLOW:
                    self.n = len(os.listdir(self.dir))
                elif mask & (_IN_CREATE | _IN_MOVED_TO):
                    self.n += 1

    def count(self):
        self._drain()
        return self.n

    def wait_for(self, n, deadline):
        """Sleep until N names arrived or DEADLINE (monotonic); returns
        (count, monotonic time the count was seen)."""
        while True:
            now = time.monotonic()
            if self.count() >= n or now >= deadline:
                return self.n, now
            select.select([self.fd], [], [], deadline - now)
            time.sleep(self.BATCH)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# ---------------------------------------------------------------- stores

def fs_type(path):
    """The type of the filesystem holding PATH, from /proc/self/mountinfo
    (the longest mount point above it)."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            mnt = left.split()[4].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) \
                    and len(mnt) >= len(best):
                best, kind = mnt, right.split()[0]
    return kind


def store_check(stores):
    """STORES: [(label, path)] of the mail stores being compared. Returns
    None, or why the comparison would be unfair: the stores on different
    filesystems (different disks, mount options, journal), or one in
    memory (tmpfs/ramfs: an fsync costs nothing there)."""
    devs = {}
    for label, path in stores:
        probe = path
        while not os.path.exists(probe):
            probe = os.path.dirname(probe)
        kind = fs_type(probe)
        if kind in ("tmpfs", "ramfs"):
            return ("%s (%s) is on %s, where fsync costs nothing; put the "
                    "stores on a disk filesystem (--dir)" % (label, path, kind))
        devs.setdefault(os.stat(probe).st_dev, []).append(
            "%s (%s, %s)" % (label, path, kind))
    if len(devs) > 1:
        return ("the stores are on different filesystems: %s; use --dir on "
                "the filesystem of the other one" % "; ".join(
                    ", ".join(v) for v in devs.values()))
    return None


# ---------------------------------------------------------------- repeats

def spread(values):
    """(min, median, max) of the non-None VALUES, or (None, None, None)."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None, None
    return min(v), statistics.median(v), max(v)


def fmt3(values, spec):
    """"min/median/max" of VALUES for a table cell."""
    lo, med, hi = spread(values)
    if med is None:
        return "n/a"
    return "%s/%s/%s" % (format(lo, spec), format(med, spec), format(hi, spec))


def machine_info():
    """What a raw-data file needs to be compared with another: the git
    commit (and whether the tree had changes), the CPU model and count,
    the kernel, the time."""
    def git(*a):
        try:
            return subprocess.run(["git", "-C", ROOT] + list(a), check=True,
                                  capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"),
            "dirty": None if status is None else bool(status),
            "cpu_model": model, "cpus": os.cpu_count(),
            "kernel": os.uname().release,
            "date": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="seconds")}


def add_run_options(p, quick_help):
    """The options every comparison shares: --quick (QUICK_HELP says what
    it sets), --repeat, --json FILE and --dir."""
    p.add_argument("--quick", action="store_true",
                   help="a cheap smoke run: %s (options given win)"
                   % quick_help)
    p.add_argument("--repeat", type=int, default=3,
                   help="runs per case and server (min/median/max shown)")
    p.add_argument("--json", metavar="FILE",
                   help="write every run's raw figures, the git commit and "
                   "the CPU model to FILE")
    p.add_argument("--dir", default="/var/tmp",
                   help="where the temporary directory with the servers' "
                   "stores goes (a disk filesystem)")


def finish_run_options(p, args, quick, full):
    """Fills the options left None from QUICK (with --quick) or FULL."""
    for k, v in (quick if args.quick else full).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def write_json(path, benchmark, args, runs, extra=None):
    """Raw per-run data of BENCHMARK to PATH: machine_info(), the options
    (ARGS, an argparse namespace), RUNS (a list of dicts, one per run)."""
    doc = {"benchmark": benchmark}
    doc.update(machine_info())
    doc["args"] = {k: v for k, v in vars(args).items() if k != "json"}
    doc["runs"] = runs
    if extra:
        doc.update(extra)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


# ---------------------------------------------------------------- SMTP

def read_reply(sock, deadline):
    """Read one (possibly multi-line) SMTP reply; return its code or None."""
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, OSError):
            return None
        if not chunk:
            return None
        data += chunk
        lines = data.split(b"\r\n")
        for line in lines[:-1]:
            if len(line) >= 4 and line[3:4] == b" ":
                return line[:3].decode("ascii", "replace")
        if len(data) > 65536:
            return None
    return None


def smtp_ready(port, timeout=2.0):
    """True when 127.0.0.1:PORT answers with a 220 banner."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            ok = read_reply(s, deadline) == "220"
            try:
                s.sendall(b"QUIT\r\n")
            except OSError:
                pass
            return ok
    except OSError:
        return False


def smtp_dialogue(port, lines, timeout=2.0):
    """Banner, then each of LINES (bytes, no CRLF) with its reply; returns
    the list of reply codes until the first one not 2xx/3xx (or None for
    no reply). Sends no mail: the caller ends with RSET or nothing."""
    deadline = time.monotonic() + timeout
    codes = []
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            code = read_reply(s, deadline)
            codes.append(code)
            for line in lines:
                if code is None or code[0] not in "23":
                    break
                s.sendall(line + b"\r\n")
                code = read_reply(s, deadline)
                codes.append(code)
            try:
                s.sendall(b"QUIT\r\n")
            except OSError:
                pass
    except OSError:
        codes.append(None)
    return codes


def rcpt_accepted(port, addr, timeout=2.0):
    """True when 127.0.0.1:PORT takes RCPT TO:<ADDR> (250); sends no mail."""
    codes = smtp_dialogue(port, [b"EHLO probe.bench.test",
                                 b"MAIL FROM:<%s>" % addr,
                                 b"RCPT TO:<%s>" % addr], timeout)
    return codes == ["220", "250", "250", "250"]


def auth_plain_line(user, password):
    tok = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
    return b"AUTH PLAIN " + tok


def auth_accepted(port, user, password, timeout=2.0):
    """True when 127.0.0.1:PORT accepts AUTH PLAIN for USER (235)."""
    codes = smtp_dialogue(port, [b"EHLO probe.bench.test",
                                 auth_plain_line(user, password)], timeout)
    return codes == ["220", "250", "235"]


# ---------------------------------------------------------------- servers

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Postfix:
    """A private Postfix in BASE/postfix on 127.0.0.1:PORT (postfix.sh);
    SETTINGS are extra main.cf lines ("key = value")."""
    name = "postfix"

    def __init__(self, base, port, settings=()):
        self.dir = os.path.join(base, "postfix")
        self.port = port
        self.settings = list(settings)
        self.started = False
        self.pid = None

    @staticmethod
    def install():
        """Install postfix if missing, check port 25 is free, make the user
        `bench` (raises CalledProcessError on failure)."""
        run(["sh", POSTFIX_SH, "install"])

    def start(self):
        os.makedirs(self.dir)
        self.started = True
        run(["sh", POSTFIX_SH, "start", self.dir, str(self.port)]
            + self.settings)
        out = subprocess.run(["sh", POSTFIX_SH, "master-pid", self.dir],
                             check=True, capture_output=True, text=True)
        self.pid = int(out.stdout.strip())

    def stop(self):
        if self.started:
            subprocess.run(["sh", POSTFIX_SH, "stop", self.dir])
            self.started = False

    def cpu_ms(self):
        return tree_cpu_ms(self.pid)

    def alive(self):
        return self.pid is not None and proc_stat(self.pid) is not None

    def log_path(self):
        return os.path.join(self.dir, "maillog")


class Tem:
    """build/tem serve in BASE/tem with the config lines SETTINGS (after
    hostname, data_dir and run_as), answering SMTP on 127.0.0.1:PORT.

    start() adds the domain bench.test and the user USER (password PW),
    then polls READY() (the server picks up account changes on its own
    schedule) for up to 15 s."""
    name = "tem"

    def __init__(self, base, port, binary, settings, log,
                 user="bench@bench.test", pw="pw"):
        self.dir = os.path.join(base, "tem")
        self.port = port
        self.bin = binary
        self.conf = os.path.join(self.dir, "tem.conf")
        self.data = os.path.join(self.dir, "data")
        self.user = user
        self.pw = pw
        self.log = log
        self.proc = None
        self.pid = None
        self.logf = None
        os.makedirs(self.dir)
        with open(self.conf, "w") as f:
            f.write("hostname = mx.bench.test\n"
                    "data_dir = %s\n"
                    "run_as =\n" % self.data)
            for line in settings:
                f.write(line + "\n")

    def start(self, ready, what):
        """Start `tem serve`, add the domain and user, wait until READY()
        is true (WHAT names it for the log); False if anything fails."""
        log = self.log
        if not os.access(self.bin, os.X_OK):
            log("tem: %s missing (make builds it)" % self.bin)
            return False
        self.logf = open(os.path.join(self.dir, "tem.log"), "wb")
        self.proc = subprocess.Popen([self.bin, "-c", self.conf, "serve"],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while not smtp_ready(self.port, 0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log("tem: `serve` did not answer SMTP on 127.0.0.1:%d "
                    "(log: %s)" % (self.port, self.logf.name))
                self.stop()
                return False
            time.sleep(0.1)
        domain = self.user.partition("@")[2]
        try:
            run([self.bin, "-c", self.conf, "domain", "add", domain],
                stdout=subprocess.DEVNULL, timeout=30)
            run([self.bin, "-c", self.conf, "user", "add", self.user],
                input=(self.pw + "\n").encode(), stdout=subprocess.DEVNULL,
                timeout=30)
        except (subprocess.CalledProcessError,
                subprocess.TimeoutExpired) as e:
            log("tem: setting up %s failed: %s" % (self.user, e))
            self.stop()
            return False
        # The running server picks up account changes on its own schedule.
        deadline = time.monotonic() + 15
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log("tem: %s still refused 15 s after `user add`" % what)
                self.stop()
                return False
            time.sleep(0.2)
        return True

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(12)
            except subprocess.TimeoutExpired:
                self.log("tem: no exit 12 s after SIGTERM; SIGKILL")
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        if rc not in (0, -signal.SIGTERM):
            self.log("tem: exited with status %s (log: %s)"
                     % (rc, self.logf.name))
        self.proc = None
        self.logf.close()

    def cpu_ms(self):
        return tree_cpu_ms(self.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_path(self):
        return os.path.join(self.dir, "tem.log")


# ---------------------------------------------------------------- report

def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b
