#!/usr/bin/python3
"""bench/imap: IMAP throughput and memory per session, tem vs Dovecot.

Trust: a benchmark driver run as root on a test machine; it talks only to
127.0.0.1, starts a private Dovecot (bench/imap/dovecot.py) and build/tem
in a temporary directory, always stops both (finally + signal handlers),
and puts back the one machine-wide setting it may change
(fs.inotify.max_user_instances).

Both servers get the same USERS accounts (u1..uN@bench.test, password pw)
and the same INBOX: MESSAGES messages of 2-8 KB (fixed seed), copied as
Maildir files into both stores (70% \\Seen, 5% \\Flagged); each server
builds its index at the first SELECT, during the warm-up.

1. Mixed load (bench/imap/imapload.py, asyncio, several processes): for
   each case (a login every 10 commands / long sessions x CLIENTS) and each
   server (alternating which goes first) ops/s = IMAP commands answered OK
   within a DURATION-second window / DURATION. A session is LOGIN, SELECT
   INBOX, then cycles of FETCH 20 headers, FETCH a body, STORE a flag,
   SEARCH, APPEND, STORE \\Deleted, EXPUNGE; with logins one cycle and
   LOGOUT per session. Each case runs --repeat (3) times per server; the
   table shows ops/s min/median/max and the rest from the median run.
2. Memory: SESSIONS (1,000 and 10,000) connections logged in and idle,
   then the same connections SELECTed and in IDLE: the growth of the PSS
   summed over all of the server's processes (smaps_rollup) divided by the
   sessions held; beside it the drop of MemAvailable minus the session
   holder's own RSS growth (this one includes kernel memory: sockets,
   page tables and kernel stacks of Dovecot's processes).
Both servers log at their info level (Dovecot's default, tem's log_level
info); both stores are in one temporary directory on a disk filesystem
(--dir, checked: tmpfs is refused). --json FILE keeps every run, the
memory figures, the git commit and the CPU model.
Python 3 standard library only; shared parts in bench/lib/benchlib.py.
"""

import argparse
import imaplib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(os.path.dirname(HERE), "lib")
sys.path.insert(0, LIB)
sys.path.insert(0, HERE)
from benchlib import (ROOT, Stop, add_run_options,  # noqa: E402
                      catch_signals, finish_run_options, fmt, fmt3,
                      listening, machine_busy_ms, make_log, parse_known,
                      proc_stat, ratio, self_cpu_ms, store_check,
                      tree_cpu_ms, tree_pids, write_json)
import benchlib  # noqa: E402
import dovecot  # noqa: E402

IMAPLOAD = os.path.join(HERE, "imapload.py")
DOMAIN = "bench.test"
USER_FMT = "u%d@" + DOMAIN
PW = "pw"
INOTIFY = "/proc/sys/fs/inotify/max_user_instances"

# Targets from the issue.
TARGET_LOGIN = 3.0          # tem >= 3x Dovecot's ops/s with logins (issue 12)
TARGET_LONG = 1.5           # tem >= 1.5x with long sessions (issue 12)
TARGET_KB = 64              # KB per idle session
TARGET_HELD = 10000         # IDLE sessions held on one machine

log = make_log("bench/imap")


# ---------------------------------------------------------------- content

WORDS = ("alpha beta gamma delta report meeting invoice lunch status draft "
         "project budget review plan release notes server mail queue "
         "index cache thread search").split()


