"""test_pop3 - the POP3 server against real clients: Python's poplib (every
RFC 1939 command, CAPA, STLS on pop3_listen, implicit TLS on pop3s_listen,
AUTH PLAIN), fetchmail collecting and deleting mail, curl reading a
message; a POP3 deletion checked from IMAP; hostile input (line limit, bad
commands, dropped connections); [IN-USE]; UIDL across a restart.

Trust: test code; everything runs on 127.0.0.1 in temp dirs.
"""

import base64
import imaplib
import os
import poplib
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from temserver import (IO_TIMEOUT, PASSWORDS, RawConn, insecure_tls_context,
                       send_mail, simple_message)

ALICE = "alice@a.test"
ALICE_PW = PASSWORDS[ALICE]
BOB = "bob@a.test"
SERVICES = ("smtp", "pop3", "pop3s", "imap")
CLEARTEXT = {"auth_allow_cleartext": "yes"}


# --- helpers --------------------------------------------------------------

class POP3Raw(RawConn):
    """A byte-exact POP3 client (poplib hides line ends and cannot send
    hostile bytes). Reads the greeting."""

    def __init__(self, port, tls=False, timeout=IO_TIMEOUT):
        RawConn.__init__(self, port, timeout, tls)
        self.greeting = self.line()

    def line(self):
        """One line; asserts it ends with CRLF; returns it without."""
        line = self.readline()
        assert line.endswith(b"\r"), "line not ended by CRLF: %r" % line
        return line[:-1]

    def multi(self):
        """The body of a multi-line response, raw (stuffed, CRLF), up to
        and without the terminating '.CRLF'."""
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            self._fill()

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.line()

    def login(self, user=ALICE, pw=ALICE_PW):
        r = self.cmd("USER " + user)
        assert r.startswith(b"+OK"), r
        r = self.cmd("PASS " + pw)
        assert r.startswith(b"+OK"), r
        return r


def unstuff(body):
    """The message from a raw multi-line body (CRLF lines)."""
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


def deliver(tem, n, to=ALICE, body=b"Hello.\r\n", subject="m"):
    msgs = []
    for i in range(n):
        m = simple_message("%s%d" % (subject, i), body=body, to=to)
        send_mail(tem.smtp_port, "sender@b.test", [to], m)
        msgs.append(m)
    return msgs


def stored_wire(tem, address=ALICE):
    """The INBOX's messages as POP3 must send them: LF -> CRLF."""
    return [m.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            for m in tem.maildir_messages(address)]


def pop3(tem, tls=False):
    """A poplib client: pop3s when tls, else plain with STLS."""
    if tls:
        return poplib.POP3_SSL("127.0.0.1", tem.ports["pop3s"],
                               context=insecure_tls_context(),
                               timeout=IO_TIMEOUT)
    p = poplib.POP3("127.0.0.1", tem.ports["pop3"], timeout=IO_TIMEOUT)
    p.stls(context=insecure_tls_context())
    return p


def login(p, user=ALICE, pw=ALICE_PW):
    p.user(user)
    return p.pass_(pw)


def stat_of(tem, user=ALICE, pw=ALICE_PW, tries=20):
    """STAT in a fresh session (retries while the last one's lock is being
    released after a dropped connection)."""
    for _ in range(tries):
        p = pop3(tem, tls=True)
        try:
            login(p, user, pw)
        except poplib.error_proto as e:
            p.close()
            if b"[IN-USE]" in e.args[0]:
                time.sleep(0.1)
                continue
            raise
        st = p.stat()
        p.quit()
        return st
    raise AssertionError("mailbox still locked")


def imap_select_count(tem, user=ALICE, pw=ALICE_PW):
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    try:
        m.starttls(ssl_context=insecure_tls_context())
        m.login(user, pw)
        typ, data = m.select("INBOX")
        assert typ == "OK", data
        count = int(data[0])
        flags = []
        if count:
            typ, fl = m.fetch("1:*", "(FLAGS)")
            assert typ == "OK", fl
            flags = [f.decode() for f in fl if f]
        m.logout()
        return count, flags
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


