"""ESORT, CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267) against the real
server: SORT RETURN (MIN MAX ALL COUNT) in sort order, PARTIAL windows of
SEARCH and SORT, and updating contexts - ADDTO after EXISTS as mail
arrives, REMOVEFROM before EXPUNGE, updates for flag changes made by
another session or by this one, updates pushed during IDLE, positions in
sorted contexts, CANCELUPDATE, tag reuse (BAD) and the per-session limit
(NO [NOUPDATE]). imaplib drives the plain ESORT; the byte-exact client
the rest.

One server for the module; each test logs in as a user of its own."""

import imaplib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402

USERS = {"x%d@a.test" % i: "pw-x%d-Secret" % i for i in range(1, 21)}
srv, user, login = imapclient.imap_fixtures(USERS)


def msg(subject, body="Hi.\r\n"):
    return ("From: <a@b.test>\r\nSubject: %s\r\n\r\n%s" %
            (subject, body)).encode()


def esearch(r, tag):
    """The ESEARCH lines of Resp r for tag, without the correlator."""
    head = b'* ESEARCH (TAG "%s")' % tag.encode()
    return [l[len(head):].strip() for l in r.lines if l.startswith(head)]


def test_esort_with_imaplib(srv, user):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.login(*user)
    caps = m.capability()[1][0].split()
    for c in (b"ESORT", b"CONTEXT=SEARCH", b"CONTEXT=SORT"):
        assert c in caps
    for s in ("c", "a", "b", "d"):
        m.append("INBOX", None, None, msg(s))
    m.select("INBOX")
    typ, dat = m._simple_command("SORT", "RETURN", "(MIN MAX ALL COUNT)",
                                 "(SUBJECT)", "UTF-8", "ALL")
    assert typ == "OK", dat
    typ, dat = m._untagged_response(typ, dat, "ESEARCH")
    assert dat[0].split(b")", 1)[1] == b" MIN 2 MAX 4 ALL 2:3,1,4 COUNT 4"
    typ, dat = m._simple_command("UID", "SORT", "RETURN", "()",
                                 "(REVERSE SUBJECT)", "UTF-8", "ALL")
    typ, dat = m._untagged_response(typ, dat, "ESEARCH")
    assert dat[0].split(b")", 1)[1] == b" UID ALL 4,1,3,2"
    m.logout()


def test_partial(login):
    c = login()
    for s in ("e", "d", "c", "b", "a"):
        c.append("INBOX", msg(s))
    c.cmd("SELECT INBOX")
    r = c.cmd("SEARCH RETURN (PARTIAL 2:3 COUNT) ALL")
    assert esearch(r, c.last_tag) == [b"COUNT 5 PARTIAL (2:3 2:3)"]
    r = c.cmd("UID SORT RETURN (PARTIAL 4:1) (SUBJECT) UTF-8 ALL")
    assert esearch(r, c.last_tag) == [b"UID PARTIAL (1:4 5,4,3,2)"]
    r = c.cmd("SEARCH RETURN (PARTIAL 6:9) ALL")
    assert esearch(r, c.last_tag) == [b"PARTIAL (6:9 NIL)"]
    c.cmd("SEARCH RETURN (PARTIAL 1:2 ALL) ALL", expect="BAD")
    c.cmd("SEARCH RETURN (PARTIAL) ALL", expect="BAD")
    c.cmd("SEARCH RETURN (PARTIAL 0:2) ALL", expect="BAD")
    c.cmd("SORT RETURN (SAVE) (SUBJECT) UTF-8 ALL", expect="BAD")
    c.cmd("SORT RETURN (MIN) (BOGUS) UTF-8 ALL", expect="BAD")


