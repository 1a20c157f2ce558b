"""test_sasl_limits - SASL responses of up to 12,288 octets (RFC 4954
section 4; RFC 5034 section 4 for POP3), and the errors beyond.

SMTP (submission): the AUTH command with an initial response and a line
after a 334 may carry 12,288 octets of base64; more gets `500 5.5.6` and
ends the exchange (RFC 4954 section 6). Other command lines keep their
1,000-octet limit. IMAP: AUTHENTICATE's SASL-IR and its continuation line
the same; more gets `BAD [TOOBIG]`. POP3: the AUTH command keeps the
command line limit (RFC 5034 section 4: a client must not send an initial
response that makes it longer than 255 octets), its continuation lines
take 12,288 octets.

No real credentials fit in 12,288 octets of PLAIN (passwords are at most
1,024 bytes), so a full-size response must be *processed* (an
authentication failure, not a line-length error) and leave the session
in step: a correct login follows on the same connection. Failures are
throttled per client address, so each failing session comes from its own
loopback address.
"""

import base64
import itertools
import smtplib
import socket

import pytest

from temserver import IO_TIMEOUT, PASSWORDS

ALICE = "alice@a.test"
SASL_LINE_MAX = 12288
CONF = {"auth_allow_cleartext": "yes"}

_src = itertools.count()


