#!/usr/bin/python3
"""smtpload: an SMTP load generator with AUTH PLAIN and PIPELINING.

Trust: a benchmark tool; talks only to the address it is given (the
benchmarks pass 127.0.0.1) and sends only mail it made up.

    smtpload.py --port P --sessions S --count N --size BYTES \
                --from A --to B [--auth USER:PASS] [--per-conn M]
                [--timeout SECS] [--host H]

S connections run at once (one asyncio process, no threads). Each one reads
the banner, sends EHLO, then AUTH PLAIN with an initial response (once per
connection) when --auth is given, then its share of messages: M (0: N/S,
one connection per session), taken from the N before it connects, so that
no connection is opened for nothing. Each message is one pipelined group MAIL FROM /
RCPT TO / DATA, the content after the 354, and the wait for the final
reply; then QUIT. As soon as a connection ends, another takes its place
until N messages have been sent.

Each message is BYTES octets on the wire before the final "." line (CRLF
line ends, headers From/To/Subject/Date/Message-ID with a unique id, a body
of 76-character lines that never start with "."), so both servers under test
do the same work with it (neither needs to add Date or Message-ID).

Prints one JSON object on stdout when done:
    {"ok": messages that got 250 after DATA, "failed": ..., "sessions": S,
     "connections": connections opened, "t0": CLOCK_MONOTONIC seconds just
     before the first connection, "t_last": ... of the last final 250,
     "cpu_ms": this process's CPU time from t0 to the end (start-up not
     counted), "errors": [first few errors]}
t0 and t_last are time.monotonic() values: CLOCK_MONOTONIC is the same
clock in every process of the machine, so the caller can compare them with
its own. Exit status 0 when every message got its 250 within the timeout.
Python 3 standard library only.
"""

import argparse
import asyncio
import base64
import json
import resource
import sys
import time

MAX_ERRORS_KEPT = 10
REPLY_MAX = 65536       # bytes of an unfinished reply before giving up


