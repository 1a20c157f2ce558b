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


# --- MULTIAPPEND -----------------------------------------------------------

def literal(data):
    return b"{%d+}\r\n" % len(data) + data


def append_raw(m, box, rest):
    """APPEND box REST (bytes with LITERAL+ literals inline): (typ, data)."""
    return m._simple_command("APPEND", box, rest)


def maildir_files(srv, user, sub):
    local, domain = user.split("@")
    d = os.path.join(srv.data_dir, "mail", domain, local, sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def status_messages(m, box="INBOX"):
    typ, data = m.status(box, "(MESSAGES)")
    assert typ == "OK", data
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


def test_multiappend_stores_all_with_uid_set(srv, user):
    m = login(srv, user)
    assert b"MULTIAPPEND" in m.capability()[1][0]
    msgs = [message(i, 500 + 70000 * i) for i in range(3)]
    rest = (b"(\\Seen) " + literal(msgs[0]) +
            b' (\\Flagged $Work) "01-Feb-2024 10:00:00 +0000" ' +
            literal(msgs[1]))
    m.literal = msgs[2]          # the last one synchronizing: " {n}"
    typ, data = append_raw(m, "INBOX", rest)
    assert typ == "OK", data
    v, uids = appenduid(m)
    assert len(uids) == 3 and uids == list(range(uids[0], uids[0] + 3))
    assert re.search(rb"APPENDUID \d+ \d+:\d+", data[0]), data
    m.select("INBOX")
    for uid, msg in zip(uids, msgs):
        assert fetch_body(m, uid) == msg
    typ, data = m.uid("FETCH", "%d:%d" % (uids[0], uids[2]),
                      "(FLAGS INTERNALDATE)")
    assert b"\\Seen" in data[0] and b"$Work" in data[1], data
    assert b"01-Feb-2024 10:00:00 +0000" in data[1], data
    m.logout()


@pytest.mark.embedded_only     # 26 keywords per folder: a Maildir limit
def test_multiappend_is_all_or_nothing(srv, user):
    """The second message cannot be stored (one keyword too many for a
    folder): the first, already in cur/, is removed again."""
    m = login(srv, user)
    kws = b" ".join(b"$k%d" % i for i in range(27))
    rest = (b"() " + literal(message(1)) + b" (" + kws + b") " +
            literal(message(2)))
    typ, data = append_raw(m, "INBOX", rest)
    assert typ == "NO" and b"[LIMIT]" in data[0], data
    assert status_messages(m) == 0
    assert maildir_files(srv, user, "cur") == []
    assert [f for f in maildir_files(srv, user, "tmp")
            if f.endswith(".append")] == []
    # and the folder works on
    typ, data = append_raw(m, "INBOX", literal(message(3)))
    assert typ == "OK", data
    assert status_messages(m) == 1
    m.logout()


def test_multiappend_to_missing_folder_trycreate(srv, user):
    m = login(srv, user)
    typ, data = append_raw(m, "Nope", literal(message(1)) + b" " +
                           literal(message(2)))
    assert typ == "NO" and b"[TRYCREATE]" in data[0], data
    m.logout()


# --- CATENATE --------------------------------------------------------------

MULTIPART = (b"From: a@a.test\r\nTo: b@a.test\r\nSubject: source\r\n"
             b"MIME-Version: 1.0\r\n"
             b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
             b"preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
             b"first part\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
             b"second part\r\n--XX--\r\n")


def source(m, data=MULTIPART, box="INBOX"):
    """Appends data to box: (uidvalidity, uid)."""
    typ, resp = m.append(box, None, None, data)
    assert typ == "OK", resp
    v, uids = appenduid(m)
    return v, uids[0]


def header_of(data):
    return data[:data.index(b"\r\n\r\n") + 4]


def test_catenate_text_and_url_parts(srv, user):
    m = login(srv, user)
    assert b"CATENATE" in m.capability()[1][0]
    v, uid = source(m)
    big = b"".join(b"streamed text line %d\r\n" % i for i in range(10000))
    url_head = b'"/INBOX;UIDVALIDITY=%d/;UID=%d/;SECTION=HEADER"' % (v, uid)
    url_part2 = (b'"imap://%s@localhost/INBOX/;UID=%d/;SECTION=2"' %
                 (user.replace("@", "%40").encode(), uid))
    url_partial = b'"/INBOX/;UID=%d/;SECTION=1/;PARTIAL=0.5"' % uid
    rest = (b"(\\Draft) CATENATE (URL " + url_head + b" TEXT " +
            literal(b"new body\r\n") + b" URL " + url_part2 + b" TEXT " +
            literal(b"\r\n") + b" URL " + url_partial + b" TEXT " +
            literal(big) + b")")
    typ, data = append_raw(m, "INBOX", rest)
    assert typ == "OK", data
    new = appenduid(m)[1][0]
    m.select("INBOX")
    want = (header_of(MULTIPART) + b"new body\r\nsecond part\r\nfirst" +
            big)
    assert fetch_body(m, new) == want
    typ, data = m.uid("FETCH", str(new), "(FLAGS RFC822.SIZE)")
    assert b"\\Draft" in data[0] and b"RFC822.SIZE %d" % len(want) in \
        data[0], data
    # a whole message by URL, twice, in a MULTIAPPEND with a plain one
    whole = b'"/INBOX/;UID=%d"' % uid
    rest = (literal(b"Subject: plain\r\n\r\nx\r\n") + b" CATENATE (URL " +
            whole + b" URL " + whole + b")")
    typ, data = append_raw(m, "INBOX", rest)
    assert typ == "OK", data
    two = appenduid(m)[1]
    assert fetch_body(m, two[1]) == MULTIPART + MULTIPART
    m.logout()


@pytest.mark.parametrize("url,why", [
    ('"/INBOX/;UID=999"', b"No such message"),
    ('"/INBOX;UIDVALIDITY=1/;UID=1"', b"UIDVALIDITY"),
    ('"/Nowhere/;UID=1"', b"No such mailbox"),
    ('"imap://someone%40a.test@localhost/INBOX/;UID=1"', b"another user"),
    ('";UID=1"', b"absolute"),
    ('"/INBOX/;UID=1/;URLAUTH=anonymous"', b"Unsupported"),
    ('"/INBOX/;UID=1/;SECTION=1.BOGUS"', b"section"),
])
def test_catenate_badurl_stores_nothing(srv, user, url, why):
    m = login(srv, user)
    v, uid = source(m)
    assert uid == 1
    rest = (literal(message(1)) + b" CATENATE (TEXT " +
            literal(b"Subject: x\r\n\r\n") + b" URL " + url.encode() + b")")
    typ, data = append_raw(m, "INBOX", rest)
    assert typ == "NO", data
    assert data[0].startswith(b"[BADURL " + url.strip('"').encode() +
                              b"]"), data
    assert why in data[0], data
    assert status_messages(m) == 1      # the source only
    m.logout()


@pytest.mark.embedded_only
def test_catenate_toobig(srv, user):
    """Each part fits, the joined message does not (message_size_limit
    is 4M here): NO [TOOBIG], nothing stored, no spool left."""
    m = login(srv, user)
    v, uid = source(m, message(1, 3 * 1024 * 1024))
    whole = b'"/INBOX/;UID=%d"' % uid
    typ, data = append_raw(m, "INBOX", b"CATENATE (URL " + whole +
                           b" URL " + whole + b")")
    assert typ == "NO" and b"[TOOBIG]" in data[0], data
    typ, data = append_raw(m, "INBOX", b"CATENATE (URL " + whole +
                           b" TEXT " + literal(message(2, 2 << 20)) + b")")
    assert typ == "NO" and b"[TOOBIG]" in data[0], data
    assert status_messages(m) == 1
    assert [f for f in maildir_files(srv, user, "tmp")
            if f.endswith(".append")] == []
    m.logout()


def test_catenate_syntax_errors_are_bad(srv, user):
    m = login(srv, user)
    for rest in (b"CATENATE ()", b'CATENATE (TEXT "inline")',
                 b"CATENATE (URL)", b'CATENATE (FOO "x")'):
        with pytest.raises(imaplib.IMAP4.error):
            append_raw(m, "INBOX", rest)
    assert m.noop()[0] == "OK"
    m.logout()


def test_catenate_through_compress_and_sync_literal(srv, user):
    """CATENATE's TEXT literal synchronizing ({n}, "+" between) inside
    a compressed session."""
    m = login(srv, user)
    v, uid = source(m)
    assert m.compress()[0] == "OK"
    text = b"".join(b"line %d\r\n" % i for i in range(20000))
    tag = m._new_tag()
    m.send(tag + b' APPEND INBOX CATENATE (URL "/INBOX/;UID=%d/;SECTION='
           b'HEADER" TEXT {%d}\r\n' % (uid, len(text)))
    assert m.readline().startswith(b"+")
    m.send(text + b")\r\n")
    line = m.readline()
    assert line.startswith(tag + b" OK [APPENDUID"), line
    new = int(re.search(rb"APPENDUID \d+ (\d+)", line).group(1))
    m.select("INBOX")
    assert fetch_body(m, new) == header_of(MULTIPART) + text
    m.logout()