def make_messages(count, seed=1):
    """[(file name, LF bytes)] of COUNT messages of 2-8 KB; the same every
    run. Names are Maildir names with the exact size (S=) and flags."""
    rng = random.Random(seed)
    out = []
    t0 = 1700000000
    for i in range(count):
        size = rng.randint(2048, 8192)
        subj = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
        day = 1 + i % 28
        head = ("From: Sender %d <sender%d@example.test>\n"
                "To: <bench@bench.test>\n"
                "Subject: %s\n"
                "Date: %s, %d Nov 2023 %02d:%02d:00 +0000\n"
                "Message-ID: <m%d.%d@example.test>\n"
                "MIME-Version: 1.0\n"
                "Content-Type: text/plain; charset=us-ascii\n\n"
                % (i % 20, i % 20, subj,
                   ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[i % 7],
                   day, i % 24, i % 60, i, seed)).encode()
        lines = []
        n = len(head)
        while n < size:
            line = " ".join(rng.choice(WORDS) for _ in range(12)) + "\n"
            lines.append(line.encode())
            n += len(line)
        data = head + b"".join(lines)
        flags = ""
        if rng.random() < 0.05:
            flags += "F"
        if rng.random() < 0.7:
            flags += "S"
        name = "%d.M%dP1.bench,S=%d:2,%s" % (t0 + i * 60, i, len(data), flags)
        out.append((name, data, t0 + i * 60))
    return out


def write_maildir(cur, messages):
    os.makedirs(cur, exist_ok=True)
    for name, data, mtime in messages:
        path = os.path.join(cur, name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (mtime, mtime))


# ---------------------------------------------------------------- servers

def imap_check(port, user, password, want_exists=None, timeout=10.0):
    """LOGIN (and SELECT INBOX): None when fine, else why not."""
    try:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=timeout)
    except OSError as e:
        return "connect: %s" % e
    try:
        m.login(user, password)
        if want_exists is not None:
            typ, dat = m.select("INBOX")
            if typ != "OK":
                return "SELECT: %s" % dat
            if int(dat[0]) != want_exists:
                return "SELECT: %s messages, want %d" % (dat[0], want_exists)
        m.logout()
        return None
    except (imaplib.IMAP4.error, OSError) as e:
        return str(e)
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


