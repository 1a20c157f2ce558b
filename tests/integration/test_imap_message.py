"""IMAP message commands against the real server: FETCH (every item,
macros, sections and partial fetches, BINARY, \\Seen, CHANGEDSINCE and
VANISHED, large ranges in chunks, messages expunged meanwhile), SEARCH
(every key, UTF-8, CHARSET, ESEARCH, MODSEQ), SORT, THREAD (REFERENCES,
ORDEREDSUBJECT), STORE (UNCHANGEDSINCE / MODIFIED, .SILENT, keywords),
COPY and MOVE (COPYUID, TRYCREATE, EXPUNGE/VANISHED order), two sessions
seeing each other's changes, IMAP4rev1 and IMAP4rev2 clients, and a
session driven by Python's imaplib.

ENVELOPE, BODY, BODYSTRUCTURE and the section answers are compared with
Dovecot 2.3's answers recorded in tests/data/mime/*.ref (the same known
differences as src/mail/test-mime.c).

One server (TZ=UTC) for the module; each test logs in as a user of its
own, so the tests do not see each other's mail."""

import base64
import glob
import imaplib
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402
from temserver import DATA  # noqa: E402

MIME_DIR = os.path.join(DATA, "mime")

# Where tem answers differently from Dovecot on purpose (see
# src/mail/test-mime.c for the reasons).
# deep and deep-rfc822 nest 40 levels: tem parses 32 (MIME_MAX_DEPTH,
# src/mail/mime.h), Dovecot 100. Their structures are checked to be capped
# at exactly that depth; every other item must equal Dovecot's.
MIME_MAX_DEPTH = 32
CAPPED = {("deep", "BODY"), ("deep", "BODYSTRUCTURE"),
          ("deep-rfc822", "BODY"), ("deep-rfc822", "BODYSTRUCTURE")}

KNOWN_DIFFS = {
    ("rfc2231", "BODY"), ("rfc2231", "BODYSTRUCTURE"),
    ("envelope", "ENVELOPE"),
    ("nested", "BINARY[1]"), ("nested", "BINARY.SIZE[1]"),
    ("nested-crlf", "BINARY[1]"), ("nested-crlf", "BINARY.SIZE[1]"),
}


# --- a byte-exact client --------------------------------------------------

class Imap(imapclient.Imap):
    """The shared client; append returns the new message's UID."""

    def append(self, box, data, flags=None, date=None, binary=False):
        r = imapclient.Imap.append(self, box, data, flags=flags, date=date,
                                   binary=binary)
        return int(re.search(r"APPENDUID \d+ (\d+)", r.tagged).group(1))


def flags_of(v):
    """A FLAGS value as a set of str, without \\Recent."""
    return {f.decode() for f in v} - {"\\Recent"}


# --- fixtures -------------------------------------------------------------

USERS = {"m%d@a.test" % i: "pw-m%d-Secret" % i for i in range(1, 57)}
srv, user, login = imapclient.imap_fixtures(USERS, env={"TZ": "UTC"},
                                            imap_class=Imap)


def msg(subject, body=b"Hello.\r\n", headers=b"", frm=b"<a@b.test>"):
    if isinstance(subject, str):
        subject = subject.encode()
    if isinstance(body, str):
        body = body.encode()
    return (b"From: " + frm + b"\r\nTo: <u@a.test>\r\nSubject: " + subject +
            b"\r\n" + headers + b"\r\n" + body)


def fixture(name):
    with open(os.path.join(MIME_DIR, name), "rb") as f:
        return f.read()


def wire(data):
    """What the client gets back: every bare LF as CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def search_nums(r, kind="SEARCH"):
    (line,) = r.of(kind)
    return [int(x) for x in line.split(b" ")[2:] if x.isdigit()]


# --- FETCH: golden answers ------------------------------------------------

def read_ref(path):
    """[(item, value bytes or None for NO)] of a .ref file."""
    data = open(path, "rb").read()
    out, pos = [], 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        item, _, lenword = data[pos:nl].rpartition(b" ")
        pos = nl + 1
        if lenword == b"NO":
            nl = data.index(b"\n", pos)
            out.append((item.decode(), None))
            pos = nl + 1
        else:
            n = int(lenword)
            out.append((item.decode(), data[pos:pos + n]))
            pos += n + 1
    return out


def peek(item):
    return item.replace("BODY[", "BODY.PEEK[", 1).replace(
        "BINARY[", "BINARY.PEEK[", 1)


REFS = sorted(os.path.basename(p)[:-4]
              for p in glob.glob(os.path.join(MIME_DIR, "*.ref")))


@pytest.mark.parametrize("name", REFS)
def test_fetch_matches_dovecot(login, name):
    c = login()
    c.append("INBOX", fixture(name + ".eml"))
    c.cmd("SELECT INBOX")
    bad = []
    for item, want in read_ref(os.path.join(MIME_DIR, name + ".ref")):
        r = c.cmd("FETCH 1 (%s)" % peek(item), expect=None)
        if want is None:
            if r.status != "NO" and (name, item) not in KNOWN_DIFFS:
                bad.append("%s: want NO, got %r" % (item, r))
            continue
        assert r.status == "OK", "%s: %r" % (item, r)
        (line,) = r.of("FETCH")
        assert line.startswith(b"* 1 FETCH (") and line.endswith(b")"), line
        body = line[len(b"* 1 FETCH ("):-1]
        m = re.match(rb"[A-Z0-9.]+(\[[^\]]*\])?(<\d+>)? ", body)
        got = body[m.end():]
        if (name, item) in CAPPED:
            bad.extend(capped_at_max_depth(name, item, got, want))
            continue
        if got != want and (name, item) not in KNOWN_DIFFS and \
                (name, "*") not in KNOWN_DIFFS:
            bad.append("%s:\n  dovecot %r\n  tem     %r" % (item, want, got))
    assert not bad, "\n".join(bad)


def capped_at_max_depth(name, item, got, want):
    """Problems of a BODY/BODYSTRUCTURE answer GOT for a fixture nested
    deeper than MIME_MAX_DEPTH: it must stop at exactly that depth where
    Dovecot (WANT) goes deeper."""
    if name == "deep":          # multipart in multipart: "((((...("text"
        depth = len(got) - len(got.lstrip(b"("))
        deeper = len(want) - len(want.lstrip(b"("))
        want_depth = MIME_MAX_DEPTH + 1
    else:                       # message/rfc822 in message/rfc822 ...
        depth = got.count(b'"message" "rfc822"')
        deeper = want.count(b'"message" "rfc822"')
        want_depth = MIME_MAX_DEPTH
    if got.count(b"(") != got.count(b")"):
        return ["%s: unbalanced: %r" % (item, got)]
    if depth != want_depth or deeper <= depth:
        return ["%s: nesting %d (want %d, Dovecot %d): %r" % (
            item, depth, want_depth, deeper, got)]
    return []


def test_part_above_the_depth_cap_is_whole(login):
    """The capped leaf is the whole capped multipart: "--b32" inside it is
    no delimiter of the enclosing "b3", so BODY[1.1] ends at --b2-- as
    Dovecot's does."""
    c = login()
    c.append("INBOX", fixture("deep.eml"))
    c.cmd("SELECT INBOX")
    refs = dict(read_ref(os.path.join(MIME_DIR, "deep.ref")))
    for item in ("BODY[1.1]", "BINARY[1.1]"):
        r = c.cmd("FETCH 1 (%s)" % peek(item))
        (line,) = r.of("FETCH")
        body = line[len(b"* 1 FETCH ("):-1]
        got = body[re.match(rb"[A-Z0-9.]+(\[[^\]]*\])?(<\d+>)? ",
                            body).end():]
        assert got == refs[item], item


