#!/usr/bin/python3
"""bench/pop3: POP3 download rate, tem against Dovecot's POP3 server.

Trust: a benchmark driver run as root on a test machine; it talks only to
127.0.0.1, starts a private Dovecot (its own config, base_dir and log in a
temporary directory; never the system instance, nothing on port 110) and
build/tem, and always stops both (finally + signal handlers).

Both servers serve the same users bench1..benchN@bench.test (password
"pw"; Dovecot: passwd-file with {PLAIN} passwords, one system user `bench`
owning every home, mail_location maildir:~/Maildir; tem: its accounts, so
yescrypt) and the same Maildir content: for each message size the same
files, byte for byte and with the same names (",S=<size>,W=<wire size>"
so neither server has to read a file to learn its size), are written into
every user's cur/ on both servers. A warm-up pass then lets each server
build its index and set \\Seen on everything (both mark RETR'd messages
seen), so the measured passes change nothing on disk.

For each case (CLIENTS x BYTES) bench/pop3/pop3load.py runs CLIENTS client
processes at once, client i as bench<i>: login (USER/PASS), STAT, RETR of
every message one after another, QUIT without DELE. Measured per server:
  msg/s   RETRs / (first connection .. last QUIT answered)
  MB/s    sum of the "+OK N octets" / the same time (MB = 10^6 octets)
  CPU     utime+stime (+cutime+cstime) of the server's process tree
          (Dovecot: master and every descendant, live or reaped; tem: its
          one process) over the run, ms per message
and the ratio tem/Dovecot. Each case runs --repeat times per server
(which server goes first alternates); the table shows the rate's
min/median/max and the rest of the run with the median rate: other work
on a shared machine makes single runs noisy. Both servers log at their
info level (Dovecot's default, tem's log_level info); both stores are in
one temporary directory on a disk filesystem (--dir, checked: tmpfs is
refused). --json FILE keeps every run, the git commit and the CPU model.
Python 3 standard library only; shared parts in bench/lib/benchlib.py.
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
from benchlib import (ROOT, Stop, add_run_options,  # noqa: E402
                      catch_signals, children_cpu_ms, finish_run_options,
                      fmt, fmt3, listening, machine_busy_ms, make_log,
                      parse_known, proc_stat, ratio, self_cpu_ms, store_check,
                      tree_cpu_ms, write_json)
import benchlib  # noqa: E402

POP3LOAD = os.path.join(HERE, "pop3load.py")
DOMAIN = "bench.test"
PW = "pw"
MAIL_USER = "bench"             # system user owning Dovecot's homes
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
DOVECOT_POP3 = "/usr/lib/dovecot/pop3"

# bytes -> messages in each user's mailbox. Sized on a 2-CPU VM so that a
# run of the slower server lasts a few seconds at 1 client.
COUNTS = {5120: 2000, 102400: 300}

log = make_log("bench/pop3")


def user(i):
    return "bench%d@%s" % (i, DOMAIN)


# ---------------------------------------------------------------- POP3 probe

def pop3_login_ok(port, address, pw, timeout=3.0):
    """True when 127.0.0.1:PORT takes USER/PASS for ADDRESS."""
    try:
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=timeout) as s:
            f = s.makefile("rb")
            if not f.readline().startswith(b"+OK"):
                return False
            s.sendall(b"USER %s\r\n" % address.encode())
            if not f.readline().startswith(b"+OK"):
                return False
            s.sendall(b"PASS %s\r\n" % pw.encode())
            ok = f.readline().startswith(b"+OK")
            s.sendall(b"QUIT\r\n")
            f.readline()
            return ok
    except OSError:
        return False


# ---------------------------------------------------------------- Dovecot

def dovecot_install():
    """dovecot-pop3d from Debian if missing, with no system instance
    started (policy-rc.d) nor enabled at boot."""
    if os.access(DOVECOT_POP3, os.X_OK) and os.access(DOVECOT, os.X_OK):
        return True
    log("installing dovecot-pop3d (no autostart)")
    made = False
    if not os.path.exists("/usr/sbin/policy-rc.d"):
        with open("/usr/sbin/policy-rc.d", "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod("/usr/sbin/policy-rc.d", 0o755)
        made = True
    try:
        r = subprocess.run(["apt-get", "install", "-y", "-q",
                            "--no-install-recommends", "dovecot-pop3d"],
                           env=dict(os.environ,
                                    DEBIAN_FRONTEND="noninteractive"),
                           stdout=subprocess.DEVNULL)
    finally:
        if made:
            os.unlink("/usr/sbin/policy-rc.d")
    subprocess.run(["update-rc.d", "dovecot", "disable"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0 and os.access(DOVECOT_POP3, os.X_OK)


def mail_user():
    """(uid, gid) of the system user owning Dovecot's homes (made if
    missing, as bench/lib/postfix.sh does)."""
    try:
        pw = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--create-home",
                        "--home-dir", "/home/" + MAIL_USER, "--shell",
                        "/usr/sbin/nologin", MAIL_USER], check=True)
        pw = pwd.getpwnam(MAIL_USER)
    return pw.pw_uid, pw.pw_gid


class Dovecot:
    """A private Dovecot (POP3 only) in BASE/dovecot on 127.0.0.1:PORT."""
    name = "dovecot"

    def __init__(self, base, port, nusers):
        self.dir = os.path.join(base, "dovecot")
        self.port = port
        self.nusers = nusers
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.pid = None
        self.started = False
        self.uid, self.gid = mail_user()

    def home(self, i):
        return os.path.join(self.dir, "home", "bench%d" % i)

    def maildir(self, i):
        return os.path.join(self.home(i), "Maildir")

    def write_conf(self):
        d = self.dir
        os.makedirs(os.path.join(d, "home"))
        with open(os.path.join(d, "passwd"), "w") as f:
            for i in range(1, self.nusers + 1):
                f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (
                    user(i), PW, self.uid, self.gid, self.home(i)))
        for i in range(1, self.nusers + 1):
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(self.maildir(i), sub))
        for root, dirs, _ in os.walk(os.path.join(d, "home")):
            for x in dirs:
                os.chown(os.path.join(root, x), self.uid, self.gid)
        os.chown(os.path.join(d, "home"), self.uid, self.gid)
        with open(self.conf, "w") as f:
            f.write("""# bench/pop3: a private Dovecot, as /work/shared/PEERS.md says
