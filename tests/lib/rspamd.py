"""rspamd - a real rspamd (Debian's package) and its redis for tests.

Trust: test code only. Both run as this test's own subprocesses on
127.0.0.1 ports chosen free, with every file (config, Bayes data, logs,
pid, sockets) in a private temp dir; nothing under /etc/rspamd or
/var/lib/rspamd is written and the packaged services are never started.
Stopped by their own pids on exit.

The config is tem's own, not the package's rspamd.conf: it includes only
the package's symbol groups, composites and Lua rules (regular expressions,
no network), and configures no plugin that asks the network (rbl, surbl,
dcc, fuzzy_check, neural, reputation, asn, mx_check, spf, dkim, dmarc,
url_redirector, rspamd_update, multimap maps over HTTP ...): a Lua plugin
rspamd has no config section for is not loaded. Its resolver is the
tests' NXDOMAIN-for-everything unbound (temserver.quiet_dns_addr), so
anything that still asks DNS gets an answer at once and never leaves the
machine. The TLD list is a six-line file: rspamd compiles the real one
(9,600 suffixes) for ~12 s at every start.

Workers:
    proxy       milter mode (`milter = yes`, self_scan: the proxy scans
                itself, no normal worker), `spam_header = X-Spam`
    controller  HTTP API with a password (no secure_ip: every request
                needs it), learning into Bayes on redis
Bayes: min_learns 1, so one learned message shows in the statistics.

Actions a test can provoke:
    reject        GTUBE (the XJS*... string) in the body, or the header
                  "X-Tem-Test-Action: reject"
    soft reject   "X-Tem-Test-Action: soft-reject" (a test rule below)
    add header    GTUBE_ADD_HEADER (YJS*..., `enable_test_patterns`) or
                  "X-Tem-Test-Action: add-header"
The rule TEM_AUTH_RESULTS (score 0) shows, as its option, the
Authentication-Results field rspamd was given (the first one), so a test
sees what a milter client passed on in X-Spamd-Result or in the log.

    with Rspamd() as r:
        r.milter            # "inet:127.0.0.1:PORT" for smtp_milters
        r.controller        # "127.0.0.1:PORT" for rspamd_controller
        r.password
        r.learns()          # {"spam": n, "ham": n} from the Bayes store
        r.stat()            # the controller's /stat (JSON)
        r.rspamc("stat")    # rspamc's output (str)
        r.start_seconds     # how long start-up took

A test module gets one for all its tests with `from rspamd import
rspamd_fixture` (the fixture is called `rspamd`).

Start-up (no fixed sleeps): redis answers PING, then the controller
answers /ping and the proxy accepts: 0.2-0.3 s on an idle machine,
1-2 s with the 2 cores busy (with the package's TLD list: +12 s).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from temserver import free_port, quiet_dns_addr, wait_for

RSPAMD = "/usr/bin/rspamd"
RSPAMC = "/usr/bin/rspamc"
REDIS = "/usr/bin/redis-server"
START_TIMEOUT = 60          # a loaded 2-core machine, Lua start-up
STOP_TIMEOUT = 15

GTUBE = ("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL"
         "*C.34X")
GTUBE_ADD_HEADER = ("YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-"
                    "TEST-EMAIL*C.34X")
TEST_HEADER = "X-Tem-Test-Action"
SOFT_REJECT_MESSAGE = "Greylisted by the tem test rule"

CONF = """\
# written by tests/lib/rspamd.py: a test world without network look-ups
lua = "$RULESDIR/rspamd.lua"
.include "$CONFDIR/metrics.conf"
.include "$CONFDIR/groups.conf"
.include "$CONFDIR/composites.conf"

# Lua plugins load from here, but only those configured below.
modules {{
  path = "${{PLUGINSDIR}}";
}}

actions {{
  reject = 15;
  add_header = 6;
  greylist = 4;
}}

options {{
  pidfile = "{dir}/rspamd.pid";
  filters = "regexp";
  explicit_modules = ["settings"];
  dynamic_conf = "{dir}/db/rspamd_dynamic";
  history_file = "{dir}/db/rspamd.history";
  stats_file = "{dir}/db/stats.ucl";
  control_socket = "{dir}/db/rspamd.sock mode=0600";
  hs_cache_dir = "{dir}/db/";
  cache_file = "{dir}/db/symbols.cache";
  tempdir = "{dir}/db";
  url_tld = "{dir}/tld.dat";
  disable_hyperscan = true;
  enable_test_patterns = true;
  local_addrs = [];
  dns {{
    nameserver = ["{dns}"];
    timeout = 1s;
    retransmits = 1;
  }}
}}