# --- FETCH: items -----------------------------------------------------------

def test_fetch_meta_items_and_macros(login):
    c = login()
    data = msg("meta", b"line one\nline two\r\n")   # a bare LF on purpose
    uid = c.append("INBOX", data, flags="\\Flagged kw1",
                   date="05-Jan-2026 10:11:12 +0200")
    c.cmd("SELECT INBOX")
    f = c.cmd("FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE)").fetches()[1]
    assert int(f["UID"]) == uid
    assert flags_of(f["FLAGS"]) == {"\\Flagged", "kw1"}
    assert f["INTERNALDATE"] == b"05-Jan-2026 08:11:12 +0000"
    assert int(f["RFC822.SIZE"]) == len(wire(data))
    fast = c.cmd("FETCH 1 FAST").fetches()[1]
    assert set(fast) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}
    allm = c.cmd("FETCH 1 ALL").fetches()[1]
    assert set(allm) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}
    assert allm["ENVELOPE"][1] == b"meta"
    full = c.cmd("FETCH 1 FULL").fetches()[1]
    assert set(full) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE",
                         "BODY"}
    assert full["BODY"][:2] == [b"text", b"plain"]
    # UID FETCH always answers with the UID
    f = c.cmd("UID FETCH %d FLAGS" % uid).fetches()[1]
    assert int(f["UID"]) == uid


def test_fetch_rfc822_items_and_seen(login):
    c = login()
    data = msg("rfc822", b"the text\r\n")
    c.append("INBOX", data)
    c.append("INBOX", data)
    c.append("INBOX", data)
    c.cmd("SELECT INBOX")
    head, _, text = wire(data).partition(b"\r\n\r\n")
    f = c.cmd("FETCH 1 RFC822.HEADER").fetches()[1]
    assert f["RFC822.HEADER"] == head + b"\r\n\r\n"
    assert "FLAGS" not in f          # no \Seen for RFC822.HEADER
    r = c.cmd("FETCH 1 RFC822")
    f = r.fetches()[1]
    assert f["RFC822"] == wire(data)
    assert "\\Seen" in flags_of(f["FLAGS"]), r   # \Seen set, FLAGS sent
    f = c.cmd("FETCH 2 RFC822.TEXT").fetches()[2]
    assert f["RFC822.TEXT"] == text
    assert "\\Seen" in flags_of(f["FLAGS"])
    f = c.cmd("FETCH 3 BODY.PEEK[TEXT]").fetches()[3]
    assert "FLAGS" not in f
    f = c.cmd("FETCH 3 FLAGS").fetches()[3]
    assert "\\Seen" not in flags_of(f["FLAGS"])
    f = c.cmd("FETCH 3 (BODY[HEADER.FIELDS (SUBJECT)])").fetches()[3]
    assert f["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: rfc822\r\n\r\n"
    assert "\\Seen" in flags_of(f["FLAGS"])
    # Already \Seen: no FLAGS repeated.
    f = c.cmd("FETCH 3 BODY[TEXT]").fetches()[3]
    assert "FLAGS" not in f


def test_header_fields_from_cache_equal_the_file(login):
    """BODY[HEADER.FIELDS] of fields the header cache keeps is answered
    from the cache: the same octets as from the file (a name the cache
    does not keep makes tem read the file; no message here has it)."""
    c = login()
    refs = b" ".join(b"<r%d@x.test>" % i for i in range(900))
    msgs = [
        b"from: <a@b.test>\r\nX-A: 1\r\nSubject: =?utf-8?q?f=C3=A9?=\r\n"
        b"  folded\r\nTo: <t1@x.test>\r\nCc: grp: <c@x.test>;\r\n"
        b"To: <t2@x.test>\r\nMessage-Id: <m1@x.test>\r\n"
        b"DATE: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nbody\r\n",
        b"X-Only: nothing asked for\r\n\r\nbody\r\n",
        b"From: <a@b.test>\r\nReferences: " + refs + b"\r\n"
        b"Subject: long\r\n\r\nbody\r\n",
        b"From: <a@b.test>\r\nSubject: no body, no empty line",
    ]
    for m in msgs:
        c.append("INBOX", m)
    c.append("INBOX", b"From: <bin@b.test>\r\nSubject: bin\r\n"
             b"Content-Transfer-Encoding: binary\r\n\r\na\x00b\nc\r\n",
             binary=True)
    c.cmd("SELECT INBOX")
    kept = "FROM TO CC BCC SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES"
    for part in ("", "<0.40>", "<10.30>"):
        a = c.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (%s)]%s)"
                  % (kept, part)).fetches()
        b = c.cmd("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (%s X-NOT-KEPT)]%s)"
                  % (kept, part)).fetches()
        assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5]
        for seq in a:
            (va,) = a[seq].values()
            (vb,) = b[seq].values()
            assert va == vb, (seq, part, va, vb)
    f = c.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (TO SUBJECT)])").fetches()
    assert f[1]["BODY[HEADER.FIELDS (TO SUBJECT)]"] == (
        b"Subject: =?utf-8?q?f=C3=A9?=\r\n  folded\r\nTo: <t1@x.test>\r\n"
        b"To: <t2@x.test>\r\n\r\n")
    f = c.cmd("FETCH 2 (BODY.PEEK[HEADER.FIELDS (FROM)])").fetches()
    assert f[2]["BODY[HEADER.FIELDS (FROM)]"] == b"\r\n"


def test_examine_never_sets_seen(login):
    c = login()
    c.append("INBOX", msg("ro"))
    c.cmd("EXAMINE INBOX")
    f = c.cmd("FETCH 1 (BODY[] BINARY[1])").fetches()[1]
    assert "FLAGS" not in f
    f = c.cmd("FETCH 1 FLAGS").fetches()[1]
    assert "\\Seen" not in flags_of(f["FLAGS"])


