"""IMAP rules that live in the mail store, checked from outside with
Python's imaplib (an IMAP4rev1 client) and, where the order or the exact
bytes of untagged responses matter, the byte-exact client of
tests/lib/imapclient.py:

- \\Recent (RFC 3501 2.3.2): the first session to see a message gets it,
  mail that came while nobody had the folder open included; SELECT's
  RECENT, STATUS RECENT and SEARCH RECENT/NEW/OLD agree; EXAMINE and
  STATUS do not take it away.
- A new keyword is announced with FLAGS and PERMANENTFLAGS in every
  session with the folder selected before any FETCH names it.
- BINARY (RFC 3516): a literal8 APPEND with a binary part comes back
  byte-exact (NUL and bare LFs), with its true BINARY.SIZE.
- SAVEDATE (RFC 8514) and OBJECTID (RFC 8474).

One server for the module; each test logs in as a user of its own."""

import imaplib
import os
import re
import time
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402
from temserver import send_mail  # noqa: E402

USERS = {"r%d@a.test" % i: "pw-r%d-Secret" % i for i in range(1, 31)}
srv, user, login = imapclient.imap_fixtures(USERS, env={"TZ": "UTC"})


def msg(subject, body=b"Hello.\r\n"):
    return (b"From: <a@b.test>\r\nTo: <u@a.test>\r\nSubject: " +
            subject.encode() + b"\r\n\r\n" + body)


def imaplib_login(srv, user):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=20)
    m.login(*user)
    return m


def deliver(srv, user, n=1):
    for i in range(n):
        send_mail(srv.smtp_port, "a@b.test", [user[0]],
                  msg("delivered %d" % i))


def recent_of(m):
    """The RECENT count of the last SELECT/EXAMINE (imaplib keeps it)."""
    typ, data = m.response("RECENT")
    return int(data[-1])


def search(m, *keys):
    typ, data = m.search(None, *keys)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def status(m, box, item):
    typ, data = m.status(box, "(%s)" % item)
    assert typ == "OK", data
    return int(re.search(item.encode() + rb" (\d+)", data[0]).group(1))


# --- \Recent --------------------------------------------------------------

def test_recent_goes_to_the_first_session(srv, user):
    deliver(srv, user, 2)
    a = imaplib_login(srv, user)
    b = imaplib_login(srv, user)
    try:
        # STATUS and EXAMINE look without taking
        assert status(a, "INBOX", "RECENT") == 2
        typ, _ = a.select("INBOX", readonly=True)
        assert typ == "OK" and recent_of(a) == 2
        a.close()
        assert status(b, "INBOX", "RECENT") == 2
        # the first SELECT takes them
        typ, data = b.select("INBOX")
        assert typ == "OK" and int(data[0]) == 2 and recent_of(b) == 2
        assert search(b, "RECENT") == [1, 2]
        assert search(b, "NEW") == [1, 2]
        assert search(b, "OLD") == []
        typ, data = b.fetch("1", "(FLAGS)")
        assert b"\\Recent" in data[0]
        # nobody else sees them as recent any more
        assert status(a, "INBOX", "RECENT") == 0
        a.select("INBOX")
        assert recent_of(a) == 0
        assert search(a, "RECENT") == [] and search(a, "NEW") == []
        assert search(a, "OLD") == [1, 2]
        typ, data = a.fetch("1", "(FLAGS)")
        assert b"\\Recent" not in data[0]
    finally:
        a.logout()
        b.logout()


def test_recent_survives_closing_and_appends(srv, user):
    """Mail APPENDed while the folder is closed (and a STATUS in between,
    which loads it) is recent for the next SELECT, once."""
    a = imaplib_login(srv, user)
    try:
        for i in range(2):
            typ, _ = a.append("INBOX", None, None, msg("appended %d" % i))
            assert typ == "OK"
            assert status(a, "INBOX", "RECENT") == i + 1
        typ, data = a.select("INBOX")
        assert recent_of(a) == 2
        a.logout()
        a = imaplib_login(srv, user)
        a.select("INBOX")
        assert recent_of(a) == 0
        assert status(a, "INBOX", "RECENT") == 0
    finally:
        a.logout()


def test_recent_new_mail_while_selected(srv, user, login):
    """A delivery to a selected folder: EXISTS and RECENT in the session
    that learns of it first; another session selecting later gets none."""
    c = login()
    c.cmd("SELECT INBOX")
    deliver(srv, user)
    r = c.cmd("NOOP")
    assert r.of("EXISTS") == [b"* 1 EXISTS"], r
    assert r.of("RECENT") == [b"* 1 RECENT"], r
    d = login()
    r = d.cmd("SELECT INBOX")
    assert r.of("RECENT") == [b"* 0 RECENT"], r
    assert b"\\Recent" in c.cmd("FETCH 1 FLAGS").of("FETCH")[0]


