#!/usr/bin/python3
"""pop3load - POP3 download load generator for bench/pop3.

Trust: benchmark code; talks only to 127.0.0.1.

One process per client (no GIL between them). Client i logs in as
USERS[i] (USER/PASS, password --password) and runs --passes sessions,
each: greeting, USER, PASS, STAT, RETR 1..N one after another (each reply
read whole before the next command, as fetchmail and poplib do), QUIT
without DELE. Every RETR is checked: "+OK" and at least as many octets
before the terminating ".CRLF" as its "+OK N octets" announced (dot-
stuffing only adds), and STAT's count must be the same in every session.

The clients start together (a pipe per client is the start signal) and
the parent prints one JSON line:
  {"ok": sessions completed, "msgs": RETRs, "octets": sum of the N in
   "+OK N octets", "t0": start, "t_last": when the last client finished
   (time.monotonic() of this machine), "cpu_ms": the clients' CPU time,
   "errors": [first few errors]}
Python 3 standard library only.
"""

import argparse
import json
import os
import resource
import socket
import sys
import time

TERM = b"\r\n.\r\n"


class Client:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def line(self):
        start = 0
        while True:
            i = self.buf.find(b"\r\n", start)
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            start = max(0, len(self.buf) - 1)
            self._fill()

    def ok(self, cmd):
        self.sock.sendall(cmd + b"\r\n")
        r = self.line()
        if not r.startswith(b"+OK"):
            raise RuntimeError("%s: %r" % (cmd.split()[0].decode(), r[:200]))
        return r

    def multi(self):
        """The body of a multi-line reply; returns its length (stuffed)."""
        if self.buf[:3] == b".\r\n":
            del self.buf[:3]
            return 0
        start = 0
        while True:
            i = self.buf.find(TERM, start)
            if i >= 0:
                del self.buf[:i + 5]
                return i + 2
            start = max(0, len(self.buf) - 4)
            self._fill()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def one_session(args, user, stat_seen):
    """Returns (messages, octets)."""
    c = Client(args.port, args.timeout)
    try:
        g = c.line()
        if not g.startswith(b"+OK"):
            raise RuntimeError("greeting %r" % g[:200])
        c.ok(b"USER " + user.encode())
        c.ok(b"PASS " + args.password.encode())
        st = c.ok(b"STAT").split()
        n = int(st[1])
        if stat_seen and stat_seen[0] != n:
            raise RuntimeError("STAT %d, earlier %d" % (n, stat_seen[0]))
        stat_seen[:] = [n]
        octets = 0
        for i in range(1, n + 1):
            r = c.ok(b"RETR %d" % i)
            want = int(r.split()[1])
            got = c.multi()
            if got < want:
                raise RuntimeError("RETR %d: %d octets, announced %d"
                                   % (i, got, want))
            octets += want
        c.ok(b"QUIT")
        return n, octets
    finally:
        c.close()


def child(args, user, go_r, out_w):
    """A client process: waits for the start signal, runs its sessions,
    writes one JSON line to out_w."""
    res = {"ok": 0, "msgs": 0, "octets": 0, "errors": []}
    os.read(go_r, 1)
    stat_seen = []
    for _ in range(args.passes):
        try:
            n, octets = one_session(args, user, stat_seen)
            res["ok"] += 1
            res["msgs"] += n
            res["octets"] += octets
        except (OSError, RuntimeError, EOFError, ValueError,
                IndexError) as e:
            res["errors"].append("%s: %s" % (user, e))
            break
    res["t_end"] = time.monotonic()
    os.write(out_w, (json.dumps(res) + "\n").encode())
    os._exit(0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--users", required=True, help="comma-separated")
    p.add_argument("--password", required=True)
    p.add_argument("--passes", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    users = args.users.split(",")
    kids = []
    for user in users:
        go_r, go_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.close(out_r)
            child(args, user, go_r, out_w)
        os.close(go_r)
        os.close(out_w)
        kids.append((pid, go_w, out_r))
    time.sleep(0.2)             # let every child reach its read()
    t0 = time.monotonic()
    for _, go_w, _ in kids:
        os.write(go_w, b"g")
    total = {"ok": 0, "msgs": 0, "octets": 0, "errors": [], "t0": t0,
             "t_last": t0}
    for pid, go_w, out_r in kids:
        data = b""
        while True:
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            data += chunk
        os.waitpid(pid, 0)
        os.close(go_w)
        os.close(out_r)
        try:
            r = json.loads(data.decode())
        except ValueError:
            total["errors"].append("client for a user died")
            continue
        for k in ("ok", "msgs", "octets"):
            total[k] += r[k]
        total["errors"] += r["errors"]
        total["t_last"] = max(total["t_last"], r["t_end"])
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    total["cpu_ms"] = (ru.ru_utime + ru.ru_stime) * 1000.0
    total["errors"] = total["errors"][:5]
    print(json.dumps(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
