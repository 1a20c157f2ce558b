"""IMAP APPEND streams to disk: the message literal goes into a spool file
in the user's Maildir tmp/ as it arrives, so sixteen 24 MB APPENDs at once
keep tem's peak RSS bounded and come back byte-exact; on a full disk
APPEND answers NO [OVERQUOTA], leaves no file behind, and works again as
soon as there is space; an I/O error gives NO the same way. Peak RSS
is measured as in test_stream_out.py (with its small ASan quarantine).
"""

import glob
import hashlib
import imaplib
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import TemServer  # noqa: E402
from test_stream_out import (BIG, MB, RSS_LIMIT, big_body,  # noqa: E402
                             peak_rss, small_quarantine)

# the Maildir's files, a small tmpfs data_dir, an EIO shim on paths
pytestmark = pytest.mark.embedded_only

USER = ("big@a.test", "big-Secret-1")


def message(n, size):
    """A message of about size bytes: test_stream_out's body (CRLF lines,
    dots, 8-bit octets; no bare CR: the store keeps it, but FETCH sends
    it as CRLF, append or not) under a header naming n."""
    head = ("From: a@a.test\r\nTo: %s\r\nSubject: big %d\r\n"
            "Message-ID: <big%d@a.test>\r\n\r\n" % (USER[0], n, n)).encode()
    return head + big_body(n, size - len(head))


def connect(tem):
    c = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    c.login(*USER)
    return c


def maildir(tem):
    return os.path.join(tem.data_dir, "mail", "a.test", "big")


def stray_files(tem):
    """Message files anywhere in the user's tmp/, new/ or cur/."""
    root = maildir(tem)
    return [p for sub in ("tmp", "new", "cur")
            for p in glob.glob(os.path.join(root, sub, "*"))]


def fetch_body(c, uid):
    typ, data = c.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert typ == "OK"
    return data[0][1]


