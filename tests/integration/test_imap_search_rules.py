"""The IMAP rules a strict client or compliance suite checks in SEARCH,
SORT, LIST and the command parser (issue 12), driven by Python's imaplib:

- UIDs up to 4294967295 in sequence sets (RFC 9051 nz-number);
- SEARCH FROM/TO/CC/BCC on parsed addresses (comments, groups, display
  names), SORT FROM/TO/CC/DISPLAYFROM/DISPLAYTO on the first address;
- SORT SUBJECT on the RFC 5256 base subject, compared with
  i;ascii-casemap; REVERSE reverses only its own key; ARRIVAL is the
  INTERNALDATE, the one given to APPEND included;
- SORT=DISPLAY and WITHIN in CAPABILITY;
- a mailbox name that is an atom but not modified UTF-7: NO / empty LIST;
- LIST (SUBSCRIBED RECURSIVEMATCH) with several patterns: no redundant
  CHILDINFO (RFC 5258 3.5);
- an RFC 2971 ID at its limits (30 fields of 1,024 octets), before and
  after login.

The message sets mirror Dovecot's imaptest scripts (search-addresses,
sort-subject, sort-arrival, listext) where those exist.

One server for the module; each test logs in as a user of its own."""

import imaplib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402

USERS = {"r%d@a.test" % i: "pw-r%d-Secret" % i for i in range(1, 31)}
srv, user, login_ = imapclient.imap_fixtures(USERS, env={"TZ": "UTC"})

imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))


def connect(srv):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=30)
    return m


def login(srv, user):
    m = connect(srv)
    m.login(*user)
    return m


def nums(data):
    """[int] of a SEARCH or SORT answer's data."""
    return [int(x) for x in b" ".join(d for d in data if d).split()]


def fill(m, msgs, box="INBOX"):
    """APPENDs each message (bytes, or (bytes, date)) to box (created
    unless INBOX) and selects it."""
    if box != "INBOX":
        assert m.create(box)[0] == "OK"
    for msg in msgs:
        date = None
        if isinstance(msg, tuple):
            msg, date = msg
        typ, _ = m.append(box, None, date, msg)
        assert typ == "OK"
    typ, _ = m.select(box)
    assert typ == "OK"


def sort(m, crit, charset="US-ASCII", search="ALL"):
    typ, data = m.sort(crit, charset, search)
    assert typ == "OK", data
    return nums(data)


def search(m, *keys):
    typ, data = m.search(None, *keys)
    assert typ == "OK", data
    return nums(data)


def untagged(m, typ, dat, name):
    return m._untagged_response(typ, dat, name)


# --- sequence sets: the whole UID range ------------------------------------

def test_uid_4294967295_is_a_valid_uid(srv, user):
    m = login(srv, user)
    fill(m, [b"Subject: %d\r\n\r\nbody\r\n" % i for i in range(3)])
    typ, data = m.uid("SEARCH", "ALL")
    uids = nums(data)
    typ, data = m.status("INBOX", "(UIDNEXT)")
    uidnext = int(data[0].split(b"UIDNEXT ")[1].rstrip(b")"))
    typ, data = m.uid("SEARCH", "UID", "1:4294967295")
    assert typ == "OK" and nums(data) == uids
    typ, data = m.uid("SEARCH", "UID", "%d:4294967295" % uidnext)
    assert typ == "OK" and nums(data) == []
    typ, data = m.uid("SEARCH", "UID", "4294967295")
    assert typ == "OK" and nums(data) == []
    # "*" is still the highest UID: n:* holds the last message
    typ, data = m.uid("SEARCH", "UID", "%d:*" % uidnext)
    assert nums(data) == uids[-1:]
    typ, data = m.uid("FETCH", "1:4294967295", "(FLAGS)")
    assert typ == "OK" and len([d for d in data if d]) == 3
    typ, data = m.search(None, "1:4294967295")
    assert nums(data) == [1, 2, 3]
    typ, data = m.uid("STORE", "4294967295", "+FLAGS", "(\\Seen)")
    assert typ == "OK"
    for bad in ("4294967296", "0", "1:4294967296", "04"):
        try:
            typ, data = m.uid("SEARCH", "UID", bad)
        except imaplib.IMAP4.error as e:
            assert "sequence set" in str(e)
        else:
            raise AssertionError("UID SEARCH UID %s: %s %r" % (bad, typ,
                                                               data))
    m.logout()


