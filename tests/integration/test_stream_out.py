"""Outbound delivery streams from the queue file: big messages go out
byte-exact while the sending tem's peak RSS stays bounded, and the bounce
of a big message carries at most 128 KiB of it.

The messages are submitted while their destination is down, then tem is
restarted, so the peak RSS measured (VmHWM, the new process's) is that of
delivery alone: receiving is another part of the message sink, measured
by its own tests.

ASan keeps freed memory in a quarantine (256 MB by default) that counts
as resident; the server here runs with a small one so that what is
measured is tem's own memory.
"""

import email
import email.policy
import hashlib
import os
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from fakesmtp import FakeSMTP  # noqa: E402
from temserver import TemServer, free_port, insecure_tls_context  # noqa: E402

ALICE = ("alice@a.test", "alice-secret-1")
MB = 1024 * 1024
BIG = 24 * MB
RSS_LIMIT = 128 * MB
DSN_FULL_MAX = 128 * 1024


class HashingSink(FakeSMTP):
    """FakeSMTP's listener with sessions that take any message and keep
    only its header block, the SHA-256 and size of its body (after
    dot-unstuffing, CRLF as sent), so 384 MB pass in constant memory."""

    def __init__(self, port, rcpt_reply="250 2.1.5 ok"):
        super().__init__("127.0.0.1", port)
        self.rcpt_reply = rcpt_reply

    def count(self):
        with self.lock:
            return len(self.messages)

    def _session(self, conn, client_port=None):
        conn.settimeout(60)
        f = conn.makefile("rb")

        def say(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            say("220 sink.test ESMTP")
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb == b"EHLO":
                    say("250-sink.test")
                    say("250-PIPELINING")
                    say("250-8BITMIME")
                    say("250 SIZE 104857600")
                elif verb == b"RCPT":
                    say(self.rcpt_reply)
                elif verb == b"DATA":
                    say("354 go ahead")
                    if not self._data(f):
                        return
                    say("250 2.0.0 taken")
                elif verb == b"QUIT":
                    say("221 2.0.0 bye")
                    return
                else:
                    say("250 2.0.0 ok")
        except OSError:
            return
        finally:
            conn.close()

    def _data(self, f):
        header, h, size, in_header = b"", hashlib.sha256(), 0, True
        while True:
            line = f.readline()
            if not line:
                return False
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]
            if in_header:
                header += line
                in_header = line != b"\r\n"
                continue
            h.update(line)
            size += len(line)
        with self.lock:
            self.messages.append((header, h.hexdigest(), size))
        return True


def big_body(n, size=BIG):
    """About size bytes of CRLF lines, some starting with a dot (stuffed
    on the wire), a few with 8-bit octets; different for every n."""
    line = (b"%04d " % n) + b"0123456789abcdefghijklmnopqrstuvwxyz" * 26
    lines, total, i = [], 0, 0
    while total < size:
        l = line[:900 + i % 90]
        if i % 37 == 0:
            l = b"." + l
        if i % 1001 == 0:
            l += b" \xc3\xa9t\xc3\xa9"
        l += b"\r\n"
        lines.append(l)
        total += len(l)
        i += 1
    return b"".join(lines)


def submit(tem, rcpt, subject, body):
    head = ("From: Alice <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@a.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            % (ALICE[0], rcpt, subject, subject)).encode()
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=120) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(ALICE[0], [rcpt], head + body, mail_options=["BODY=8BITMIME"])


def peak_rss(tem):
    with open("/proc/%d/status" % tem.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def wait_for(fn, timeout, what):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def queue_empty(tem):
    return tem.admin("queue", "list").stdout.strip() == b""


def small_quarantine(tem):
    """ASan's quarantine of freed memory, small (see the top)."""
    tem.env["ASAN_OPTIONS"] = tem.env.get("ASAN_OPTIONS", "") + \
        ":quarantine_size_mb=8:thread_local_quarantine_size_kb=256"


def sender(port):
    tem = TemServer(users=dict([ALICE]), domains=("a.test",),
                    services=("smtp", "submission"),
                    extra_conf={"relay_host": "127.0.0.1:%d" % port,
                                "queue_retry_base": "1s",
                                "message_size_limit": "30M"})
    small_quarantine(tem)
    return tem


def test_sixteen_big_messages_go_out_byte_exact_in_bounded_memory():
    port = free_port()
    digests = {}
    with sender(port) as a:
        for n in range(16):
            body = big_body(n)
            digests["m%02d" % n] = (hashlib.sha256(body).hexdigest(),
                                    len(body))
            submit(a, "bob@b.test", "m%02d" % n, body)
            del body
        with HashingSink(port) as sink:
            a.restart()
            wait_for(lambda: sink.count() == 16, 600, "16 deliveries")
            wait_for(lambda: queue_empty(a), 60, "the queue to empty")
            rss = peak_rss(a)
            print("delivery peak RSS %.1f MB" % (rss / MB))
            got = {}
            for header, digest, size in sink.messages:
                subj = [l for l in header.split(b"\r\n")
                        if l.startswith(b"Subject: ")][0][9:].decode()
                got[subj] = (digest, size)
            assert got == digests
            assert rss < RSS_LIMIT, "peak RSS %d MB" % (rss // MB)
            assert "status=sent" in a.log_text()


def test_bounces_of_big_messages_carry_their_header_only():
    """Six 24 MB messages bounced at once: each report holds at most
    128 KiB of its original (here its header), and the engine never holds
    the originals in memory."""
    port = free_port()
    with sender(port) as a:
        for n in range(6):
            body = big_body(90 + n)
            submit(a, "nobody@b.test", "big-bounce-%d" % n, body)
            del body
        with HashingSink(port, rcpt_reply="550 5.1.1 no such user"):
            a.restart()
            dsns = wait_for(lambda: len(a.maildir_messages(ALICE[0])) == 6
                            and a.maildir_messages(ALICE[0]), 300,
                            "the bounces")
            wait_for(lambda: queue_empty(a), 60, "the queue to empty")
            rss = peak_rss(a)
            print("bounce peak RSS %.1f MB" % (rss / MB))
    subjects = set()
    for dsn in dsns:
        msg = email.message_from_bytes(dsn, policy=email.policy.compat32)
        assert msg.get_content_type() == "multipart/report"
        parts = msg.get_payload()
        assert [p.get_content_type() for p in parts] == [
            "text/plain", "message/delivery-status", "text/rfc822-headers"]
        original = parts[2].get_payload(decode=True)
        assert len(original) <= DSN_FULL_MAX
        assert b"0123456789abcdef" not in original     # no body line
        subjects.add(original.split(b"Subject: ")[1].split(b"\n")[0])
        assert "Status: 5.1.1" in dsn.decode("utf-8", "replace")
    assert subjects == {b"big-bounce-%d" % n for n in range(6)}
    assert rss < RSS_LIMIT, "peak RSS %d MB" % (rss // MB)
