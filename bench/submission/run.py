#!/usr/bin/python3
"""bench/submission: submission and queue-to-peer rates, tem vs Postfix.

The pass-through mode of /work/shared/PEERS.md.

Trust: a benchmark driver run as root on a test machine; it talks only to
127.0.0.1, starts smtp-sink, a private Postfix (bench/lib/postfix.sh) and
build/tem in a temporary directory, and always stops all three (finally +
signal handlers).

Both servers take mail for rcpt@sink.test and relay it to one smtp-sink on
127.0.0.1:SINK_PORT: Postfix through `transport_maps`, relaying for
mynetworks = 127.0.0.0/8 without AUTH; tem through `relay_host`, on its
submission listener with AUTH PLAIN once per connection (cleartext allowed,
no TLS for either). For each case (SESSIONS x BYTES x messages per
connection) the load generator bench/lib/smtpload.py sends COUNT messages
to each server in turn (alternating which goes first) and this measures
  (a) submitted msg/s: COUNT / (first connection .. last final 250; the
      message is then durable in the server's queue);
  (b) end-to-end msg/s: COUNT / (first connection .. smtp-sink has the
      COUNT-th message; smtp-sink -c prints its running message count);
  CPU ms/msg: utime+stime (+cutime+cstime) of the server's whole process
      tree (Postfix: master and every descendant, live or reaped; tem: its
      one process) from just before the load until 0.5 s after the last
      delivery, / COUNT.
Python 3 standard library only; shared parts in bench/lib/benchlib.py.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(os.path.dirname(HERE), "lib")
sys.path.insert(0, LIB)
from benchlib import (ROOT, Stop, catch_signals, children_cpu_ms,  # noqa: E402
                      fmt, listening, machine_busy_ms, make_log, proc_stat,
                      parse_known, ratio, self_cpu_ms, smtp_dialogue,
                      auth_accepted, store_check)
import benchlib  # noqa: E402

SMTPLOAD = os.path.join(LIB, "smtpload.py")
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
USER, PW = "bench@bench.test", "pw"
RCPT = "rcpt@sink.test"

# (messages per connection, sessions, bytes) -> messages per run, sized on
# a 2-CPU VM: Postfix relays ~300-450 msg/s at 5 KB and 200-450 at 100 KB;
# tem with one message per connection is held to ~40-65 msg/s by its
# password check (bench/README.md), so those runs are short for Postfix
# (1-3 s) and ~8-22 s for tem; with 100 messages per connection tem relays
# ~400-1000 msg/s and Postfix's runs last ~5-20 s. The whole benchmark
# takes about 4 minutes.
COUNTS = {
    (1, 1, 5120): 300,
    (1, 10, 5120): 800,
    (1, 50, 5120): 1200,
    (1, 1, 102400): 300,
    (1, 10, 102400): 800,
    (1, 50, 102400): 1200,
    (100, 1, 5120): 2000,
    (100, 10, 5120): 5000,
    (100, 50, 5120): 6000,
    (100, 1, 102400): 1500,
    (100, 10, 102400): 3000,
    (100, 50, 102400): 4000,
}

# After the load generator has exited, a run whose sink count has not moved
# for this long has failed (a message stuck in a queue for a retry).
STALL_S = 30

log = make_log("bench/submission")


# ---------------------------------------------------------------- smtp-sink

class Sink:
    """smtp-sink -c on 127.0.0.1:PORT; a thread follows its message count."""

    def __init__(self, port):
        self.port = port
        self.proc = None
        self.count = 0              # messages received
        self.sessions = 0           # connections ended
        self.changed = time.monotonic()
        self.reached = {}           # target -> monotonic time reached
        self.targets = set()
        self.cond = threading.Condition()
        self.thread = None

    def start(self):
        # -u: smtp-sink refuses to run as root; backlog 1024.
        self.proc = subprocess.Popen(
            [SMTP_SINK, "-c", "-u", "nobody", "127.0.0.1:%d" % self.port,
             "1024"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        self.thread = threading.Thread(target=self.follow, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log("smtp-sink did not listen on 127.0.0.1:%d" % self.port)
                return False
            time.sleep(0.05)
        return True

    def follow(self):
        """Thread: parse "sess=N quit=N mesg=N\\r" updates as they come."""
        fd = self.proc.stdout.fileno()
        tail = b""
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            now = time.monotonic()
            tail += data
            parts = tail.split(b"\r")
            tail = parts[-1][-4096:]
            n = sess = None
            for p in reversed(parts[:-1]):
                f = dict(kv.split(b"=", 1) for kv in p.split()
                         if b"=" in kv)
                try:
                    n, sess = int(f[b"mesg"]), int(f[b"sess"])
                except (KeyError, ValueError):
                    continue
                break
            if n is None:
                continue
            with self.cond:
                self.sessions = sess
                if n != self.count:
                    self.count = n
                    self.changed = now
                for t in list(self.targets):
                    if n >= t:
                        self.reached[t] = now
                        self.targets.discard(t)
                self.cond.notify_all()

    def expect(self, target):
        with self.cond:
            if self.count >= target:
                self.reached[target] = time.monotonic()
            else:
                self.targets.add(target)

    def wait(self, target, deadline, since, alive):
        """Wait until the count reaches TARGET (expect() called before).

        Returns (time reached, None) or (None, error): past DEADLINE, no
        progress for STALL_S after SINCE, the sink or the server (ALIVE())
        gone."""
        with self.cond:
            while target not in self.reached:
                now = time.monotonic()
                if now > deadline:
                    return None, "timed out at %d/%d messages" % (
                        self.count, target)
                if now - max(self.changed, since) > STALL_S:
                    return None, "stalled: %d/%d messages %d s after the " \
                        "load ended" % (self.count, target, STALL_S)
                if self.proc.poll() is not None:
                    return None, "smtp-sink died"
                if not alive():
                    return None, "server died"
                self.cond.wait(0.2)
            return self.reached.pop(target), None

    def cpu_ms(self):
        st = proc_stat(self.proc.pid) if self.proc else None
        return 0.0 if st is None else st[1] * 1000.0 / benchlib.CLK_TCK

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---------------------------------------------------------------- servers

class Postfix(benchlib.Postfix):
    """Relays for 127.0.0.0/8, mail for sink.test to smtp-sink."""

    auth = None

    def __init__(self, base, port, sink_port):
        super().__init__(base, port, [
            "mynetworks = 127.0.0.0/8",
            "transport_maps = inline:{ sink.test=smtp:[127.0.0.1]:%d }"
            % sink_port])

    def start(self):
        super().start()
        codes = smtp_dialogue(self.port, [
            b"EHLO probe.bench.test", b"MAIL FROM:<%s>" % USER.encode(),
            b"RCPT TO:<%s>" % RCPT.encode(), b"RSET"])
        if codes != ["220", "250", "250", "250", "250"]:
            log("postfix: does not relay to %s: %s" % (RCPT, codes))
            return False
        return True


class Tem(benchlib.Tem):
    """Submission with AUTH PLAIN in cleartext, relay_host = smtp-sink."""

    auth = "%s:%s" % (USER, PW)

    def __init__(self, base, port, sink_port, binary):
        super().__init__(base, port, binary, [
            "submission_listen = 127.0.0.1:%d" % port,
            "auth_allow_cleartext = yes",
            "relay_host = 127.0.0.1:%d" % sink_port,
            "max_sessions_per_ip = 1000",
            "max_connections_per_minute = 0",
            # one line per message, as Postfix logs
            "log_level = info"], log, USER, PW)

    def start(self):
        def ready():
            # Every refused AUTH is an authentication failure that tem
            # logs and throttles: give the accounts poll (1 s) time first.
            time.sleep(1.0)
            return auth_accepted(self.port, USER, PW)
        return super().start(ready, "AUTH PLAIN for %s" % USER)


# ---------------------------------------------------------------- runs

def load(server, sink, sessions, size, per_conn, count, timeout):
    """One measured run.

    Returns {"error": None, "sub" and "e2e" (msg/s), "sub_s", "e2e_s",
    "cpu" (server CPU ms per message), "gen" (load generator's CPU, share
    of one CPU), "bg" (other load, % of all CPUs)} or {"error": "why"}.
    """
    os.sync()                   # no writeback of earlier runs in this one
    time.sleep(0.2)
    target = sink.count + count
    sink.expect(target)
    sess0 = sink.sessions
    cpu0, sink0, self0 = server.cpu_ms(), sink.cpu_ms(), self_cpu_ms()
    busy0, kids0 = machine_busy_ms(), children_cpu_ms()
    cmd = [sys.executable, SMTPLOAD, "--port", str(server.port),
           "--sessions", str(sessions), "--count", str(count),
           "--size", str(size), "--per-conn", str(per_conn),
           "--from", USER, "--to", RCPT, "--timeout", str(timeout)]
    if server.auth:
        cmd += ["--auth", server.auth]
    t_spawn = time.monotonic()
    gen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = gen.communicate(timeout=timeout + 15)
    finally:
        if gen.poll() is None:
            gen.kill()
            gen.wait()
    t_gen_end = time.monotonic()
    try:
        res = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "load generator exited %s: %s" % (
            gen.returncode, err.decode("utf-8", "replace").strip()[-300:])}
    if res["ok"] != count:
        return {"error": "%d of %d messages accepted; %s" % (
            res["ok"], count, "; ".join(res["errors"][:3]))}
    t0 = res["t0"]
    t_sink, why = sink.wait(target, t_spawn + timeout, t_gen_end,
                            server.alive)
    if why:
        return {"error": why}
    time.sleep(0.5)             # let the server finish its bookkeeping
    cpu1, sink1, self1 = server.cpu_ms(), sink.cpu_ms(), self_cpu_ms()
    busy1, kids1 = machine_busy_ms(), children_cpu_ms()
    if cpu0 is None or cpu1 is None:
        return {"error": "server process gone"}
    extra = sink.count - target
    sub_s = res["t_last"] - t0
    e2e_s = t_sink - t0
    # CPU used by neither the server, the load generator, smtp-sink nor
    # this script (other servers idle, whatever else runs on the machine),
    # as a share of the machine over the run: high means noisy figures.
    other = ((busy1 - busy0) - (cpu1 - cpu0) - (kids1 - kids0)
             - (sink1 - sink0) - (self1 - self0))
    wall = (time.monotonic() - t_spawn) * 1000.0
    return {"error": None, "sub": count / sub_s, "e2e": count / e2e_s,
            "sub_s": sub_s, "e2e_s": e2e_s, "cpu": (cpu1 - cpu0) / count,
            "gen": res["cpu_ms"] / max(1.0, sub_s * 1000.0),
            "conns": res["connections"], "extra": extra,
            "out_conns": sink.sessions - sess0,
            "bg": max(0.0, other) / (wall * os.cpu_count()) * 100}


def warm_up(server, sink):
    r = load(server, sink, 10, 5120, 10, 100, 60)
    if r["error"]:
        log("%s: warm-up failed: %s" % (server.name, r["error"]))
        return False
    return True


# ---------------------------------------------------------------- report

def case_name(sessions, size, per_conn, count):
    size_s = "%dKB" % (size // 1024) if size % 1024 == 0 else "%dB" % size
    per = per_conn or -(-count // sessions)     # 0: one per session
    return "%ds %s %d/conn x%d" % (sessions, size_s, per, count)


def report(cases, results, sink_port, notes):
    print()
    print("Submission -> queue -> smtp-sink 127.0.0.1:%d, %d CPUs; "
          "tem: AUTH PLAIN once per connection, Postfix: no AUTH "
          "(mynetworks)" % (sink_port, os.cpu_count()))
    hdr = ("%-26s %7s %7s %6s  %7s %7s %6s  %7s %7s %6s"
           % ("case", "pf sub", "tem sub", "tem/pf", "pf e2e", "tem e2e",
              "tem/pf", "pf cpu", "tem cpu", "tem/pf"))
    print("%-26s %-23s %-23s %s" % ("", "(a) submitted msg/s",
                                    "(b) end-to-end msg/s",
                                    "CPU ms/msg"))
    print(hdr)
    print("-" * len(hdr))
    gens, bgs = [], []
    for sessions, size, per_conn, count in cases:
        key = (sessions, size, per_conn)
        pf = results.get(("postfix",) + key) or {}
        tm = results.get(("tem",) + key) or {}
        cols = []
        for k, spec in (("sub", ".0f"), ("e2e", ".0f"), ("cpu", ".2f")):
            a, b = pf.get(k), tm.get(k)
            cols += [fmt(a, spec), fmt(b, spec), fmt(ratio(b, a), ".2f")]
        print("%-26s %7s %7s %6s  %7s %7s %6s  %7s %7s %6s"
              % ((case_name(sessions, size, per_conn, count),) + tuple(cols)))
        for who, r in (("postfix", pf), ("tem", tm)):
            if r.get("error"):
                print("    %s: %s" % (who, r["error"]))
            elif r.get("extra"):
                print("    %s: smtp-sink got %d messages more than were "
                      "sent" % (who, r["extra"]))
            if r.get("gen") is not None:
                gens.append((r["gen"], who,
                             case_name(sessions, size, per_conn, count)))
            if r.get("bg") is not None:
                bgs.append(r["bg"])
    if gens:
        g = max(gens)
        print("load generator (one Python process): at most %.0f%% of one "
              "CPU (%s, %s)" % (g[0] * 100, g[1], g[2]))
    for n in notes:
        print(n)
    if bgs:
        print("other load on the machine during the runs: %.0f%% on "
              "average, %.0f%% at most (of all CPUs; above ~10%% the figures "
              "are noisy)" % (sum(bgs) / len(bgs), max(bgs)))


# ---------------------------------------------------------------- main

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", choices=("both", "postfix", "tem"),
                   default="both", help="servers to measure")
    p.add_argument("--sessions", default="1,10,50")
    p.add_argument("--sizes", default="5120,102400", help="bytes")
    p.add_argument("--per-conn", default="1,100",
                   help="messages per connection, a list (0: one "
                   "connection per session)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiply message counts (e.g. 0.1 for a smoke run)")
    p.add_argument("--timeout", type=int, default=120,
                   help="seconds a run may take before it is reported failed")
    p.add_argument("--tem", default=os.path.join(ROOT, "build", "tem"))
    p.add_argument("--postfix-port", type=int, default=10025)
    p.add_argument("--tem-port", type=int, default=10587)
    p.add_argument("--sink-port", type=int, default=10026)
    p.add_argument("--dir", default="/var/tmp",
                   help="where the temporary directory with both queues "
                   "goes (a disk filesystem)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (logs, configs)")
    return parse_known(p, log)


def build_cases(args):
    cases = []
    for per_conn in [int(x) for x in args.per_conn.split(",")]:
        for size in [int(x) for x in args.sizes.split(",")]:
            for sessions in [int(x) for x in args.sessions.split(",")]:
                base = COUNTS.get((per_conn, sessions, size), 1000)
                cases.append((sessions, size, per_conn,
                              max(sessions, int(base * args.scale))))
    return cases


def measure(servers, sink, cases, timeout, results):
    """Run every case on every live server; False if any run failed."""
    ok = True
    for i, (sessions, size, per_conn, count) in enumerate(cases):
        order = servers if i % 2 == 0 else list(reversed(servers))
        for srv in order:
            key = (srv.name, sessions, size, per_conn)
            if not srv.alive():
                results[key] = {"error": "not run: server stopped or died"}
                ok = False
                continue
            r = load(srv, sink, sessions, size, per_conn, count, timeout)
            results[key] = r
            name = "%s %s" % (srv.name, case_name(sessions, size, per_conn,
                                                   count))
            if r["error"]:
                # A backlog would pollute its later cases: stop it.
                ok = False
                log("%s: %s; stopping %s (log: %s)" % (
                    name, r["error"], srv.name, srv.log_path()))
                srv.stop()
            else:
                log("%s: submitted in %.1f s (%.0f msg/s), at the sink in "
                    "%.1f s (%.0f msg/s), %.2f CPU ms/msg, %d connections in, "
                    "%d to the sink, generator %.0f%% of a CPU, other load "
                    "%.0f%%" % (name, r["sub_s"], r["sub"], r["e2e_s"],
                                r["e2e"], r["cpu"], r["conns"],
                                r["out_conns"], r["gen"] * 100, r["bg"]))
    return ok


def main():
    args = parse_args()
    if os.geteuid() != 0:
        log("must run as root (installs Postfix, runs it)")
        return 2
    catch_signals()
    benchlib.Postfix.install()
    for port in (args.postfix_port, args.tem_port, args.sink_port):
        if listening(port):
            log("port %d is in use" % port)
            return 2
    cases = build_cases(args)
    why = store_check([("both queues (--dir)", args.dir)])
    if why:
        log(why)
        return 2
    base = tempfile.mkdtemp(prefix="tem-bench-submission.", dir=args.dir)
    os.chmod(base, 0o755)
    sink = Sink(args.sink_port)
    servers, results, notes = [], {}, []
    tem = None
    failed = False
    try:
        if not sink.start():
            return 1
        if args.only in ("both", "postfix"):
            pf = Postfix(base, args.postfix_port, args.sink_port)
            servers.append(pf)
            if not pf.start() or not warm_up(pf, sink):
                return 1
        if args.only in ("both", "tem"):
            tem = Tem(base, args.tem_port, args.sink_port, args.tem)
            if tem.start() and warm_up(tem, sink):
                servers.append(tem)
            else:
                notes.append("tem: not measured (it did not start or failed "
                             "its warm-up: see above)")
                failed = True
        if not measure([s for s in servers if s.alive()], sink, cases,
                       args.timeout, results):
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
        for srv in servers:
            srv.stop()
        if tem is not None:
            tem.stop()
        sink.stop()
        if listening(25):
            log("warning: something listens on port 25 (not started here)")
        if args.keep:
            log("kept %s" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    report(cases, results, args.sink_port, notes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