def test_fetch_partial(login):
    c = login()
    data = msg("partial", b"0123456789abcdef\r\n")
    c.append("INBOX", data)
    c.cmd("SELECT INBOX")
    w = wire(data)
    r = c.cmd("FETCH 1 (BODY.PEEK[]<0.10> BODY.PEEK[TEXT]<4.6> "
              "BODY.PEEK[]<100000.5> BINARY.PEEK[1]<2.3>)")
    f = r.fetches()[1]
    assert f["BODY[]<0>"] == w[:10]
    assert f["BODY[TEXT]<4>"] == b"456789"
    assert f["BODY[]<100000>"] == b""
    assert f["BINARY[1]<2>"] == b"234"
    # the window may run past the end
    text_len = len(b"0123456789abcdef\r\n")
    f = c.cmd("FETCH 1 BODY.PEEK[TEXT]<10.1000>").fetches()[1]
    assert len(f["BODY[TEXT]<10>"]) == text_len - 10
    c.cmd("FETCH 1 BODY.PEEK[]<0.0>", expect="BAD")


def test_binary_decoding_literal8_and_nul(login):
    c = login()
    payload = b"a\x00b\xffc" * 10
    data = (b"From: <a@b.test>\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
            b"--XX\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            base64.b64encode(payload) + b"\r\n"
            b"--XX\r\nContent-Type: text/plain\r\n"
            b"Content-Transfer-Encoding: x-unknown\r\n\r\nzz\r\n--XX--\r\n")
    c.append("INBOX", data)
    c.cmd("SELECT INBOX")
    r = c.cmd("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1])")
    (line,) = r.of("FETCH")
    assert b"BINARY[2] ~{%d}\r\n" % len(payload) in line
    f = r.fetches()[1]
    assert f["BINARY[2]"] == payload
    assert int(f["BINARY.SIZE[2]"]) == len(payload)
    assert f["BINARY[1]"] == b"hi"
    r = c.cmd("FETCH 1 BINARY.PEEK[3]", expect="NO")
    assert "[UNKNOWN-CTE]" in r.tagged
    c.cmd("FETCH 1 BINARY.PEEK[1.MIME]", expect="BAD")


def test_nul_in_message_never_raw_outside_binary(login):
    c = login()
    data = b"From: <a@b.test>\r\nSubject: nul\r\n\r\nx\x00y\r\n"
    c.append("INBOX", data, binary=True)
    c.cmd("SELECT INBOX")
    f = c.cmd("FETCH 1 (BODY.PEEK[TEXT] RFC822.SIZE)").fetches()[1]
    assert f["BODY[TEXT]"] == b"x\x80y\r\n"
    assert int(f["RFC822.SIZE"]) == len(data)
    r = c.cmd("FETCH 1 BINARY.PEEK[1]")
    assert r.fetches()[1]["BINARY[1]"] == b"x\x00y\r\n"


def test_fetch_sets_and_errors(login):
    c = login()
    c.cmd("SELECT INBOX")
    # empty mailbox: "1:*" answers nothing, a plain number is BAD
    r = c.cmd("FETCH 1:* FLAGS")
    assert not r.of("FETCH")
    c.cmd("FETCH 1 FLAGS", expect="BAD")
    assert not c.cmd("UID FETCH 1:* FLAGS").of("FETCH")
    for i in range(3):
        c.append("INBOX", msg("set %d" % i))
    c.cmd("NOOP")
    assert sorted(c.cmd("FETCH 2:* UID").fetches()) == [2, 3]
    assert sorted(c.cmd("FETCH *:2 UID").fetches()) == [2, 3]
    assert sorted(c.cmd("FETCH 1,3 UID").fetches()) == [1, 3]
    c.cmd("FETCH 4 FLAGS", expect="BAD")
    c.cmd("FETCH 0 FLAGS", expect="BAD")
    c.cmd("FETCH 1 (FLAGS NOSUCH)", expect="BAD")
    c.cmd("FETCH 1 BODY[1.0]", expect="BAD")
    # UIDs the mailbox does not have are just skipped
    assert sorted(c.cmd("UID FETCH 2:999 FLAGS").fetches()) == [2, 3]
    assert not c.cmd("UID FETCH 500:600 FLAGS").of("FETCH")
    # "n:*" with n above the highest UID still means the last message
    assert sorted(c.cmd("UID FETCH 900:* FLAGS").fetches()) == [3]


def test_large_fetch_comes_in_chunks(login):
    c = login()
    n, size = 40, 20000
    bodies = []
    for i in range(n):
        body = (("%04d" % i) * (size // 4)).encode() + b"\r\n"
        bodies.append(body)
        c.append("INBOX", msg("big %d" % i, body))
    c.cmd("SELECT INBOX")
    r = c.cmd("FETCH 1:* (UID BODY.PEEK[TEXT])")
    f = r.fetches()
    assert sorted(f) == list(range(1, n + 1))
    for i in range(n):
        assert f[i + 1]["BODY[TEXT]"] == bodies[i]
    # and \Seen in batches over many messages
    r = c.cmd("FETCH 1:* BODY[TEXT]<0.4>")
    f = r.fetches()
    assert all("\\Seen" in flags_of(f[i]["FLAGS"]) for i in f)
    r = c.cmd("SEARCH UNSEEN")
    assert search_nums(r) == []


def test_modseq_changedsince_and_vanished(login):
    c = login(qresync=True)
    for i in range(4):
        c.append("INBOX", msg("cs %d" % i))
    r = c.cmd("SELECT INBOX")
    hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", b" ".join(r.lines)).group(1))
    c.cmd("STORE 2 +FLAGS (\\Flagged)")
    c.cmd("STORE 4 +FLAGS (\\Deleted)")
    c.cmd("EXPUNGE")
    f = c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms).fetches()
    assert sorted(f) == [2]
    assert int(f[2]["MODSEQ"][0]) > hms
    r = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hms)
    assert r.of("VANISHED") == [b"* VANISHED (EARLIER) 4"], r
    assert sorted(r.fetches()) == [2]
    assert int(r.fetches()[2]["UID"]) == 2
    c.cmd("FETCH 1 (FLAGS) (VANISHED)", expect="BAD")
    d = login(condstore=True)
    d.cmd("SELECT INBOX")
    d.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", expect="BAD")


def test_modseq_item_turns_condstore_on(login):
    c = login()
    c.append("INBOX", msg("ms"))
    c.cmd("SELECT INBOX")
    r = c.cmd("FETCH 1 (MODSEQ)")
    assert any(b"[HIGHESTMODSEQ" in l for l in r.lines), r
    m1 = int(r.fetches()[1]["MODSEQ"][0])
    r = c.cmd("STORE 1 +FLAGS (\\Seen)")
    assert int(r.fetches()[1]["MODSEQ"][0]) > m1