def test_search_context_updates(login):
    a, b = login(), login()
    for s in ("one", "two", "three"):
        a.append("INBOX", msg(s))
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    r = a.cmd("SEARCH RETURN (UPDATE) UNSEEN")
    tag = a.last_tag
    assert esearch(r, tag) == [b"ALL 1:3"]
    # a new message arrives: ADDTO after EXISTS
    b.append("INBOX", msg("four"))
    r = a.cmd("NOOP")
    exists = r.lines.index(b"* 4 EXISTS")
    upd = r.lines.index(b'* ESEARCH (TAG "%s") ADDTO (0 4)' % tag.encode())
    assert exists < upd, r
    # another session sets \Seen: the message leaves the result
    b.cmd("STORE 1 +FLAGS (\\Seen)")
    r = a.cmd("NOOP")
    assert esearch(r, tag) == [b"REMOVEFROM (0 1)"]
    # an expunge: REMOVEFROM before the EXPUNGE, in the old numbering
    b.cmd("STORE 3 +FLAGS (\\Deleted)")
    b.cmd("EXPUNGE")
    r = a.cmd("NOOP")
    rm = r.lines.index(b'* ESEARCH (TAG "%s") REMOVEFROM (0 3)' %
                       tag.encode())
    assert rm < r.lines.index(b"* 3 EXPUNGE"), r
    # this session's own STORE counts too (a UID STORE may report it at
    # once; after a STORE by number it waits, like EXPUNGE, for NOOP)
    r = a.cmd("UID STORE 2 +FLAGS.SILENT (\\Seen)")
    assert esearch(r, tag) == [b"REMOVEFROM (0 2)"]
    r = a.cmd("STORE 2 -FLAGS.SILENT (\\Seen)")
    assert esearch(r, tag) == []
    r = a.cmd("NOOP")
    assert esearch(r, tag) == [b"ADDTO (0 2)"]
    # nothing changed: nothing said
    r = a.cmd("NOOP")
    assert esearch(r, tag) == []
    # UID contexts speak UIDs
    r = a.cmd("UID SEARCH RETURN (UPDATE COUNT) SEEN")
    utag = a.last_tag
    assert esearch(r, utag) == [b"UID COUNT 1"]
    b.cmd("UID STORE 4 +FLAGS (\\Seen)")
    r = a.cmd("NOOP")
    assert esearch(r, utag) == [b"UID ADDTO (0 4)"]
    assert esearch(r, tag) == [b"REMOVEFROM (0 3)"]
    # CANCELUPDATE stops them
    a.cmd('CANCELUPDATE "%s" "%s"' % (tag, utag))
    b.cmd("UID STORE 4 -FLAGS (\\Seen)")
    r = a.cmd("NOOP")
    assert esearch(r, tag) == [] and esearch(r, utag) == []
    # closing the mailbox ends them as well
    a.cmd("SEARCH RETURN (UPDATE) ALL")
    t2 = a.last_tag
    a.cmd("SELECT INBOX")
    b.append("INBOX", msg("five"))
    r = a.cmd("NOOP")
    assert esearch(r, t2) == []


def test_sort_context_positions(login):
    a, b = login(), login()
    for s in ("b", "d"):
        a.append("INBOX", msg(s))
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    r = a.cmd("UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNDELETED")
    tag = a.last_tag
    assert esearch(r, tag) == [b"UID ALL 1:2"]
    b.append("INBOX", msg("c"))
    b.append("INBOX", msg("a"))
    r = a.cmd("NOOP")
    # "a" (uid 4) goes first, "c" (uid 3) third
    assert esearch(r, tag) == [b"UID ADDTO (1 4 3 3)"]
    b.cmd("UID STORE 1,2 +FLAGS (\\Deleted)")
    r = a.cmd("NOOP")
    # result was 4,1,3,2: removed from the back
    assert esearch(r, tag) == [b"UID REMOVEFROM (4 2 2 1)"]
    # a sequence-number context during IDLE
    r = a.cmd("SORT RETURN (UPDATE COUNT) (REVERSE SUBJECT) UTF-8 ALL")
    stag = a.last_tag
    assert esearch(r, stag) == [b"COUNT 4"]
    a.send(b"I1 IDLE\r\n")
    assert a._line().startswith(b"+")
    b.append("INBOX", msg("e"))
    seen = []
    while True:
        line = a._line()
        seen.append(line)
        if line.startswith(b'* ESEARCH (TAG "%s")' % stag.encode()):
            break
    assert b"* 5 EXISTS" in seen
    assert line.endswith(b" ADDTO (1 5)"), seen
    a.send(b"DONE\r\n")
    a.finish(b"I1")


def test_context_limits(login):
    c = login()
    c.append("INBOX", msg("x"))
    c.cmd("SELECT INBOX")
    tags = []
    for i in range(8):
        r = c.cmd("SEARCH RETURN (UPDATE) ALL")
        tags.append(c.last_tag)
        assert not r.of("NO"), r
    r = c.cmd("SEARCH RETURN (UPDATE COUNT) ALL")
    assert b'* NO [NOUPDATE "%s"] Too many updating contexts' % \
        c.last_tag.encode() in r.lines, r
    assert esearch(r, c.last_tag) == [b"COUNT 1"]
    # a tag still in use by a context: BAD
    c.send(b"%s SEARCH RETURN (UPDATE) ALL\r\n" % tags[0].encode())
    assert c.finish(tags[0].encode()).status == "BAD"
    c.cmd('CANCELUPDATE "%s"' % tags[1])
    r = c.cmd("SEARCH RETURN (UPDATE COUNT) ALL")
    assert not r.of("NO"), r
    c.cmd("CANCELUPDATE", expect="BAD")
    c.cmd('CANCELUPDATE "unknown"')