# --- keywords are announced before they are used ---------------------------

def flags_line_has(r, kw):
    """Index of the first untagged FLAGS line listing kw, or None."""
    for i, l in enumerate(r.lines):
        if l.startswith(b"* FLAGS ") and kw in l.split(b"(", 1)[1]:
            return i
    return None


def first_fetch_naming(r, kw):
    for i, l in enumerate(r.lines):
        if b" FETCH " in l and kw in l:
            return i
    return None


def check_announced(*rs, kw=b"$hello"):
    """In the responses rs (in order), FLAGS and PERMANENTFLAGS list kw
    before the first FETCH naming it."""
    lines = [l for r in rs for l in r.lines]
    f = first_fetch_naming(imapclient.Resp(lines, "OK"), kw)
    assert f is not None, rs
    i = flags_line_has(imapclient.Resp(lines[:f], "OK"), kw)
    assert i is not None, rs
    perm = [l for l in lines[i:f] if l.startswith(b"* OK [PERMANENTFLAGS")]
    assert perm and kw in perm[0], rs


def two_selected(login):
    """Two sessions with INBOX (one message) selected."""
    a = login()
    b = login()
    a.append("INBOX", msg("one"))
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    return a, b


def test_keyword_from_another_session_announced(srv, user, login):
    a, b = two_selected(login)
    b.cmd("STORE 1 +FLAGS.SILENT ($hello)")
    # a FETCH before any NOOP: the FLAGS line must come first
    check_announced(a.cmd("FETCH 1 (FLAGS)"))
    r = a.cmd("NOOP")
    assert flags_line_has(r, b"$hello") is None, r  # said once


def test_keyword_from_own_store_announced(srv, user, login):
    a, b = two_selected(login)
    check_announced(a.cmd("STORE 1 +FLAGS ($hello)"))
    check_announced(b.cmd("NOOP"))


def test_keyword_from_append_announced(srv, user, login):
    a = login()
    a.append("INBOX", msg("one"))
    a.cmd("SELECT INBOX")
    r = a.append("INBOX", msg("two"), flags="$hello")
    check_announced(r, a.cmd("FETCH 1:* (FLAGS)"))


def test_keyword_via_imaplib(srv, user):
    """imaplib's view: after another session's STORE, the FLAGS response
    lists the keyword that the FETCH then shows."""
    a = imaplib_login(srv, user)
    b = imaplib_login(srv, user)
    try:
        a.append("INBOX", None, None, msg("one"))
        a.select("INBOX")
        b.select("INBOX")
        b.store("1", "+FLAGS", "($hello)")
        typ, data = a.fetch("1", "(FLAGS)")
        assert b"$hello" in data[0]
        typ, flags = a.response("FLAGS")
        assert flags[-1] and b"$hello" in flags[-1], flags
    finally:
        a.logout()
        b.logout()


# --- BINARY: byte-exact binary content --------------------------------------

BINARY_PART = b"a\x00b\nc\nd"  # 7 octets: a NUL and two bare LFs


def binary_message():
    return (b"From: <a@b.test>\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: binary\r\n\r\n" + BINARY_PART +
            b"\r\n--XX\r\nContent-Type: text/plain\r\n\r\nText\nhere\r\n"
            b"--XX--\r\n")