def private_copy(binary, dest, wait=60):
    """Copies BINARY to DEST and returns DEST, so that a rebuild of
    build/tem during the run changes nothing (a link in progress leaves the
    file not executable: waits up to WAIT s for it). Returns BINARY itself
    when it is missing (Tem.start says so)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if os.access(binary, os.X_OK):
            try:
                shutil.copy2(binary, dest)
                if os.access(dest, os.X_OK):
                    return dest
            except OSError:
                pass
        elif not os.path.exists(binary):
            return binary
        time.sleep(1.0)
    return binary


class Tem(benchlib.Tem):
    """build/tem with IMAP on PORT (SMTP on SMTP_PORT for the start-up
    probe), cleartext LOGIN, high per-address and per-user session caps."""

    def __init__(self, base, port, smtp_port, binary, max_sessions):
        super().__init__(base, smtp_port, binary, [
            "imap_listen = 127.0.0.1:%d" % port,
            "smtp_listen = 127.0.0.1:%d" % smtp_port,
            "auth_allow_cleartext = yes",
            "max_sessions_per_ip = %d" % max_sessions,
            # no rate limit on new connections (a login per session)
            "max_connections_per_minute = 0",
            # as Dovecot's mail_max_userip_connections, raised for the
            # memory figures (200 sessions per user at 10,000)
            "imap_max_sessions_per_user = %d" % max_sessions,
            # as Dovecot, which logs every login at its default level
            "log_level = info"], log, USER_FMT % 1, PW)
        self.imap_port = port
        self.users = []
        self.bin = private_copy(binary, os.path.join(self.dir, "tem"))

    def maildir(self, user):
        local, _, domain = user.partition("@")
        return os.path.join(self.data, "mail", domain, local)

    def start_with(self, users, messages):
        """Starts, adds USERS, copies MESSAGES into each INBOX, waits until
        the last user can log in and sees them all."""
        if not super().start(lambda: True, "start"):
            return False
        for u in users[1:]:
            try:
                benchlib.run([self.bin, "-c", self.conf, "user", "add", u],
                             input=(PW + "\n").encode(),
                             stdout=subprocess.DEVNULL, timeout=30)
            except (subprocess.CalledProcessError,
                    subprocess.TimeoutExpired, OSError) as e:
                log("tem: user add %s failed: %s" % (u, e))
                return False
        for u in users:
            write_maildir(os.path.join(self.maildir(u), "cur"), messages)
        # Every refused LOGIN is a logged, throttled authentication failure
        # (10 lock the address out): give the accounts poll (1 s) time.
        why = None
        for _ in range(5):
            time.sleep(1.5)
            why = imap_check(self.imap_port, users[-1], PW, len(messages))
            if why is None:
                return True
        log("tem: %s cannot use its INBOX: %s (log: %s)" % (
            users[-1], why, self.log_path()))
        return False

    def pids(self):
        return [self.pid] if self.alive() else []


class Dovecot(dovecot.Dovecot):
    def __init__(self, base, port, limit):
        super().__init__(base, port, limit, log)
        self.imap_port = port

    def start_with(self, users, messages):
        for u in users:
            self.add_user(u, PW)
            write_maildir(os.path.join(self.maildir(u), "cur"), messages)
        if not self.start():
            return False
        deadline = time.monotonic() + 10
        why = None
        while time.monotonic() < deadline:
            why = imap_check(self.imap_port, users[-1], PW, len(messages))
            if why is None:
                return True
            time.sleep(0.2)
        log("dovecot: %s cannot use its INBOX: %s (log: %s)" % (
            users[-1], why, self.log_path()))
        return False

    def cpu_ms(self):
        return tree_cpu_ms(self.pid)

    def pids(self):
        return tree_pids(self.pid)


def pss_kb(pids):
    """Summed PSS (KB) of PIDS (those that vanish are skipped)."""
    total = 0
    for pid in pids:
        try:
            pss, _ = benchlib.mem_kb(pid)
        except OSError:
            continue
        total += pss or 0
    return total


def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- load

def gen_cmd(port, users, extra):
    return [sys.executable, IMAPLOAD] + extra + [
        "--port", str(port), "--users", str(users), "--user-fmt", USER_FMT,
        "--password", PW]


def load(server, clients, per_login, duration, procs, users, timeout,
         read_only=False):
    """One measured run of the mixed load; returns a dict (see report)."""
    os.sync()
    time.sleep(0.2)
    procs = max(1, min(procs, clients))
    lead = 1.5 if per_login else 2.0 + clients * 0.06
    start_at = time.monotonic() + lead
    gens = []
    for p in range(procs):
        n = clients // procs + (1 if p < clients % procs else 0)
        first = sum(clients // procs + (1 if q < clients % procs else 0)
                    for q in range(p))
        cmd = gen_cmd(server.imap_port, users, [
            "mix", "--clients", str(n), "--first", str(first),
            "--duration", str(duration), "--start-at", "%.6f" % start_at,
            "--per-login", str(per_login), "--timeout", str(timeout)]
            + (["--read-only"] if read_only else []))
        gens.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE))
    # sample the server and the machine at the window's edges
    while time.monotonic() < start_at:
        time.sleep(min(0.05, max(0.0, start_at - time.monotonic())))
    cpu0, busy0, self0 = server.cpu_ms(), machine_busy_ms(), self_cpu_ms()
    gen0 = [gen_cpu_ms(g.pid) for g in gens]
    end = start_at + duration
    while time.monotonic() < end:
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    cpu1, busy1, self1 = server.cpu_ms(), machine_busy_ms(), self_cpu_ms()
    gen1 = [gen_cpu_ms(g.pid) for g in gens]
    results, errs = [], []
    for g in gens:
        try:
            out, err = g.communicate(timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            g.kill()
            out, err = g.communicate()
        try:
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        except (ValueError, IndexError):
            errs.append("load generator exited %s: %s" % (
                g.returncode, err.decode("utf-8", "replace").strip()[-300:]))
    if errs:
        return {"error": "; ".join(errs)}
    if cpu0 is None or cpu1 is None:
        return {"error": "server process gone"}
    ops = sum(r["ops"] for r in results)
    nerr = sum(r["nerrors"] for r in results)
    nproto = sum(r.get("nproto", 0) for r in results)
    per_cmd, lat = {}, {}
    for r in results:
        for k, v in r["per_cmd"].items():
            per_cmd[k] = per_cmd.get(k, 0) + v
        for k, v in r["lat"].items():
            lat[k] = lat.get(k, 0.0) + v
    wall = duration * 1000.0
    gen_ms = [b - a for a, b in zip(gen0, gen1)]
    gen_total = sum(gen_ms)
    other = (busy1 - busy0) - (cpu1 - cpu0) - gen_total - (self1 - self0)
    res = {"error": None, "ops": ops / duration, "count": ops,
           "sessions": sum(r["sessions"] for r in results),
           "cpu_ms_op": (cpu1 - cpu0) / max(1, ops),
           "server_cpu": (cpu1 - cpu0) / wall,
           "gen": gen_total / wall, "gen_max": max(gen_ms) / wall,
           "bg": max(0.0, other) / (wall * os.cpu_count()) * 100,
           "nerrors": nerr, "errors": sum((r["errors"] for r in results), []),
           "per_cmd": per_cmd,
           "lat_ms": {k: lat[k] * 1000.0 / per_cmd[k] for k in per_cmd}}
    res["nproto"] = nproto
    res["proto"] = sum((r.get("proto", []) for r in results), [])
    if nerr:
        res["error"] = "%d commands failed: %s" % (
            nerr, "; ".join(res["errors"][:3]))
    if nproto:
        res["error"] = ((res["error"] + "; ") if res["error"] else "") + \
            "%d protocol errors: %s" % (nproto, "; ".join(res["proto"][:3]))
    return res


def gen_cpu_ms(pid):
    """CPU milliseconds of a (live) load generator process."""
    st = proc_stat(pid)
    return 0.0 if st is None else st[1] * 1000.0 / benchlib.CLK_TCK


def warm_up(server, users, procs):
    """Long sessions of every user for a few seconds: each server builds
    its index and header caches before anything is measured."""
    r = load(server, users, 0, 3.0, procs, users, 30)
    if r["error"]:
        log("%s: warm-up failed: %s" % (server.name, r["error"]))
        return False
    return True


# ---------------------------------------------------------------- memory

class Holder:
    """imapload.py hold: N sessions kept open, IDLE on request."""

    def __init__(self, server, sessions, users, concurrency, timeout):
        self.timeout = timeout
        cmd = gen_cmd(server.imap_port, users, [
            "hold", "--sessions", str(sessions), "--concurrency",
            str(concurrency), "--phase-timeout", str(timeout)])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def answer(self):
        """The next JSON line, or None (exited, or past the timeout)."""
        import select
        deadline = time.monotonic() + self.timeout + 30
        line = b""
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if r:
                chunk = os.read(fd, 1)
                if not chunk:
                    return None
                line += chunk
        return json.loads(line)

    def send(self, word):
        self.proc.stdin.write(word.encode() + b"\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode("utf-8", "replace").strip()
        return err[-500:]


def settle(server, base_procs, timeout=60):
    """Waits (at most TIMEOUT s) until the server is back to BASE_PROCS
    processes (Dovecot's imap processes exit after their client)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(server.pids()) <= base_procs:
            return True
        time.sleep(0.5)
    return False


def measure_memory(server, sessions, users, concurrency, timeout):
    """Memory per logged-in and per IDLE session with SESSIONS sessions."""
    res = {"n": sessions, "error": None}
    base_procs = len(server.pids())
    time.sleep(1.0)
    pss0 = pss_kb(server.pids())
    avail0 = mem_available_kb()
    t = time.monotonic()
    h = Holder(server, sessions, users, concurrency, timeout)
    try:
        a = h.answer()
        if a is None:
            res["error"] = "sessions not opened within %d s" % timeout
            return res
        res["held"] = a["ready"]
        res["open_s"] = a["seconds"]
        if a["errors"]:
            res["note"] = "; ".join(a["errors"][:2])
        if a["ready"] == 0:
            res["error"] = "no session opened: %s" % res.get("note")
            return res
        hold_rss0 = a["rss_kb"]
        time.sleep(2.0)
        pss1 = pss_kb(server.pids())
        avail1 = mem_available_kb()
        res["procs"] = len(server.pids())
        res["idle_kb"] = (pss1 - pss0) / a["ready"]
        res["idle_free_kb"] = (avail0 - avail1 - hold_rss0) / a["ready"]
        h.send("idle")
        b = h.answer()
        if b is None:
            res["error"] = "IDLE not reached within %d s" % timeout
            return res
        res["idle_n"] = b["idle"]
        if b["errors"] and "note" not in res:
            res["note"] = "; ".join(b["errors"][:2])
        if b["idle"]:
            time.sleep(2.0)
            pss2 = pss_kb(server.pids())
            avail2 = mem_available_kb()
            res["IDLE_kb"] = (pss2 - pss0) / b["idle"]
            res["IDLE_free_kb"] = (avail0 - avail2 - b["rss_kb"]) / b["idle"]
        res["alive"] = server.alive()
    finally:
        err = h.stop()
        if err:
            log("%s hold %d: %s" % (server.name, sessions, err))
        res["total_s"] = time.monotonic() - t
        if not settle(server, base_procs):
            log("%s: still %d processes 60 s after the sessions closed" % (
                server.name, len(server.pids())))
    return res


# ---------------------------------------------------------------- report

def case_name(per_login, clients):
    """PER_LOGIN: commands per session (0: long sessions)."""
    return "%s, %d clients" % ("login/%d cmds" % per_login if per_login else
                               "long sessions", clients)


def verdict(ok):
    return "ok" if ok else "MISS"


def median_run(runs):
    """The run with the median ops/s (the first failed one if any)."""
    bad = [r for r in runs if r.get("ops") is None]
    if bad or not runs:
        return bad[0] if bad else {}
    runs = sorted(runs, key=lambda r: r["ops"])
    return runs[(len(runs) - 1) // 2]


def report(cases, results, mem, args):
    print()
    mix = ("LOGIN, SELECT, FETCH headers and a body, SEARCH, LOGOUT; "
           "READ-ONLY, no target applies" if args.read_only else
           "LOGIN, SELECT, FETCH headers and a body, STORE, SEARCH, APPEND, "
           "STORE \\Deleted, EXPUNGE, LOGOUT")
    print("IMAP mixed load (%s), %d s per run, %d CPUs, %d users x %d "
          "messages; ops/s min/median/max of %d runs, the rest from the "
          "median run" % (mix, args.duration, os.cpu_count(), args.users,
                          args.messages, args.repeat))
    hdr = "%-28s %17s %17s %7s %-10s %8s %8s" % (
        "case", "dc ops/s", "tem ops/s", "tem/dc", "target", "dc ms/op",
        "tem ms/op")
    print(hdr)
    print("-" * len(hdr))
    met = missed = 0
    gens, bgs = [], []
    for per_login, clients in cases:
        dcruns = results.get(("dovecot", per_login, clients)) or []
        tmruns = results.get(("tem", per_login, clients)) or []
        dc, tm = median_run(dcruns), median_run(tmruns)
        r = ratio(tm.get("ops"), dc.get("ops"))
        want = TARGET_LOGIN if per_login else TARGET_LONG
        tgt = ""
        if r is not None and not args.read_only:
            ok = r >= want
            met, missed = met + ok, missed + (not ok)
            tgt = ">=%gx %s" % (want, verdict(ok))
        print("%-28s %17s %17s %7s %-10s %8s %8s" % (
            case_name(per_login, clients),
            fmt3([x.get("ops") for x in dcruns], ".0f"),
            fmt3([x.get("ops") for x in tmruns], ".0f"), fmt(r, ".2f"), tgt,
            fmt(dc.get("cpu_ms_op"), ".3f"), fmt(tm.get("cpu_ms_op"), ".3f")))
        for who, x in (("dovecot", dc), ("tem", tm)):
            if x.get("error"):
                print("    %s: %s" % (who, x["error"]))
            if x.get("gen_max") is not None:
                gens.append((x["gen_max"], who, case_name(per_login,
                                                          clients)))
            if x.get("bg") is not None:
                bgs.append(x["bg"])
    print()
    print("Memory per session: PSS growth of all the server's processes / "
          "sessions (in parentheses: drop of MemAvailable, machine-wide, "
          "with kernel memory; noisy, negative = noise)")
    hdr = "%-24s %22s %22s  %s" % ("sessions", "dovecot KB", "tem KB",
                                   "target (tem)")
    print(hdr)
    print("-" * len(hdr))
    for n in args.mem:
        dc = mem.get(("dovecot", n)) or {}
        tm = mem.get(("tem", n)) or {}
        for kind, label in (("idle", "logged in, idle"), ("IDLE", "IDLE")):
            cols = []
            for x in (dc, tm):
                v = x.get(kind + "_kb")
                cols.append("n/a" if v is None else "%.0f (%.0f)" % (
                    v, x.get(kind + "_free_kb") or 0))
            v = tm.get(kind + "_kb")
            tgt = ""
            if v is not None:
                ok = v < TARGET_KB
                met, missed = met + ok, missed + (not ok)
                tgt = "< %d KB %s" % (TARGET_KB, verdict(ok))
            print("%-24s %22s %22s  %s" % ("%d %s" % (n, label), cols[0],
                                            cols[1], tgt))
        for who, x in (("dovecot", dc), ("tem", tm)):
            if not x:
                continue
            held = "%s of %d logged in (%.0f s), %s in IDLE" % (
                x.get("held", 0), n, x.get("open_s", 0), x.get("idle_n", 0))
            extra = ""
            if x.get("procs"):
                extra = ", %d processes" % x["procs"]
            if x.get("error") or x.get("note"):
                extra += "; " + (x.get("error") or x.get("note"))
            print("    %s: %s%s" % (who, held, extra))
    tm10 = mem.get(("tem", TARGET_HELD))
    if tm10 is not None:
        ok = (tm10.get("idle_n") or 0) >= TARGET_HELD and tm10.get("alive")
        met, missed = met + bool(ok), missed + (not ok)
        print("tem holds %d IDLE sessions: %s" % (TARGET_HELD, verdict(ok)))
    if args.dovecot_note:
        print("dovecot above %s sessions: not measured (%s)" % (
            args.dovecot_max_sessions, args.dovecot_note))
    if gens:
        g = max(gens)
        print("load generator: at most %.0f%% of one CPU per process (%s, "
              "%s)" % (g[0] * 100, g[1], g[2]))
    if bgs:
        print("other load on the machine during the runs: %.0f%% on "
              "average, %.0f%% at most (of all CPUs; above ~10%% the figures "
              "are noisy)" % (sum(bgs) / len(bgs), max(bgs)))
    nproto = {}
    for (who, _, _), runs in results.items():
        nproto[who] = nproto.get(who, 0) + sum(r.get("nproto", 0)
                                               for r in runs)
    print("protocol errors in the answers (all runs): %s" % ", ".join(
        "%s %d" % kv for kv in sorted(nproto.items())))
    print("targets: %d met, %d missed" % (met, missed))


# ---------------------------------------------------------------- main

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=("both", "dovecot", "tem"),
                   default="both", help="servers to measure")
    add_run_options(p, "--clients 10 --scale 0.3 --users 10 --messages 50 "
                    "--mem-sessions 100")
    p.add_argument("--clients", default=None, help="default 10,50")
    p.add_argument("--modes", default="login,long",
                   help="login (a login every 10 commands), long")
    p.add_argument("--duration", type=int, default=10,
                   help="seconds per measured run")
    p.add_argument("--procs", type=int, default=2,
                   help="load generator processes per run")
    p.add_argument("--read-only", action="store_true",
                   help="no STORE, APPEND, EXPUNGE in the mix (a diagnosis "
                   "aid; the targets are for the full mix)")
    p.add_argument("--users", type=int, default=None, help="default 50")
    p.add_argument("--messages", type=int, default=None, help="default 200")
    p.add_argument("--mem-sessions", default=None,
                   help="session counts for the memory figures (0: none; "
                   "default 1000,10000)")
    p.add_argument("--dovecot-max-sessions", type=int, default=10000,
                   help="above this Dovecot's memory is not measured")
    p.add_argument("--concurrency", type=int, default=50,
                   help="sessions logging in at once when holding")
    p.add_argument("--timeout", type=int, default=30,
                   help="seconds for one IMAP reply")
    p.add_argument("--hold-timeout", type=int, default=400,
                   help="seconds to open (or IDLE) all held sessions")
    p.add_argument("--scale", type=float, default=None,
                   help="multiply the run duration (default 1)")
    p.add_argument("--tem", default=os.path.join(ROOT, "build", "tem"))
    p.add_argument("--dovecot-port", type=int, default=10143)
    p.add_argument("--tem-port", type=int, default=10243)
    p.add_argument("--tem-smtp-port", type=int, default=10225)
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (logs, configs)")
    args = finish_run_options(
        p, parse_known(p, log),
        {"clients": "10", "scale": 0.3, "users": 10, "messages": 50,
         "mem_sessions": "100"},
        {"clients": "10,50", "scale": 1.0, "users": 50, "messages": 200,
         "mem_sessions": "1000,10000"})
    args.duration = max(2, int(round(args.duration * args.scale)))
    args.mem = [int(x) for x in args.mem_sessions.split(",") if int(x) > 0]
    return args


def raise_fd_limit(n):
    """Raises this process's (so the servers' and the load generators')
    open-file limit to N, or to the hard limit when that is lower (raising
    the hard limit needs CAP_SYS_RESOURCE, which a container may drop)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard)))
        return n
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if hard < n:
            log("open files limited to %d (hard limit; wanted %d)"
                % (hard, n))
        return hard


def set_inotify(want):
    """Raises fs.inotify.max_user_instances to WANT; returns the old value
    to put back (None when nothing was changed)."""
    try:
        with open(INOTIFY) as f:
            old = int(f.read())
    except (OSError, ValueError):
        return None
    if old >= want:
        return None
    with open(INOTIFY, "w") as f:
        f.write(str(want))
    log("fs.inotify.max_user_instances %d -> %d (put back at the end)"
        % (old, want))
    return old


def restore_inotify(old):
    if old is None:
        return
    try:
        with open(INOTIFY, "w") as f:
            f.write(str(old))
    except OSError as e:
        log("could not put back fs.inotify.max_user_instances = %d: %s"
            % (old, e))


def main():
    args = parse_args()
    if os.geteuid() != 0:
        log("must run as root (installs Dovecot, runs it)")
        return 2
    catch_signals()
    dovecot.install(log)
    for port in (args.dovecot_port, args.tem_port, args.tem_smtp_port):
        if listening(port):
            log("port %d is in use" % port)
            return 2
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    per_session = 6 if args.read_only else 10
    cases = [(per_session if m == "login" else 0, int(c)) for m in modes
             for c in args.clients.split(",")]
    max_sess = max(args.mem + [1000])
    raise_fd_limit(2 * max_sess + 10000)
    users = [USER_FMT % (i + 1) for i in range(args.users)]
    messages = make_messages(args.messages)
    args.dovecot_note = ""
    why = store_check([("the stores (--dir)", args.dir)])
    if why:
        log(why)
        return 2
    base = tempfile.mkdtemp(prefix="tem-bench-imap.", dir=args.dir)
    os.chmod(base, 0o755)
    servers, results, mem = [], {}, {}
    rawruns = []
    old_inotify = None
    failed = False
    dc = tem = None
    try:
        # Each IDLE session of Dovecot holds an inotify instance, and all
        # its users share one uid.
        dc_sessions = [n for n in args.mem if n <= args.dovecot_max_sessions]
        if args.only in ("both", "dovecot"):
            old_inotify = set_inotify(max(dc_sessions + [0]) + 1000)
            dc = Dovecot(base, args.dovecot_port, max_sess + 1000)
            if dc.start_with(users, messages) and \
                    warm_up(dc, len(users), args.procs):
                servers.append(dc)
            else:
                failed = True
        if args.only in ("both", "tem"):
            tem = Tem(base, args.tem_port, args.tem_smtp_port, args.tem,
                      max_sess + 1000)
            if tem.start_with(users, messages) and \
                    warm_up(tem, len(users), args.procs):
                servers.append(tem)
            else:
                failed = True
        runs = [(c, rep) for c in cases for rep in range(1, args.repeat + 1)]
        for i, ((per_login, clients), rep) in enumerate(runs):
            order = servers if i % 2 == 0 else list(reversed(servers))
            for srv in order:
                key = (srv.name, per_login, clients)
                alive = srv.alive()
                if alive:
                    r = load(srv, clients, per_login, args.duration,
                             args.procs, len(users), args.timeout,
                             args.read_only)
                else:
                    r = {"error": "not run: server died"}
                    failed = True
                results.setdefault(key, []).append(r)
                rawruns.append(dict(r, server=srv.name, per_login=per_login,
                                    clients=clients, repeat=rep))
                if not alive:
                    continue
                name = "%s %s run %d" % (srv.name,
                                         case_name(per_login, clients), rep)
                if r.get("ops") is None:
                    failed = True
                    log("%s: %s" % (name, r["error"]))
                    continue
                log("%s: %.0f ops/s (%d ops, %d sessions), server %.2f "
                    "CPUs, %.3f CPU ms/op, generators %.0f%% of a CPU, other "
                    "load %.0f%%; mean ms per command: %s%s" % (
                        name, r["ops"], r["count"], r["sessions"],
                        r["server_cpu"], r["cpu_ms_op"], r["gen"] * 100,
                        r["bg"], " ".join(
                            "%s %.1f" % kv for kv in r["lat_ms"].items()),
                        "; " + r["error"] if r["error"] else ""))
        for n in args.mem:
            for srv in servers:
                if srv.name == "dovecot" and n > args.dovecot_max_sessions:
                    args.dovecot_note = "--dovecot-max-sessions %d" % (
                        args.dovecot_max_sessions)
                    continue
                if not srv.alive():
                    failed = True
                    continue
                r = measure_memory(srv, n, len(users), args.concurrency,
                                   args.hold_timeout)
                mem[(srv.name, n)] = r
                log("%s %d sessions: %s" % (srv.name, n, json.dumps(r)))
                if r.get("error"):
                    failed = True
    except Stop as e:
        log("interrupted (%s)" % e)
        failed = True
    except subprocess.CalledProcessError as e:
        log("%s failed (exit %s)" % (" ".join(e.cmd), e.returncode))
        failed = True
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if tem is not None:
            tem.stop()
        if dc is not None:
            dc.stop()
            if dc.alive():
                log("dovecot: master %d did not stop" % dc.pid)
        restore_inotify(old_inotify)
        if args.keep:
            log("kept %s" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    report(cases, results, mem, args)
    if args.json:
        write_json(args.json, "imap", args, rawruns, {"memory": [
            dict(v, server=k[0], sessions=k[1]) for k, v in mem.items()]})
        log("raw data in %s" % args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
