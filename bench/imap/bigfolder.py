#!/usr/bin/python3
"""bench/imap/bigfolder: one folder of 100,000 messages, tem vs Dovecot.

Trust: a benchmark driver run as root on a test machine; talks only to
127.0.0.1, starts a private Dovecot (dovecot.py) and build/tem in a
temporary directory and always stops both (finally + signal handlers).

Both servers get the same INBOX of MESSAGES (100,000) small messages
(0.5-3 KB, fixed seed; display names, some RFC 2047 words, Cc on a third,
"Re:"/"Fwd:"/"[list]" subjects, References on replies), written once as
Maildir files in tem's cur/ and hard-linked into Dovecot's (the servers
rename, never rewrite, so they do not disturb each other). Then, per
server, with a raw IMAP client (the time is the server's, not imaplib
parsing 100,000 lines): LOGIN, SELECT INBOX (the first open: each builds
its index), LOGOUT; a second session: LOGIN, SELECT again ("after the
first open"), then every command of COMMANDS twice (cold: the first time
the server is asked; warm: the second). Memory: tem's whole-process RSS
growth from before the first LOGIN to the end, and its peak (VmHWM) growth;
Dovecot's session process (one imap process per session): its RSS and
PSS at the end and its peak, minus those of a fresh logged-in session.
Prints both and the ratios dovecot/tem (above 1: tem is faster).
Python 3 standard library only.
"""

import argparse
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import ROOT, Stop, catch_signals, make_log  # noqa: E402
import run as imaprun  # noqa: E402

log = make_log("bench/imap/bigfolder")
USER = "big@bench.test"
PW = "pw"

# (label, command, target seconds or None)
COMMANDS = [
    ("UID FETCH 1:* (FLAGS)", "UID FETCH 1:* (FLAGS)", 2.0),
    ("SEARCH SUBJECT", 'SEARCH SUBJECT "budget"', 2.0),
    ("SEARCH FROM", 'SEARCH FROM "carol"', 2.0),
    ("SORT (SUBJECT)", "SORT (SUBJECT) UTF-8 ALL", 2.0),
    ("SORT (FROM)", "SORT (FROM) UTF-8 ALL", 2.0),
    ("SORT (REVERSE DATE)", "SORT (REVERSE DATE) UTF-8 ALL", 2.0),
    ("SEARCH BODY", 'SEARCH BODY "zanzibar"', 10.0),
    ("SEARCH TEXT", 'SEARCH TEXT "zanzibar"', 10.0),
]
TARGET_SELECT = 1.0
TARGET_MB = 16

FIRST = ("Alice Archer", "Bob Baker", "Carol Carter", "Dave Dean",
         "Erin Evans", "Frank Fisher", "Grace Green", "Heidi Hall",
         "Ivan Ivanov", "Judy Jones", "Mallory Moss", "Olivia Owens")
WORDS = ("alpha beta gamma delta report meeting invoice lunch status draft "
         "project budget review plan release notes server mail queue "
         "index cache thread search weekly monthly agenda minutes").split()


def person(rng, i):
    name = FIRST[i % len(FIRST)]
    addr = "%s%d@%s" % (name.split()[0].lower(), i % 50,
                        rng.choice(("example.test", "mail.test", "corp.test")))
    if i % 17 == 0:     # an encoded display name
        return "=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <%s>" % addr
    if i % 5 == 0:
        return "<%s>" % addr
    return '"%s" <%s>' % (name, addr)