@pytest.fixture
def ptem(make_tem):
    """smtp, pop3 (STLS), pop3s, imap; cleartext refused."""
    return make_tem(services=SERVICES)


# --- greeting, CAPA, cleartext ---------------------------------------------

def test_greeting_and_capa_before_tls(ptem):
    with POP3Raw(ptem.ports["pop3"]) as c:
        assert c.greeting == b"+OK tem ready"
        assert c.cmd("CAPA") == b"+OK Capability list follows"
        caps = c.multi().split(b"\r\n")[:-1]
        for want in (b"TOP", b"UIDL", b"RESP-CODES", b"AUTH-RESP-CODE",
                     b"PIPELINING", b"STLS", b"IMPLEMENTATION tem"):
            assert want in caps, caps
        # no plaintext login offered before TLS
        assert b"USER" not in caps and not any(
            x.startswith(b"SASL") for x in caps), caps
        r = c.cmd("USER " + ALICE)
        assert r.startswith(b"-ERR [AUTH]"), r
        r = c.cmd("AUTH PLAIN " + base64.b64encode(
            b"\0" + ALICE.encode() + b"\0" + ALICE_PW.encode()).decode())
        assert r.startswith(b"-ERR [AUTH]"), r
        assert c.cmd("STAT").startswith(b"-ERR"), "STAT before login"
        assert c.cmd("QUIT") == b"+OK tem signing off"
        assert c.wait_closed() == b""


def test_stls_then_capa(ptem):
    p = poplib.POP3("127.0.0.1", ptem.ports["pop3"], timeout=IO_TIMEOUT)
    assert "STLS" in p.capa()
    p.stls(context=insecure_tls_context())
    caps = p.capa()
    assert "STLS" not in caps
    assert "USER" in caps and caps["SASL"] == ["PLAIN"]
    assert login(p).startswith(b"+OK")
    caps = p.capa()
    assert "USER" not in caps and "TOP" in caps and "UIDL" in caps
    p.quit()


def test_stls_drops_pipelined_cleartext(ptem):
    with POP3Raw(ptem.ports["pop3"]) as c:
        c.send("STLS\r\nUSER " + ALICE + "\r\n")
        assert c.line() == b"+OK Begin TLS negotiation"
        assert c.buf == b""
        c.sock = insecure_tls_context().wrap_socket(c.sock)
        # the pipelined USER was dropped: PASS has no USER before it
        r = c.cmd("PASS " + ALICE_PW)
        assert r.startswith(b"-ERR"), r
        c.login()
        assert c.cmd("STLS").startswith(b"-ERR")


def test_cleartext_allowed(make_tem):
    tem = make_tem(services=SERVICES, extra_conf=CLEARTEXT)
    deliver(tem, 1)
    p = poplib.POP3("127.0.0.1", tem.ports["pop3"], timeout=IO_TIMEOUT)
    caps = p.capa()
    assert "USER" in caps and caps["SASL"] == ["PLAIN"]
    assert login(p).startswith(b"+OK")
    assert p.stat()[0] == 1
    p.quit()


# --- every command ----------------------------------------------------------

