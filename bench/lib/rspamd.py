"""rspamd: a private rspamd and its redis-server, the milter of
bench/smtp --milter rspamd (Postfix and tem both use the same one).

Trust: benchmark code run as root on a test machine. Both daemons listen on
127.0.0.1 only, run as their Debian users (_rspamd, redis) from a folder of
the bench's temporary directory, and are stopped by pid (the rspamd main
process's workers too, should they outlive it). rspamd's configuration is
bench/smtp/rspamd/ (copied into that folder): Debian's rules, every module
that would do DNS or HTTP disabled, the resolver pointed at a closed
loopback port, a proxy worker in milter mode (self_scan, 2 processes) and
a controller for the statistics. The milter listens on 127.0.0.1:PORT, or
on a unix socket in that folder (unix=True).

    r = Rspamd(base, milter_port, control_port, redis_port, log)
    r.start()        # None, or why it failed (logs are in base/rspamd)
    r.cpu_ms()       # {"rspamd": ms, "redis": ms} of both process trees
    r.stat()         # the controller's /stat: "scanned", "actions", ...
    r.stop()
Python 3 standard library only.
"""

import http.client
import json
import os
import pwd
import shutil
import signal
import subprocess
import time

from benchlib import (HERE, listening, proc_stat, run, tree_cpu_ms,
                      tree_pids)

DEBINSTALL = os.path.join(HERE, "debinstall.sh")
CONF_SRC = os.path.join(os.path.dirname(HERE), "smtp", "rspamd")
PROXIES = 2                 # rspamd_proxy count in rspamd.conf
START_TIMEOUT = 180         # config load + hyperscan compile, under load
HEADER = b"x-spamd-result:"  # what every scanned message must carry


