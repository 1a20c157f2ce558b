"""sieveclient - a small ManageSieve client (RFC 5804) for the tests, over
socket and ssl: commands with quoted strings or literals, responses read
whole (lines before the status, literals included), STARTTLS without
certificate checks (the test server's certificate is self-made), and
AUTHENTICATE PLAIN in both forms. Trust: test code only.

    c = SieveConn(port)                # reads the greeting's capabilities
    c.starttls(); c.login(user, pw)
    r = c.cmd("PUTSCRIPT", q("s"), lit(b"keep;\\r\\n"))
    r.status, r.code, r.text, r.lines
"""

import base64
import re
import socket

from temserver import IO_TIMEOUT, RawConn, insecure_tls_context


def q(s):
    """A quoted string argument."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lit(data, sync=False):
    """A literal argument: {N+} (or {N} when sync) and the octets."""
    if isinstance(data, str):
        data = data.encode()
    return b"{%d%s}\r\n" % (len(data), b"" if sync else b"+") + data


def plain(user, pw):
    return base64.b64encode(b"\0" + user.encode() + b"\0" +
                            pw.encode()).decode()


class Response:
    def __init__(self, status, code, text, lines):
        self.status = status     # "OK", "NO", "BYE"
        self.code = code         # "QUOTA/MAXSIZE" ... or None
        self.text = text         # the human text, decoded
        self.lines = lines       # the lines before it, literals joined

    def __repr__(self):
        return "Response(%r, %r, %r, %d lines)" % (
            self.status, self.code, self.text, len(self.lines))


_STATUS = re.compile(rb'^(OK|NO|BYE)(?: \(([^)]*)\))?(?: (.*))?$')


class SieveConn(RawConn):
    def __init__(self, port, host="127.0.0.1", source=None):
        # RawConn's reading and closing, on a socket from source
        self.sock = socket.create_connection(
            (host, port), timeout=IO_TIMEOUT,
            source_address=(source, 0) if source else None)
        self.buf = b""
        self.greeting = self.response()
        self.caps = self.parse_caps(self.greeting.lines)

    # --- reading ---------------------------------------------------------

    def readline(self):
        """One line without CRLF; a line ending in {N} has its literal
        (marked by a NUL and "LIT") and the rest of the line appended."""
        line = super().readline()
        if line.endswith(b"\r"):
            line = line[:-1]
        m = re.search(rb"\{(\d+)\}$", line)
        if m:
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            line = line[:m.start()] + b"\0LIT" + self.buf[:n]
            self.buf = self.buf[n:]
            line += self.readline()     # the rest of the line
        return line

    def _string(self, raw):
        if raw is None:
            return None
        if raw.startswith(b"\0LIT"):
            return raw[4:].decode()
        if raw.startswith(b'"') and raw.endswith(b'"'):
            return re.sub(rb'\\(.)', rb'\1', raw[1:-1]).decode()
        return raw.decode()

    def response(self):
        lines = []
        while True:
            line = self.readline()
            m = _STATUS.match(line)
            if m:
                code = m.group(2).decode() if m.group(2) else None
                return Response(m.group(1).decode(), code,
                                self._string(m.group(3)), lines)
            lines.append(line)

    @staticmethod
    def parse_caps(lines):
        caps = {}
        for line in lines:
            parts = re.findall(rb'"((?:[^"\\]|\\.)*)"', line)
            if parts:
                caps[parts[0].decode().upper()] = \
                    parts[1].decode() if len(parts) > 1 else ""
        return caps

    # --- commands --------------------------------------------------------

    def cmd(self, verb, *args):
        parts = [verb.encode()]
        for a in args:
            parts.append(a.encode() if isinstance(a, str) else a)
        self.send(b" ".join(parts) + b"\r\n")
        return self.response()

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.status == "OK", r
        self.sock = insecure_tls_context().wrap_socket(self.sock)
        r = self.response()     # RFC 5804 2.2: capabilities again
        self.caps = self.parse_caps(r.lines)
        return r

    def login(self, user, pw):
        r = self.cmd("AUTHENTICATE", q("PLAIN"), q(plain(user, pw)))
        assert r.status == "OK", r
        return r

    def script(self, name):
        """GETSCRIPT's text, or the failed Response."""
        r = self.cmd("GETSCRIPT", q(name))
        if r.status != "OK":
            return r
        assert len(r.lines) == 1 and r.lines[0].startswith(b"\0LIT"), r
        return r.lines[0][4:].decode()

    def list(self):
        """{name: active} from LISTSCRIPTS."""
        r = self.cmd("LISTSCRIPTS")
        assert r.status == "OK", r
        out = {}
        for line in r.lines:
            m = re.match(rb'^("(?:[^"\\]|\\.)*"|\0LIT.*?)( ACTIVE)?$', line,
                         re.S)
            assert m, line
            out[self._string(m.group(1))] = bool(m.group(2))
        return out