@pytest.mark.parametrize("tls", [False, True], ids=["stls", "pop3s"])
@pytest.mark.release
def test_all_commands(ptem, tls):
    body = (b"line one\r\n.starts with a dot\r\n..two dots\r\n.\r\n"
            b"last line\r\n")
    sent = deliver(ptem, 3, body=body)
    wire = stored_wire(ptem)
    assert len(wire) == 3
    p = pop3(ptem, tls)
    assert login(p).startswith(b"+OK")
    count, size = p.stat()
    assert count == 3 and size == sum(len(w) for w in wire)
    resp, lines, _ = p.list()
    assert resp.startswith(b"+OK 3 messages")
    assert lines == [b"%d %d" % (i + 1, len(w)) for i, w in enumerate(wire)]
    assert p.list(2) == b"+OK 2 %d" % len(wire[1])
    resp, uidls, _ = p.uidl()
    ids = [u.split()[1] for u in uidls]
    assert [u.split()[0] for u in uidls] == [b"1", b"2", b"3"]
    assert len(set(ids)) == 3
    assert all(0 < len(i) <= 70 and all(0x21 <= b <= 0x7e for b in i)
               for i in ids)
    assert p.uidl(3) == b"+OK 3 " + ids[2]
    # RETR: exactly the stored message, CRLF, dot-unstuffed by poplib
    for i in range(3):
        resp, lines, octets = p.retr(i + 1)
        assert resp == b"+OK %d octets" % len(wire[i])
        assert b"\r\n".join(lines) + b"\r\n" == wire[i]
        assert wire[i].endswith(sent[i])
    # TOP: the header, the blank line, n body lines
    hdr, _, bod = wire[0].partition(b"\r\n\r\n")
    resp, lines, _ = p.top(1, 0)
    assert b"\r\n".join(lines) == hdr + b"\r\n"
    resp, lines, _ = p.top(1, 2)
    assert lines[-2:] == [b"line one", b".starts with a dot"]
    assert p.noop() == b"+OK"
    assert p.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.dele(1)                        # already deleted
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    with pytest.raises(poplib.error_proto):
        p.list(1)
    with pytest.raises(poplib.error_proto):
        p.retr(4)                        # no such message
    with pytest.raises(poplib.error_proto):
        p.retr(0)
    assert p.stat() == (2, size - len(wire[0]))
    assert p.list()[1] == lines_after_dele(wire, {0})
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (3, size)
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    # UPDATE removed message 2 only
    assert stat_of(ptem) == (2, len(wire[0]) + len(wire[2]))
    assert stored_wire(ptem) == [wire[0], wire[2]]


def lines_after_dele(wire, deleted):
    return [b"%d %d" % (i + 1, len(w)) for i, w in enumerate(wire)
            if i not in deleted]


def test_raw_wire_bytes(ptem):
    """Dot-stuffing and CRLF exactly as on the wire."""
    body = b".\r\n..\r\n.x\r\nend\r\n"
    deliver(ptem, 1, body=body)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        r = c.cmd("RETR 1")
        raw = c.multi()
        assert raw.endswith(b"\r\n..\r\n...\r\n..x\r\nend\r\n"), raw[-40:]
        assert b"\n" not in raw.replace(b"\r\n", b"")
        assert r == b"+OK %d octets" % len(unstuff(raw))
        assert [unstuff(raw)] == stored_wire(ptem)
        c.cmd("QUIT")