# --- SEARCH on addresses ---------------------------------------------------

ADDR_MSGS = [
    b"From: user-from@domain.org\r\nTo: user-to@domain.org\r\n"
    b"Cc: user-cc@domain.org\r\nBcc: user-bcc@domain.org\r\n\r\nbody\r\n",
    b"From: RealFrom <user-from@domain.org>\r\n"
    b"To: RealTo <user-to@domain.org>\r\nCc: RealCc <user-cc@domain.org>\r\n"
    b"Bcc: RealBcc <user-bcc@domain.org>\r\n\r\nbody2\r\n",
    b"From: <user-from (comment)@ (comment) domain.org>\r\n"
    b"To: <user-to@domain.org>\r\nCc: <user-cc@domain.org>\r\n"
    b"Bcc: <user-bcc@domain.org>\r\n\r\nbody3\r\n",
    b"From: user-from@domain.org (RealFrom)\r\n"
    b"To: user-to@domain.org (RealTo)\r\nCc: user-cc@domain.org (RealCc)\r\n"
    b"Bcc: user-bcc@domain.org (RealBcc)\r\n\r\nbody4\r\n",
    b"From: user-from1@domain.org, user-from2@domain.org\r\n"
    b"Cc: user-cc@domain.org\r\n\r\nbody5\r\n",
    b"To: groupname: groupuser1@domain.org, groupuser2@domain.org;,\r\n"
    b"  groupname2: groupuser3@domain.org;\r\n\r\nbody6\r\n",
    b"From: =?utf-8?q?J=C3=B6rg?= <joerg@x.example>\r\n"
    b"To: \"Quoted, Name\" <\"q u\"@y.example>\r\n\r\nbody7\r\n",
]

ADDR_CASES = [
    (("FROM", "user-from@domain.org"), [1, 2, 3, 4]),
    (("TO", "user-to@domain.org"), [1, 2, 3, 4]),
    (("CC", "user-cc@domain.org"), [1, 2, 3, 4, 5]),
    (("BCC", "user-bcc@domain.org"), [1, 2, 3, 4]),
    (("FROM", "realfrom"), [2, 4]), (("TO", "realto"), [2, 4]),
    (("CC", "realcc"), [2, 4]), (("BCC", "realbcc"), [2, 4]),
    (("HEADER", "FROM", '""'), [1, 2, 3, 4, 5, 7]),
    (("HEADER", "TO", '""'), [1, 2, 3, 4, 6, 7]),
    (("FROM", "ser-fro"), [1, 2, 3, 4, 5]),
    (("FROM", "ealfro"), [2, 4]),
    (("FROM", "user-from1"), [5]), (("FROM", "user-from2"), [5]),
    (("TO", "groupname"), [6]), (("TO", "groupname2"), [6]),
    (("TO", "groupuser1"), [6]), (("TO", "groupuser3"), [6]),
    (("TO", "groupuser4"), []),
    (("TO", '"q u@y.example"'), [7]), (("TO", '"quoted, name"'), [7]),
    (("FROM", "comment"), []),
]


def test_search_parses_addresses(srv, user):
    m = login(srv, user)
    fill(m, ADDR_MSGS)
    bad = []
    for keys, want in ADDR_CASES:
        typ, data = m.search(None, *keys)
        got = nums(data) if typ == "OK" else data
        if got != want:
            bad.append("SEARCH %s: want %s, got %s" % (" ".join(keys), want,
                                                       got))
    assert not bad, "\n".join(bad)
    # the decoded display name and the address, as one text
    m.literal = "jörg <joerg@x".encode()
    typ, data = m.search("UTF-8", "FROM")
    assert typ == "OK" and nums(data) == [7]
    m.logout()


# --- SORT on addresses -------------------------------------------------------