instance_name = tem-bench-pop3
protocols = pop3
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 1000
default_client_limit = 2000
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = {d}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
  process_limit = 1000
}}
service pop3 {{
  process_limit = 1000
}}
service anvil {{
  client_limit = 3000
}}
service auth {{
  client_limit = 3000
}}
""".format(d=d, uid=self.uid, port=self.port))

    def start(self):
        if listening(self.port):
            log("dovecot: something listens on 127.0.0.1:%d" % self.port)
            return False
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.write_conf()
        self.started = True
        # The master daemonizes and keeps its stdout: a file, not a pipe.
        out = os.path.join(self.dir, "start.out")
        with open(out, "wb") as f:
            r = subprocess.run([DOVECOT, "-c", self.conf],
                               stdin=subprocess.DEVNULL, stdout=f,
                               stderr=subprocess.STDOUT)
        if r.returncode != 0:
            with open(out, "rb") as f:
                log("dovecot: did not start: %s" % f.read().decode(
                    errors="replace").strip()[-500:])
            return False
        pidfile = os.path.join(self.dir, "run", "master.pid")
        deadline = time.monotonic() + 10
        while not pop3_login_ok(self.port, user(1), PW):
            if time.monotonic() > deadline:
                log("dovecot: no POP3 login on 127.0.0.1:%d (log: %s)"
                    % (self.port, os.path.join(self.dir, "dovecot.log")))
                return False
            time.sleep(0.1)
        with open(pidfile) as f:
            self.pid = int(f.read().split()[0])
        return True

    def stop(self):
        if not self.started:
            return
        self.started = False
        subprocess.run([DOVEADM, "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while self.pid and proc_stat(self.pid) is not None:
            if time.monotonic() > deadline:
                log("dovecot: master %d still there; SIGKILL" % self.pid)
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
                break
            time.sleep(0.05)

    def cpu_ms(self):
        return tree_cpu_ms(self.pid)

    def alive(self):
        return self.pid is not None and proc_stat(self.pid) is not None

    def chown(self, path):
        os.chown(path, self.uid, self.gid)


# ---------------------------------------------------------------- tem

class Tem(benchlib.Tem):
    """build/tem with pop3_listen; SMTP only for benchlib's readiness."""

    def __init__(self, base, port, smtp_port, binary, nusers):
        super().__init__(base, smtp_port, binary, [
            "smtp_listen = 127.0.0.1:%d" % smtp_port,
            "pop3_listen = 127.0.0.1:%d" % port,
            "auth_allow_cleartext = yes",
            "max_sessions_per_ip = 1000",
            "max_connections_per_minute = 0",
            # as Dovecot, which logs every login at its default level
            "log_level = info"], log, user(1), PW)
        self.pop3_port = port
        self.nusers = nusers

    def maildir(self, i):
        return os.path.join(self.data, "mail", DOMAIN, "bench%d" % i)

    def start(self):
        def ready():
            # Every refused login is a failure that tem logs and throttles
            # (and locks out after 10): give the accounts poll time first.
            time.sleep(1.2)
            return pop3_login_ok(self.pop3_port, user(1), PW)
        if not super().start(ready, "POP3 login of %s" % user(1)):
            return False
        for i in range(2, self.nusers + 1):
            subprocess.run([self.bin, "-c", self.conf, "user", "add",
                            user(i)], input=(PW + "\n").encode(),
                           stdout=subprocess.DEVNULL, check=True,
                           timeout=30)
        time.sleep(1.5)
        for i in range(2, self.nusers + 1):
            for _ in range(3):
                if pop3_login_ok(self.pop3_port, user(i), PW):
                    break
                time.sleep(1.5)
            else:
                log("tem: no POP3 login for %s" % user(i))
                return False
        return True

    def chown(self, path):
        pass