def test_large_message_streamed(ptem):
    """A 3 MB message (many RETR pieces) arrives byte for byte; STAT and
    RETR's octet count are what is sent."""
    line = b"." + b"x" * 76 + b"\r\n"
    body = line * (3 * 1024 * 1024 // len(line))
    deliver(ptem, 1, body=body)
    with POP3Raw(ptem.ports["pop3"]) as c:
        assert c.cmd("STLS").startswith(b"+OK")
        c.sock = insecure_tls_context().wrap_socket(c.sock)
        c.login()
        stat = c.cmd("STAT").split()
        r = c.cmd("RETR 1")
        got = unstuff(c.multi())
        assert r == b"+OK %d octets" % len(got)
        assert int(stat[2]) == len(got)
        assert [got] == stored_wire(ptem)
        r = c.cmd("TOP 1 3")
        top = unstuff(c.multi())
        assert top == got[:got.index(b"\r\n\r\n") + 4] + line * 3
        c.cmd("QUIT")


def put_messages(tem, n, size, address=ALICE):
    """Writes N messages of about SIZE bytes straight into the Maildir's
    cur/ (faster than SMTP for thousands); returns their wire forms."""
    cur = os.path.join(tem.maildir(address), "cur")
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n"
    wires = []
    for i in range(n):
        data = b"Subject: %d\n\n.dot\n" % i + line * max(1, size // len(line))
        name = "%d.M%dP1Q%d.test,S=%d:2," % (1700000000 + i, i, i, len(data))
        with open(os.path.join(cur, name), "wb") as f:
            f.write(data)
        wires.append(data.replace(b"\n", b"\r\n"))
    return wires


@pytest.mark.embedded_only
def test_long_listings(ptem):
    """LIST and UIDL of 3000 messages go out in several pieces."""
    wires = put_messages(ptem, 3000, 100)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        c.send("LIST\r\nUIDL\r\nSTAT\r\nLIST 3000\r\n")
        assert c.line().startswith(b"+OK 3000 messages")
        want = b"".join(b"%d %d\r\n" % (i + 1, len(w))
                        for i, w in enumerate(wires))
        assert c.multi() == want
        assert c.line().startswith(b"+OK")
        uidls = c.multi().split(b"\r\n")[:-1]
        assert len(uidls) == 3000 and len(set(uidls)) == 3000
        assert c.line() == b"+OK 3000 %d" % sum(map(len, wires))
        assert c.line() == b"+OK 3000 %d" % len(wires[-1])
        c.cmd("QUIT")


@pytest.mark.embedded_only
def test_pipelined_retrs_unread(ptem):
    """A client that pipelines many large RETRs and reads nothing for a
    while gets every reply intact (output waits for the drain, the
    session stops reading commands meanwhile)."""
    wires = put_messages(ptem, 3, 300000)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        seq = [1, 2, 3, 3, 1] * 8
        c.send("".join("RETR %d\r\n" % n for n in seq) + "NOOP\r\n")
        time.sleep(1)
        for n in seq:
            r = c.line()
            assert r == b"+OK %d octets" % len(wires[n - 1]), r
            assert unstuff(c.multi()) == wires[n - 1]
        assert c.line() == b"+OK"
        c.cmd("QUIT")


@pytest.mark.embedded_only
def test_read_ahead_paths(ptem):
    """RETR in order (answered from the read-ahead), out of order, of a
    message DELE'd after it was read ahead, TOP in between, QUIT and a
    drop with a read-ahead pending: replies stay right, nothing leaks."""
    wires = put_messages(ptem, 6, 2000)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        for n in (1, 2, 3):
            assert c.cmd("RETR %d" % n).startswith(b"+OK")
            assert unstuff(c.multi()) == wires[n - 1]
        assert c.cmd("DELE 4").startswith(b"+OK")     # read ahead, gone
        assert c.cmd("RETR 4").startswith(b"-ERR")
        assert c.cmd("TOP 5 0").startswith(b"+OK")
        c.multi()
        assert c.cmd("RETR 6").startswith(b"+OK")
        assert unstuff(c.multi()) == wires[5]
        assert c.cmd("RETR 5").startswith(b"+OK")     # out of order
        assert unstuff(c.multi()) == wires[4]
        assert c.cmd("RETR 1").startswith(b"+OK")
        c.multi()
        assert c.cmd("QUIT").startswith(b"+OK")      # read-ahead of 2
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        c.cmd("RETR 1")
        c.multi()
    assert stat_of(ptem)[0] == 5


@pytest.mark.release
def test_pipelining(ptem):
    deliver(ptem, 2)
    wire = stored_wire(ptem)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.send("USER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nRETR 1\r\nUIDL 2\r\n"
               "BOGUS\r\nRETR 2\r\nNOOP\r\nQUIT\r\n" % (ALICE, ALICE_PW))
        assert c.line().startswith(b"+OK")
        assert c.line().startswith(b"+OK Logged in")
        assert c.line() == b"+OK 2 %d" % sum(map(len, wire))
        assert c.line().startswith(b"+OK 2 messages")
        assert c.multi() == b"1 %d\r\n2 %d\r\n" % (len(wire[0]), len(wire[1]))
        assert c.line().startswith(b"+OK")
        assert unstuff(c.multi()) == wire[0]
        assert c.line().startswith(b"+OK 2 ")
        assert c.line().startswith(b"-ERR")
        assert c.line().startswith(b"+OK")
        assert unstuff(c.multi()) == wire[1]
        assert c.line() == b"+OK"
        assert c.line().startswith(b"+OK tem signing off")
        assert c.wait_closed() == b""


# --- AUTH PLAIN (RFC 5034) -------------------------------------------------

def plain(user=ALICE, pw=ALICE_PW, authz=""):
    return base64.b64encode(("%s\0%s\0%s" % (authz, user, pw)).encode()
                            ).decode()


def test_auth_plain(ptem):
    deliver(ptem, 1)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        assert c.cmd("AUTH") == b"+OK Mechanisms follow"
        assert c.multi() == b"PLAIN\r\n"
        assert c.cmd("AUTH LOGIN").startswith(b"-ERR")
        assert c.cmd("AUTH PLAIN") == b"+ "
        assert c.cmd("*").startswith(b"-ERR")
        assert c.cmd("AUTH PLAIN") == b"+ "
        assert c.cmd("not base64!").startswith(b"-ERR")
        r = c.cmd("AUTH PLAIN " + plain())
        assert r.startswith(b"+OK Logged in, 1 messages"), r
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        assert c.cmd("AUTH PLAIN " + plain()).startswith(b"-ERR")
        c.cmd("QUIT")
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        assert c.cmd("AUTH PLAIN") == b"+ "
        assert c.cmd(plain()).startswith(b"+OK Logged in")
        c.cmd("QUIT")


def test_failed_logins_slowed_and_logged(ptem):
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        t0 = time.monotonic()
        r = c.cmd("USER " + ALICE)
        r = c.cmd("PASS wrong-password")
        assert r == b"-ERR [AUTH] Authentication failed"
        assert time.monotonic() - t0 >= 0.9
        c.cmd("USER nobody@a.test")
        t0 = time.monotonic()
        assert c.cmd("PASS x") == b"-ERR [AUTH] Authentication failed"
        assert time.monotonic() - t0 >= 1.8     # the delay grows
        assert c.cmd("AUTH PLAIN " + plain(pw="nope")).startswith(
            b"-ERR [AUTH]")
        c.login()                                # still possible
        c.cmd("QUIT")
    log = ptem.log_text()
    assert 'pop3 auth-failed user="%s" addr=127.0.0.1' % ALICE in log
    assert 'pop3 auth-failed user="nobody@a.test" addr=127.0.0.1' in log
    assert "wrong-password" not in log


# --- the store: IMAP, locks, drops, restarts --------------------------------

def test_dele_seen_from_imap(ptem):
    deliver(ptem, 3)
    assert imap_select_count(ptem)[0] == 3
    p = pop3(ptem, tls=True)
    login(p)
    p.retr(1)
    p.dele(2)
    p.quit()
    count, flags = imap_select_count(ptem)
    assert count == 2
    # the RETR'd message is \Seen for IMAP, the other one not
    assert "\\Seen" in flags[0] and "\\Seen" not in flags[1], flags
    assert len(ptem.maildir_messages(ALICE)) == 2


def test_dropped_connection_deletes_nothing(ptem):
    deliver(ptem, 2)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        assert c.cmd("DELE 1").startswith(b"+OK")
        assert c.cmd("DELE 2").startswith(b"+OK")
        c.send("RETR 1\r\n")            # dropped in the middle of a reply
    with POP3Raw(ptem.ports["pop3"]) as c:
        assert c.cmd("STLS").startswith(b"+OK")
        c.sock = insecure_tls_context().wrap_socket(c.sock)
        c.login()
        c.cmd("DELE 1")
        c.sock.shutdown(socket.SHUT_RDWR)
    assert stat_of(ptem)[0] == 2
    assert len(ptem.maildir_messages(ALICE)) == 2


def test_in_use(ptem):
    deliver(ptem, 1)
    first = pop3(ptem, tls=True)
    login(first)
    second = pop3(ptem)
    second.user(ALICE)
    with pytest.raises(poplib.error_proto) as e:
        second.pass_(ALICE_PW)
    assert e.value.args[0].startswith(b"-ERR [IN-USE]")
    # another user is not locked out by alice's session
    assert login(second, BOB, PASSWORDS[BOB]).startswith(b"+OK")
    second.quit()
    first.dele(1)
    first.quit()
    # the lock is gone once QUIT answered
    third = pop3(ptem, tls=True)
    assert login(third).startswith(b"+OK Logged in, 0 messages")
    third.quit()


def test_new_mail_shows_in_next_session(ptem):
    deliver(ptem, 1)
    p = pop3(ptem, tls=True)
    login(p)
    deliver(ptem, 2, subject="late")
    assert p.stat()[0] == 1
    assert len(p.list()[1]) == 1
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    p.quit()
    assert stat_of(ptem)[0] == 3


@pytest.mark.embedded_only
def test_uidl_stable_across_restart(ptem):
    deliver(ptem, 3)
    p = pop3(ptem, tls=True)
    login(p)
    before = p.uidl()[1]
    p.dele(2)
    p.quit()
    ptem.restart()
    p = pop3(ptem, tls=True)
    login(p)
    after = p.uidl()[1]
    p.quit()
    ids = [u.split()[1] for u in before]
    assert [u.split()[1] for u in after] == [ids[0], ids[2]]
    # the index is disposable (SPEC): UIDLs survive its loss
    ptem.stop()
    for name in os.listdir(ptem.maildir(ALICE)):
        if name.startswith("tem-"):
            os.unlink(os.path.join(ptem.maildir(ALICE), name))
    ptem.start()
    p = pop3(ptem, tls=True)
    login(p)
    again = p.uidl()[1]
    p.quit()
    assert [u.split()[1] for u in again] == [ids[0], ids[2]]


def test_shutdown_deletes_nothing(ptem):
    deliver(ptem, 1)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        assert c.cmd("DELE 1").startswith(b"+OK")
        ptem.stop()
        rest = c.wait_closed()
        assert rest.startswith(b"-ERR [SYS/TEMP]"), rest
    ptem.start()
    assert stat_of(ptem)[0] == 1


# --- hostile input -----------------------------------------------------------

def test_line_limit(ptem):
    with POP3Raw(ptem.ports["pop3"]) as c:
        # 512 octets with CRLF: accepted
        line = "USER " + "a" * (512 - 2 - 5)
        assert len(line) + 2 == 512
        c.send(line + "\r\n")
        r = c.line()
        assert r.startswith(b"-ERR [AUTH]"), r     # parsed (no TLS yet)
        # 513 octets: refused, the session goes on
        c.send("USER " + "a" * (513 - 2 - 5) + "\r\n")
        assert c.line() == b"-ERR Line too long"
        assert c.cmd("CAPA").startswith(b"+OK")
        c.multi()
        # a huge line without end: refused once, the rest dropped
        c.send(b"X" * 200000)
        assert c.line() == b"-ERR Line too long"
        c.send(b"tail of the long line\r\nNOOP\r\n")
        assert c.line().startswith(b"-ERR")   # NOOP before login
        c.cmd("QUIT")


def test_too_many_bad_commands(ptem):
    with POP3Raw(ptem.ports["pop3"]) as c:
        for i in range(19):
            assert c.cmd("BOGUS %d" % i).startswith(b"-ERR")
        c.send("GET / HTTP/1.1\r\n")
        assert c.line() == b"-ERR Unknown command"
        assert c.line() == b"-ERR Too many bad commands, closing"
        assert c.wait_closed() == b""
    assert "pop3 too-many-errors addr=127.0.0.1" in ptem.log_text()


def test_max_sessions_per_ip(make_tem):
    tem = make_tem(services=SERVICES, extra_conf={"max_sessions_per_ip": "2"})
    a, b = POP3Raw(tem.ports["pop3"]), POP3Raw(tem.ports["pop3"])
    try:
        with POP3Raw(tem.ports["pop3"]) as c:
            assert c.greeting.startswith(b"-ERR [SYS/TEMP]"), c.greeting
            assert c.wait_closed() == b""
        # counted per service: POP3S still has room
        with POP3Raw(tem.ports["pop3s"], tls=True) as c:
            assert c.greeting == b"+OK tem ready"
    finally:
        a.close()
        b.close()


def test_hostile_bytes(ptem):
    deliver(ptem, 1)
    with POP3Raw(ptem.ports["pop3s"], tls=True) as c:
        c.login()
        for bad in (b"RETR 1\0", b"\0\0\0", b"DELE \xff", b"LIST -1",
                    b"TOP 1", b"RETR 99999999999999999999", b"RETR 0",
                    b"\x16\x03\x01\x02\x00"):
            r = c.cmd(bad)
            assert r.startswith(b"-ERR"), (bad, r)
        assert c.cmd("STAT").startswith(b"+OK 1 ")
        c.cmd("QUIT")


# --- other clients -----------------------------------------------------------

def fetchmail_bin():
    return shutil.which("fetchmail")


@pytest.mark.parametrize("tls", [False, True], ids=["stls", "pop3s"])
def test_fetchmail_collects_and_deletes(ptem, tmp_path, tls):
    if fetchmail_bin() is None:
        pytest.fail("fetchmail is not installed (apt-get install fetchmail)")
    sent = deliver(ptem, 3, body=b"Body line\r\n.dot line\r\n")
    wire = stored_wire(ptem)
    out = tmp_path / "collected.mbox"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        'poll 127.0.0.1 service %d protocol POP3 uidl\n'
        '  user "%s" there with password "%s" is root here\n'
        '  %s sslproto "tls1.2+" no sslcertck nokeep\n'
        '  mda "cat >> %s"\n' % (
            ptem.ports["pop3s" if tls else "pop3"], ALICE, ALICE_PW,
            "ssl" if tls else "", out))
    os.chmod(rc, 0o600)
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run(
        [fetchmail_bin(), "-f", str(rc), "--nosyslog", "--nodetach",
         "--pidfile", str(tmp_path / "pid"), "--idfile",
         str(tmp_path / "ids"), "-v"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=60)
    log = p.stdout.decode(errors="replace")
    assert p.returncode == 0, log
    assert "STLS" in log or tls, log
    got = out.read_bytes()
    # fetchmail hands each message to the MDA with LF line ends
    for m in sent:
        assert m.replace(b"\r\n", b"\n") in got, log
    assert got.count(b"\n.dot line\n") == 3
    assert len(wire) == 3
    assert ptem.maildir_messages(ALICE) == []
    assert stat_of(ptem) == (0, 0)


@pytest.mark.parametrize("mode", ["cleartext", "stls", "pop3s"])
def test_curl_reads_message(make_tem, mode):
    tem = make_tem(services=SERVICES,
                   extra_conf=CLEARTEXT if mode == "cleartext" else None)
    deliver(tem, 2, body=b"curl body\r\n.dotted\r\n")
    wire = stored_wire(tem)
    user = ALICE.replace("@", "%40")
    if mode == "pop3s":
        url = "pop3s://%s:%s@127.0.0.1:%d/2" % (user, ALICE_PW,
                                                tem.ports["pop3s"])
        extra = ["-k"]
    else:
        url = "pop3://%s:%s@127.0.0.1:%d/2" % (user, ALICE_PW,
                                               tem.ports["pop3"])
        extra = ["--ssl-reqd", "-k"] if mode == "stls" else []
    p = subprocess.run(["curl", "-sS", "--max-time", "30"] + extra + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == wire[1]
    # curl's default (no message number) is LIST
    url = url[:-2]
    p = subprocess.run(["curl", "-sS", "--max-time", "30"] + extra + [url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"1 %d\r\n2 %d\r\n" % (len(wire[0]), len(wire[1]))
