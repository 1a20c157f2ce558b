"""imapclient - a byte-exact IMAP client and the module-server fixtures
shared by the IMAP integration tests (imaplib hides the wire).

Trust: test code only.

    Imap(port, text=False, host="127.0.0.1")
                             commands in, whole responses out; untagged
                             lines as bytes, or str with text=True
    parse_list(data)         an IMAP list "(...)" as Python lists of bytes
    imap_fixtures(USERS, env)  -> (srv, user, login) pytest fixtures: one
                             server for the module (IMAP with cleartext
                             LOGIN), a fresh user per test, and
                             login(rev2=, utf8=, qresync=, condstore=) ->
                             a logged-in Imap of that user.
"""

import itertools
import re
import socket

import pytest

from temserver import IO_TIMEOUT, module_server


class Resp:
    """One command's answer: untagged lines (literals inlined after their
    CRLF) and the tagged line without its tag."""

    def __init__(self, lines, tagged):
        self.lines = lines
        self.tagged = tagged
        self.status = tagged.split(" ", 1)[0]

    def of(self, kind):
        """Untagged lines "* KIND ..." or "* n KIND ...", as stored."""
        out = []
        for l in self.lines:
            k = kind.encode() if isinstance(l, bytes) else kind
            w = l.split(l[:0] + (b" " if isinstance(l, bytes) else " "), 3)
            if len(w) > 1 and w[1] == k:
                out.append(l)
            elif len(w) > 2 and w[1].isdigit() and w[2] == k:
                out.append(l)
        return out

    def fetches(self):
        """{seq: {ITEM: value}} of the FETCH lines (bytes lines only)."""
        out = {}
        for l in self.of("FETCH"):
            m = re.match(rb"\* (\d+) FETCH ", l)
            items = parse_list(l[m.end():])
            d = out.setdefault(int(m.group(1)), {})
            for i in range(0, len(items), 2):
                d[items[i].decode()] = items[i + 1]
        return out

    def __repr__(self):
        return "\n".join([l if isinstance(l, str) else repr(l)
                          for l in self.lines] + ["<tagged> " + self.tagged])


class Imap:
    """A byte-exact IMAP client on HOST:PORT; reads the greeting."""

    def __init__(self, port, text=False, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port),
                                             timeout=IO_TIMEOUT)
        self.text = text
        self.buf = b""
        self.tags = itertools.count(1)
        self.last_tag = None
        self.greeting = self._line()
        assert self.greeting.startswith(b"* OK"), self.greeting

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise AssertionError("connection closed; unread %r" % self.buf)
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response_line(self):
        line = self._line()
        while True:
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return line
            line += b"\r\n" + self._exact(int(m.group(1))) + self._line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def finish(self, tag):
        lines = []
        while True:
            line = self.response_line()
            if line.startswith(tag + b" "):
                return Resp(lines, line[len(tag) + 1:].decode("utf-8",
                                                               "replace"))
            assert not line.startswith(b"+"), "unexpected %r" % line
            lines.append(line.decode("utf-8", "replace") if self.text
                         else line)

    def cmd(self, text, expect="OK"):
        tag = b"T%d" % next(self.tags)
        self.last_tag = tag.decode()
        if isinstance(text, str):
            text = text.encode("utf-8")
        self.send(tag + b" " + text + b"\r\n")
        r = self.finish(tag)
        if expect:
            assert r.status == expect, "%s -> %r" % (text, r)
        return r

    def append(self, box, data, flags=None, date=None, expect="OK",
               sync=False, binary=False):
        """APPEND (a non-synchronizing literal unless SYNC; ~{} when
        BINARY); returns the Resp."""
        tag = b"T%d" % next(self.tags)
        head = tag + b" APPEND " + box.encode("utf-8")
        if flags is not None:
            head += b" (" + flags.encode() + b")"
        if date is not None:
            head += b' "' + date.encode() + b'"'
        lit = b"~{%d" if binary else b"{%d"
        if sync:
            self.send(head + b" " + lit % len(data) + b"}\r\n")
            line = self._line()
            assert line.startswith(b"+"), line
            self.send(data + b"\r\n")
        else:
            self.send(head + b" " + lit % len(data) + b"+}\r\n" + data +
                      b"\r\n")
        r = self.finish(tag)
        if expect:
            assert r.status == expect, "APPEND %s -> %r" % (box, r)
        return r

    def idle_begin(self, tag=b"I"):
        """Sends "TAG IDLE" and reads to its continuation; the untagged
        lines before it (NOTIFY may have pushed some)."""
        self.send(tag + b" IDLE\r\n")
        seen = []
        while True:
            line = self.response_line()
            if line.startswith(b"+"):
                return seen
            seen.append(line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_list(data):
    """Parses the IMAP list at the start of data ("(" ... ")") into
    Python lists of bytes (atoms, strings and literals; NIL is None)."""
    pos = 0

    def value():
        nonlocal pos
        c = data[pos:pos + 1]
        if c == b"(":
            pos += 1
            out = []
            while data[pos:pos + 1] != b")":
                if data[pos:pos + 1] == b" ":
                    pos += 1
                    continue
                out.append(value())
            pos += 1
            return out
        if c == b'"':
            pos += 1
            s = b""
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                s += data[pos:pos + 1]
                pos += 1
            pos += 1
            return s
        m = re.compile(rb"~?\{(\d+)\}\r\n").match(data, pos)
        if m:
            n = int(m.group(1))
            pos = m.end() + n
            return data[m.end():pos]
        m = re.compile(rb"[^ ()\[\"]+(\[[^\]]*\])?(<\d+>)?").match(data, pos)
        assert m, data[pos:pos + 40]
        pos = m.end()
        return None if m.group(0) == b"NIL" else m.group(0)

    return value()


def imap_fixtures(users, env=None, text=False, imap_class=Imap):
    """(srv, user, login) fixtures for a test module; assign them to
    module globals of those names. USERS: {address: password}, one used
    up per test; ENV: extra environment of the server (e.g. TZ)."""

    @pytest.fixture(scope="module", name="srv")
    def srv_fixture():
        yield from module_server(env, services=("smtp", "imap"), users=users,
                                 extra_conf={"auth_allow_cleartext": "yes"})

    order = iter(sorted(users, key=lambda a: int(re.sub(r"\D", "",
                                                        a.split("@")[0]))))

    @pytest.fixture(name="user")
    def user_fixture(srv, request):
        """A user of the module's server nobody used yet: (address,
        password)."""
        addr = next(order)
        conns = []
        request.node.imap_conns = conns
        yield addr, users[addr]
        for c in conns:
            c.close()

    @pytest.fixture(name="login")
    def login_fixture(srv, user, request):
        """login(rev2=False, utf8=False, qresync=False, condstore=False)
        -> a logged-in Imap connection of this test's user."""

        def make(rev2=False, utf8=False, qresync=False, condstore=False):
            c = imap_class(srv.ports["imap"], text=text)
            request.node.imap_conns.append(c)
            c.cmd('LOGIN %s "%s"' % user)
            exts = [e for e, on in (("IMAP4rev2", rev2),
                                    ("UTF8=ACCEPT", utf8),
                                    ("QRESYNC", qresync),
                                    ("CONDSTORE", condstore)) if on]
            if exts:
                r = c.cmd("ENABLE " + " ".join(exts))
                assert r.of("ENABLED"), r
            return c

        return make

    return srv_fixture, user_fixture, login_fixture