# --- messages expunged by another session -----------------------------------

def test_expunged_elsewhere_expungeissued(login):
    a, b = login(), login()
    for i in range(3):
        a.append("INBOX", msg("gone %d" % i))
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    a.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)")
    a.cmd("EXPUNGE")
    # b still numbers the message 2; FETCH holds the EXPUNGE back
    r = b.cmd("FETCH 1:3 (UID BODY.PEEK[])", expect="NO")
    assert "[EXPUNGEISSUED]" in r.tagged
    assert sorted(r.fetches()) == [1, 3]
    assert not r.of("EXPUNGE")
    # UID FETCH skips it quietly; being a UID command, its answer may
    # (and does) end with the held-back EXPUNGE
    r = b.cmd("UID FETCH 1:3 (FLAGS)")
    assert sorted(r.fetches()) == [1, 3]
    assert r.of("EXPUNGE") == [b"* 2 EXPUNGE"], r
    assert not b.cmd("NOOP").of("EXPUNGE")
    assert b.cmd("FETCH 2 UID").fetches()[2]["UID"] == b"3"


def test_two_sessions_see_flag_changes(login):
    a, b = login(), login()
    a.append("INBOX", msg("two"))
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    a.cmd("STORE 1 +FLAGS (\\Flagged kwx)")
    r = b.cmd("NOOP")
    f = r.fetches()[1]
    assert flags_of(f["FLAGS"]) == {"\\Flagged", "kwx"}, r
    # b's own store is not echoed back to it as an unsolicited change
    b.cmd("STORE 1 -FLAGS.SILENT (\\Flagged)")
    assert not b.cmd("NOOP").of("FETCH")
    r = a.cmd("NOOP")
    assert flags_of(r.fetches()[1]["FLAGS"]) == {"kwx"}
    # SEARCH sees the other session's flags at once
    assert search_nums(a.cmd("SEARCH UNFLAGGED")) == [1]


# --- SEARCH -----------------------------------------------------------------

SEARCH_MSGS = [
    # (message, flags, internal date)
    (b"From: Alice Example <alice@a.test>\r\nTo: bob@b.test\r\n"
     b"Cc: carol@c.test\r\nSubject: Hello world\r\n"
     b"Date: Mon, 5 Jan 2026 10:00:00 +0000\r\nX-Tag: red\r\n\r\n"
     b"first body text\r\n",
     "\\Seen \\Answered kwA", "05-Jan-2026 10:00:00 +0000"),
    (b"From: Bob <bob@b.test>\r\nTo: alice@a.test\r\nBcc: dave@d.test\r\n"
     b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
     b"Date: Tue, 6 Jan 2026 23:30:00 -0500\r\nMIME-Version: 1.0\r\n"
     b"Content-Type: text/plain; charset=utf-8\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\n" +
     base64.b64encode("Ünïcode body Straße".encode()) + b"\r\n",
     "\\Flagged \\Draft", "06-Jan-2026 12:00:00 +0000"),
    (b"From: carol@c.test\r\nTo: bob@b.test\r\nSubject: Re: Hello world\r\n"
     b"\r\n" + b"x" * 2000 + b"\r\n",
     "\\Deleted", "10-Jan-2026 00:00:00 +0000"),
    (b"From: \"Aaron\" <dave@d.test>\r\nTo: zed@z.test\r\n"
     b"Subject: Attachment\r\nDate: Fri, 9 Jan 2026 12:00:00 +0000\r\n"
     b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n"
     b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee the zebra\r\n"
     b"--b1\r\nContent-Type: image/png\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\nemVicmFz\r\n--b1--\r\n",
     "", "15-Jan-2026 00:00:00 +0000"),
]


def search_box(c):
    """Fills INBOX with SEARCH_MSGS while c has it selected, so that c's
    session is the one that sees them first (\\Recent)."""
    c.cmd("SELECT INBOX")
    uids = [c.append("INBOX", m, flags=fl, date=d)
            for m, fl, d in SEARCH_MSGS]
    c.cmd("NOOP")
    return uids


def utf8_lit(s):
    b = s.encode("utf-8")
    return b"{%d+}\r\n" % len(b) + b


SEARCH_CASES = [
    ("ALL", [1, 2, 3, 4]),
    ("SEEN", [1]), ("UNSEEN", [2, 3, 4]),
    ("ANSWERED", [1]), ("UNANSWERED", [2, 3, 4]),
    ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4]),
    ("DELETED", [3]), ("UNDELETED", [1, 2, 4]),
    ("DRAFT", [2]), ("UNDRAFT", [1, 3, 4]),
    ("KEYWORD kwA", [1]), ("KEYWORD KWA", [1]), ("UNKEYWORD kwA", [2, 3, 4]),
    ("KEYWORD nothere", []), ("UNKEYWORD nothere", [1, 2, 3, 4]),
    ("RECENT", [1, 2, 3, 4]), ("NEW", [2, 3, 4]), ("OLD", []),
    ("BEFORE 6-Jan-2026", [1]), ("ON 6-Jan-2026", [2]),
    ("SINCE 10-Jan-2026", [3, 4]),
    ("SENTBEFORE 6-Jan-2026", [1]), ("SENTON 6-Jan-2026", [2]),
    ("SENTSINCE 7-Jan-2026", [4]), ("NOT SENTON 6-Jan-2026", [1, 3, 4]),
    ("FROM alice", [1]), ('FROM "bob@b"', [2]), ("FROM AARON", [4]),
    ("TO bob", [1, 3]), ("CC carol", [1]), ("BCC dave", [2]),
    ("SUBJECT hello", [1, 3]), ('SUBJECT "re: hello"', [3]),
    ("HEADER X-Tag red", [1]), ('HEADER x-tag ""', [1]),
    ("HEADER X-Tag blue", []),
    ("BODY zebra", [4]), ("BODY zebras", []), ("TEXT zebra", [4]),
    ("TEXT alice", [1, 2]), ("BODY alice", []), ("TEXT xxxxxxxx", [3]),
    ("NOT SEEN", [2, 3, 4]), ("OR SEEN FLAGGED", [1, 2]),
    ("(SEEN)", [1]), ("OR (FROM alice) (FROM bob)", [1, 2]),
    ("NOT (OR SEEN DELETED)", [2, 4]), ("UNSEEN UNDELETED", [2, 4]),
    ("2:3", [2, 3]), ("*", [4]), ("1,4", [1, 4]), ("3:*", [3, 4]),
    ("5", []), ("UID 2", [2]), ("UID 3:*", [3, 4]), ("UID *", [4]),
    ("YOUNGER 3600", []), ("OLDER 3600", [1, 2, 3, 4]),
    ("MODSEQ 1", [1, 2, 3, 4]),
]