def test_sort_cc_first_address_group_and_comments(srv, user):
    """RFC 5256: the addr-mailbox of the first address; a group's first
    address is its group-start (the ENVELOPE form: mailbox = the group
    name), as Dovecot sorts it."""
    m = login(srv, user)
    fill(m, [
        b"Cc: user3@domain.org\r\n\r\n1\r\n",
        b"Cc: user2: blah@domain1.org;\r\n\r\n2\r\n",
        b"Cc: user1@domain.org (zzz trailing comment)\r\n\r\n3\r\n",
        b"Cc: \"Zed\" <user0 (c) @ (c) domain.org>, aaa@x\r\n\r\n4\r\n",
        b"Cc: (aaa leading comment) user4@domain.org\r\n\r\n5\r\n",
    ])
    assert sort(m, "(CC)") == [4, 3, 2, 1, 5]
    assert sort(m, "(REVERSE CC)") == [5, 1, 2, 3, 4]
    m.logout()


def test_sort_from_to_display(srv, user):
    m = login(srv, user)
    fill(m, [
        (b"From: Bob <same@x>\r\nTo: (z) <b@x>\r\n\r\n1\r\n",
         '"01-Jan-2020 00:00:00 +0000"'),
        (b"From: same@y (Alice)\r\nTo: g: a@x;\r\n\r\n2\r\n",
         '"02-Jan-2020 00:00:00 +0000"'),
        (b"From: =?utf-8?q?=C3=A9mile?= <a@z>\r\nTo: c@x\r\n\r\n3\r\n",
         '"03-Jan-2020 00:00:00 +0000"'),
        (b"From: <zed@x>\r\nTo: \"A\" <d@x>\r\n\r\n4\r\n",
         '"04-Jan-2020 00:00:00 +0000"'),
    ])
    assert sort(m, "(FROM)") == [3, 1, 2, 4]
    assert sort(m, "(REVERSE FROM)") == [4, 1, 2, 3]
    assert sort(m, "(FROM REVERSE ARRIVAL)") == [3, 2, 1, 4]
    assert sort(m, "(TO)") == [1, 3, 4, 2]
    # DISPLAYFROM: decoded display name, else the addr-spec (RFC 5957)
    assert sort(m, "(DISPLAYFROM)", "UTF-8") == [2, 1, 4, 3]
    assert sort(m, "(DISPLAYTO)", "UTF-8") == [4, 1, 3, 2]
    m.logout()


# --- SORT SUBJECT ------------------------------------------------------------

SUBJECTS = [b"a", b"C", b"b", b"_",
            b"[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", b"b (a)",
            b"Re: [FWD: c]", b"[xyz]", None]


def subject_box(m):
    msgs = []
    for i, s in enumerate(SUBJECTS, 1):
        h = b"Subject: " + s + b"\r\n" if s is not None else b""
        msgs.append((h + b"\r\n" + str(i).encode() * (1 + i % 3) + b"\r\n",
                     '"22-Feb-2008 23:00:00 +0200"'))
    fill(m, msgs)


def test_sort_subject_base_subject_and_casemap(srv, user):
    m = login(srv, user)
    subject_box(m)
    assert sort(m, "(SUBJECT)") == [9, 1, 3, 5, 6, 2, 7, 8, 4]
    assert sort(m, "(REVERSE SUBJECT)") == [4, 8, 2, 7, 6, 3, 5, 1, 9]
    sizes = {}
    typ, data = m.fetch("1:*", "(RFC822.SIZE)")
    for d in data:
        w = d.split()
        sizes[int(w[0])] = int(w[-1].rstrip(b")"))
    assert sizes[5] > sizes[3] and sizes[7] > sizes[2]
    assert sort(m, "(SUBJECT REVERSE SIZE)") == [9, 1, 5, 3, 6, 7, 2, 8, 4]
    m.logout()
    # encoded words are decoded before the leaders and trailers go
    m = login(srv, user)
    fill(m, [
        b"Subject: =?utf-8?q?Re=3A_=5Blist=5D_beta?=\r\n\r\n1\r\n",
        b"Subject: =?iso-8859-1?q?FWD=3A?= Alpha\r\n\r\n2\r\n",
        b"Subject: [Fwd: =?utf-8?b?YWxwaGE=?=]\r\n\r\n3\r\n",
        b"Subject: RE: Re: Beta (Fwd)\r\n\r\n4\r\n",
        b"Subject: =?utf-8?q?=C3=A9t=C3=A9?=\r\n\r\n5\r\n",
        b"Subject: _x\r\n\r\n6\r\n",
    ], box="Enc")
    assert sort(m, "(SUBJECT)", "UTF-8") == [2, 3, 1, 4, 6, 5]
    m.logout()


