"""IMAP extensions around APPEND and the wire, driven by Python's imaplib:
COMPRESS=DEFLATE (RFC 4978: both directions raw deflate after the OK,
inside TLS too, with IDLE and literals; a second COMPRESS gets NO
[COMPRESSIONACTIVE]; a corrupt stream ends the session with one log
line), MULTIAPPEND (RFC 3502: all or nothing, APPENDUID with a UID set)
and CATENATE (RFC 4469: TEXT and URL parts, BADURL, TOOBIG).

One server for the module; each test logs in as a user of its own."""

import hashlib
import imaplib
import os
import re
import socket
import sys
import zlib

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import (insecure_tls_context, module_server,  # noqa: E402
                       wait_for)

USERS = {"ext%d@a.test" % i: "ext-Secret-%d" % i for i in range(1, 30)}
_order = iter(sorted(USERS, key=lambda a: int(re.sub(r"\D", "", a))))

imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))


@pytest.fixture(scope="module", name="srv")
def srv_fixture():
    yield from module_server(None, services=("smtp", "imap", "imaps"),
                             users=USERS,
                             extra_conf={"auth_allow_cleartext": "yes",
                                         "message_size_limit": "4M"})


@pytest.fixture(name="user")
def user_fixture(srv):
    return next(_order)


class DeflateMixin:
    """imaplib with COMPRESS=DEFLATE: after compress() every byte sent is
    deflated (sync-flushed per command) and every byte read inflated."""

    _zin = _zout = None
    _zbuf = b""

    def compress(self):
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._zin = zlib.decompressobj(-15)
            self._zout = zlib.compressobj(wbits=-15)
        return typ, data

    def send_raw(self, data):
        """Bytes as they are, past the deflate layer."""
        self.sock.sendall(data)

    def send(self, data):
        if self._zout is None:
            return super().send(data)
        self.sock.sendall(self._zout.compress(data) +
                          self._zout.flush(zlib.Z_SYNC_FLUSH))

    def _zfill(self):
        chunk = self.file.read1(65536)
        if not chunk:
            raise imaplib.IMAP4.abort("socket EOF")
        self.compressed_in = getattr(self, "compressed_in", 0) + len(chunk)
        self._zbuf += self._zin.decompress(chunk)

    def read(self, size):
        if self._zin is None:
            return super().read(size)
        while len(self._zbuf) < size:
            self._zfill()
        out, self._zbuf = self._zbuf[:size], self._zbuf[size:]
        return out

    def readline(self):
        if self._zin is None:
            return super().readline()
        while b"\n" not in self._zbuf:
            self._zfill()
        i = self._zbuf.index(b"\n") + 1
        out, self._zbuf = self._zbuf[:i], self._zbuf[i:]
        return out


class Imap(DeflateMixin, imaplib.IMAP4):
    pass


class ImapSSL(DeflateMixin, imaplib.IMAP4_SSL):
    pass


def login(srv, user, tls=False):
    if tls:
        m = ImapSSL("127.0.0.1", srv.ports["imaps"],
                    ssl_context=insecure_tls_context())
    else:
        m = Imap("127.0.0.1", srv.ports["imap"])
    m.login(user, USERS[user])
    return m


def message(n, size=300):
    """A message of about size bytes, CRLF lines, named by n."""
    head = ("From: a@a.test\r\nTo: b@a.test\r\nSubject: m %d\r\n"
            "Message-ID: <m%d@a.test>\r\n\r\n" % (n, n)).encode()
    line = b"line %d of a message body that compresses well enough\r\n"
    body, have, i = [], len(head), 0
    while have < size:
        body.append(line % i)
        have += len(body[-1])
        i += 1
    return head + b"".join(body)


def fetch_body(m, uid):
    typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert typ == "OK", data
    return data[0][1]


def appenduid(m):
    """(uidvalidity, [uids]) of the last APPEND's APPENDUID code."""
    typ, data = m.response("APPENDUID")
    v, uids = data[0].decode().split()
    out = []
    for part in uids.split(","):
        a, _, b = part.partition(":")
        out += list(range(int(a), int(b or a) + 1))
    return int(v), out