def test_search_every_key(login):
    c = login()
    search_box(c)
    sizes = {s: int(f["RFC822.SIZE"]) for s, f in
             c.cmd("FETCH 1:* RFC822.SIZE").fetches().items()}
    cases = SEARCH_CASES + [
        ("LARGER %d" % sizes[1], sorted(s for s in sizes
                                        if sizes[s] > sizes[1])),
        ("SMALLER %d" % sizes[1], sorted(s for s in sizes
                                         if sizes[s] < sizes[1])),
        ("LARGER 1000 SMALLER 100000", [3]),
    ]
    bad = []
    for key, want in cases:
        r = c.cmd("SEARCH " + key, expect=None)
        got = search_nums(r) if r.status == "OK" else r.tagged
        if got != want:
            bad.append("SEARCH %s: want %s, got %s" % (key, want, got))
    assert not bad, "\n".join(bad)
    # RECENT belongs to the first session only
    d = login()
    d.cmd("SELECT INBOX")
    assert search_nums(d.cmd("SEARCH RECENT")) == []
    assert search_nums(d.cmd("SEARCH OLD")) == [1, 2, 3, 4]


def test_search_utf8_and_charset(login):
    c = login()
    search_box(c)
    for cs in (b"UTF-8", b"utf-8", b"US-ASCII"):
        r = c.cmd(b"SEARCH CHARSET " + cs + b" SUBJECT hello")
        assert search_nums(r) == [1, 3]
    r = c.cmd(b"SEARCH CHARSET UTF-8 SUBJECT " + utf8_lit("GRÜSSE"))
    assert search_nums(r) == []      # no ß -> ss folding, as Dovecot
    r = c.cmd(b"SEARCH CHARSET UTF-8 SUBJECT " + utf8_lit("grüße"))
    assert search_nums(r) == [2]
    r = c.cmd(b"SEARCH CHARSET UTF-8 BODY " + utf8_lit("ÜNÏCODE"))
    assert search_nums(r) == [2]
    r = c.cmd(b"SEARCH CHARSET UTF-8 TEXT " + utf8_lit("straße"))
    assert search_nums(r) == [2]
    r = c.cmd("SEARCH CHARSET ISO-8859-1 SUBJECT hello", expect="NO")
    assert "[BADCHARSET" in r.tagged
    c.cmd("SEARCH NOSUCHKEY", expect="BAD")
    c.cmd("SEARCH BEFORE 32-Jan-2026", expect="BAD")
    c.cmd("SEARCH", expect="BAD")
    # UID SEARCH answers with UIDs
    r = c.cmd("UID SEARCH FLAGGED")
    assert search_nums(r) == [int(c.cmd("FETCH 2 UID").fetches()[2]["UID"])]


def test_search_in_rev2_utf8_quoted(login):
    c = login(rev2=True)
    search_box(c)
    r = c.cmd('SEARCH SUBJECT "grüße"'.encode())
    (line,) = r.of("ESEARCH")
    assert line == b'* ESEARCH (TAG "%s") ALL 2' % c.last_tag.encode()


def test_esearch(login):
    c = login()
    uids = search_box(c)
    tag = lambda: c.last_tag.encode()  # noqa: E731
    r = c.cmd("UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert r.of("ESEARCH") == [b'* ESEARCH (TAG "%s") UID MIN %d MAX %d '
                               b'ALL %d:%d COUNT 3' % (tag(), uids[1],
                                                       uids[3], uids[1],
                                                       uids[3])], r
    assert not r.of("SEARCH")
    r = c.cmd("SEARCH RETURN () OR SEEN DELETED")
    assert r.of("ESEARCH") == [b'* ESEARCH (TAG "%s") ALL 1,3' % tag()]
    r = c.cmd("SEARCH RETURN (COUNT) KEYWORD nothere")
    assert r.of("ESEARCH") == [b'* ESEARCH (TAG "%s") COUNT 0' % tag()]
    r = c.cmd("SEARCH RETURN (MIN MAX) KEYWORD nothere")
    assert r.of("ESEARCH") == [b'* ESEARCH (TAG "%s")' % tag()]
    r = c.cmd("SEARCH RETURN (MAX) ALL")
    assert r.of("ESEARCH") == [b'* ESEARCH (TAG "%s") MAX 4' % tag()]
    c.cmd("SEARCH RETURN (NOPE) ALL", expect="BAD")
    # rev1 without RETURN: plain SEARCH
    r = c.cmd("SEARCH ALL")
    assert r.of("SEARCH") == [b"* SEARCH 1 2 3 4"] and not r.of("ESEARCH")
    # IMAP4rev2: always ESEARCH
    d = login(rev2=True)
    d.cmd("SELECT INBOX")
    r = d.cmd("SEARCH ALL")
    assert r.of("ESEARCH") == [b'* ESEARCH (TAG "%s") ALL 1:4' %
                               d.last_tag.encode()] and not r.of("SEARCH")
    r = d.cmd("UID SEARCH KEYWORD nothere")
    assert r.of("ESEARCH") == [b'* ESEARCH (TAG "%s") UID' %
                               d.last_tag.encode()]


def test_searchres_saved_result(login):
    c = login(rev2=True)
    search_box(c)
    r = c.cmd("SEARCH RETURN (SAVE) FLAGGED")
    assert not r.of("ESEARCH")
    f = c.cmd("FETCH $ (UID)").fetches()
    assert sorted(f) == [2]
    r = c.cmd("SEARCH RETURN (ALL) OR $ SEEN")
    assert r.of("ESEARCH")[0].endswith(b"ALL 1:2")


def test_search_modseq(login):
    c = login(condstore=True)
    search_box(c)
    r = c.cmd("FETCH 1:* (MODSEQ)")
    ms = {s: int(f["MODSEQ"][0]) for s, f in r.fetches().items()}
    c.cmd("STORE 3 +FLAGS (\\Seen)")
    new3 = int(c.cmd("FETCH 3 MODSEQ").fetches()[3]["MODSEQ"][0])
    r = c.cmd("SEARCH MODSEQ %d" % (max(ms.values()) + 1))
    assert r.of("SEARCH") == [b"* SEARCH 3 (MODSEQ %d)" % new3]
    r = c.cmd('SEARCH MODSEQ "/flags/\\\\seen" all 1')
    assert r.of("SEARCH")[0].endswith(b"(MODSEQ %d)" % new3)
    r = c.cmd("SEARCH RETURN (COUNT MAX) MODSEQ 1")
    assert r.of("ESEARCH")[0].endswith(b"MAX 4 COUNT 4 MODSEQ %d" %
                                       max(ms[4], new3))
    r = c.cmd("SEARCH MODSEQ 999999999")
    assert r.of("SEARCH") == [b"* SEARCH"]