def test_binary_literal8_byte_exact(srv, user, login):
    c = login()
    data = binary_message()
    c.append("INBOX", data, binary=True)
    c.cmd("SELECT INBOX")
    r = c.cmd("FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    (line,) = r.of("FETCH")
    assert b"BINARY.SIZE[1] 7" in line, r
    assert b"BINARY[1] ~{7}\r\n" + BINARY_PART + b")" in line, r
    # the whole message keeps its size and shape as text
    r = c.cmd("FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    (line,) = r.of("FETCH")
    body = re.search(rb"BODY\[\] \{(\d+)\}\r\n", line)
    size = int(re.search(rb"RFC822.SIZE (\d+)", line).group(1))
    assert int(body.group(1)) == size, r
    # a copy keeps it byte-exact too
    c.cmd("CREATE Bin")
    c.cmd("COPY 1 Bin")
    c.cmd("SELECT Bin")
    r = c.cmd("FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    assert b"BINARY[1] ~{7}\r\n" + BINARY_PART + b")" in r.of("FETCH")[0]


# --- SAVEDATE (RFC 8514) ---------------------------------------------------

def test_capabilities(srv, user, login):
    caps = login().cmd("CAPABILITY").of("CAPABILITY")[0].split()
    assert b"OBJECTID" in caps and b"SAVEDATE" in caps


def today():
    return time.strftime("%d-%b-%Y", time.gmtime())


def test_savedate(srv, user):
    m = imaplib_login(srv, user)
    try:
        old = imaplib.Time2Internaldate(978307200)  # 1 Jan 2001 UTC
        typ, _ = m.append("INBOX", None, old, msg("old"))
        assert typ == "OK"
        m.create("Other")
        m.select("INBOX")
        typ, data = m.fetch("1", "(INTERNALDATE SAVEDATE)")
        assert typ == "OK", data
        saved = re.search(rb'SAVEDATE "([^"]+)"', data[0]).group(1)
        t = imaplib.Internaldate2tuple(b'INTERNALDATE "' + saved + b'"')
        assert abs(time.mktime(t) - time.time()) < 3600, data
        assert b'INTERNALDATE "01-Jan-2001' in data[0], data
        assert search(m, "SAVEDSINCE", today()) == [1]
        assert search(m, "SAVEDON", today()) == [1]
        assert search(m, "SAVEDBEFORE", "1-Jan-2002") == []
        assert search(m, "BEFORE", "1-Jan-2002") == [1]
        assert search(m, "SAVEDATESUPPORTED") == [1]
        # a copy is saved anew, with its INTERNALDATE
        typ, _ = m.copy("1", "Other")
        assert typ == "OK"
        m.select("Other")
        typ, data = m.fetch("1", "(INTERNALDATE SAVEDATE)")
        assert b'INTERNALDATE "01-Jan-2001' in data[0], data
        assert search(m, "SAVEDON", today()) == [1]
    finally:
        m.logout()


# --- OBJECTID (RFC 8474) ---------------------------------------------------

def mailboxid(text):
    return re.search(rb"MAILBOXID \(([A-Za-z0-9_-]+)\)", text).group(1)


def test_objectid(srv, user, login):
    c = login()
    r = c.cmd("CREATE Work")
    assert "[MAILBOXID (" in r.tagged, r
    work = re.search(r"MAILBOXID \(([A-Za-z0-9_-]+)\)", r.tagged).group(1)
    st = c.cmd("STATUS Work (MAILBOXID MESSAGES)").of("STATUS")[0]
    assert mailboxid(st).decode() == work
    inbox = mailboxid(c.cmd("STATUS INBOX (MAILBOXID)").of("STATUS")[0])
    assert inbox.decode() != work
    # RENAME keeps it; a new folder of the old name gets a new one
    c.cmd("RENAME Work Job")
    st = c.cmd("STATUS Job (MAILBOXID)").of("STATUS")[0]
    assert mailboxid(st).decode() == work
    r = c.cmd("CREATE Work")
    assert work not in r.tagged, r
    # messages
    c.append("INBOX", msg("one"))
    c.append("INBOX", msg("two"))
    r = c.cmd("SELECT INBOX")
    sel = [l for l in r.lines if b"[MAILBOXID" in l]
    assert sel and mailboxid(sel[0]) == inbox, r
    f = c.cmd("FETCH 1:2 (EMAILID THREADID)").fetches()
    ids = [f[i]["EMAILID"][0] for i in (1, 2)]
    assert ids[0] != ids[1] and all(re.fullmatch(rb"[A-Za-z0-9_-]+", i)
                                    for i in ids), f
    assert f[1]["THREADID"] is None or f[1]["THREADID"] == b"NIL", f
    r = c.cmd("SEARCH EMAILID " + ids[1].decode())
    assert r.of("SEARCH") == [b"* SEARCH 2"], r
    r = c.cmd("SEARCH THREADID T1")
    assert r.of("SEARCH") == [b"* SEARCH"], r
    # COPY and MOVE keep EMAILID
    c.cmd("COPY 1 Job")
    c.cmd("MOVE 2 Job")
    c.cmd("SELECT Job")
    f = c.cmd("FETCH 1:2 (EMAILID)").fetches()
    assert [f[i]["EMAILID"][0] for i in (1, 2)] == ids, f


def test_objectid_via_imaplib(srv, user):
    m = imaplib_login(srv, user)
    try:
        m.append("INBOX", None, None, msg("one"))
        m.create("Keep")
        m.select("INBOX")
        typ, data = m.fetch("1", "(EMAILID)")
        eid = re.search(rb"EMAILID \(([^)]+)\)", data[0]).group(1)
        typ, data = m.uid("MOVE", "1", "Keep")
        assert typ == "OK", data
        m.select("Keep")
        typ, data = m.fetch("1", "(EMAILID)")
        assert b"EMAILID (" + eid + b")" in data[0], data
        assert search(m, "EMAILID", eid.decode()) == [1]
    finally:
        m.logout()