# --- COMPRESS=DEFLATE ------------------------------------------------------

def test_compress_both_ways_with_literals(srv, user):
    m = login(srv, user)
    assert b"COMPRESS=DEFLATE" in m.capability()[1][0]
    typ, data = m.compress()
    assert typ == "OK", data
    msgs = [message(i, 2000 + 20000 * i) for i in range(4)]
    uids = []
    for msg in msgs:        # synchronizing literals through the layer
        typ, data = m.append("INBOX", None, None, msg)
        assert typ == "OK", data
        uids.append(appenduid(m)[1][0])
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"4"], data
    for uid, msg in zip(uids, msgs):
        assert fetch_body(m, uid) == msg
    # what came back was compressed: far fewer bytes than the messages
    assert m.compressed_in < sum(map(len, msgs)) / 4, m.compressed_in
    typ, data = m.compress()
    assert typ == "NO" and b"[COMPRESSIONACTIVE]" in data[0], data
    typ, data = m.search(None, "SUBJECT", '"m 2"')
    assert typ == "OK" and data == [b"3"], data
    assert m.logout()[0] == "BYE"


def test_compress_inside_tls(srv, user):
    m = login(srv, user, tls=True)
    typ, data = m.compress()
    assert typ == "OK", data
    msg = message(7, 3 * 1024 * 1024)     # many records, many flushes
    assert m.append("INBOX", "(\\Seen)", None, msg)[0] == "OK"
    uid = appenduid(m)[1][0]
    m.select("INBOX")
    body = fetch_body(m, uid)
    assert hashlib.sha256(body).digest() == hashlib.sha256(msg).digest()
    m.logout()


def test_compress_with_idle(srv, user):
    """An IDLE push is a burst of its own: flushed without waiting for
    more output."""
    m = login(srv, user)
    assert m.compress()[0] == "OK"
    m.select("INBOX")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+")
    other = login(srv, user)
    assert other.append("INBOX", None, None, message(1))[0] == "OK"
    other.logout()
    assert m.readline() == b"* 1 EXISTS\r\n"
    m.send(b"DONE\r\n")
    line = m.readline()
    while line.startswith(b"* "):   # RECENT, for a rev1 client
        line = m.readline()
    assert line.startswith(tag + b" OK"), line
    assert m.noop()[0] == "OK"
    m.logout()


def test_compress_needs_login_and_deflate(srv, user):
    m = Imap("127.0.0.1", srv.ports["imap"])
    assert "COMPRESS=DEFLATE" not in m.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        m.compress()            # BAD before login
    m.login(user, USERS[user])
    with pytest.raises(imaplib.IMAP4.error, match="mechanism"):
        m._simple_command("COMPRESS", "GZIP")
    m.logout()


def test_corrupt_compressed_stream_ends_session_logged(srv, user):
    m = login(srv, user)
    assert m.compress()[0] == "OK"
    m.send_raw(b"\xff" * 64)        # not a deflate stream
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        m.noop()
    wait_for(lambda: re.search(r"imap compress-error addr=\S+ "
                               r"reason=corrupt", srv.log_text()),
             what="compress-error log line")


def test_compressed_bomb_line_is_bounded(srv, user):
    """A few KB of deflate that inflate to 16 MB of one line: the parser's
    line limit ends it (BAD, BYE) long before memory grows; the inflated
    bytes are never all taken (at most IO_INPUT_MAX wait)."""
    m = login(srv, user)
    assert m.compress()[0] == "OK"
    z = zlib.compressobj(wbits=-15)
    bomb = z.compress(b"a NOOP " + b"x" * (16 << 20))
    bomb += z.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 64 * 1024
    try:
        m.send_raw(bomb)
    except OSError:
        pass                    # the server may close while we send
    lines = []
    try:
        while True:
            lines.append(m.readline())
    except (imaplib.IMAP4.abort, OSError, zlib.error):
        pass
    assert any(b"BYE" in l for l in lines), lines