def make_message(size, sender, rcpt):
    """Return (head, tail): a message is head + b"<n>" + tail, SIZE octets
    (give or take the digits of n), CRLF line ends, no line starting with
    a dot, ending with CRLF . CRLF."""
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: bench message\r\n"
            "Date: Sat, 28 Nov 2026 00:00:00 +0000\r\n"
            "Message-ID: <bench." % (sender, rcpt)).encode()
    tail_hdr = b"@load.bench.test>\r\n\r\n"
    line = (b"abcdefghijklmnopqrstuvwxyz0123456789"
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n")   # 76 + CRLF
    room = max(0, size - len(head) - len(tail_hdr) - 8)
    body = line * (room // len(line))
    rest = room - len(body)
    if rest > 2:
        body += b"x" * (rest - 2) + b"\r\n"
    return head, tail_hdr + body + b".\r\n"


class Load:
    """What the connections share: the message budget and the tallies."""

    def __init__(self, args):
        self.args = args
        self.left = args.count          # messages not given to a connection
        self.ok = 0
        self.failed = 0
        self.connections = 0
        self.t_last = None
        self.errors = []
        self.next_id = 0
        self.cpu0 = 0.0                 # CPU ms at t0
        self.head, self.tail = make_message(args.size, args.sender, args.rcpt)
        self.ehlo = b"EHLO load.bench.test\r\n"
        self.txn = (b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                    % (args.sender.encode(), args.rcpt.encode()))
        self.auth = None
        if args.auth:
            user, _, pw = args.auth.partition(":")
            tok = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())
            self.auth = b"AUTH PLAIN " + tok + b"\r\n"

    def error(self, what):
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(what)

    def share(self):
        """Messages for one more connection (taken from those left)."""
        a = self.args
        per = a.per_conn or -(-a.count // a.sessions)   # 0: ceil(N / S)
        n = min(per, self.left)
        self.left -= n
        return n

    def message(self):
        """The content of one more message."""
        self.next_id += 1
        return self.head + str(self.next_id).encode() + self.tail


class Client(asyncio.Protocol):
    """One SMTP connection: a small state machine fed whole replies."""

    def __init__(self, load, done, share):
        self.load = load
        self.done = done                # future: set when the connection ends
        self.share = share              # messages this connection sends
        self.transport = None
        self.buf = b""
        self.state = "banner"
        self.want = 0                   # replies still expected in "txn"
        self.codes = []
        self.msg = None

    # -- transport callbacks

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        while self.transport is not None:
            code = self.next_reply()
            if code is None:
                break
            self.on_reply(code)
        if len(self.buf) > REPLY_MAX:
            self.fail("reply too long")

    def connection_lost(self, exc):
        if self.state not in ("quit", "closed"):
            self.lost_message("connection lost in state %s%s" % (
                self.state, ": %s" % exc if exc else ""))
        self.state = "closed"
        self.transport = None
        if not self.done.done():
            self.done.set_result(None)

    # -- replies

    def next_reply(self):
        """Remove one complete reply from the buffer; its code, or None."""
        start = 0
        while True:
            end = self.buf.find(b"\r\n", start)
            if end < 0:
                return None
            line = self.buf[start:end]
            start = end + 2
            if len(line) < 4 or line[3:4] == b" ":
                self.last_text = line
                self.buf = self.buf[start:]
                return line[:3]

    def on_reply(self, code):
        st = self.state
        if st == "banner":
            self.expect(code, b"220") and self.send_ehlo()
        elif st == "ehlo":
            if self.expect(code, b"250"):
                if self.load.auth:
                    self.state = "auth"
                    self.transport.write(self.load.auth)
                else:
                    self.next_message()
        elif st == "auth":
            self.expect(code, b"235") and self.next_message()
        elif st == "txn":
            self.codes.append(code)
            self.want -= 1
            if self.want == 0:
                if self.codes == [b"250", b"250", b"354"]:
                    self.state = "data"
                    self.transport.write(self.msg)
                else:
                    self.fail("MAIL/RCPT/DATA answered %s" % b"/".join(
                        self.codes).decode("ascii", "replace"))
        elif st == "data":
            if self.expect(code, b"250"):
                self.load.ok += 1
                self.load.t_last = time.monotonic()
                self.msg = None
                self.next_message()
        elif st == "quit":
            self.close()

    def expect(self, code, want):
        if code == want:
            return True
        self.fail("%s in state %s: %s" % (
            code.decode("ascii", "replace"), self.state,
            self.last_text.decode("utf-8", "replace")[:200]))
        return False

    # -- actions

    def send_ehlo(self):
        self.state = "ehlo"
        self.transport.write(self.load.ehlo)

    def next_message(self):
        if self.share <= 0:
            self.state = "quit"
            self.transport.write(b"QUIT\r\n")
            return
        self.share -= 1
        self.msg = self.load.message()
        self.state = "txn"
        self.want = 3
        self.codes = []
        self.transport.write(self.load.txn)

    def lost_message(self, why):
        """The connection failed: its current message and the rest of its
        share are lost (counted as failed; not retried)."""
        self.load.error(why)
        if self.msg is not None:
            self.load.failed += 1
            self.msg = None
        self.load.failed += self.share
        self.share = 0

    def fail(self, why):
        self.lost_message(why)
        self.state = "closed"
        self.close()

    def close(self):
        t = self.transport
        if t is not None:
            self.transport = None
            t.close()
        if not self.done.done():
            self.done.set_result(None)


async def session_slot(load, deadline):
    """One of the S parallel slots: connection after connection."""
    loop = asyncio.get_running_loop()
    args = load.args
    while load.left > 0 and loop.time() < deadline:
        done = loop.create_future()
        share = load.share()
        load.connections += 1
        try:
            transport, _ = await asyncio.wait_for(
                loop.create_connection(lambda: Client(load, done, share),
                                       args.host, args.port),
                max(0.1, deadline - loop.time()))
        except (OSError, asyncio.TimeoutError) as e:
            load.error("connect: %s" % (e or "timeout"))
            load.left += share          # another connection sends them
            await asyncio.sleep(0.05)   # bounded by the deadline
            continue
        try:
            await asyncio.wait_for(done, max(0.1, deadline - loop.time()))
        except asyncio.TimeoutError:
            load.error("timeout")
            transport.abort()
            return


def cpu_ms():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (ru.ru_utime + ru.ru_stime) * 1000.0


async def run(args):
    load = Load(args)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout
    load.cpu0 = cpu_ms()
    t0 = time.monotonic()
    slots = [asyncio.ensure_future(session_slot(load, deadline))
             for _ in range(args.sessions)]
    await asyncio.gather(*slots)
    return load, t0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=1)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--size", type=int, default=5120,
                   help="message octets on the wire")
    p.add_argument("--from", dest="sender", default="bench@bench.test")
    p.add_argument("--to", dest="rcpt", default="rcpt@sink.test")
    p.add_argument("--auth", default=None, help="USER:PASS for AUTH PLAIN")
    p.add_argument("--per-conn", type=int, default=1,
                   help="messages per connection (0: count/sessions)")
    p.add_argument("--timeout", type=float, default=120)
    return p.parse_args(argv)


def main():
    args = parse_args()
    if args.sessions < 1 or args.count < 0 or args.per_conn < 0:
        print("smtpload: bad --sessions/--count/--per-conn", file=sys.stderr)
        return 2
    load, t0 = asyncio.run(run(args))
    if load.ok + load.failed < args.count and not load.errors:
        load.error("timed out after %g s" % args.timeout)
    out = {"ok": load.ok, "failed": args.count - load.ok,
           "sessions": args.sessions, "connections": load.connections,
           "t0": t0, "t_last": load.t_last,
           "cpu_ms": cpu_ms() - load.cpu0,
           "errors": load.errors}
    print(json.dumps(out), flush=True)
    return 0 if load.ok == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
