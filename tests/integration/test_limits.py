"""Descriptor exhaustion (issue 9, item 8): tem started with 1,024 open
files and flooded by 2,000 silent sessions from many loopback addresses
keeps greeting a newcomer, logs the overload a few times (never once per
loop turn), and still stops cleanly on SIGTERM."""

import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import TemServer  # noqa: E402,F401

NOFILE = 1024
FLOOD = 2000
ADDRS = 100             # 20 sessions per address: under max_sessions_per_ip
FLOOD_TIME = 60         # seconds the flood may take to connect


def own_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def flood(tem, count=FLOOD, batch=100, stop=None):
    """count silent sessions from 127.1.0.x: connected, never a byte sent.
    They go in batches, each waited for until tem logged its sessions (a
    full accept queue would leave a silent client connected on its side
    only: SYN cookies), or until the log shows stop. Returns the sockets
    (the caller closes them)."""
    own_nofile(count + 512)
    socks = []
    deadline = time.monotonic() + FLOOD_TIME
    while len(socks) < count and time.monotonic() < deadline:
        base = tem.log_text().count(" connect addr=127.1.")
        n = min(batch, count - len(socks))
        for _ in range(n):
            i = len(socks)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.1.%d.%d" % (i % ADDRS // 250,
                                     1 + i % ADDRS % 250), 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", tem.smtp_port))
            socks.append(s)
        while time.monotonic() < deadline:
            log = tem.log_text()
            if stop and stop in log:
                return socks
            if log.count(" connect addr=127.1.") >= base + n or \
                    "at-capacity" in log:
                break
            time.sleep(0.05)
    return socks


def greeting(port, deadline_s=30):
    """A fresh client from 127.0.0.1 (not a flooding address): the first
    reply line of the first session that got one; retried while tem
    refuses at its cap (a newcomer takes a silent session's place once
    that one is silent long enough)."""
    deadline = time.monotonic() + deadline_s
    line = b""
    while time.monotonic() < deadline:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            line = s.makefile("rb").readline()
            if line.startswith(b"220 "):
                s.sendall(b"QUIT\r\n")
                return line
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.2)     # refused (421 at the cap): try again
    return line


def count(text, what):
    return sum(1 for l in text.splitlines() if what in l)


def test_nofile_raised_and_cap_derived(make_tem):
    tem = make_tem(nofile=NOFILE)
    assert "server nofile=1024 max_sessions=768" in tem.log_text()


def test_flood_of_silent_sessions_at_1024_files(make_tem):
    tem = make_tem(nofile=NOFILE)
    socks = flood(tem)
    try:
        line = greeting(tem.smtp_port)
        assert line.startswith(b"220 "), line
        assert tem.alive()
    finally:
        for s in socks:
            s.close()
    log = tem.log_text()
    assert "server at-capacity" in log
    assert count(log, "server at-capacity") <= 10
    assert count(log, "accept-paused") <= 5
    assert tem.stop() == 0


def test_descriptor_exhaustion_pauses_accept(make_tem):
    """A cap set above the limit: tem does run out of descriptors. It
    pauses accepting and says so at most once a minute (it used to log
    every loop turn), keeps its sessions, and greets again once
    descriptors are free."""
    tem = make_tem(nofile=NOFILE, extra_conf={"max_sessions": "100000"})
    socks = flood(tem, 1500, stop="accept-paused")
    # the flood's sessions were greeted: the first ones read their 220
    s0 = socks[0]
    s0.setblocking(True)
    s0.settimeout(10)
    assert s0.recv(100).startswith(b"220 ")
    for s in socks:
        s.close()
    line = greeting(tem.smtp_port)
    assert line.startswith(b"220 "), line
    log = tem.log_text()
    assert 1 <= count(log, "accept-paused") <= 5
    assert tem.stop() == 0