# ---------------------------------------------------------------- content

def message(i, size, rng_line):
    """A message of about SIZE bytes with LF line ends; one body line
    starts with a dot (dot-stuffing is part of the work)."""
    head = ("Return-Path: <sender@bench.test>\n"
            "Delivered-To: bench@bench.test\n"
            "From: Sender <sender@bench.test>\n"
            "To: <bench@bench.test>\n"
            "Subject: bench message %d\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0000\n"
            "Message-ID: <%d.%d@bench.test>\n"
            "\n" % (i, i, size)).encode()
    body = bytearray(b".a line with a dot\n")
    while len(head) + len(body) < size:
        body += rng_line
    return head + bytes(body[:max(0, size - len(head) - 1)]) + b"\n"


def fill(servers, nusers, count, size):
    """Empties every user's Maildir on each server and writes the same
    COUNT messages of SIZE bytes (same names) into cur/."""
    line = (b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
            b"sed do eiusmod.\n")
    msgs = []
    for i in range(count):
        data = message(i, size, line)
        wire = len(data) + data.count(b"\n")
        name = "%d.M%dP%dQ%d.bench,S=%d,W=%d:2," % (
            1795000000 + i, i, 4242, i, len(data), wire)
        msgs.append((name, data))
    for srv in servers:
        for u in range(1, nusers + 1):
            root = srv.maildir(u)
            for sub in ("cur", "new"):
                d = os.path.join(root, sub)
                for n in os.listdir(d):
                    os.unlink(os.path.join(d, n))
            for name, data in msgs:
                p = os.path.join(root, "cur", name)
                with open(p, "wb") as f:
                    f.write(data)
                srv.chown(p)
    os.sync()


# ---------------------------------------------------------------- runs