def make_message(rng, i, t):
    subj = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7)))
    k = rng.random()
    if k < 0.25:
        subj = "Re: " + subj
    elif k < 0.30:
        subj = "Fwd: " + subj
    elif k < 0.40:
        subj = "[team] " + subj
    head = ["From: %s" % person(rng, rng.randint(0, 999)),
            "To: %s" % person(rng, rng.randint(0, 999))]
    if rng.random() < 0.33:
        head.append("Cc: %s, %s" % (person(rng, rng.randint(0, 999)),
                                    person(rng, rng.randint(0, 999))))
    head.append("Subject: " + subj)
    head.append(time.strftime("Date: %a, %d %b %Y %H:%M:%S +0000",
                              time.gmtime(t - rng.randint(0, 3600))))
    head.append("Message-ID: <%d.%d@bench.test>" % (i, t))
    if subj.startswith("Re:") and i > 0:
        p = rng.randint(0, i - 1)
        head.append("In-Reply-To: <%d.x@bench.test>" % p)
        head.append("References: <%d.x@bench.test>" % p)
    head += ["MIME-Version: 1.0",
             "Content-Type: text/plain; charset=us-ascii",
             "Received: from mx.example.test by mx.bench.test; %s"
             % time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))]
    size = rng.randint(400, 3000)
    body, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(11))
        if rng.random() < 0.002:
            line += " zanzibar"
        body.append(line)
        n += len(line) + 1
    return ("\n".join(head) + "\n\n" + "\n".join(body) + "\n").encode()


def write_folder(cur, count, seed=7):
    """COUNT messages into CUR (Maildir names with S= and flags); returns
    the file names."""
    rng = random.Random(seed)
    os.makedirs(cur, exist_ok=True)
    t0 = 1700000000
    names = []
    for i in range(count):
        t = t0 + i * 30
        data = make_message(rng, i, t)
        flags = ("F" if rng.random() < 0.05 else "") + \
                ("S" if rng.random() < 0.7 else "")
        name = "%d.M%dP1.bench,S=%d:2,%s" % (t, i, len(data), flags)
        path = os.path.join(cur, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)
        os.utime(path, (t, t))
        names.append(name)
    return names


def evictor(cur):
    """A function that drops the page cache of every file in CUR (the
    folder's own files only: posix_fadvise DONTNEED, nothing
    machine-wide), so that a "cold" command reads them from the disk."""
    def evict():
        t = time.monotonic()
        for n in os.listdir(cur):
            try:
                fd = os.open(os.path.join(cur, n), os.O_RDONLY)
            except OSError:
                continue
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
        return time.monotonic() - t
    return evict


# ---------------------------------------------------------------- client

class Raw:
    """A minimal IMAP client: one command at a time, reads up to the tagged
    reply (none of the answers timed here holds a literal)."""

    def __init__(self, port, timeout=600):
        self.s = socket.create_connection(("127.0.0.1", port), timeout)
        self.n = 0
        self.buf = b""
        self._read_through(b"")        # the greeting

    def _read_through(self, tag):
        """Everything up to and including the line starting with TAG."""
        want = b"\r\n" + tag
        buf = self.buf
        pos = 0
        while True:
            i = 0 if buf.startswith(tag) else buf.find(want, pos)
            if i >= 0:
                j = buf.find(b"\r\n", i + 2 if i else len(tag))
                if j >= 0:
                    self.buf = buf[j + 2:]
                    return buf[:j + 2]
            pos = max(0, len(buf) - len(want))
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk

    def cmd(self, text):
        """(seconds, tagged status line, whole answer)."""
        self.n += 1
        tag = b"b%d " % self.n
        t = time.monotonic()
        self.s.sendall(tag + text.encode() + b"\r\n")
        data = self._read_through(tag)
        dt = time.monotonic() - t
        k = data.rfind(b"\r\n", 0, len(data) - 2)
        last = data[k + 2:] if k >= 0 else data
        if not last.startswith(tag + b"OK"):
            raise RuntimeError("%s: %s" % (text, last.strip()[:200]))
        return dt, last, data

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, RuntimeError):
            pass
        self.s.close()