def fresh_source():
    """A loopback address of its own (127.1.x.y) for a session that fails
    a login: the throttling delay does not pile up."""
    n = next(_src)
    return "127.1.%d.%d" % (n // 250, 1 + n % 250)


def plain_of_size(n):
    """A PLAIN response, wrong password, exactly N octets of base64 (N a
    multiple of 4)."""
    head = b"\0" + ALICE.encode() + b"\0"
    raw = head + b"x" * (n // 4 * 3 - len(head))
    b64 = base64.b64encode(raw)
    assert len(b64) == n
    return b64


def good_plain(user=ALICE):
    return base64.b64encode(b"\0%s\0%s" % (user.encode(),
                                           PASSWORDS[user].encode()))


@pytest.fixture
def stem(make_tem):
    return make_tem(services=("smtp", "submission", "imap", "pop3"),
                    extra_conf=CONF)


# --- SMTP -----------------------------------------------------------------

def smtp(tem, source="127.0.0.1"):
    s = smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=IO_TIMEOUT,
                     source_address=(source, 0))
    s.ehlo("c.test")
    return s


def smtp_good_login(s):
    code, msg = s.docmd("AUTH PLAIN " + good_plain().decode())
    assert code == 235, (code, msg)


def test_smtp_auth_initial_response_of_12288_octets(stem):
    s = smtp(stem, fresh_source())
    code, msg = s.docmd("AUTH PLAIN " + plain_of_size(SASL_LINE_MAX).decode())
    assert (code, msg[:5]) == (535, b"5.7.8"), (code, msg)
    smtp_good_login(s)
    s.quit()


def test_smtp_auth_continuation_of_12288_octets(stem):
    s = smtp(stem, fresh_source())
    code, _ = s.docmd("AUTH PLAIN")
    assert code == 334
    code, msg = s.docmd(plain_of_size(SASL_LINE_MAX).decode())
    assert (code, msg[:5]) == (535, b"5.7.8"), (code, msg)
    smtp_good_login(s)
    s.quit()


def test_smtp_auth_login_username_of_12288_octets(stem):
    s = smtp(stem, fresh_source())
    assert s.docmd("AUTH LOGIN")[0] == 334
    user = base64.b64encode(b"u" * (SASL_LINE_MAX // 4 * 3)).decode()
    assert len(user) == SASL_LINE_MAX
    assert s.docmd(user)[0] == 334                         # Password:
    assert s.docmd(base64.b64encode(b"pw").decode())[0] == 535
    smtp_good_login(s)
    s.quit()


def test_smtp_longer_responses_get_5_5_6(stem):
    s = smtp(stem)
    too_long = plain_of_size(SASL_LINE_MAX + 4).decode()
    code, msg = s.docmd("AUTH PLAIN " + too_long)
    assert (code, msg[:5]) == (500, b"5.5.6"), (code, msg)
    assert s.docmd("AUTH PLAIN")[0] == 334
    code, msg = s.docmd(too_long)
    assert (code, msg[:5]) == (500, b"5.5.6"), (code, msg)
    # a response far past any limit: its bytes are dropped, not taken as
    # commands, and the exchange is over
    assert s.docmd("AUTH PLAIN")[0] == 334
    code, msg = s.docmd("A" * 100000)
    assert (code, msg[:5]) == (500, b"5.5.6"), (code, msg)
    assert s.docmd("NOOP")[0] == 250
    smtp_good_login(s)                  # the exchange was ended each time
    s.quit()


def test_smtp_other_commands_keep_their_limit(stem):
    s = smtp(stem)
    code, msg = s.docmd("NOOP " + "x" * 1200)
    assert (code, msg[:5]) == (500, b"5.5.2"), (code, msg)
    code, msg = s.docmd("AUTH PLAIN " + "x" * 20000)     # past every limit
    assert (code, msg[:5]) == (500, b"5.5.6"), (code, msg)
    smtp_good_login(s)
    # after AUTH there is no SASL exchange left to make room for
    code, msg = s.docmd("NOOP " + "x" * 1200)
    assert (code, msg[:5]) == (500, b"5.5.2"), (code, msg)
    s.quit()
    # port 25 offers no AUTH: its lines stay at 1,000 octets
    with smtplib.SMTP("127.0.0.1", stem.smtp_port, timeout=IO_TIMEOUT) as p:
        p.ehlo("c.test")
        code, msg = p.docmd("AUTH PLAIN " + plain_of_size(4000).decode())
        assert (code, msg[:5]) == (500, b"5.5.2"), (code, msg)


# --- IMAP and POP3 (raw lines) --------------------------------------------

class Lines:
    """A raw line client from SOURCE to PORT on 127.0.0.1."""

    def __init__(self, port, source="127.0.0.1"):
        self.sock = socket.create_connection(("127.0.0.1", port), IO_TIMEOUT,
                                             source_address=(source, 0))
        self.f = self.sock.makefile("rb")

    def line(self):
        got = self.f.readline()
        assert got.endswith(b"\r\n"), got
        return got[:-2]

    def send(self, data):
        self.sock.sendall(data + b"\r\n")

    def tagged(self, tag):
        """Lines up to the one tagged TAG; returns that one."""
        while True:
            got = self.line()
            if got.startswith(tag + b" "):
                return got

    def close(self):
        self.f.close()
        self.sock.close()


def imap(tem, source="127.0.0.1"):
    c = Lines(tem.ports["imap"], source)
    assert c.line().startswith(b"* OK")
    return c


def imap_good_login(c):
    c.send(b"z AUTHENTICATE PLAIN " + good_plain())
    assert c.tagged(b"z").startswith(b"z OK")


def test_imap_sasl_ir_of_12288_octets(stem):
    c = imap(stem, fresh_source())
    c.send(b"a AUTHENTICATE PLAIN " + plain_of_size(SASL_LINE_MAX))
    assert c.tagged(b"a").startswith(b"a NO [AUTHENTICATIONFAILED]")
    imap_good_login(c)
    c.close()


def test_imap_continuation_of_12288_octets(stem):
    c = imap(stem, fresh_source())
    c.send(b"a AUTHENTICATE PLAIN")
    assert c.line().startswith(b"+")
    c.send(plain_of_size(SASL_LINE_MAX))
    assert c.tagged(b"a").startswith(b"a NO [AUTHENTICATIONFAILED]")
    imap_good_login(c)
    c.close()


def test_imap_longer_responses_are_refused(stem):
    c = imap(stem)
    too_long = plain_of_size(SASL_LINE_MAX + 4)
    c.send(b"a AUTHENTICATE PLAIN " + too_long)
    assert c.tagged(b"a") == b"a BAD [TOOBIG] SASL response too long"
    c.send(b"b AUTHENTICATE PLAIN")
    assert c.line().startswith(b"+")
    c.send(too_long)
    assert c.tagged(b"b") == b"b BAD [TOOBIG] SASL response too long"
    imap_good_login(c)
    c.close()
    # past the pre-login line limit the session ends (RFC 9051 lets a
    # server close on a line it will not read)
    c = imap(stem)
    c.send(b"a AUTHENTICATE PLAIN " + b"A" * 70000)
    assert b"[TOOBIG]" in c.line()
    c.close()


def pop3(tem, source="127.0.0.1"):
    c = Lines(tem.ports["pop3"], source)
    assert c.line().startswith(b"+OK")
    return c


def pop3_good_login(c):
    c.send(b"USER " + ALICE.encode())
    assert c.line().startswith(b"+OK")
    c.send(b"PASS " + PASSWORDS[ALICE].encode())
    assert c.line().startswith(b"+OK")


def test_pop3_continuation_of_12288_octets(stem):
    c = pop3(stem, fresh_source())
    c.send(b"AUTH PLAIN")
    assert c.line().startswith(b"+")
    c.send(plain_of_size(SASL_LINE_MAX))
    assert c.line() == b"-ERR [AUTH] Authentication failed"
    pop3_good_login(c)
    c.close()


def test_pop3_limits(stem):
    c = pop3(stem)
    # the continuation line: 12,288 octets, no more
    c.send(b"AUTH PLAIN")
    assert c.line().startswith(b"+")
    c.send(plain_of_size(SASL_LINE_MAX + 4))
    assert c.line() == b"-ERR Line too long"
    # the AUTH command itself stays a command line (RFC 5034 section 4:
    # an initial response must not make it longer than 255 octets)
    c.send(b"AUTH PLAIN " + plain_of_size(1024))
    assert c.line() == b"-ERR Line too long"
    # an initial response that fits is taken
    c.send(b"AUTH PLAIN " + good_plain())
    assert c.line().startswith(b"+OK")
    c.close()