# --- REVERSE and ARRIVAL -------------------------------------------------

def test_sort_arrival_is_internaldate_reverse_keeps_ties(srv, user):
    """imaptest sort-arrival: three messages share an INTERNALDATE; the
    dates given to APPEND decide, not the order of the APPENDs."""
    m = login(srv, user)
    day = '"%02d-Feb-2008 17:06:23 +0000"'
    fill(m, [(b"Subject: 1\r\n\r\n1\r\n", day % 20),
             (b"Subject: 2\r\n\r\n22\r\n", day % 24),
             (b"Subject: 3\r\n\r\n3\r\n", day % 22),
             (b"Subject: 4\r\n\r\n4444\r\n", day % 24),
             (b"Subject: 5\r\n\r\n555555\r\n", day % 24)])
    assert sort(m, "(ARRIVAL)") == [1, 3, 2, 4, 5]
    assert sort(m, "(REVERSE ARRIVAL)") == [2, 4, 5, 3, 1]
    assert sort(m, "(ARRIVAL REVERSE SIZE)") == [1, 3, 5, 4, 2]
    typ, data = m.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL")
    typ, uids = m.uid("SEARCH", "ALL")
    u = nums(uids)
    assert nums(data) == [u[1], u[3], u[4], u[2], u[0]]
    # every other key too: ties in mailbox order, REVERSE or not
    date = b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    fill(m, [date + b"From: a@x\r\nSubject: s\r\n\r\n1\r\n",
             date + b"From: a@y\r\nSubject: s\r\n\r\n2\r\n",
             date + b"From: b@x\r\nSubject: t\r\n\r\n3\r\n",
             date + b"From: a@z\r\nSubject: s\r\n\r\n4\r\n"], box="Ties")
    assert sort(m, "(REVERSE FROM)") == [3, 1, 2, 4]
    assert sort(m, "(REVERSE SUBJECT)") == [3, 1, 2, 4]
    assert sort(m, "(REVERSE DATE)") == [1, 2, 3, 4]
    m.logout()


# --- CAPABILITY ------------------------------------------------------------

def test_capability_sort_display_and_within(srv, user):
    m = login(srv, user)
    typ, data = m.capability()
    caps = data[0].decode().upper().split()
    assert "SORT=DISPLAY" in caps and "WITHIN" in caps and "SORT" in caps
    fill(m, [b"Subject: x\r\n\r\nx\r\n",
             (b"Subject: y\r\n\r\ny\r\n", '"01-Jan-2020 00:00:00 +0000"')])
    assert search(m, "YOUNGER", "3600") == [1]
    assert search(m, "OLDER", "3600") == [2]
    m.logout()


# --- mailbox names that are no modified UTF-7 ------------------------------

WEIRD = "!#$&'+,-.0123456789:;<=>?@^_`|[}"
for _c in ("MYRIGHTS", "GETMETADATA"):
    imaplib.Commands.setdefault(_c, ("AUTH", "SELECTED"))


def test_atom_name_not_mutf7_is_no_such_mailbox(srv, user):
    m = login(srv, user)
    for name in (WEIRD, "&AOk-&AOk-", "&Jjo"):
        typ, data = m.select(name)
        assert typ == "NO" and b"[NONEXISTENT]" in data[0], (name, data)
        typ, data = m.select(name, readonly=True)
        assert typ == "NO", (name, typ, data)
        typ, data = m.status(name, "(MESSAGES)")
        assert typ == "NO", (name, typ, data)
        typ, data = m.list('""', name)
        assert typ == "OK" and data == [None], (name, data)
        typ, data = m.list(name, "*")
        assert typ == "OK" and data == [None], (name, data)
        typ, data = m.delete(name)
        assert typ == "NO", (name, typ, data)
        # ACL and METADATA name mailboxes that must exist too
        typ, data = m.getacl(name)
        assert typ == "NO", (name, typ, data)
        typ, data = m._simple_command("MYRIGHTS", name)
        assert typ == "NO", (name, typ, data)
        typ, data = m._simple_command("GETMETADATA", name, "/private/x")
        assert typ == "NO", (name, typ, data)
    # the session is still fine and names that are valid still work
    typ, data = m.select("INBOX")
    assert typ == "OK"
    m.logout()