# --- SORT -------------------------------------------------------------------

SORT_CASES = [
    ("(ARRIVAL)", [1, 2, 3, 4]), ("(REVERSE ARRIVAL)", [4, 3, 2, 1]),
    ("(SUBJECT)", [4, 2, 1, 3]), ("(FROM)", [1, 2, 3, 4]),
    ("(REVERSE FROM)", [4, 3, 2, 1]), ("(TO)", [2, 1, 3, 4]),
    ("(CC)", [2, 3, 4, 1]), ("(DATE)", [1, 2, 4, 3]),
    ("(DISPLAYFROM)", [4, 1, 2, 3]), ("(DISPLAYTO)", [2, 1, 3, 4]),
    ("(SUBJECT REVERSE DATE)", [4, 2, 3, 1]),
    ("(TO REVERSE ARRIVAL)", [2, 3, 1, 4]),
]


def test_sort(login):
    c = login()
    uids = search_box(c)
    sizes = {s: int(f["RFC822.SIZE"]) for s, f in
             c.cmd("FETCH 1:* RFC822.SIZE").fetches().items()}
    cases = SORT_CASES + [
        ("(SIZE)", sorted(sizes, key=lambda s: (sizes[s], s))),
        ("(REVERSE SIZE)", sorted(sizes, key=lambda s: (-sizes[s], s))),
    ]
    bad = []
    for crit, want in cases:
        got = search_nums(c.cmd("SORT %s UTF-8 ALL" % crit), "SORT")
        if got != want:
            bad.append("SORT %s: want %s, got %s" % (crit, want, got))
    assert not bad, "\n".join(bad)
    r = c.cmd("SORT (ARRIVAL) US-ASCII UNSEEN")
    assert search_nums(r, "SORT") == [2, 3, 4]
    r = c.cmd("UID SORT (REVERSE ARRIVAL) UTF-8 ALL")
    assert search_nums(r, "SORT") == uids[::-1]
    r = c.cmd("SORT (ARRIVAL) UTF-8 KEYWORD nothere")
    assert r.of("SORT") == [b"* SORT"]
    c.cmd("SORT (NOPE) UTF-8 ALL", expect="BAD")
    c.cmd("SORT (REVERSE) UTF-8 ALL", expect="BAD")
    c.cmd("SORT () UTF-8 ALL", expect="BAD")
    c.cmd("SORT (DATE) UTF-8", expect="BAD")
    r = c.cmd("SORT (DATE) KOI8-R ALL", expect="NO")
    assert "[BADCHARSET" in r.tagged


# --- THREAD -----------------------------------------------------------------

def thread_msg(mid, subject, day, refs=None, irt=None):
    h = b"Message-ID: <%s@x.test>\r\n" % mid.encode()
    if refs:
        h += b"References: " + b" ".join(b"<%s@x.test>" % r.encode()
                                          for r in refs) + b"\r\n"
    if irt:
        h += b"In-Reply-To: <%s@x.test>\r\n" % irt.encode()
    h += b"Date: %d Jan 2026 12:00:00 +0000\r\n" % day
    return msg(subject, headers=h)


THREAD_MSGS = [
    thread_msg("a", "Topic A", 1),
    thread_msg("b", "Re: Topic A", 2, refs=["a"]),
    thread_msg("c", "Re: Topic A", 3, refs=["a", "b"]),
    thread_msg("d", "Re: Topic A", 4, refs=["a"]),
    thread_msg("e", "Other", 5),
    thread_msg("f", "Re: Other", 6, refs=["zz"]),
    thread_msg("g", "Lonely", 7, irt="missing1"),
    thread_msg("h", "Lonely2", 8, refs=["missing1"]),
]


def thread_line(r):
    (line,) = r.of("THREAD")
    return line[len(b"* THREAD"):].strip().decode()


def test_thread_references_and_orderedsubject(login):
    c = login()
    # arrival order differs from date order on purpose
    order = [3, 0, 1, 2, 4, 5, 6, 7]
    seq_of = {}
    for i, k in enumerate(order):
        c.append("INBOX", THREAD_MSGS[k])
        seq_of[k + 1] = i + 1
    c.cmd("SELECT INBOX")

    def expect(shape):
        return re.sub(r"\d+", lambda m: str(seq_of[int(m.group(0))]), shape)

    r = c.cmd("THREAD REFERENCES UTF-8 ALL")
    assert thread_line(r) == expect("(1 (2 3)(4))(5 6)((7)(8))"), r
    r = c.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")
    assert thread_line(r) == expect("(1 (2)(3)(4))(5 6)(7)(8)"), r
    r = c.cmd("THREAD REFERENCES UTF-8 SUBJECT topic")
    assert thread_line(r) == expect("(1 (2 3)(4))"), r
    r = c.cmd("UID THREAD ORDEREDSUBJECT UTF-8 SUBJECT other")
    uids = c.cmd("FETCH %d:%d UID" % (seq_of[5], seq_of[6])).fetches()
    assert thread_line(r) == "(%s %s)" % (uids[seq_of[5]]["UID"].decode(),
                                          uids[seq_of[6]]["UID"].decode())
    r = c.cmd("THREAD REFERENCES UTF-8 KEYWORD nothere")
    assert r.of("THREAD") == [b"* THREAD"]
    c.cmd("THREAD NOPE UTF-8 ALL", expect="BAD")
    r = c.cmd("THREAD REFERENCES X-UNKNOWN ALL", expect="NO")
    assert "[BADCHARSET" in r.tagged


def test_thread_subject_merge_and_loops(login):
    c = login()
    msgs = [
        # two unrelated roots with the same subject get a dummy parent
        thread_msg("p1", "Same", 1),
        thread_msg("p2", "Same", 2),
        # reference loops and self references must not hang or crash
        thread_msg("l1", "Loop", 3, refs=["l2"]),
        thread_msg("l2", "Loop", 4, refs=["l1"]),
        thread_msg("s1", "Self", 5, refs=["s1", "s1"]),
        # duplicate Message-ID
        thread_msg("dup", "Dup", 6),
        thread_msg("dup", "Dup x", 7),
        msg("no ids at all"),
    ]
    for m in msgs:
        c.append("INBOX", m)
    c.cmd("SELECT INBOX")
    line = thread_line(c.cmd("THREAD REFERENCES UTF-8 ALL"))
    assert sorted(int(x) for x in re.findall(r"\d+", line)) == \
        list(range(1, 9)), line
    assert line.startswith("((1)(2))"), line
    assert line.count("(") == line.count(")")
    # a long reply chain: no recursion limit in the server
    chain = [thread_msg("k0", "Chain", 1)]
    refs = ["k0"]
    for i in range(1, 150):
        chain.append(thread_msg("k%d" % i, "Re: Chain", 1 + i % 27,
                                refs=list(refs[-50:])))
        refs.append("k%d" % i)
    d = login()
    d.cmd("CREATE chain")
    for m in chain:
        d.append("chain", m)
    d.cmd("SELECT chain")
    line = thread_line(d.cmd("THREAD REFERENCES UTF-8 ALL"))
    assert line == "(" + " ".join(str(i) for i in range(1, 151)) + ")"


