"""The running state is one reference-counted bundle (issue 9, item 5):
1,000 SIGHUPs and 100 `tem dkim keygen` while tem runs leave its memory
flat, and a session that started before them keeps its bundle until it
ends, which frees it."""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import TemServer  # noqa: E402

HUPS = 1000
KEYGENS = 100
WARMUP = 50             # reloads before the first measure: caches settle
RSS_MARGIN_KB = 16 * 1024
WAIT = 30               # seconds any one reload may take


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class LogWatch:
    """Counts lines holding a mark (or ending in it: "...$") in the
    server log, reading only what was appended since the last call; a
    mark counts from its first use on."""

    def __init__(self, tem):
        self.path = tem.logs[-1]
        self.pos = 0
        self.counts = {}

    def count(self, mark):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.pos += end
        for line in data[:end].decode("utf-8", "replace").splitlines():
            line = line.rstrip()
            for m in set(list(self.counts) + [mark]):
                if (line.endswith(m[:-1]) if m.endswith("$") else
                        m in line):
                    self.counts[m] = self.counts.get(m, 0) + 1
        self.counts.setdefault(mark, 0)
        return self.counts[mark]

    def wait(self, mark, n):
        deadline = time.monotonic() + WAIT
        while self.count(mark) < n:
            assert time.monotonic() < deadline, "no %r #%d in the log" % (
                mark, n)
            time.sleep(0.005)


def reload(tem, watch, n):
    """SIGHUP, then wait until reload number n is done."""
    tem.proc.send_signal(signal.SIGHUP)
    watch.wait("server reloaded", n)


def test_reloads_and_keygens_leave_rss_flat():
    tem = TemServer()
    # ASan's quarantine keeps freed memory around: RSS would grow
    # whether or not anything leaks
    tem.env["ASAN_OPTIONS"] = tem.env.get("ASAN_OPTIONS", "") + \
        ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    with tem:
        pid = tem.proc.pid
        watch = LogWatch(tem)
        watch.count("state-part-freed part=config gen=1$")
        # a session in progress holds the bundle it started with (gen 1)
        old = socket.create_connection(("127.0.0.1", tem.smtp_port),
                                       timeout=10)
        f = old.makefile("rb")
        assert f.readline().startswith(b"220 ")
        old.sendall(b"EHLO c.test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        n = 0
        for _ in range(WARMUP):
            n += 1
            reload(tem, watch, n)
        before = vm_rss_kb(pid)
        prev = None
        for i in range(HUPS):
            if i % (HUPS // KEYGENS) == 0:
                # a new key, the previous one removed: the store stays
                # small, every keygen still makes a new one
                sel = "k%d" % i
                out = tem.admin("dkim", "keygen", "a.test", sel,
                                "--type", "ed25519")
                assert b"_domainkey" in out.stdout
                if prev:
                    os.unlink(os.path.join(tem.data_dir, "dkim", "a.test",
                                           "%s.ed25519.pem" % prev))
                prev = sel
            n += 1
            reload(tem, watch, n)
        after = vm_rss_kb(pid)
        print("VmRSS kB before=%d after=%d" % (before, after))
        assert after - before < RSS_MARGIN_KB, (before, after)
        # gen 1's config is still held by the session, and only by it
        assert watch.count("state-part-freed part=config gen=1$") == 0
        old.sendall(b"QUIT\r\n")
        assert f.readline().startswith(b"221 ")
        old.close()
        watch.wait("state-part-freed part=config gen=1$", 1)
        assert tem.alive()