def load(server, port, clients, count, timeout):
    """One measured run: {"error": None, "rate", "mbs", "cpu", "secs",
    "gen", "bg"} or {"error": why}."""
    time.sleep(0.2)
    users = ",".join(user(i) for i in range(1, clients + 1))
    cpu0, self0 = server.cpu_ms(), self_cpu_ms()
    busy0, kids0 = machine_busy_ms(), children_cpu_ms()
    t_spawn = time.monotonic()
    gen = subprocess.Popen([sys.executable, POP3LOAD, "--port", str(port),
                            "--users", users, "--password", PW,
                            "--timeout", str(timeout)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        out, err = gen.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        gen.kill()
        gen.wait()
        return {"error": "timed out after %d s" % timeout}
    try:
        res = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "load generator exited %s: %s" % (
            gen.returncode, err.decode("utf-8", "replace").strip()[-300:])}
    if res["errors"] or res["ok"] != clients:
        return {"error": "; ".join(res["errors"][:3]) or "sessions failed"}
    if res["msgs"] != clients * count:
        return {"error": "%d messages downloaded, want %d" % (
            res["msgs"], clients * count)}
    cpu1, self1 = server.cpu_ms(), self_cpu_ms()
    busy1, kids1 = machine_busy_ms(), children_cpu_ms()
    if cpu0 is None or cpu1 is None:
        return {"error": "server process gone"}
    secs = res["t_last"] - res["t0"]
    wall = (time.monotonic() - t_spawn) * 1000.0
    other = ((busy1 - busy0) - (cpu1 - cpu0) - (kids1 - kids0)
             - (self1 - self0))
    return {"error": None, "rate": res["msgs"] / secs,
            "mbs": res["octets"] / secs / 1e6, "secs": secs,
            "cpu": (cpu1 - cpu0) / res["msgs"],
            "gen": res["cpu_ms"] / max(1.0, secs * 1000.0),
            "bg": max(0.0, other) / (wall * os.cpu_count()) * 100}


def median(runs):
    """The run with the median rate (the first error if any failed)."""
    bad = [r for r in runs if r["error"]]
    if bad:
        return bad[0]
    runs = sorted(runs, key=lambda r: r["rate"])
    return runs[(len(runs) - 1) // 2]


def case_name(clients, size, count):
    return "%dc x %dKB x %d" % (clients, size // 1024, count)


def report(cases, results, notes, allruns, repeat):
    print()
    print("POP3 download (login, STAT, RETR all, QUIT; no DELE), %d CPUs; "
          "Dovecot %s; msg/s min/median/max of %d runs, the rest from the "
          "median run" % (os.cpu_count(), dovecot_version(), repeat))
    hdr = ("%-20s %17s %17s %6s  %7s %7s  %7s %7s %6s" % (
        "case (msgs/client)", "dc msg/s", "tem msg/s", "tem/dc", "dc MB/s",
        "tem MB/s", "dc cpu", "tem cpu", "tem/dc"))
    print("%-20s %-43s %-16s %s" % ("", "download rate", "MB/s",
                                   "CPU ms/msg"))
    print(hdr)
    print("-" * len(hdr))
    gens, bgs = [], []
    for clients, size, count in cases:
        dc = results.get(("dovecot", clients, size)) or {}
        tm = results.get(("tem", clients, size)) or {}
        rates = [[r["rate"] for r in allruns.get((who, clients, size), [])
                  if not r["error"]] for who in ("dovecot", "tem")]
        print("%-20s %17s %17s %6s  %7s %7s  %7s %7s %6s" % (
            case_name(clients, size, count),
            fmt3(rates[0], ".0f"), fmt3(rates[1], ".0f"),
            fmt(ratio(tm.get("rate"), dc.get("rate")), ".2f"),
            fmt(dc.get("mbs"), ".1f"), fmt(tm.get("mbs"), ".1f"),
            fmt(dc.get("cpu"), ".3f"), fmt(tm.get("cpu"), ".3f"),
            fmt(ratio(tm.get("cpu"), dc.get("cpu")), ".2f")))
        for who, r in (("dovecot", dc), ("tem", tm)):
            if r.get("error"):
                print("    %s: %s" % (who, r["error"]))
            if r.get("gen") is not None:
                gens.append((r["gen"], who, case_name(clients, size, count)))
            if r.get("bg") is not None:
                bgs.append(r["bg"])
    if gens:
        g = max(gens)
        print("load generator (one process per client): at most %.0f%% of "
              "one CPU in all (%s, %s)" % (g[0] * 100, g[1], g[2]))
    for n in notes:
        print(n)
    if bgs:
        print("other load on the machine during the runs: %.0f%% on "
              "average, %.0f%% at most (of all CPUs; above ~10%% the "
              "figures are noisy)" % (sum(bgs) / len(bgs), max(bgs)))


def dovecot_version():
    try:
        r = subprocess.run([DOVECOT, "--version"], capture_output=True,
                           text=True, timeout=10)
        return r.stdout.strip().split()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "?"


# ---------------------------------------------------------------- main

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=("both", "dovecot", "tem", "postfix"),
                   default="both", help="servers to measure (postfix: "
                   "none here; bench/run.sh passes the option to all)")
    add_run_options(p, "--clients 1 --sizes 5120 --scale 0.05")
    p.add_argument("--clients", default=None,
                   help="parallel clients, default 1,10")
    p.add_argument("--sizes", default=None, help="bytes, default 5120,102400")
    p.add_argument("--scale", type=float, default=None,
                   help="multiply message counts (default 1)")
    p.add_argument("--timeout", type=int, default=300,
                   help="seconds a run may take before it is reported failed")
    p.add_argument("--tem", default=os.path.join(ROOT, "build", "tem"))
    p.add_argument("--dovecot-port", type=int, default=10110)
    p.add_argument("--tem-port", type=int, default=10111)
    p.add_argument("--tem-smtp-port", type=int, default=10028)
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (logs, configs)")
    return finish_run_options(
        p, parse_known(p, log),
        {"clients": "1", "sizes": "5120", "scale": 0.05},
        {"clients": "1,10", "sizes": "5120,102400", "scale": 1.0})


def main():
    args = parse_args()
    clients = [int(x) for x in args.clients.split(",")]
    sizes = [int(x) for x in args.sizes.split(",")]
    nusers = max(clients)
    if args.only == "postfix":
        log("--only postfix: nothing to measure here")
        return 0
    if os.geteuid() != 0:
        log("must run as root")
        return 1
    if args.only != "tem" and not dovecot_install():
        log("dovecot-pop3d could not be installed")
        return 1
    why = store_check([("the stores (--dir)", args.dir)])
    if why:
        log(why)
        return 2
    base = tempfile.mkdtemp(prefix="tem-bench-pop3.", dir=args.dir)
    os.chmod(base, 0o755)
    servers = []
    results = {}
    allruns = {}
    rawruns = []
    notes = []
    ok = True
    catch_signals()
    try:
        if args.only in ("both", "dovecot"):
            dc = Dovecot(base, args.dovecot_port, nusers)
            servers.append(dc)
            if not dc.start():
                return 1
        if args.only in ("both", "tem"):
            tm = Tem(base, args.tem_port, args.tem_smtp_port, args.tem,
                     nusers)
            servers.append(tm)
            if not tm.start():
                return 1
        cases = []
        i = 0
        for size in sizes:
            count = max(1, int(COUNTS.get(size, 500) * args.scale))
            fill(servers, nusers, count, size)
            for srv in servers:          # warm-up: index, \Seen, cache
                r = load(srv, port_of(srv), nusers, count, args.timeout)
                if r["error"]:
                    log("%s: warm-up failed: %s" % (srv.name, r["error"]))
                    ok = False
            for c in clients:
                cases.append((c, size, count))
                runs = {srv.name: [] for srv in servers}
                for rep in range(1, args.repeat + 1):
                    order = servers if i % 2 == 0 else servers[::-1]
                    i += 1
                    for srv in order:
                        log("%s: %s" % (srv.name, case_name(c, size, count)))
                        r = load(srv, port_of(srv), c, count, args.timeout)
                        runs[srv.name].append(r)
                        rawruns.append(dict(r, server=srv.name, clients=c,
                                            size=size, count=count,
                                            repeat=rep))
                        if r["error"]:
                            ok = False
                for srv in servers:
                    results[(srv.name, c, size)] = median(runs[srv.name])
                    allruns[(srv.name, c, size)] = runs[srv.name]
        report(cases, results, notes, allruns, args.repeat)
        if args.json:
            write_json(args.json, "pop3", args, rawruns)
            log("raw data in %s" % args.json)
    except Stop as e:
        log("stopped: %s" % e)
        ok = False
    finally:
        for srv in servers:
            srv.stop()
        if args.keep:
            log("kept %s" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


def port_of(srv):
    return srv.pop3_port if isinstance(srv, Tem) else srv.port


if __name__ == "__main__":
    sys.exit(main())