# --- STORE ------------------------------------------------------------------

def test_store_flags_and_keywords(login):
    c = login()
    for i in range(3):
        c.append("INBOX", msg("st %d" % i))
    c.cmd("SELECT INBOX")
    r = c.cmd("STORE 1 FLAGS (\\Seen \\Answered)")
    assert flags_of(r.fetches()[1]["FLAGS"]) == {"\\Seen", "\\Answered"}
    r = c.cmd("STORE 1:2 +FLAGS ($Forwarded kw2)")
    f = r.fetches()
    assert flags_of(f[1]["FLAGS"]) == {"\\Seen", "\\Answered", "$Forwarded",
                                       "kw2"}
    assert flags_of(f[2]["FLAGS"]) == {"$Forwarded", "kw2"}
    r = c.cmd("STORE 1 -FLAGS (\\Answered kw2)")
    assert flags_of(r.fetches()[1]["FLAGS"]) == {"\\Seen", "$Forwarded"}
    r = c.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")
    assert not r.of("FETCH")
    assert "\\Deleted" in flags_of(c.cmd("FETCH 3 FLAGS").fetches()[3]
                                   ["FLAGS"])
    r = c.cmd("UID STORE 2 FLAGS \\Flagged")
    f = r.fetches()[2]
    assert int(f["UID"]) == 2 and flags_of(f["FLAGS"]) == {"\\Flagged"}
    assert search_nums(c.cmd("SEARCH KEYWORD $forwarded")) == [1]
    r = c.cmd("STORE 1 FLAGS ()")
    assert flags_of(r.fetches()[1]["FLAGS"]) == set()
    # every message of the set answers, changed or not
    r = c.cmd("STORE 1:3 +FLAGS (\\Flagged)")
    assert sorted(r.fetches()) == [1, 2, 3]
    c.cmd("STORE 1 +FLAGS (\\Recent)", expect="BAD")
    c.cmd("STORE 1 +FLAGS (\\Bogus)", expect="BAD")
    c.cmd("STORE 9 +FLAGS (\\Seen)", expect="BAD")
    # too many keywords for one folder: [LIMIT]
    r = c.cmd("STORE 1 +FLAGS (%s)" % " ".join("k%02d" % i
                                               for i in range(30)),
              expect="NO")
    assert "[LIMIT]" in r.tagged
    c.cmd("EXAMINE INBOX")
    c.cmd("STORE 1 +FLAGS (\\Seen)", expect="NO")