def stop_proc(proc, log, what, grace=15):
    """SIGTERM PROC (a Popen), SIGKILL after GRACE s; then SIGKILL any of
    its descendants still alive (rspamd's workers, should the main process
    have died first)."""
    if proc is None:
        return
    kids = tree_pids(proc.pid)[1:] if proc.poll() is None else []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            log("%s: no exit %d s after SIGTERM; SIGKILL" % (what, grace))
            proc.kill()
            proc.wait()
    for pid in kids:
        if proc_stat(pid) is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Rspamd:
    name = "rspamd"

    def __init__(self, base, milter_port, control_port, redis_port, log,
                 unix=False):
        self.dir = os.path.join(base, "rspamd")
        self.milter_port = milter_port
        # UNIX: the milter on a unix socket instead of 127.0.0.1:PORT
        self.unix = os.path.join(self.dir, "run", "milter.sock") \
            if unix else None
        self.control_port = control_port
        self.redis_port = redis_port
        self.log = log
        self.proc = None
        self.redis = None
        self.files = []

    @staticmethod
    def install():
        """Install rspamd and redis-server if missing, no system instance
        started or enabled (raises CalledProcessError, or KeyError when a
        package's user is missing)."""
        run(["sh", DEBINSTALL, "rspamd", "redis-server"])
        pwd.getpwnam("_rspamd")
        pwd.getpwnam("redis")

    def milter(self):
        """The milter address, as Postfix and tem both spell it."""
        if self.unix:
            return "unix:" + self.unix
        return "inet:127.0.0.1:%d" % self.milter_port

    def _open(self, name):
        f = open(os.path.join(self.dir, name), "wb")
        self.files.append(f)
        return f

    def _wait(self, proc, port, deadline, what, path=None):
        """Wait until PROC listens on 127.0.0.1:PORT (or made the socket
        PATH)."""
        while not (os.path.exists(path) if path else listening(port)):
            if proc.poll() is not None:
                return "%s exited with status %s" % (what, proc.returncode)
            if time.monotonic() > deadline:
                return "%s did not listen on %s" % (
                    what, path or "127.0.0.1:%d" % port)
            time.sleep(0.2)
        return None

    def start(self):
        """Start redis-server, then rspamd; wait until both proxy workers
        loaded their compiled regular expressions. None, or why not."""
        for port in (self.milter_port, self.control_port, self.redis_port):
            if listening(port):
                return "port %d is in use" % port
        etc = os.path.join(self.dir, "etc")
        shutil.copytree(CONF_SRC, etc)
        rs = pwd.getpwnam("_rspamd")
        rd = pwd.getpwnam("redis")
        for sub, user in (("db", rs), ("run", rs), ("log", rs),
                          ("redis", rd)):
            os.makedirs(os.path.join(self.dir, sub))
            os.chown(os.path.join(self.dir, sub), user.pw_uid, user.pw_gid)
        os.chmod(self.dir, 0o755)
        deadline = time.monotonic() + 15
        # No persistence: the bench's data dies with the run.
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port),
             "--bind", "127.0.0.1", "--protected-mode", "yes",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", os.path.join(self.dir, "redis"),
             "--logfile", os.path.join(self.dir, "redis", "redis.log")],
            stdin=subprocess.DEVNULL, stdout=self._open("redis.out"),
            stderr=subprocess.STDOUT, user=rd.pw_uid, group=rd.pw_gid,
            extra_groups=[])
        why = self._wait(self.redis, self.redis_port, deadline,
                         "redis-server")
        if why:
            return why
        v = {"LOCAL_CONFDIR": etc,
             "DBDIR": os.path.join(self.dir, "db"),
             "RUNDIR": os.path.join(self.dir, "run"),
             "LOGDIR": os.path.join(self.dir, "log"),
             # Postfix's cleanup (user postfix) and tem connect to it.
             "BENCH_MILTER": self.unix + " mode=0666" if self.unix
             else "127.0.0.1:%d" % self.milter_port,
             "BENCH_CONTROL": "127.0.0.1:%d" % self.control_port,
             "BENCH_REDIS": "127.0.0.1:%d" % self.redis_port}
        self.proc = subprocess.Popen(
            ["rspamd", "-f", "-u", "_rspamd", "-g", "_rspamd",
             "-c", os.path.join(etc, "rspamd.conf")]
            + ["--var=%s=%s" % kv for kv in sorted(v.items())],
            stdin=subprocess.DEVNULL, stdout=self._open("rspamd.out"),
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        why = self._wait(self.proc, self.milter_port, deadline, "rspamd",
                         self.unix)
        if why:
            return why + " (log: %s/log/rspamd.log)" % self.dir
        # Until hs_helper has compiled the rules, rspamd scans with PCRE
        # (slower): measure only once every proxy worker loaded them.
        logf = os.path.join(self.dir, "log", "rspamd.log")
        while self._hyperscan_loaded(logf) < PROXIES:
            if self.proc.poll() is not None:
                return "rspamd exited with status %s" % self.proc.returncode
            if time.monotonic() > deadline:
                self.log("rspamd: no hyperscan database loaded after %d s; "
                         "measuring anyway" % START_TIMEOUT)
                break
            time.sleep(0.5)
        try:
            self.stat()
        except (OSError, ValueError) as e:
            return "rspamd's controller does not answer: %s" % e
        return None

    @staticmethod
    def _hyperscan_loaded(logf):
        n = 0
        try:
            with open(logf, "rb") as f:
                for line in f:
                    if b"(rspamd_proxy)" in line and \
                            b"full hyperscan database" in line:
                        n += 1
        except OSError:
            pass
        return n

    def stat(self):
        """The controller's /stat as a dict (raises OSError/ValueError)."""
        c = http.client.HTTPConnection("127.0.0.1", self.control_port,
                                       timeout=10)
        try:
            try:
                c.request("GET", "/stat")
                r = c.getresponse()
                body = r.read()
            except http.client.HTTPException as e:
                raise ValueError("GET /stat: %r" % e) from e
            if r.status != 200:
                raise ValueError("GET /stat: HTTP %d" % r.status)
            return json.loads(body)
        finally:
            c.close()

    def cpu_ms(self):
        """CPU ms of rspamd's process tree and of redis-server (None for
        one that is gone)."""
        return {"rspamd": tree_cpu_ms(self.proc.pid) if self.proc else None,
                "redis": tree_cpu_ms(self.redis.pid) if self.redis else None}

    def alive(self):
        return (self.proc is not None and self.proc.poll() is None
                and self.redis is not None and self.redis.poll() is None)

    def stop(self):
        stop_proc(self.proc, self.log, "rspamd")
        self.proc = None
        stop_proc(self.redis, self.log, "redis-server")
        self.redis = None
        for f in self.files:
            f.close()
        self.files = []


def check_delivered(newdir, count):
    """Every file in NEWDIR (a Maildir new/) carries rspamd's header in its
    header section, and there are exactly COUNT of them: None, or what is
    wrong."""
    names = os.listdir(newdir)
    missing = 0
    example = None
    for name in names:
        with open(os.path.join(newdir, name), "rb") as f:
            head = f.read(65536)
        end = head.find(b"\n\n")
        head = (head if end < 0 else head[:end + 1]).lower()
        if not (head.startswith(HEADER) or b"\n" + HEADER in head):
            missing += 1
            example = example or name
    errs = []
    if len(names) != count:
        errs.append("%d messages in new/ for %d sent" % (len(names), count))
    if missing:
        errs.append("%d without X-Spamd-Result (e.g. %s)" % (missing, example))
    return "; ".join(errs) or None