logging {{
  type = "file";
  filename = "{dir}/rspamd.log";
  level = "info";
}}

classifier "bayes" {{
  tokenizer {{ name = "osb"; }}
  backend = "redis";
  servers = "127.0.0.1:{redis}";
  new_schema = true;
  min_learns = 1;
  min_tokens = 1;
  statfile {{ symbol = "BAYES_HAM"; spam = false; }}
  statfile {{ symbol = "BAYES_SPAM"; spam = true; }}
}}

worker "controller" {{
  bind_socket = "127.0.0.1:{controller}";
  count = 1;
  password = "{password}";
}}

worker "rspamd_proxy" {{
  bind_socket = "127.0.0.1:{proxy}";
  count = 1;
  milter = yes;
  timeout = 120s;
  upstream "local" {{
    default = yes;
    self_scan = yes;
  }}
  spam_header = "X-Spam";
  reject_message = "Spam message rejected";
}}

milter_headers {{
  use = ["x-spamd-result", "x-spam-status"];
  skip_local = false;
  skip_authenticated = false;
}}

settings {{
}}
"""

# Loaded by the package's rules/rspamd.lua from LOCAL_CONFDIR.
LOCAL_LUA = """\
-- tests/lib/rspamd.py: test-only rules.
local actions = {
  ['reject'] = 'reject',
  ['soft-reject'] = 'soft reject',
  ['add-header'] = 'add header',
}

rspamd_config:register_symbol({
  name = 'TEM_TEST_ACTION',
  type = 'prefilter',
  priority = 10,
  callback = function(task)
    local h = task:get_header('%(header)s')
    if not h then return end
    local action = actions[h:lower()]
    if not action then return end
    local message = 'Test action ' .. action
    if action == 'soft reject' then message = '%(soft)s' end
    task:set_pre_result(action, message, 'tem_test')
  end,
})