def test_store_unchangedsince_and_condstore(login):
    c = login()
    for i in range(3):
        c.append("INBOX", msg("cs %d" % i))
    c.cmd("SELECT INBOX")
    m = {s: int(f["MODSEQ"][0]) for s, f in
         c.cmd("FETCH 1:* (MODSEQ)").fetches().items()}
    r = c.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % m[1])
    f = r.fetches()[1]
    new1 = int(f["MODSEQ"][0])
    assert new1 > m[1] and "\\Flagged" in flags_of(f["FLAGS"])
    # the same condition again fails for 1, works for 2
    r = c.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % m[2])
    assert "[MODIFIED 1]" in r.tagged, r
    assert sorted(r.fetches()) == [2]
    r = c.cmd("UID STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert "[MODIFIED 1:3]" in r.tagged and not r.of("FETCH")
    # .SILENT under CONDSTORE still reports the new MODSEQ of what
    # changed (RFC 7162 3.1.3), and nothing for what did not
    r = c.cmd("STORE 2:3 +FLAGS.SILENT (\\Seen)")
    f = r.fetches()
    assert sorted(f) == [3] and set(f[3]) == {"MODSEQ"}, r
    r = c.cmd("UID STORE 3 -FLAGS.SILENT (\\Seen)")
    f = r.fetches()[3]
    assert set(f) == {"UID", "MODSEQ"}, r


def test_unchangedsince_enables_condstore(login):
    c = login()
    c.append("INBOX", msg("en"))
    c.cmd("SELECT INBOX")
    r = c.cmd("STORE 1 (UNCHANGEDSINCE 99999999) +FLAGS (\\Seen)")
    assert any(b"[HIGHESTMODSEQ" in l for l in r.lines), r
    assert "MODSEQ" in r.fetches()[1]


# --- COPY / MOVE ------------------------------------------------------------

def test_copy_copyuid_and_trycreate(login):
    c = login()
    for i in range(3):
        c.append("INBOX", msg("cp %d" % i), flags="\\Flagged kwc")
    c.cmd("CREATE Dest")
    c.cmd("SELECT INBOX")
    r = c.cmd("COPY 2:3 Dest")
    m = re.match(r"OK \[COPYUID (\d+) 2:3 1:2\]", r.tagged)
    assert m, r
    st = c.cmd("STATUS Dest (MESSAGES UIDVALIDITY)")
    assert b"MESSAGES 2" in st.lines[0]
    assert b"UIDVALIDITY " + m.group(1).encode() in st.lines[0]
    r = c.cmd("UID COPY 1,3 Dest")
    assert re.match(r"OK \[COPYUID \d+ 1,3 3:4\]", r.tagged), r
    r = c.cmd("UID COPY 900:999 Dest")
    assert "COPYUID" not in r.tagged
    r = c.cmd("COPY 1 Nowhere", expect="NO")
    assert "[TRYCREATE]" in r.tagged
    c.cmd("COPY 7 Dest", expect="BAD")
    # flags and keywords travel along; the source keeps its messages
    c.cmd("EXAMINE Dest")
    f = c.cmd("FETCH 1:* FLAGS").fetches()
    assert all(flags_of(v["FLAGS"]) == {"\\Flagged", "kwc"}
               for v in f.values())
    c.cmd("SELECT INBOX")
    assert len(c.cmd("FETCH 1:* UID").fetches()) == 3
    # COPY from a read-only view is fine
    c.cmd("EXAMINE INBOX")
    assert "COPYUID" in c.cmd("COPY 1 Dest").tagged


def test_move_order_of_responses(login):
    c = login()
    uids = [c.append("INBOX", msg("mv %d" % i)) for i in range(4)]
    c.cmd("CREATE Dest")
    c.cmd("SELECT INBOX")
    r = c.cmd("MOVE 2:3 Dest")
    assert r.lines[0].startswith(b"* OK [COPYUID "), r
    assert re.match(rb"\* OK \[COPYUID \d+ %d:%d 1:2\]" % (uids[1], uids[2]),
                    r.lines[0]), r
    assert r.lines[1:] == [b"* 3 EXPUNGE", b"* 2 EXPUNGE"], r
    assert [int(f["UID"]) for _, f in
            sorted(c.cmd("FETCH 1:* UID").fetches().items())] == \
        [uids[0], uids[3]]
    r = c.cmd("MOVE 1 Nowhere", expect="NO")
    assert "[TRYCREATE]" in r.tagged
    c.cmd("EXAMINE INBOX")
    c.cmd("MOVE 1 Dest", expect="NO")


def test_uid_move_with_qresync_vanished(login):
    c = login(qresync=True)
    uids = [c.append("INBOX", msg("mq %d" % i)) for i in range(3)]
    c.cmd("CREATE Dest")
    c.cmd("SELECT INBOX")
    r = c.cmd("UID MOVE %d Dest" % uids[1])
    assert r.lines[0].startswith(b"* OK [COPYUID "), r
    assert r.of("VANISHED") == [b"* VANISHED %d" % uids[1]], r
    assert not r.of("EXPUNGE")


def test_move_seen_by_second_session(login):
    a, b = login(), login()
    for i in range(2):
        a.append("INBOX", msg("m2 %d" % i))
    a.cmd("CREATE Dest")
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    a.cmd("MOVE 1 Dest")
    r = b.cmd("NOOP")
    assert r.of("EXPUNGE") == [b"* 1 EXPUNGE"], r


# --- real clients ------------------------------------------------------------

def test_imaplib_session(srv, user):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.login(*user)
    for i in range(3):      # distinct INTERNALDATEs: REVERSE ARRIVAL below
        m.append("INBOX", "(\\Seen)" if i == 0 else None,
                 '"0%d-Jan-2026 00:00:00 +0000"' % (i + 1),
                 msg("lib %d" % i, "body %d\r\n" % i))
    typ, dat = m.select("INBOX")
    assert typ == "OK" and dat == [b"3"]
    typ, dat = m.fetch("1:3", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS "
                       "(SUBJECT)])")
    assert typ == "OK"
    subjects = [d[1] for d in dat if isinstance(d, tuple)]
    assert subjects == [b"Subject: lib %d\r\n\r\n" % i for i in range(3)]
    typ, dat = m.search(None, "UNSEEN")
    assert dat == [b"2 3"]
    typ, dat = m.uid("SEARCH", "ALL")
    assert dat == [b"1 2 3"]
    typ, dat = m.store("2", "+FLAGS", "(\\Flagged)")
    assert typ == "OK" and b"\\Flagged" in dat[0]
    typ, dat = m.sort("(REVERSE ARRIVAL)", "UTF-8", "ALL")
    assert dat == [b"3 2 1"]
    typ, dat = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert dat == [b"(1)(2)(3)"]
    m.create("Archive2")
    typ, dat = m.copy("1:2", "Archive2")
    assert typ == "OK" and b"COPYUID" in dat[0]
    typ, dat = m.uid("MOVE", "3", "Archive2")
    assert typ == "OK"
    typ, dat = m.fetch("1:*", "(FLAGS)")
    assert len([d for d in dat if d]) == 2
    typ, dat = m.fetch("1", "(BODY[TEXT])")
    assert dat[0][1] == b"body 0\r\n"
    m.logout()


def test_rev1_and_rev2_flags(login):
    one = login()
    one.cmd("SELECT INBOX")
    one.append("INBOX", msg("r"))
    one.cmd("NOOP")
    f = one.cmd("FETCH 1 FLAGS").fetches()[1]
    assert b"\\Recent" in f["FLAGS"]        # IMAP4rev1 keeps \Recent
    two = login(rev2=True)
    two.cmd("SELECT INBOX")
    two.append("INBOX", msg("r2"))
    two.cmd("NOOP")
    f = two.cmd("FETCH 1:* FLAGS").fetches()
    assert all(b"\\Recent" not in v["FLAGS"] for v in f.values())
    r = two.cmd("STORE 2 +FLAGS (\\Seen)")
    assert r.fetches()[2]["FLAGS"] == [b"\\Seen"]


# --- hostile and odd input -------------------------------------------------

def test_hostile_arguments_get_answers(login):
    c = login()
    c.append("INBOX", msg("h", headers=b"References: " +
                          b" ".join(b"<r%d@x>" % i for i in range(3000)) +
                          b"\r\n"))
    c.append("INBOX", b"no header at all, no line end")
    c.append("INBOX", b"\r\n\r\n")
    c.cmd("SELECT INBOX")
    c.cmd("SEARCH " + "(" * 40 + "ALL" + ")" * 40, expect="BAD")
    c.cmd("SEARCH " + "NOT " * 70 + "ALL", expect="BAD")
    r = c.cmd("SEARCH " + "NOT " * 60 + "ALL")
    assert search_nums(r) == [1, 2, 3]
    c.cmd("SORT (%s) UTF-8 ALL" % " ".join(["DATE"] * 40), expect="BAD")
    c.cmd("FETCH 1 BODY[%s]" % ".".join(["1"] * 70), expect="BAD")
    c.cmd("SEARCH LARGER 18446744073709551615", expect="BAD")
    f = c.cmd("FETCH 1 BODY.PEEK[]<9223372036854775807.1>").fetches()[1]
    assert f["BODY[]<9223372036854775807>"] == b""
    f = c.cmd("FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER] "
              "BODY.PEEK[TEXT] BODY.PEEK[1] BINARY.SIZE[1] "
              "BODY.PEEK[1.MIME])").fetches()
    assert sorted(f) == [1, 2, 3]
    assert f[2]["BODY[HEADER]"] == b"no header at all, no line end"
    assert f[3]["BODY[HEADER]"] == b"\r\n" and f[3]["BODY[TEXT]"] == b"\r\n"
    line = thread_line(c.cmd("THREAD REFERENCES UTF-8 ALL"))
    assert sorted(int(x) for x in re.findall(r"\d+", line)) == [1, 2, 3]
    for q in ("FROM x", "TEXT x", "SENTON 1-Jan-2026", "HEADER References r7"):
        c.cmd("SEARCH " + q)
    assert search_nums(c.cmd("SEARCH HEADER References r2999@x")) == [1]
    c.cmd("NOOP")
