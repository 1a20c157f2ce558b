#!/usr/bin/python3
"""bench/cluster: tem on one PostgreSQL with 1, 2 and 3 nodes, beside the
embedded backend (issue 15). Rate and CPU per message, and where the
database time goes.

Trust: a benchmark; runs as root, talks only to loopback (node i listens
on 127.0.0.(i+1)), stops every server it started (also on Ctrl-C).

Each case gets fresh servers: the embedded one (one node, data_dir), or N
nodes of build/tem on a fresh database of one PostgreSQL 15 that the
benchmark starts for the run (tests/lib/pgserver.py, with
pg_stat_statements preloaded). Per case:

  smtp   --smtp-count messages of 5 KB over SMTP, one smtpload process
         per node (--smtp-sessions connections each, 10 messages a
         connection) to one local user, after a warm-up of 50 per node:
         messages/s from the first connection to the last 250, and
         CPU ms per message of tem (all nodes) and of PostgreSQL (the
         postmaster's tree, reaped backends included), user+sys from
         /proc;
  imap   --imap-users users filled with --imap-msgs messages each (over
         SMTP, not measured), then bench/imap/imapload.py mix (FETCH
         headers, FETCH a body, STORE, SEARCH, APPEND, STORE \\Deleted,
         EXPUNGE; long sessions) with --imap-clients clients spread over
         the nodes for --imap-duration s: commands/s and CPU ms per
         command, tem's and PostgreSQL's.

After each PostgreSQL phase the --top statements by total time
(pg_stat_statements, reset before the phase) are printed. On 2 cores the
point is the cost per message and where it goes, not the scaling curve.
Bounded: every load has a timeout, the whole run takes a few minutes.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import benchlib  # noqa: E402
from pgserver import PgServer  # noqa: E402
from temserver import TemServer  # noqa: E402

PW = "pw"
DOMAIN = "bench.test"
SINK = "s@" + DOMAIN
IMAP_FMT = "i%d@" + DOMAIN
SMTPLOAD = os.path.join(ROOT, "bench", "lib", "smtpload.py")
IMAPLOAD = os.path.join(ROOT, "bench", "imap", "imapload.py")
NODE_CONF = {
    "log_level": "info",
    "auth_allow_cleartext": "yes",
    "max_sessions_per_ip": "1000",
    "max_connections_per_minute": "0",
    "imap_max_sessions_per_user": "1000",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def postmaster_pid(pg):
    with open(os.path.join(pg.dir, "data", "postmaster.pid")) as f:
        return int(f.readline())


class Case:
    """One configuration: N tem nodes, embedded (pg None) or on a fresh
    database of pg."""

    def __init__(self, name, n, pg, users):
        self.name, self.n, self.pg = name, n, pg
        self.nodes = []
        self.db = None
        if pg is not None:
            self.db = "bench_%s" % name.replace("-", "_")
            pg.fresh_db(self.db)
            pg.psql("CREATE EXTENSION pg_stat_statements", db=self.db)
        for i in range(n):
            first = i == 0
            t = TemServer(users=users if first else {},
                          domains=(DOMAIN,) if first else (),
                          services=("smtp", "imap"), hostname="mx.bench.test",
                          listen_addr="127.0.0.%d" % (i + 1),
                          extra_conf=dict(NODE_CONF), pg=pg, pg_db=self.db,
                          pg_init=first)
            t.__enter__()
            self.nodes.append(t)

    def stop(self):
        for t in reversed(self.nodes):
            t.__exit__(None, None, None)
        self.nodes = []

    def cpu(self):
        """(tem ms, postgres ms) so far."""
        tem = sum(benchlib.tree_cpu_ms(t.proc.pid) or 0 for t in self.nodes)
        pg = benchlib.tree_cpu_ms(postmaster_pid(self.pg)) if self.pg else 0
        return tem, pg or 0

    def reset_statements(self):
        if self.pg:
            self.pg.psql("SELECT pg_stat_statements_reset()", db=self.db)

    def top_statements(self, k):
        if not self.pg:
            return []
        out = self.pg.psql(
            "SELECT calls, round(total_exec_time::numeric, 1), "
            "round(mean_exec_time::numeric, 3), rows, "
            "regexp_replace(left(query, 110), '\\s+', ' ', 'g') "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
            "pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT %d" % k, db=self.db)
        return [l.split("|", 4) for l in out.splitlines() if l]


def smtp_load(case, count, sessions, rcpt, timeout):
    """count messages to rcpt, split over the nodes, all at once; the
    smtpload results."""
    procs = []
    per = max(1, count // case.n)
    for t in case.nodes:
        procs.append(subprocess.Popen(
            [sys.executable, SMTPLOAD, "--host", t.listen_addr, "--port",
             str(t.smtp_port), "--sessions", str(sessions), "--count",
             str(per), "--size", "5120", "--from", "load@b.test", "--to",
             rcpt, "--per-conn", "10", "--timeout", str(timeout)],
            stdout=subprocess.PIPE, text=True))
    out = []
    for p in procs:
        so, _ = p.communicate(timeout=timeout + 30)
        out.append(json.loads(so.strip().splitlines()[-1]))
    return out


def phase_smtp(case, args):
    smtp_load(case, 50 * case.n, 2, SINK, 60)            # warm-up
    case.reset_statements()
    c0 = case.cpu()
    res = smtp_load(case, args.smtp_count, args.smtp_sessions, SINK, 300)
    c1 = case.cpu()
    ok = sum(r["ok"] for r in res)
    wall = max(r["t_last"] or 0 for r in res) - min(r["t0"] for r in res)
    return {"messages": ok, "failed": sum(r["failed"] for r in res),
            "rate": ok / wall if wall > 0 else 0.0,
            "tem_ms": (c1[0] - c0[0]) / max(ok, 1),
            "pg_ms": (c1[1] - c0[1]) / max(ok, 1),
            "errors": [e for r in res for e in r["errors"]][:3],
            "top": case.top_statements(args.top)}


def phase_imap(case, args):
    for u in range(1, args.imap_users + 1):                # fill, unmeasured
        smtp_load(case, args.imap_msgs, 2, IMAP_FMT % u, 300)
    case.reset_statements()
    start_at = time.monotonic() + 3.0
    procs = []
    per = max(1, args.imap_clients // case.n)
    for i, t in enumerate(case.nodes):
        procs.append(subprocess.Popen(
            [sys.executable, IMAPLOAD, "mix", "--host", t.listen_addr,
             "--port", str(t.ports["imap"]), "--user-fmt", IMAP_FMT,
             "--users", str(args.imap_users), "--first", str(i * per),
             "--password", PW, "--clients", str(per), "--duration",
             str(args.imap_duration), "--start-at", str(start_at),
             "--timeout", "30"], stdout=subprocess.PIPE, text=True))
    while time.monotonic() < start_at:
        time.sleep(0.01)
    c0 = case.cpu()
    res = []
    for p in procs:
        so, _ = p.communicate(timeout=args.imap_duration + 120)
        res.append(json.loads(so.strip().splitlines()[-1]))
    c1 = case.cpu()
    ops = sum(r["ops"] for r in res)
    return {"ops": ops, "errors": sum(r["nerrors"] for r in res),
            "proto": sum(r["nproto"] for r in res),
            "rate": ops / args.imap_duration,
            "tem_ms": (c1[0] - c0[0]) / max(ops, 1),
            "pg_ms": (c1[1] - c0[1]) / max(ops, 1),
            "top": case.top_statements(args.top)}


def report(results):
    print("%-12s %10s %9s %9s %11s %9s %9s" % (
        "case", "smtp msg/s", "tem ms/m", "pg ms/m", "imap cmd/s",
        "tem ms/c", "pg ms/c"))
    for name, r in results:
        s, i = r.get("smtp", {}), r.get("imap", {})
        print("%-12s %10s %9s %9s %11s %9s %9s" % (
            name, benchlib.fmt(s.get("rate"), ".1f"),
            benchlib.fmt(s.get("tem_ms"), ".2f"),
            benchlib.fmt(s.get("pg_ms"), ".2f"),
            benchlib.fmt(i.get("rate"), ".1f"),
            benchlib.fmt(i.get("tem_ms"), ".2f"),
            benchlib.fmt(i.get("pg_ms"), ".2f")))
    for name, r in results:
        for phase in ("smtp", "imap"):
            top = r.get(phase, {}).get("top")
            if not top:
                continue
            print("\n%s %s: top statements by total time (calls, total ms, "
                  "mean ms, rows, query)" % (name, phase))
            for calls, total, mean, rows, q in top:
                print("  %7s %9s %8s %7s  %s" % (calls, total, mean, rows, q))
    for name, r in results:
        for phase in ("smtp", "imap"):
            x = r.get(phase, {})
            if x.get("failed") or x.get("errors") or x.get("proto"):
                print("%s %s: failed=%s errors=%s proto=%s" % (
                    name, phase, x.get("failed"), x.get("errors"),
                    x.get("proto")))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", default="1,2,3",
                   help="node counts on PostgreSQL (comma list)")
    p.add_argument("--no-embedded", action="store_true")
    p.add_argument("--phases", default="smtp,imap")
    p.add_argument("--smtp-count", type=int, default=1200)
    p.add_argument("--smtp-sessions", type=int, default=4,
                   help="connections at once per node")
    p.add_argument("--imap-users", type=int, default=6)
    p.add_argument("--imap-msgs", type=int, default=100)
    p.add_argument("--imap-clients", type=int, default=6)
    p.add_argument("--imap-duration", type=float, default=10.0)
    p.add_argument("--top", type=int, default=8)
    p.add_argument("--tem", default=os.path.join(ROOT, "build", "tem"))
    p.add_argument("--json", default=None, help="write the results here")
    args, unknown = p.parse_known_args()
    if unknown:
        log("bench/cluster: ignoring %s (another benchmark's)" % unknown)
    return args


def main():
    args = parse_args()
    if not os.access(args.tem, os.X_OK):
        log("bench/cluster: no %s (make build/tem)" % args.tem)
        return 1
    os.environ["TEM_BIN"] = args.tem
    tempfile.tempdir = "/var/tmp"       # a real disk: fsync costs there
    phases = args.phases.split(",")
    users = {SINK: PW}
    users.update({IMAP_FMT % u: PW for u in range(1, args.imap_users + 1)})
    cases = [] if args.no_embedded else [("embedded", 1, False)]
    cases += [("pg-%d" % int(n), int(n), True) for n in args.nodes.split(",")]
    results = []
    with PgServer(settings={
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track": "all",
            "max_connections": "300"}) as pg:
        for name, n, on_pg in cases:
            log("bench/cluster: %s (%d node%s)" % (name, n, "s"[:n > 1]))
            case = Case(name, n, pg if on_pg else None, users)
            try:
                r = {}
                if "smtp" in phases:
                    r["smtp"] = phase_smtp(case, args)
                if "imap" in phases:
                    r["imap"] = phase_imap(case, args)
                results.append((name, r))
            finally:
                case.stop()
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "cluster", "args": vars(args),
                       "machine": benchlib.machine_info(),
                       "results": dict(results)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