rspamd_config:register_symbol({
  name = 'TEM_AUTH_RESULTS',
  score = 0.0,
  group = 'tem_test',
  description = 'The Authentication-Results field the MTA passed on',
  callback = function(task)
    local h = task:get_header('Authentication-Results')
    if h then
      return true, 0.0, (h:gsub('%%s+', ' '))
    end
    return false
  end,
})
""" % {"header": TEST_HEADER, "soft": SOFT_REJECT_MESSAGE}

TLDS = "test\ncom\norg\nnet\nexample\nlocal\n"


def _redis_cmd(port, *args):
    """One redis command over RESP; returns the decoded reply."""
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(out)
        f = s.makefile("rb")
        return _resp_read(f)


def _resp_read(f):
    line = f.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind in (b"+", b":"):
        return rest.decode()
    if kind == b"-":
        raise RuntimeError("redis: " + rest.decode())
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:n]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise RuntimeError("redis: unexpected reply %r" % line)


class Rspamd:
    def __init__(self, password="tem-test-Rspamd-1"):
        self.password = password
        self.dir = None
        self.redis_proc = None
        self.proc = None
        self.ports = {}
        self.start_seconds = None
        self.keep = False

    @property
    def milter(self):
        return "inet:127.0.0.1:%d" % self.ports["proxy"]

    @property
    def controller(self):
        return "127.0.0.1:%d" % self.ports["controller"]

    @property
    def log_path(self):
        return os.path.join(self.dir, "rspamd.log")

    # --- start and stop --------------------------------------------------

    def __enter__(self):
        for path in (RSPAMD, REDIS):
            if not os.access(path, os.X_OK):
                raise RuntimeError("%s missing: scripts/deps.sh test "
                                   "installs rspamd and redis-server" % path)
        self.dir = tempfile.mkdtemp(prefix="tem-rspamd-")
        os.mkdir(os.path.join(self.dir, "db"))
        t0 = time.monotonic()
        try:
            self._start_redis()
            self._start_rspamd()
        except BaseException:
            self.keep = True
            self._stop_all()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def __exit__(self, exc_type, exc, tb):
        self._stop_all()
        if exc_type is None and not self.keep and \
                not os.environ.get("TEM_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def _start_redis(self):
        port = self.ports["redis"] = free_port()
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        with log:
            self.redis_proc = subprocess.Popen(
                [REDIS, "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--dir", os.path.join(self.dir, "db"),
                 "--unixsocket", "", "--protected-mode", "yes"],
                stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.dir)

        def ready():
            self._check_alive(self.redis_proc, "redis-server", "redis.log")
            try:
                return _redis_cmd(port, "PING") == "PONG"
            except OSError:
                return False
        wait_for(ready, START_TIMEOUT, "redis-server to answer PING")

    def _start_rspamd(self):
        self.ports["controller"] = free_port()
        self.ports["proxy"] = free_port()
        conf = os.path.join(self.dir, "rspamd.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(dir=self.dir, dns=quiet_dns_addr(),
                                redis=self.ports["redis"],
                                controller=self.ports["controller"],
                                proxy=self.ports["proxy"],
                                password=self.password))
        with open(os.path.join(self.dir, "rspamd.local.lua"), "w") as f:
            f.write(LOCAL_LUA)
        with open(os.path.join(self.dir, "tld.dat"), "w") as f:
            f.write(TLDS)
        cmd = [RSPAMD, "-f", "-c", conf,
               "--var", "LOCAL_CONFDIR=" + self.dir,
               "--var", "DBDIR=" + os.path.join(self.dir, "db"),
               "--var", "RUNDIR=" + self.dir,
               "--var", "LOGDIR=" + self.dir]
        if os.geteuid() == 0:
            # Workers as root: the temp dir is root's (0700), and rspamd
            # only touches files in it. -u/-g would need it chowned.
            cmd.append("-i")
        with open(os.path.join(self.dir, "rspamd.out"), "ab") as out:
            # A process group of its own: a test runner's ^C is not
            # rspamd's; it is stopped by its pid below.
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         cwd=self.dir, start_new_session=True)

        def ready():
            self._check_alive(self.proc, "rspamd", "rspamd.log")
            try:
                with urllib.request.urlopen(
                        "http://%s/ping" % self.controller, timeout=5) as r:
                    if r.read().strip() != b"pong":
                        return False
                socket.create_connection(("127.0.0.1", self.ports["proxy"]),
                                         timeout=5).close()
                return True
            except OSError:
                return False
        wait_for(ready, START_TIMEOUT, "rspamd's controller and proxy")

    def _check_alive(self, proc, name, log):
        rc = proc.poll()
        if rc is not None:
            raise RuntimeError("%s exited %d at start-up:\n%s" % (
                name, rc, self._tail(log)))

    def _tail(self, name, n=40):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no %s)" % name
        return "\n".join(lines[-n:])

    @staticmethod
    def _stop(proc):
        """SIGTERM by pid, SIGKILL after STOP_TIMEOUT."""
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _stop_all(self):
        # rspamd's main process stops its workers before it exits.
        self._stop(self.proc)
        self._stop(self.redis_proc)

    def stop_rspamd(self):
        """Stops rspamd only (redis stays): a test of a filter that is
        down."""
        self._stop(self.proc)

    # --- looking at it ---------------------------------------------------

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def learns(self):
        """{"spam": n, "ham": n}: the learn counters of the Bayes store
        (redis hash RS, fields learns_spam and learns_ham), which
        `rspamc stat` shows per statfile. rspamc reads them through the
        controller's statistics cache, refreshed every 30-60 s; this is
        the same number without the wait."""
        fields = _redis_cmd(self.ports["redis"], "HGETALL", "RS") or []
        d = dict(zip(fields[::2], fields[1::2]))
        return {"spam": int(d.get("learns_spam", 0)),
                "ham": int(d.get("learns_ham", 0))}

    def stat(self):
        """The controller's /stat as a dict (needs the password)."""
        req = urllib.request.Request("http://%s/stat" % self.controller,
                                     headers={"Password": self.password})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def statfile_learns(self):
        """{"BAYES_SPAM": n, "BAYES_HAM": n} as /stat (and `rspamc stat`)
        show them now (see learns())."""
        return {s["symbol"]: int(s.get("revision", 0))
                for s in self.stat().get("statfiles", [])}

    def rspamc(self, *args, stdin=None):
        """Runs rspamc against the controller; returns its stdout."""
        p = subprocess.run([RSPAMC, "-h", self.controller, "-P",
                            self.password] + list(args),
                           input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("rspamc %s -> %d: %s" % (
                " ".join(args), p.returncode, p.stderr.decode()))
        return p.stdout.decode("utf-8", "replace")


def module_rspamd(**kwargs):
    """Body of a module-scoped fixture: `yield from module_rspamd()`
    gives a started Rspamd, stopped after the module; its temp dir is kept
    when the module fails."""
    r = Rspamd(**kwargs)
    r.__enter__()
    try:
        yield r
    except BaseException:
        r.keep = True
        raise
    finally:
        r.__exit__(None, None, None)


@pytest.fixture(scope="module", name="rspamd")
def rspamd_fixture():
    """One Rspamd for a test module: `from rspamd import rspamd_fixture`
    makes the fixture `rspamd` available there."""
    yield from module_rspamd()
