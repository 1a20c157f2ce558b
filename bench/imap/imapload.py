#!/usr/bin/python3
"""imapload: an IMAP load generator (Python 3 standard library, asyncio).

Trust: benchmark code; talks only to --host (127.0.0.1 unless told, a
loopback address):PORT.

Two modes, the first word on the command line:

  mix    CLIENTS concurrent clients run the mixed script below from
         --start-at (a time.monotonic() value shared by several generator
         processes) for --duration seconds; prints one JSON line:
         {"ops", "errors", "nerrors", "proto", "nproto", "sessions",
         "per_cmd" (count per command), "lat" (summed seconds per
         command), "cpu_ms", "window"}. proto: protocol errors in the
         server's answers (Conn.check: a FETCH naming a flag the last
         FLAGS did not announce, a FETCH or EXPUNGE above EXISTS).
         ops = IMAP commands answered OK inside the window (greeting and
         BYE are not commands; a command still in flight at the end is not
         counted). Client i logs in as the user number FIRST+i modulo
         USERS (--user-fmt with %d, numbered from 1).

         Each session: LOGIN, SELECT INBOX, then cycles of
             FETCH 20 headers  (FETCH a:a+19 (UID FLAGS RFC822.SIZE
                               INTERNALDATE BODY.PEEK[HEADER.FIELDS (...)]))
             FETCH a body      (FETCH n BODY.PEEK[])
             STORE a flag      (STORE n +FLAGS/-FLAGS (\\Flagged), then
                               the same with the keyword $Bench, in turn)
             SEARCH            (UID SEARCH UNSEEN / FLAGGED / FROM / SUBJECT,
                               in turn)
             APPEND            (a ~3 KB message, LITERAL+; APPENDUID read)
             STORE \\Deleted    (UID STORE uid +FLAGS.SILENT (\\Deleted) on
                               the appended message)
             EXPUNGE
         --per-login K > 0: one cycle per session and LOGOUT, so a session
         is LOGIN + SELECT + 7 + LOGOUT = 10 commands (K is recorded only);
         --per-login 0: long sessions, logged in and SELECTed before the
         window opens, cycles until it closes, LOGOUT after.
         The mailbox size is read from SELECT (EXISTS); the script deletes
         only the messages it appended, so the mailbox keeps its size.

  hold   opens SESSIONS sessions (at most --concurrency logging in at
         once), each LOGIN and nothing else, prints {"ready": N, ...};
         then reads commands on stdin, one a line:
           idle  every open session: SELECT INBOX, IDLE (waits for "+");
                 prints {"idle": N, ...}
           quit  (or end of input) closes every connection and exits.
         Used to measure the server's memory per idle session.

Every step is bounded: --timeout for a reply (mix) or a whole phase (hold).
"""

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time

HEADER_FIELDS = b"(FROM TO CC SUBJECT DATE MESSAGE-ID)"
SEARCHES = (b"UID SEARCH UNSEEN", b"UID SEARCH FLAGGED",
            b'UID SEARCH FROM "sender3"', b'UID SEARCH SUBJECT "report"')


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000.0


class ImapError(Exception):
    pass