def test_select_of_a_name_not_mutf7_deselects(login):
    """A SELECT that fails leaves nothing selected (RFC 9051 6.3.2), this
    one too; COPY and APPEND to such a name: no such mailbox."""
    c = login(qresync=True)     # IMAP4rev1 (modified UTF-7), [CLOSED]
    c.append("INBOX", b"Subject: x\r\n\r\nx\r\n")
    c.cmd("SELECT INBOX")
    r = c.cmd("COPY 1 &AOk-&AOk-", expect="NO")
    assert r.tagged.startswith("NO [NONEXISTENT]")
    r = c.append("&Jjo", b"Subject: y\r\n\r\ny\r\n", expect="NO")
    assert r.tagged.startswith("NO [NONEXISTENT]")
    r = c.cmd("SELECT " + WEIRD, expect="NO")
    assert r.lines == [b"* OK [CLOSED] Previous mailbox closed"], r
    c.cmd("FETCH 1 FLAGS", expect="BAD")
    c.cmd('CREATE "&Jjo"', expect="BAD")        # making one stays BAD


# --- LIST (SUBSCRIBED RECURSIVEMATCH) with several patterns ----------------

def list_ext(m, sel, ref, pats):
    """[(name, {attributes}, extended data)] of a LIST answer."""
    typ, dat = m._simple_command("LIST", sel, ref, pats)
    assert typ == "OK", dat
    out = []
    for d in untagged(m, typ, dat, "LIST")[1]:
        if d is None:
            continue
        attrs, _, rest = d.decode()[1:].partition(') "/" ')
        name, _, ext = rest.partition(" ")
        out.append((name, set(attrs.split()), ext))
    return out


SUB = "\\Subscribed"
CHILD = '("CHILDINFO" ("SUBSCRIBED"))'


def test_recursivematch_childinfo_not_redundant(srv, user):
    m = login(srv, user)
    for name in ("a", "a/b", "a/b/c", "a/b/d", "t7", "t7/t7", "t8", "t8/t8",
                 "t8/t9"):
        assert m.create(name)[0] == "OK"
    for name in ("a/b/c", "t7/t7", "t8/t8", "t8/t9"):
        assert m.subscribe(name)[0] == "OK"
    sel = "(SUBSCRIBED RECURSIVEMATCH)"
    # a/b/c is listed itself: a CHILDINFO for a/b would be redundant
    got = list_ext(m, sel, '""', "(a/b a/b/c)")
    assert [(n, SUB in a, e) for n, a, e in got] == [("a/b/c", True, "")]
    got = list_ext(m, sel, '""', "(a/b)")
    assert [(n, SUB in a, e) for n, a, e in got] == [("a/b", False, CHILD)]
    got = list_ext(m, sel, '""', "*t7")
    assert [(n, SUB in a, e) for n, a, e in got] == [("t7/t7", True, "")]
    # t8/t9 is subscribed but not listed: t8 keeps its CHILDINFO
    got = list_ext(m, sel, '""', "*t8")
    assert [(n, SUB in a, e) for n, a, e in got] == [
        ("t8", False, CHILD), ("t8/t8", True, "")]
    assert m.subscribe("a/b/d")[0] == "OK"
    got = list_ext(m, sel, '""', "(a/b a/b/c)")
    assert [(n, SUB in a, e) for n, a, e in got] == [
        ("a/b", False, CHILD), ("a/b/c", True, "")]
    m.logout()


# --- ID at RFC 2971's limits --------------------------------------------------

def id_args():
    return "(" + " ".join('"field%02d" "%s"' % (i, chr(97 + i % 26) * 1024)
                          for i in range(30)) + ")"


def test_id_at_rfc2971_limits(srv, user):
    args = id_args()
    assert len(args) > 31000
    m = connect(srv)                        # before login
    typ, dat = m._simple_command("ID", args)
    assert typ == "OK", dat
    assert untagged(m, typ, dat, "ID")[1][0].startswith(b'("name" "tem"')
    m.login(*user)
    typ, dat = m._simple_command("ID", args)  # after login
    assert typ == "OK", dat
    typ, data = m.noop()
    assert typ == "OK"
    m.logout()