def status_kb(pid):
    """{VmRSS, VmHWM, RssAnon: KB} of PID."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon"):
                out[k] = int(v.split()[0])
    return out


def imap_pid(dc, exclude=()):
    for pid in imaprun.tree_pids(dc.pid):
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == "imap" and pid not in exclude:
                    return pid
        except OSError:
            pass
    return None


def count_of(answer, word):
    """Numbers in the untagged * WORD line."""
    for line in answer.split(b"\r\n"):
        if line.startswith(b"* " + word):
            return len(line.split()) - 2
    return 0


def measure(server, port, messages, kind, evict=None):
    res = {"cmds": {}}
    before = status_kb(server.pid) if kind == "tem" else None
    if evict is not None:
        evict()
    c = Raw(port)
    c.cmd("LOGIN %s %s" % (USER, PW))
    dt, _, ans = c.cmd("SELECT INBOX")
    res["select_first"] = dt
    first_rss = status_kb(server.pid)["VmRSS"] if kind == "tem" else None
    exists = [ln for ln in ans.split(b"\r\n") if ln.endswith(b" EXISTS")]
    res["exists"] = int(exists[0].split()[1]) if exists else 0
    c.close()
    if res["exists"] != messages:
        raise RuntimeError("%s shows %d messages, want %d"
                           % (kind, res["exists"], messages))
    c = Raw(port)
    c.cmd("LOGIN %s %s" % (USER, PW))
    base = None
    if kind == "dovecot":
        pid = imap_pid(server)
        base = status_kb(pid)
        base["Pss"] = benchlib.mem_kb(pid)[0]
    dt, _, _ = c.cmd("SELECT INBOX")
    res["select"] = dt
    trace = res["rss_trace"] = []
    if first_rss is not None:
        trace.append(("first SELECT", first_rss))
    rss_pid = server.pid if kind == "tem" else imap_pid(server)
    trace.append(("SELECT", status_kb(rss_pid)["VmRSS"]))
    for label, text, _ in COMMANDS:
        times = []
        for when in ("cold", "warm"):
            if when == "cold" and evict is not None:
                evict()
            dt, _, ans = c.cmd(text)
            times.append(dt)
            trace.append((label, status_kb(rss_pid)["VmRSS"]))
        res["cmds"][label] = times
        word = b"SORT" if text.startswith("SORT") else b"SEARCH"
        if not text.startswith("UID FETCH"):
            res["cmds"][label + " hits"] = count_of(ans, word)
    if kind == "tem":
        after = status_kb(server.pid)
        res["rss_growth_kb"] = after["VmRSS"] - before["VmRSS"]
        res["peak_growth_kb"] = after["VmHWM"] - before["VmRSS"]
    else:
        pid = imap_pid(server)
        after = status_kb(pid)
        res["rss_growth_kb"] = after["VmRSS"] - base["VmRSS"]
        res["peak_growth_kb"] = after["VmHWM"] - base["VmRSS"]
        res["pss_growth_kb"] = benchlib.mem_kb(pid)[0] - base["Pss"]
    c.close()
    return res


# ---------------------------------------------------------------- main

def fmt_s(v):
    return "-" if v is None else "%.3f" % v


def ratio(dc, tem):
    if dc is None or tem is None or tem <= 0:
        return "-"
    return "%.2fx" % (dc / tem)


def report(results, messages):
    dc, tm = results.get("dovecot"), results.get("tem")

    def get(r, key, i=None):
        if r is None:
            return None
        v = r["cmds"].get(key) if i is not None else r.get(key)
        return v[i] if (v is not None and i is not None) else v
    print("%d messages in one folder; seconds (dovecot/tem: above 1, "
          "tem is faster)" % messages)
    print("%-28s %10s %10s %9s  %s" % ("command", "dovecot", "tem",
                                        "dc/tem", "target (tem)"))
    rows = [("SELECT, first open", get(dc, "select_first"),
             get(tm, "select_first"), None),
            ("SELECT, after", get(dc, "select"), get(tm, "select"),
             TARGET_SELECT)]
    for label, _, target in COMMANDS:
        for i, when in ((0, "cold"), (1, "warm")):
            rows.append(("%s %s" % (label, when), get(dc, label, i),
                         get(tm, label, i), target))
    met = missed = 0
    for name, a, b, target in rows:
        verdict = ""
        if target is not None and b is not None:
            ok = b < target
            met, missed = met + ok, missed + (not ok)
            verdict = "< %g s %s" % (target, "ok" if ok else "MISS")
        print("%-28s %10s %10s %9s  %s" % (name, fmt_s(a), fmt_s(b),
                                            ratio(a, b), verdict))
    for label, _, _ in COMMANDS:
        key = label + " hits"
        if tm is not None and key in tm["cmds"] or \
                dc is not None and key in dc["cmds"]:
            print("  %-26s dovecot %s, tem %s" % (
                key, dc["cmds"].get(key) if dc else "-",
                tm["cmds"].get(key) if tm else "-"))
    print("%-28s %10s %10s" % ("memory (MB)", "dovecot", "tem"))

    def mb(r, k):
        return "-" if r is None or k not in r else "%.1f" % (r[k] / 1024)
    print("%-28s %10s %10s" % ("RSS growth", mb(dc, "rss_growth_kb"),
                               mb(tm, "rss_growth_kb")))
    print("%-28s %10s %10s" % ("peak RSS growth", mb(dc, "peak_growth_kb"),
                               mb(tm, "peak_growth_kb")))
    if dc is not None:
        print("%-28s %10s %10s" % ("PSS growth (session process)",
                                   mb(dc, "pss_growth_kb"), "-"))
    if tm is not None:
        ok = tm["rss_growth_kb"] / 1024 < TARGET_MB
        met, missed = met + ok, missed + (not ok)
        print("tem memory for the folder < %d MB: %s" % (
            TARGET_MB, "ok" if ok else "MISS"))
    for k, r in (("dovecot", dc), ("tem", tm)):
        if r is not None:
            print("%s RSS (MB) after: %s" % (k, ", ".join(
                "%s %.1f" % (lab, kb / 1024) for lab, kb in r["rss_trace"])))
    print("targets: %d met, %d missed" % (met, missed))
    return missed


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=100000)
    p.add_argument("--only", choices=("dovecot", "tem"))
    p.add_argument("--dir", default="/var/tmp")
    p.add_argument("--tem", default=os.path.join(ROOT, "build", "tem"))
    p.add_argument("--dovecot-port", type=int, default=10143)
    p.add_argument("--tem-port", type=int, default=10243)
    p.add_argument("--tem-smtp-port", type=int, default=10225)
    p.add_argument("--json")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--cold", action="store_true",
                   help="drop the message files from the page cache before "
                   "the first SELECT and before each cold command")
    return p.parse_args()


def main():
    args = parse_args()
    catch_signals()
    base = tempfile.mkdtemp(prefix="tem-bench-big.", dir=args.dir)
    os.chmod(base, 0o755)     # Dovecot runs as the bench user
    tem = dc = None
    results = {}
    try:
        log("writing %d messages" % args.messages)
        t = time.monotonic()
        stage = os.path.join(base, "stage", "cur")
        names = write_folder(stage, args.messages)
        log("wrote them in %.1f s" % (time.monotonic() - t))
        if args.only != "dovecot":
            tem = imaprun.Tem(base, args.tem_port, args.tem_smtp_port,
                              args.tem, 100)
            tem.user = USER
            if not benchlib.Tem.start(tem, lambda: True, "start"):
                return 1
            cur = os.path.join(tem.maildir(USER), "cur")
            for n in names:
                os.link(os.path.join(stage, n), os.path.join(cur, n))
            deadline = time.monotonic() + 15
            while imaprun.imap_check(args.tem_port, USER, PW) is not None:
                if time.monotonic() > deadline:
                    log("tem: cannot log in")
                    return 1
                time.sleep(0.3)
            log("tem: measuring")
            results["tem"] = measure(tem, args.tem_port, args.messages,
                                     "tem", evictor(cur) if args.cold
                                     else None)
            tem.stop()
        if args.only != "tem":
            dovecot_mod = imaprun.dovecot
            dovecot_mod.install(log)
            dc = imaprun.Dovecot(base, args.dovecot_port, 100)
            dc.add_user(USER, PW)
            cur = os.path.join(dc.maildir(USER), "cur")
            for n in names:
                os.link(os.path.join(stage, n), os.path.join(cur, n))
            if not dc.start():
                return 1
            log("dovecot: measuring")
            results["dovecot"] = measure(dc, args.dovecot_port,
                                         args.messages, "dovecot",
                                         evictor(cur) if args.cold else None)
    except Stop:
        log("stopped")
        return 1
    finally:
        if tem is not None:
            tem.stop()
        if dc is not None:
            dc.stop()
        if args.keep:
            log("kept %s" % base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    report(results, args.messages)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"messages": args.messages, "options": vars(args),
                       "results": results,
                       "machine": benchlib.machine_info()}, f, indent=1)
    return 0    # missed targets are printed, not an error (bench/README)


if __name__ == "__main__":
    sys.exit(main())