class Conn:
    """One IMAP connection: commands out, tagged answers in. Untagged data
    is scanned for EXISTS and EXPUNGE only; literals are skipped by their length."""

    def __init__(self, reader, writer, timeout):
        self.r = reader
        self.w = writer
        self.timeout = timeout
        self.buf = b""
        self.n = 0
        self.exists = 0
        self.caps = b""
        self.last = 0.0             # seconds the last command took
        self.flags = None           # the last untagged FLAGS, lower case
        self.proto = []             # protocol errors seen (text)

    @classmethod
    async def open(cls, port, timeout, host="127.0.0.1"):
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=1 << 20),
            timeout)
        c = cls(reader, writer, timeout)
        greeting = await c.line()
        if not greeting.startswith(b"* OK"):
            c.close()
            raise ImapError("greeting %r" % greeting[:200])
        c.caps = greeting
        return c

    async def _more(self):
        data = await asyncio.wait_for(self.r.read(65536), self.timeout)
        if not data:
            raise ImapError("connection closed by the server")
        self.buf += data

    async def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = self.buf[:i]
                self.buf = self.buf[i + 2:]
                return line
            if len(self.buf) > 1 << 20:
                raise ImapError("line over 1 MB")
            await self._more()

    async def skip(self, n):
        while len(self.buf) < n:
            await self._more()
        self.buf = self.buf[n:]

    def check(self, line):
        """Protocol checks on the first piece of an untagged line (as
        imaptest does): a FETCH names only flags the last FLAGS announced
        (RFC 3501 7.2.6: a new keyword is announced first), and no FETCH
        or EXPUNGE names a message above EXISTS. Findings go to
        self.proto; the session goes on."""
        parts = line.split(None, 3)
        if len(parts) < 3:
            return
        if parts[1] == b"FLAGS":
            i, j = line.find(b"("), line.rfind(b")")
            self.flags = set(line[i + 1:j].lower().split())
            return
        if parts[2] not in (b"FETCH", b"EXPUNGE") or not parts[1].isdigit():
            return
        n = int(parts[1])
        if n > self.exists or n == 0:
            self.proto.append("* %d %s with %d messages" % (
                n, parts[2].decode(), self.exists))
        if parts[2] != b"FETCH" or self.flags is None:
            return
        i = line.find(b" FLAGS (")
        if i < 0:
            return
        j = line.find(b")", i)
        for f in line[i + 8:j].lower().split():
            if f not in self.flags and f != b"\\recent":
                self.proto.append("FETCH names %s, not in FLAGS (%s)" % (
                    f.decode(errors="replace"),
                    b" ".join(sorted(self.flags)).decode(errors="replace")))

    async def answer(self, tag):
        """Reads until TAG's line; returns it (without the tag)."""
        while True:
            line = await self.line()
            if line.startswith(b"* "):
                self.check(line)
            while line.endswith(b"}"):
                j = line.rfind(b"{")
                try:
                    n = int(line[j + 1:-1].rstrip(b"+"))
                except ValueError:
                    break
                await self.skip(n)
                line = await self.line()
            if line.startswith(tag):
                return line[len(tag):]
            if line.startswith(b"* ") and (line.endswith(b" EXISTS") or
                                           line.endswith(b" EXPUNGE")):
                try:
                    n = int(line.split()[1])
                except ValueError:
                    continue
                if line.endswith(b"S"):
                    self.exists = n
                else:
                    self.exists -= 1

    async def cmd(self, text, literal=None):
        """Sends TEXT (and a LITERAL+ literal); returns the tagged status
        line; raises ImapError unless it is OK."""
        self.n += 1
        tag = b"a%d " % self.n
        t = time.monotonic()
        if literal is None:
            self.w.write(tag + text + b"\r\n")
        else:
            self.w.write(tag + text + b" {%d+}\r\n" % len(literal)
                         + literal + b"\r\n")
        st = await self.answer(tag)
        self.last = time.monotonic() - t
        if not st.startswith(b"OK"):
            raise ImapError("%s -> %s" % (text[:60].decode(errors="replace"),
                                          st[:200].decode(errors="replace")))
        return st

    async def idle(self):
        self.n += 1
        self.w.write(b"a%d IDLE\r\n" % self.n)
        while True:
            line = await self.line()
            if line.startswith(b"+"):
                return
            if line.startswith(b"a%d " % self.n):
                raise ImapError("IDLE -> %r" % line[:200])

    def close(self):
        try:
            self.w.transport.abort()
        except Exception:       # noqa: BLE001 - closing anyway
            pass


def message(rng, k):
    """A ~3 KB message for APPEND (CRLF)."""
    words = [b"alpha", b"beta", b"gamma", b"delta", b"report", b"meeting",
             b"invoice", b"lunch", b"status", b"draft"]
    body = b"\r\n".join(b" ".join(rng.choice(words) for _ in range(11))
                        for _ in range(40))
    return (b"From: <sender%d@example.test>\r\nTo: <bench@bench.test>\r\n"
            b"Subject: appended %d\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
            b"Message-ID: <app%d.%d@example.test>\r\n\r\n"
            % (k % 20, k, k, rng.randrange(1 << 30))) + body + b"\r\n"


# ---------------------------------------------------------------- mix