def test_sixteen_concurrent_big_appends_byte_exact_bounded_rss():
    tem = TemServer(services=("smtp", "imap"), users=dict([USER]),
                    extra_conf={"auth_allow_cleartext": "yes",
                                "message_size_limit": "30M"})
    small_quarantine(tem)
    with tem:
        digests, results, errors = {}, {}, []

        def one(n):
            try:
                msg = message(n, BIG)
                digests[n] = (hashlib.sha256(msg).hexdigest(), len(msg))
                c = connect(tem)
                results[n] = c.append("INBOX", None, None, msg)
                c.logout()
            except Exception as e:   # reported below, with the rest
                errors.append(repr(e))

        threads = [threading.Thread(target=one, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        rss = peak_rss(tem)
        print("APPEND peak RSS %.1f MB" % (rss / MB))
        assert errors == []
        assert all(r[0] == "OK" for r in results.values()), results
        assert rss < RSS_LIMIT, "peak RSS %d MB" % (rss // MB)
        # every message reads back byte-exact
        c = connect(tem)
        c.select("INBOX", readonly=True)
        typ, data = c.uid("SEARCH", None, "ALL")
        uids = data[0].split()
        assert len(uids) == 16
        got = {}
        for uid in uids:
            body = fetch_body(c, int(uid))
            n = int(body.split(b"Subject: big ", 1)[1].split(b"\r\n")[0])
            got[n] = (hashlib.sha256(body).hexdigest(), len(body))
        c.logout()
        assert got == digests
        # nothing left in tmp/
        assert glob.glob(os.path.join(maildir(tem), "tmp", "*")) == []


class TmpfsTem(TemServer):
    """A tem whose data_dir is a small tmpfs mounted for the test."""

    SIZE = "24m"

    def _provision(self):
        subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=%s,mode=0755" % self.SIZE, "tmpfs",
                        self.data_dir], check=True)
        self.mounted = True
        super()._provision()

    def unmount(self):
        if getattr(self, "mounted", False):
            subprocess.run(["umount", self.data_dir], check=True)
            self.mounted = False


def fill(path):
    """Writes a file until the disk is full; returns its path."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for size in (MB, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return path


@pytest.fixture
def tmpfs_tem():
    tem = TmpfsTem(services=("smtp", "imap"), users=dict([USER]),
                   extra_conf={"auth_allow_cleartext": "yes"})
    try:
        with tem:
            yield tem
    finally:
        tem.unmount()
        shutil.rmtree(tem.dir, ignore_errors=True)


def test_append_on_a_full_disk_says_overquota_and_recovers(tmpfs_tem):
    tem = tmpfs_tem
    c = connect(tem)
    c.select("INBOX")                  # the index exists before the disk fills
    msg = message(1, 2 * MB)
    filler = fill(os.path.join(tem.data_dir, "filler"))
    typ, data = c.append("INBOX", None, None, msg)
    assert typ == "NO"
    assert data[0] == b"[OVERQUOTA] Not enough disk space"
    assert stray_files(tem) == []
    log = tem.log_text()
    assert log.count("append-spool-failed") == 1
    assert "No space left on device" in log
    # space comes back: APPEND works at once, on the same session
    os.unlink(filler)
    typ, data = c.append("INBOX", None, None, msg)
    assert typ == "OK", data
    uid = int(data[0].split(b"APPENDUID ")[1].split(b" ")[1].rstrip(b"]"))
    assert fetch_body(c, uid) == msg
    c.logout()
    assert len(stray_files(tem)) == 1


# An LD_PRELOAD shim: while the file named by $TEM_TEST_EIO exists, every
# write() to a file whose path ends in ".append" (an APPEND spool) fails
# with EIO, as a dying disk would.
EIO_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char marked[65536];

static void mark(int fd, const char *path)
{
    size_t n = strlen(path);
    if (fd >= 0 && fd < 65536)
        marked[fd] = n > 7 && strcmp(path + n - 7, ".append") == 0;
}

#define OPEN(name)                                                      \
int name(const char *path, int flags, ...)                             \
{                                                                       \
    static int (*real)(const char *, int, ...);                         \
    va_list ap;                                                         \
    mode_t mode;                                                        \
    int fd;                                                             \
    if (!real)                                                          \
        real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name);\
    va_start(ap, flags);                                                \
    mode = va_arg(ap, mode_t);                                          \
    va_end(ap);                                                         \
    fd = real(path, flags, mode);                                       \
    mark(fd, path);                                                     \
    return fd;                                                          \
}
OPEN(open)
OPEN(open64)

int close(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "close");
    if (fd >= 0 && fd < 65536)
        marked[fd] = 0;
    return real(fd);
}

ssize_t write(int fd, const void *p, size_t n)
{
    static ssize_t (*real)(int, const void *, size_t);
    const char *on = getenv("TEM_TEST_EIO");
    if (!real)
        real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
            "write");
    if (fd >= 0 && fd < 65536 && marked[fd] && on && access(on, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    return real(fd, p, n);
}
"""


@pytest.fixture
def eio_tem():
    work = tempfile.mkdtemp(prefix="tem-eio-")
    src, lib = os.path.join(work, "eio.c"), os.path.join(work, "eio.so")
    with open(src, "w") as f:
        f.write(EIO_SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", lib, src, "-ldl"],
                   check=True)
    tem = TemServer(services=("smtp", "imap"), users=dict([USER]),
                    extra_conf={"auth_allow_cleartext": "yes"})
    tem.env["LD_PRELOAD"] = lib
    tem.env["TEM_TEST_EIO"] = os.path.join(work, "on")
    # the shim is loaded before the ASan runtime: let ASan accept that
    tem.env["ASAN_OPTIONS"] = tem.env.get("ASAN_OPTIONS", "") + \
        ":verify_asan_link_order=0"
    try:
        with tem:
            tem.eio_switch = tem.env["TEM_TEST_EIO"]
            yield tem
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_append_on_an_io_error_says_no_and_recovers(eio_tem):
    tem = eio_tem
    c = connect(tem)
    c.select("INBOX")
    msg = message(2, 1 * MB)
    open(tem.eio_switch, "w").close()
    typ, data = c.append("INBOX", None, None, msg)
    assert typ == "NO"
    assert b"Input/output error" in data[0]
    assert stray_files(tem) == []
    log = [l for l in tem.log_text().splitlines() if "append" in l]
    assert len(log) == 1 and "append-spool-failed" in log[0] and \
        'error="Input/output error"' in log[0]
    # the disk heals: APPEND works again at once
    os.unlink(tem.eio_switch)
    typ, data = c.append("INBOX", None, None, msg)
    assert typ == "OK", data
    uid = int(data[0].split(b"APPENDUID ")[1].split(b" ")[1].rstrip(b"]"))
    assert fetch_body(c, uid) == msg
    c.logout()
