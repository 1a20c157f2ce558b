"""The message sink: big messages stream through a spool file.

Sixteen sessions each send a 24 MB message at once, to a local mailbox
and (through an alias) to a remote address that is queued; the tem
process's peak RSS (VmHWM) must stay under 128 MB, and every stored copy
(Maildir and queue file) must be the sent message byte for byte.
"""

import base64
import os
import random
import struct
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import REPO, SMTPConn, free_port, on_disk, split_added_headers, first_difference  # noqa: E402

SESSIONS = 16
SIZE = 24 * 1024 * 1024
RSS_LIMIT_KB = 128 * 1024
BIG_TIMEOUT = 300          # one 24 MB transaction on a loaded ASan build


def big_message(i, size=SIZE):
    """A distinct message of about SIZE bytes, CRLF lines, some starting
    with a dot (dot-stuffing on the wire, none on disk)."""
    rnd = random.Random(i)
    head = (b"From: <sender%d@ext.test>\r\nTo: <alice@a.test>\r\n"
            b"Subject: big message %d\r\nMessage-ID: <big%d@ext.test>\r\n"
            b"\r\n" % (i, i, i))
    raw = base64.encodebytes(rnd.randbytes(size * 3 // 4))
    body = raw.replace(b"\n", b"\r\n")
    # a few lines that start with a dot
    body = body.replace(b"\r\nA", b"\r\n.A", 50)
    return head + body


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for pid %d" % pid)


def queue_contents(tem):
    """{queue id: content bytes} of every file in queue/msg/, parsed as
    queue_record.c writes them (magic, 'E' record, 'C' record)."""
    out = {}
    d = os.path.join(tem.data_dir, "queue", "msg")
    for name in os.listdir(d):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        assert data[:8] == b"TEMQ0001", data[:8]
        pos = 8
        recs = {}
        for _ in range(2):
            typ = data[pos:pos + 1]
            (n,) = struct.unpack(">I", data[pos + 1:pos + 5])
            recs[typ] = data[pos + 5:pos + 5 + n]
            pos += 5 + n + 4
        out[name] = recs[b"C"]
        del data
    return out


def send_big(port, i, msg, rcpts, results):
    try:
        with SMTPConn(port, timeout=BIG_TIMEOUT) as c:
            assert c.banner.code == 220, c.banner
            c.ehlo()
            assert c.cmd("MAIL FROM:<sender%d@ext.test>" % i).code == 250
            for rcpt in rcpts:
                assert c.cmd("RCPT TO:<%s>" % rcpt).code == 250
            results[i] = c.data(msg)
            c.cmd("QUIT")
    except Exception as e:  # reported by the main thread
        results[i] = e


def send_all(tem, msgs, rcpts):
    """Sends every message at once, one session each; asserts 250s."""
    results = [None] * len(msgs)
    threads = [threading.Thread(target=send_big,
                                args=(tem.smtp_port, i, msgs[i], rcpts,
                                      results))
               for i in range(len(msgs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        assert not isinstance(r, Exception), "session %d: %r" % (i, r)
        assert r is not None and r.code == 250, "session %d: %s" % (i, r)


def assert_each_once(copies, msgs, where):
    """COPIES (stored bytes, tem's headers on top) are MSGS as stored,
    each exactly once, byte for byte."""
    want = sorted(on_disk(m) for m in msgs)
    got = sorted(split_added_headers(c)[1] for c in copies)
    assert len(got) == len(want), "%s: %d copies" % (where, len(got))
    for g, w in zip(got, want):
        assert g == w, "%s: %s" % (where, first_difference(g, w))


@pytest.fixture
def small_quarantine(monkeypatch):
    """ASan keeps freed memory in a quarantine (256 MB by default) to catch
    use-after-free: every socket read buffer of 384 MB of mail would stay
    resident. A small quarantine measures tem's memory, not ASan's."""
    opts = os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:"
                          "strict_string_checks=1:"
                          "detect_stack_use_after_return=1")
    monkeypatch.setenv("ASAN_OPTIONS", opts + ":quarantine_size_mb=4")


def test_sixteen_24mb_messages_bounded_memory_byte_exact(make_tem,
                                                         small_quarantine):
    tem = make_tem(extra_conf={"message_size_limit": str(64 << 20)})
    msgs = [big_message(i) for i in range(SESSIONS)]
    send_all(tem, msgs, ["alice@a.test"])
    peak = vm_hwm_kb(tem.proc.pid)
    print("peak RSS %d kB for %d x %d bytes" % (peak, SESSIONS, SIZE))
    assert_each_once(tem.maildir_messages("alice@a.test"), msgs, "Maildir")
    assert peak < RSS_LIMIT_KB, "peak RSS %d kB >= %d kB" % (peak,
                                                               RSS_LIMIT_KB)


@pytest.mark.embedded_only
def test_sixteen_24mb_messages_queued_byte_exact(make_tem, small_quarantine):
    """The same through an alias to a remote address: a Maildir copy and a
    queue file each (whose delivery attempts stream from the file), the
    same memory bound."""
    # the remote copies stay queued: their relay refuses connections
    tem = make_tem(aliases={"fwd@a.test": "far@remote.test"},
                   extra_conf={"message_size_limit": str(64 << 20),
                               "relay_host": "127.0.0.1:%d" % free_port()})
    msgs = [big_message(100 + i) for i in range(SESSIONS)]
    send_all(tem, msgs, ["alice@a.test", "fwd@a.test"])
    peak = vm_hwm_kb(tem.proc.pid)
    print("queued: peak RSS %d kB" % peak)
    assert_each_once(tem.maildir_messages("alice@a.test"), msgs, "Maildir")
    assert_each_once(list(queue_contents(tem).values()), msgs, "queue")
    assert peak < RSS_LIMIT_KB, "peak RSS %d kB >= %d kB" % (peak,
                                                               RSS_LIMIT_KB)


# --- a full disk ---------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs mounted for the test (we run as root), unmounted at
    the end: tem's data_dir, so that the test can fill it."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755",
                    "tmpfs", str(mnt)], check=True)
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def fill(path, leave):
    """Fills the file system of PATH until LEAVE bytes are free; returns
    the filler file (remove it to free the space)."""
    filler = os.path.join(path, "filler")
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def visible_files(data_dir):
    """Every message file a reader could see: Maildir new/ cur/ tmp/ and
    the queue's msg/ and tmp/."""
    out = []
    for root, _dirs, files in os.walk(data_dir):
        base = os.path.basename(root)
        if base in ("new", "cur", "tmp", "msg"):
            out.extend(os.path.join(root, f) for f in files)
    return out


def one_transaction(tem, msg, rcpts):
    with SMTPConn(tem.smtp_port, timeout=60) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<s@ext.test>").code == 250
        for rcpt in rcpts:
            assert c.cmd("RCPT TO:<%s>" % rcpt).code == 250
        r = c.data(msg)
        # the session goes on after a disk error
        assert c.cmd("NOOP").code == 250
        c.cmd("QUIT")
        return r


@pytest.mark.parametrize("free_mb, where", [
    (0.5, "spool"),        # the message does not fit the spool
    (1.5, "copy"),         # the spool fits, the Maildir/queue copy not
])
@pytest.mark.embedded_only
def test_disk_full_452_nothing_visible_then_recovers(make_tem, small_disk,
                                                     free_mb, where):
    tem = make_tem(aliases={"fwd@a.test": "far@remote.test"},
                   extra_conf={"data_dir": small_disk,
                               "relay_host": "127.0.0.1:%d" % free_port()})
    msg = big_message(7, size=1 << 20)
    filler = fill(small_disk, int(free_mb * (1 << 20)))
    before = visible_files(small_disk)
    r = one_transaction(tem, msg, ["alice@a.test", "fwd@a.test"])
    assert r.code == 452 and r.last.startswith("452 4.3.1"), r
    assert visible_files(small_disk) == before, "a partial file is visible"
    log = tem.log_text()
    failed = [l for l in log.splitlines() if "-failed" in l and
              "No space left on device" in l]
    assert failed, "no log line names the full disk"
    stage = {"spool": ("spool-failed",),
             "copy": ("store-failed", "queue-failed")}[where]
    assert any(w in l for l in failed for w in stage), failed
    # space comes back: the next message goes through, no restart
    os.unlink(filler)
    r = one_transaction(tem, msg, ["alice@a.test", "fwd@a.test"])
    assert r.code == 250, r
    path = os.path.join(small_disk, "mail", "a.test", "alice", "new")
    stored = [open(os.path.join(path, f), "rb").read()
              for f in os.listdir(path)]
    assert_each_once(stored, [msg], "Maildir")


# --- an I/O error ----------------------------------------------------------

SHIM = os.path.join(REPO, "build", "asan", "tests", "eio-shim.so")


@pytest.mark.parametrize("ops, stage", [
    ("write", ("spool-failed",)),                   # while spooling
    ("sync", ("store-failed", "queue-failed")),     # committing the copies
])
@pytest.mark.embedded_only
def test_io_error_451_nothing_visible_then_recovers(make_tem, tmp_path,
                                                    monkeypatch, ops, stage):
    assert os.path.exists(SHIM), "build it: make %s" % os.path.relpath(
        SHIM, REPO)
    data = tmp_path / "data"
    data.mkdir()
    flag = tmp_path / "eio"
    monkeypatch.setenv("LD_PRELOAD", SHIM)
    monkeypatch.setenv("TEM_EIO_FLAG", str(flag))
    monkeypatch.setenv("TEM_EIO_DIR", str(data))
    monkeypatch.setenv("TEM_EIO_OPS", ops)
    # the shim comes before the ASan runtime in the library list
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get(
        "ASAN_OPTIONS", "detect_leaks=1") + ":verify_asan_link_order=0")
    tem = make_tem(aliases={"fwd@a.test": "far@remote.test"},
                   extra_conf={"data_dir": str(data),
                               "relay_host": "127.0.0.1:%d" % free_port()})
    msg = big_message(9, size=300 * 1024)
    before = visible_files(str(data))
    flag.write_bytes(b"")
    r = one_transaction(tem, msg, ["alice@a.test", "fwd@a.test"])
    assert r.code == 451 and r.last.startswith("451 4.3.0"), r
    assert visible_files(str(data)) == before, "a partial file is visible"
    failed = [l for l in tem.log_text().splitlines()
              if "Input/output error" in l]
    assert failed and any(w in l for l in failed for w in stage), failed
    flag.unlink()
    r = one_transaction(tem, msg, ["alice@a.test", "fwd@a.test"])
    assert r.code == 250, r
    path = os.path.join(str(data), "mail", "a.test", "alice", "new")
    stored = [open(os.path.join(path, f), "rb").read()
              for f in os.listdir(path)]
    assert_each_once(stored, [msg], "Maildir")