class Stats:
    def __init__(self, t0, t1):
        self.t0, self.t1 = t0, t1
        self.ops = 0
        self.per_cmd = {}
        self.lat = {}               # name -> summed seconds
        self.errors = []
        self.nerrors = 0
        self.sessions = 0
        self.proto = []             # protocol errors (Conn.check), first 5
        self.nproto = 0

    def done(self, name, c):
        """Command NAME answered OK on connection C (its latency in
        c.last): counted when it completed inside the window."""
        now = time.monotonic()
        if self.t0 <= now <= self.t1:
            self.ops += 1
            self.per_cmd[name] = self.per_cmd.get(name, 0) + 1
            self.lat[name] = self.lat.get(name, 0.0) + c.last

    def error(self, e):
        self.nerrors += 1
        if len(self.errors) < 5:
            self.errors.append(str(e))

    def protocol(self, c):
        """Takes over connection C's protocol findings (Conn.check)."""
        for p in c.proto:
            self.nproto += 1
            if len(self.proto) < 5:
                self.proto.append(p)
        c.proto = []


async def one_cycle(c, st, rng, k, read_only=False):
    n = max(1, c.exists)
    a = rng.randint(1, max(1, n - 19))
    await c.cmd(b"FETCH %d:%d (UID FLAGS RFC822.SIZE INTERNALDATE "
                b"BODY.PEEK[HEADER.FIELDS %s])" % (a, min(n, a + 19),
                                                   HEADER_FIELDS))
    st.done("fetch-headers", c)
    await c.cmd(b"FETCH %d BODY.PEEK[]" % rng.randint(1, n))
    st.done("fetch-body", c)
    if not read_only:
        await c.cmd(b"STORE %d %sFLAGS (%s)" % (
            rng.randint(1, n), b"+" if k % 2 == 0 else b"-",
            b"\\Flagged" if k % 4 < 2 else b"$Bench"))
        st.done("store", c)
    await c.cmd(SEARCHES[k % len(SEARCHES)])
    st.done("search", c)
    if read_only:
        return
    ok = await c.cmd(b"APPEND INBOX", message(rng, k))
    st.done("append", c)
    # "OK [APPENDUID uidvalidity uid] ..."
    try:
        uid = int(ok.split(b"APPENDUID", 1)[1].split()[1].rstrip(b"]"))
    except (IndexError, ValueError):
        raise ImapError("no APPENDUID in %r" % ok[:200])
    await c.cmd(b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
    st.done("store-deleted", c)
    await c.cmd(b"EXPUNGE")
    st.done("expunge", c)


async def login(c, user, pw, st):
    await c.cmd(b'LOGIN "%s" "%s"' % (user.encode(), pw.encode()))
    if st:
        st.done("login", c)
    await c.cmd(b"SELECT INBOX")
    if st:
        st.done("select", c)


async def mix_client(args, i, st):
    rng = random.Random(i * 7919 + os.getpid())
    user = args.user_fmt % ((args.first + i) % args.users + 1)
    k = 0
    if args.per_login == 0:
        # long session: set up before the window
        c = await Conn.open(args.port, args.timeout, args.host)
        await login(c, user, args.password, None)
        while time.monotonic() < st.t0:
            await asyncio.sleep(min(0.05, st.t0 - time.monotonic()))
        st.sessions += 1
        try:
            while time.monotonic() < st.t1:
                await one_cycle(c, st, rng, k, args.read_only)
                k += 1
            await c.cmd(b"LOGOUT")
        finally:
            st.protocol(c)
            c.close()
        return
    while time.monotonic() < st.t0:
        await asyncio.sleep(min(0.05, st.t0 - time.monotonic()))
    while time.monotonic() < st.t1:
        c = await Conn.open(args.port, args.timeout, args.host)
        try:
            await login(c, user, args.password, st)
            await one_cycle(c, st, rng, k, args.read_only)
            await c.cmd(b"LOGOUT")
            st.done("logout", c)
            st.sessions += 1
        finally:
            st.protocol(c)
            c.close()
        k += 1


async def mix_guarded(args, i, st):
    """A client; an error is counted and the client starts over (after a
    pause), until the window closes."""
    while time.monotonic() < st.t1:
        try:
            await mix_client(args, i, st)
            return
        except (ImapError, OSError, asyncio.TimeoutError) as e:
            st.error("client %d: %s" % (i, e or type(e).__name__))
            await asyncio.sleep(0.5)


async def mix(args):
    t0 = args.start_at if args.start_at else time.monotonic() + 1.0
    st = Stats(t0, t0 + args.duration)
    c0 = cpu_ms()
    tasks = [asyncio.ensure_future(mix_guarded(args, i, st))
             for i in range(args.clients)]
    # bounded: clients stop at t1; a reply may take args.timeout more
    done, pending = await asyncio.wait(
        tasks, timeout=max(0.0, st.t1 - time.monotonic()) + args.timeout + 5)
    for t in pending:
        t.cancel()
    if pending:
        st.error("%d clients did not finish" % len(pending))
    return {"ops": st.ops, "errors": st.errors, "nerrors": st.nerrors,
            "proto": st.proto, "nproto": st.nproto,
            "sessions": st.sessions, "per_cmd": st.per_cmd, "lat": st.lat,
            "cpu_ms": cpu_ms() - c0, "window": [st.t0, st.t1]}


# ---------------------------------------------------------------- hold

def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def hold(args):
    sem = asyncio.Semaphore(args.concurrency)
    conns = []
    errors = []

    async def open_one(i):
        user = args.user_fmt % ((args.first + i) % args.users + 1)
        async with sem:
            c = await Conn.open(args.port, args.timeout, args.host)
            try:
                await c.cmd(b'LOGIN "%s" "%s"' % (user.encode(),
                                                   args.password.encode()))
            except BaseException:
                c.close()
                raise
            conns.append(c)

    async def idle_one(c):
        async with sem:
            await c.cmd(b"SELECT INBOX")
            await c.idle()

    async def phase(coros, what):
        t = time.monotonic()
        tasks = [asyncio.ensure_future(x) for x in coros]
        done, pending = await asyncio.wait(tasks, timeout=args.phase_timeout)
        for p in pending:
            p.cancel()
        ok = 0
        for d in done:
            if d.exception() is None:
                ok += 1
            elif len(errors) < 5:
                errors.append("%s: %s" % (what, d.exception() or
                                          type(d.exception()).__name__))
        if pending and len(errors) < 5:
            errors.append("%s: %d not done in %d s" % (
                what, len(pending), args.phase_timeout))
        return ok, time.monotonic() - t

    def say(obj):
        obj.update({"errors": errors, "rss_kb": rss_kb(),
                    "cpu_ms": cpu_ms()})
        print(json.dumps(obj), flush=True)

    ok, secs = await phase([open_one(i) for i in range(args.sessions)],
                           "login")
    say({"ready": ok, "seconds": secs})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        word = line.strip()
        if word == "idle":
            live = list(conns)
            ok, secs = await phase([idle_one(c) for c in live], "idle")
            say({"idle": ok, "seconds": secs})
        else:
            break
    for c in conns:
        c.close()
    await asyncio.sleep(0.1)
    return None


# ---------------------------------------------------------------- main

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=("mix", "hold"))
    p.add_argument("--host", default="127.0.0.1",
                   help="a loopback address (a cluster node's)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user-fmt", default="u%d@bench.test")
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--first", type=int, default=0,
                   help="index of this process's first client")
    p.add_argument("--password", default="pw")
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--start-at", type=float, default=0.0,
                   help="time.monotonic() at which the window opens")
    p.add_argument("--per-login", type=int, default=0,
                   help="0: long sessions; else one cycle per login")
    p.add_argument("--read-only", action="store_true",
                   help="cycles of FETCH headers, FETCH a body and SEARCH "
                   "only (no STORE, APPEND, EXPUNGE)")
    p.add_argument("--sessions", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds for one reply")
    p.add_argument("--phase-timeout", type=int, default=600,
                   help="seconds for a whole hold phase")
    return p.parse_args()


def main():
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, args.sessions + 1000) if args.mode == "hold" else soft
    if want > soft:         # up to the hard limit (raising it needs a cap)
        want = min(want, hard) if hard != resource.RLIM_INFINITY else want
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if args.mode == "mix":
        res = asyncio.run(mix(args))
        print(json.dumps(res), flush=True)
    else:
        asyncio.run(hold(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
