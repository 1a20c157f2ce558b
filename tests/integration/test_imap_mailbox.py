"""IMAP mailbox commands against the real server: SELECT/EXAMINE (with
CONDSTORE and QRESYNC), CREATE (with USE), DELETE, RENAME (INBOX too),
SUBSCRIBE/UNSUBSCRIBE, LIST (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE),
LSUB, NAMESPACE, STATUS (SIZE), APPEND (APPENDUID, TRYCREATE), CHECK,
CLOSE, UNSELECT, EXPUNGE and UID EXPUNGE; IMAP4rev1 and IMAP4rev2 clients;
UTF-8 and modified UTF-7 folder names.

One server for the module; each test logs in as a user of its own, so the
tests do not see each other's folders."""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402

SPECIAL = {"Archive": "\\Archive", "Drafts": "\\Drafts", "Junk": "\\Junk",
           "Sent": "\\Sent", "Trash": "\\Trash"}
MSG = (b"From: <a@b.test>\r\nTo: <u@a.test>\r\nSubject: %d\r\n"
       b"Message-ID: <%d@b.test>\r\n\r\nBody %d.\r\n")


class Imap(imapclient.Imap):
    """The shared client, untagged lines as str."""

    def __init__(self, port, text=True):
        imapclient.Imap.__init__(self, port, text=True)


# --- fixtures -------------------------------------------------------------

USERS = {"u%d@a.test" % i: "pw-u%d-Secret" % i for i in range(1, 61)}
srv, user, login = imapclient.imap_fixtures(USERS, text=True)


def list_names(resp, kind="LIST"):
    """{name: attributes} of the LIST (or LSUB) lines."""
    out = {}
    for l in resp.of(kind):
        m = re.match(r'\* %s \(([^)]*)\) "/" (.*?)( \(.*\))?$' % kind, l)
        assert m, l
        name = m.group(2)
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[name] = m.group(1).split() if m.group(1) else []
    return out


def status_of(resp):
    """{name: {ITEM: n}} of the STATUS lines."""
    out = {}
    for l in resp.of("STATUS"):
        m = re.match(r'\* STATUS (.*) \(([^)]*)\)$', l)
        assert m, l
        name = m.group(1).strip('"')
        w = m.group(2).split()
        out[name] = {w[i]: int(w[i + 1]) for i in range(0, len(w), 2)}
    return out


def code(resp, name):
    """The value of response code [NAME value] anywhere in the response."""
    for l in resp.lines + [resp.tagged]:
        m = re.search(r"\[%s ?([^\]]*)\]" % re.escape(name), l)
        if m:
            return m.group(1)
    return None


def msg(i):
    return MSG % (i, i, i)


def fill(c, box, n, flags=None):
    """Appends n messages; returns their UIDs."""
    uids = []
    for i in range(n):
        r = c.append(box, msg(i + 1), flags=flags[i] if flags else None)
        uids.append(int(code(r, "APPENDUID").split()[1]))
    return uids


# --- LIST, NAMESPACE, special folders --------------------------------------

@pytest.mark.parametrize("rev2", [False, True])
def test_new_user_has_special_folders(login, rev2):
    c = login(rev2=rev2)
    names = list_names(c.cmd('LIST "" "*"'))
    assert list(names)[0] == "INBOX"
    assert set(names) == {"INBOX"} | set(SPECIAL)
    for name, use in SPECIAL.items():
        assert use in names[name], (name, names[name])
        assert "\\HasNoChildren" in names[name]
    # SPECIAL-USE selection: only those; RETURN (SPECIAL-USE) too
    names = list_names(c.cmd('LIST (SPECIAL-USE) "" "*"'))
    assert set(names) == set(SPECIAL)
    names = list_names(c.cmd('LIST "" "*" RETURN (SPECIAL-USE)'))
    assert names["Sent"] == ["\\HasNoChildren", "\\Sent"]
    assert names["INBOX"] == ["\\HasNoChildren"]


def test_list_root_namespace_and_inbox_case(login):
    c = login()
    r = c.cmd('LIST "" ""')
    assert r.lines == ['* LIST (\\Noselect) "/" ""']
    r = c.cmd("NAMESPACE")
    assert r.lines == ['* NAMESPACE (("" "/")) (("shared/" "/")) NIL']
    assert list(list_names(c.cmd('LIST "" inbox'))) == ["INBOX"]
    assert list(list_names(c.cmd('LIST "" "InBoX"'))) == ["INBOX"]
    assert list_names(c.cmd('LIST "" "T%"')).keys() == {"Trash"}
    assert list_names(c.cmd('LIST "" "nothing*"')) == {}
    many = " ".join('"p%d"' % i for i in range(101))
    c.cmd('LIST "" (%s)' % many, expect="BAD")


def test_create_hierarchy_list_wildcards(login):
    c = login()
    c.cmd("CREATE a/b/c")
    c.cmd('CREATE "x/"')                    # trailing delimiter: "x"
    names = list_names(c.cmd('LIST "" "%"'))
    assert names["a"] == ["\\Noselect", "\\HasChildren"]
    assert names["x"] == ["\\HasNoChildren"]
    assert "a/b" not in names
    names = list_names(c.cmd('LIST "" "a/%"'))
    assert names == {"a/b": ["\\Noselect", "\\HasChildren"]}
    names = list_names(c.cmd('LIST "a/" "*"'))       # reference + pattern
    assert names == {"a/b": ["\\Noselect", "\\HasChildren"],
                     "a/b/c": ["\\HasNoChildren"]}
    names = list_names(c.cmd('LIST "" ("a/b/c" "x" "nope")'))
    assert set(names) == {"a/b/c", "x"}
    # creating the parent gives it a folder of its own
    c.cmd("CREATE a")
    assert list_names(c.cmd('LIST "" a'))["a"] == ["\\HasChildren"]
    r = c.cmd("CREATE a/b/c", expect="NO")
    assert "[ALREADYEXISTS]" in r.tagged
    r = c.cmd("CREATE INBOX", expect="NO")
    r = c.cmd('CREATE "bad*name"', expect="NO")
    assert "[CANNOT]" in r.tagged
    c.cmd("CREATE", expect="BAD")
    c.cmd("CREATE a (FOO)", expect="BAD")


def test_create_use_special(login):
    c = login()
    c.cmd("CREATE Outbox (USE (\\Sent))")
    c.cmd("CREATE Stuff/Old (USE (\\Archive \\Junk))")
    names = list_names(c.cmd('LIST "" "*"'))
    assert "\\Sent" in names["Outbox"]
    assert "\\Archive" in names["Stuff/Old"] and "\\Junk" in names["Stuff/Old"]
    names = list_names(c.cmd('LIST (SPECIAL-USE) "" "*"'))
    assert {"Outbox", "Stuff/Old"} <= set(names)
    r = c.cmd("CREATE Every (USE (\\All))", expect="NO")
    assert "[USEATTR]" in r.tagged
    assert "Every" not in list_names(c.cmd('LIST "" "*"'))
    c.cmd("CREATE Every (USE (Sent))", expect="BAD")


@pytest.mark.embedded_only
def test_delete_and_rename_hierarchy(login, srv, user):
    c = login()
    c.cmd("CREATE p/q")
    c.cmd("CREATE p/q/r")
    uid = fill(c, "p/q", 1)[0]
    c.cmd("RENAME p/q s")
    names = list_names(c.cmd('LIST "" "*"'))
    assert "s" in names and "s/q" not in names and "s/r" in names
    assert "p/q" not in names and "p/q/r" not in names
    r = c.cmd("STATUS s (MESSAGES UIDNEXT)")
    assert status_of(r)["s"] == {"MESSAGES": 1, "UIDNEXT": uid + 1}
    r = c.cmd("RENAME s Trash", expect="NO")
    assert "[ALREADYEXISTS]" in r.tagged
    r = c.cmd("RENAME nothing other", expect="NO")
    assert "[NONEXISTENT]" in r.tagged
    c.cmd("RENAME s", expect="BAD")
    # DELETE leaves the children (RFC 9051 6.3.5)
    c.cmd("DELETE s")
    names = list_names(c.cmd('LIST "" "*"'))
    assert "s" in names and "\\Noselect" in names["s"] and "s/r" in names
    r = c.cmd("DELETE s", expect="NO")           # only a parent now
    r = c.cmd("DELETE nothing", expect="NO")
    assert "[NONEXISTENT]" in r.tagged
    r = c.cmd("DELETE INBOX", expect="NO")
    c.cmd("DELETE s/r")
    assert "s" not in list_names(c.cmd('LIST "" "*"'))
    assert not os.path.exists(os.path.join(srv.maildir(user[0]), ".s.r"))


def test_rename_inbox_moves_messages(login):
    c = login(rev2=True)
    fill(c, "INBOX", 3)
    c.cmd("CREATE INBOX/kid")
    c.cmd("RENAME INBOX Old")
    st = status_of(c.cmd("STATUS Old (MESSAGES)"))
    assert st["Old"]["MESSAGES"] == 3
    st = status_of(c.cmd("STATUS INBOX (MESSAGES)"))
    assert st["INBOX"]["MESSAGES"] == 0
    names = list_names(c.cmd('LIST "" "*"'))
    assert "INBOX" in names and "Old" in names and "INBOX/kid" in names
    # new mail still lands in INBOX
    r = c.append("INBOX", msg(9))
    assert code(r, "APPENDUID")


def test_delete_selected_folder_deselects(login):
    c = login()
    c.cmd("CREATE gone")
    c.cmd("SELECT gone")
    c.cmd("DELETE gone")
    c.cmd("CLOSE", expect="BAD")                 # nothing selected
    c.cmd("NOOP")


# --- SUBSCRIBE, LSUB, LIST (SUBSCRIBED ...) ----------------------------------

def test_subscriptions_lsub_and_list_extended(login):
    c = login()
    # a new user is subscribed to the special folders
    names = list_names(c.cmd('LSUB "" "*"'), "LSUB")
    assert set(names) <= set(SPECIAL) | {"INBOX"}
    for name in names:
        c.cmd("UNSUBSCRIBE " + name)
    c.cmd("CREATE f/g")
    c.cmd("CREATE h")
    c.cmd("SUBSCRIBE f/g")
    c.cmd("SUBSCRIBE h")
    c.cmd("SUBSCRIBE ghost/child")               # need not exist
    c.cmd("SUBSCRIBE INBOX")
    names = list_names(c.cmd('LSUB "" "*"'), "LSUB")
    assert set(names) == {"INBOX", "f/g", "h", "ghost/child"}
    names = list_names(c.cmd('LSUB "" "%"'), "LSUB")
    assert names == {"INBOX": [], "f": ["\\Noselect"], "h": [],
                     "ghost": ["\\Noselect"]}
    c.cmd('LSUB (SUBSCRIBED) "" "*"', expect="BAD")
    names = list_names(c.cmd('LIST (SUBSCRIBED) "" "*"'))
    assert set(names) == {"INBOX", "f/g", "h", "ghost/child"}
    assert all("\\Subscribed" in a for a in names.values())
    assert "\\NonExistent" in names["ghost/child"]
    assert "\\NonExistent" not in names["h"]
    # RECURSIVEMATCH: parents of subscribed names, with CHILDINFO
    r = c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)')
    names = list_names(r)
    assert set(names) == {"INBOX", "f", "h", "ghost"}
    assert '* LIST (\\NonExistent) "/" ghost ("CHILDINFO" ("SUBSCRIBED"))' \
        in r.lines, r
    assert [l for l in r.lines if ' "/" f ' in l][0].endswith(
        '("CHILDINFO" ("SUBSCRIBED"))')
    assert not [l for l in r.lines if ' "/" h ' in l]   # h has no children
    c.cmd('LIST (RECURSIVEMATCH) "" "*"', expect="BAD")
    # RETURN (SUBSCRIBED) marks them in a normal LIST
    names = list_names(c.cmd('LIST "" "*" RETURN (SUBSCRIBED)'))
    assert "\\Subscribed" in names["h"] and "\\Subscribed" not in names["Sent"]
    assert "ghost/child" not in names
    # plain LIST never marks them
    assert "\\Subscribed" not in list_names(c.cmd('LIST "" h'))["h"]
    c.cmd("UNSUBSCRIBE ghost/child")
    c.cmd("UNSUBSCRIBE h")
    names = list_names(c.cmd('LSUB "" "*"'), "LSUB")
    assert set(names) == {"INBOX", "f/g"}
    c.cmd('LIST (FROB) "" "*"', expect="BAD")
    c.cmd('LIST "" "*" RETURN (FROB)', expect="BAD")


def test_list_status(login):
    c = login(rev2=True)
    fill(c, "Drafts", 2, flags=["\\Seen", ""])
    c.cmd("CREATE z/y")
    r = c.cmd('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN SIZE))')
    st = status_of(r)
    assert st["Drafts"] == {"MESSAGES": 2, "UNSEEN": 1,
                            "SIZE": len(msg(1)) + len(msg(2))}
    assert st["INBOX"]["MESSAGES"] == 0
    assert "z" not in st                      # \Noselect: no STATUS
    assert "z/y" in st
    # each STATUS follows its LIST line
    for i, l in enumerate(r.lines):
        if l.startswith("* STATUS"):
            name = l.split(" ")[2]
            assert r.lines[i - 1].endswith(" " + name), r.lines[i - 1:i + 1]


# --- STATUS -----------------------------------------------------------------

@pytest.mark.parametrize("rev2", [False, True])
def test_status_items_and_size(login, rev2):
    c = login(rev2=rev2)
    uids = fill(c, "Sent", 3, flags=["\\Seen", "\\Deleted", ""])
    r = c.cmd("STATUS Sent (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED "
              "SIZE RECENT HIGHESTMODSEQ)")
    st = status_of(r)["Sent"]
    assert st["MESSAGES"] == 3 and st["UNSEEN"] == 2 and st["DELETED"] == 1
    assert st["UIDNEXT"] == uids[-1] + 1
    assert st["SIZE"] == sum(len(msg(i + 1)) for i in range(3))
    assert st["HIGHESTMODSEQ"] > 0 and st["UIDVALIDITY"] > 0
    r = c.cmd("STATUS nothing (MESSAGES)", expect="NO")
    assert "[NONEXISTENT]" in r.tagged
    c.cmd("STATUS Sent ()", expect="BAD")
    c.cmd("STATUS Sent (FROB)", expect="BAD")
    # the selected folder, and a new message seen by STATUS
    c.cmd("SELECT Sent")
    c.append("Sent", msg(4))
    st = status_of(c.cmd("STATUS Sent (MESSAGES)"))["Sent"]
    assert st["MESSAGES"] == 4


# --- APPEND -----------------------------------------------------------------

@pytest.mark.embedded_only
def test_append_appenduid_trycreate(login, srv, user):
    c = login()
    r = c.append("nothing", msg(1), expect="NO")
    assert "[TRYCREATE]" in r.tagged
    r1 = c.append("INBOX", msg(1), flags="\\Seen \\Flagged $Label",
                  date="05-Mar-2021 10:20:30 +0100", sync=True)
    r2 = c.append("INBOX", msg(2))
    v1, u1 = map(int, code(r1, "APPENDUID").split())
    v2, u2 = map(int, code(r2, "APPENDUID").split())
    assert v1 == v2 and u2 == u1 + 1
    st = status_of(c.cmd("STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES)"))
    assert st["INBOX"] == {"UIDVALIDITY": v1, "UIDNEXT": u2 + 1,
                           "MESSAGES": 2}
    # the stored file: LF line ends, flags in its name, the given date
    files = srv.maildir_files(user[0])
    assert len(files) == 2
    with open(files[0], "rb") as f:
        assert f.read() in (msg(1).replace(b"\r\n", b"\n"), msg(2).replace(
            b"\r\n", b"\n"))
    flagged = [p for p in files if re.search(r":2,[a-zA-Z]*F", p)]
    assert len(flagged) == 1 and "S" in flagged[0].rsplit(":2,", 1)[1]
    assert int(os.stat(flagged[0]).st_mtime) == 1614936030
    c.cmd("SELECT INBOX")
    # readable through FETCH once FETCH exists
    r = c.cmd("UID FETCH %d (FLAGS INTERNALDATE BODY.PEEK[])" % u1,
              expect=None)
    if r.status == "OK":
        body = "\n".join(r.lines)
        assert "Subject: 1" in body and "$Label" in body
        assert "05-Mar-2021 10:20:30 +0100" in body or \
            "05-Mar-2021 09:20:30 +0000" in body
    c.append("INBOX", b"", expect="NO")
    c.cmd("APPEND INBOX", expect="BAD")
    c.cmd('APPEND INBOX (\\Recent) "x"', expect="BAD")


def test_append_into_selected_folder_announces_exists(login):
    c = login()
    c.cmd("SELECT Junk")
    r = c.append("Junk", msg(1))
    assert "* 1 EXISTS" in r.lines, r


def test_multiappend(login):
    c = login()
    data = [msg(1), msg(2), msg(3)]
    parts = b" ".join(b"{%d+}\r\n" % len(d) + d for d in data)
    c.send(b"M1 APPEND Archive " + parts + b"\r\n")
    r = c.finish(b"M1")
    assert r.status == "OK", r
    v, uids = code(r, "APPENDUID").split()
    assert uids == "1:3"
    assert status_of(c.cmd("STATUS Archive (MESSAGES)"))["Archive"] == \
        {"MESSAGES": 3}


# --- SELECT / EXAMINE -------------------------------------------------------

def test_select_rev1(login):
    c = login()
    fill(c, "INBOX", 3, flags=["\\Seen", "", ""])
    r = c.cmd("SELECT INBOX")
    assert r.tagged.startswith("OK [READ-WRITE]")
    assert "* 3 EXISTS" in r.lines
    assert r.of("RECENT"), r
    assert code(r, "UNSEEN") == "2"
    assert code(r, "UIDVALIDITY") and code(r, "UIDNEXT") == "4"
    assert code(r, "HIGHESTMODSEQ")
    assert r.of("FLAGS") and "\\*" in code(r, "PERMANENTFLAGS")
    assert not r.of("LIST")
    c.cmd("CHECK")
    c.cmd("CHECK x", expect="BAD")
    r = c.cmd("EXAMINE INBOX")
    assert r.tagged.startswith("OK [READ-ONLY]")
    assert "[PERMANENTFLAGS ()]" in "\n".join(r.lines)
    assert not [l for l in r.lines if "[CLOSED]" in l]     # rev1
    r = c.cmd("EXPUNGE", expect="NO")
    c.cmd("UNSELECT")
    c.cmd("UNSELECT", expect="BAD")
    c.cmd("SELECT", expect="BAD")
    c.cmd("SELECT INBOX (FROB)", expect="BAD")


def test_select_rev2_closed_and_list(login):
    c = login(rev2=True)
    c.cmd("CREATE Folder/Sub")
    fill(c, "INBOX", 2)
    r = c.cmd("SELECT INBOX")
    assert not r.of("RECENT") and code(r, "UNSEEN") is None
    assert '* LIST (\\HasNoChildren) "/" INBOX' in r.lines, r
    r = c.cmd("EXAMINE Folder/Sub")
    assert r.lines[0] == "* OK [CLOSED] Previous mailbox closed", r
    assert '* LIST (\\HasNoChildren) "/" Folder/Sub' in r.lines
    assert r.tagged.startswith("OK [READ-ONLY]")
    # a failed SELECT leaves nothing selected
    r = c.cmd("SELECT nothing", expect="NO")
    assert r.lines == ["* OK [CLOSED] Previous mailbox closed"]
    assert "[NONEXISTENT]" in r.tagged
    c.cmd("UNSELECT", expect="BAD")
    r = c.cmd("SELECT Drafts")
    assert not [l for l in r.lines if "[CLOSED]" in l]
    assert "\\Drafts" in [l for l in r.lines if l.startswith("* LIST")][0]


def test_select_condstore(login):
    c = login()
    fill(c, "INBOX", 1)
    r = c.cmd("SELECT INBOX (CONDSTORE)")
    assert int(code(r, "HIGHESTMODSEQ")) > 0
    r = c.cmd("SELECT INBOX (QRESYNC (1 1))", expect="BAD")  # not enabled


# --- EXPUNGE, CLOSE ----------------------------------------------------------

def test_expunge_seen_by_second_session(login):
    a = login()
    b = login()
    fill(a, "INBOX", 5, flags=["", "\\Deleted", "", "\\Deleted", "\\Deleted"])
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    r = a.cmd("EXPUNGE")
    # descending, each number valid when sent
    assert r.of("EXPUNGE") == ["* 5 EXPUNGE", "* 4 EXPUNGE", "* 2 EXPUNGE"], r
    r = b.cmd("NOOP")
    assert r.of("EXPUNGE") == ["* 5 EXPUNGE", "* 4 EXPUNGE", "* 2 EXPUNGE"], r
    r = a.cmd("EXPUNGE")
    assert not r.of("EXPUNGE")
    st = status_of(b.cmd("STATUS INBOX (MESSAGES DELETED)"))["INBOX"]
    assert st == {"MESSAGES": 2, "DELETED": 0}
    # new mail and numbering stay consistent afterwards
    r = a.append("INBOX", msg(6), flags="\\Deleted")
    assert "* 3 EXISTS" in r.lines, r
    r = b.cmd("NOOP")
    assert "* 3 EXISTS" in r.lines, r
    r = b.cmd("EXPUNGE")
    assert r.of("EXPUNGE") == ["* 3 EXPUNGE"]
    r = a.cmd("NOOP")
    assert r.of("EXPUNGE") == ["* 3 EXPUNGE"], r


def test_uid_expunge(login):
    a = login()
    uids = fill(a, "INBOX", 4, flags=["\\Deleted"] * 4)
    a.cmd("SELECT INBOX")
    r = a.cmd("UID EXPUNGE %d,%d:%d" % (uids[0], uids[2], uids[3] + 100))
    assert r.of("EXPUNGE") == ["* 4 EXPUNGE", "* 3 EXPUNGE", "* 1 EXPUNGE"]
    r = a.cmd("UID EXPUNGE 9999")                  # nothing there
    assert not r.of("EXPUNGE")
    a.cmd("UID EXPUNGE", expect="BAD")
    a.cmd("UID EXPUNGE 0", expect="BAD")
    a.cmd("EXPUNGE 1", expect="BAD")
    st = status_of(a.cmd("STATUS INBOX (MESSAGES)"))
    assert st["INBOX"]["MESSAGES"] == 1


def test_expunge_with_qresync_sends_vanished(login):
    a = login(qresync=True)
    b = login(rev2=True, qresync=True)
    uids = fill(a, "INBOX", 3, flags=["\\Deleted", "", "\\Deleted"])
    a.cmd("SELECT INBOX")
    b.cmd("SELECT INBOX")
    r = a.cmd("EXPUNGE")
    assert r.of("VANISHED") == ["* VANISHED %d,%d" % (uids[2], uids[0])] or \
        r.of("VANISHED") == ["* VANISHED %d,%d" % (uids[0], uids[2])], r
    assert not r.of("EXPUNGE")
    assert code(r, "HIGHESTMODSEQ"), r
    r = b.cmd("NOOP")
    assert len(r.of("VANISHED")) == 1 and not r.of("EXPUNGE"), r


def test_close_expunges_silently_unselect_and_examine_do_not(login):
    c = login()
    fill(c, "Trash", 3, flags=["\\Deleted", "", "\\Deleted"])
    c.cmd("EXAMINE Trash")
    r = c.cmd("CLOSE")
    assert not r.lines
    assert status_of(c.cmd("STATUS Trash (MESSAGES)"))["Trash"] == \
        {"MESSAGES": 3}
    c.cmd("SELECT Trash")
    c.cmd("UNSELECT")
    assert status_of(c.cmd("STATUS Trash (MESSAGES)"))["Trash"] == \
        {"MESSAGES": 3}
    c.cmd("SELECT Trash")
    r = c.cmd("CLOSE")
    assert not r.of("EXPUNGE"), r
    assert status_of(c.cmd("STATUS Trash (MESSAGES)"))["Trash"] == \
        {"MESSAGES": 1}
    c.cmd("CLOSE", expect="BAD")
    c.cmd("EXPUNGE", expect="BAD")


# --- QRESYNC ------------------------------------------------------------------

def test_select_qresync_vanished_earlier_and_changes(login):
    a = login(qresync=True)
    uids = fill(a, "INBOX", 6, flags=["", "\\Deleted", "", "\\Deleted", "",
                                      ""])
    r = a.cmd("SELECT INBOX")
    validity = int(code(r, "UIDVALIDITY"))
    modseq = int(code(r, "HIGHESTMODSEQ"))
    a.cmd("UNSELECT")
    # meanwhile: two expunged, one new message
    b = login()
    b.cmd("SELECT INBOX")
    b.cmd("EXPUNGE")
    b.cmd("UID STORE %d +FLAGS.SILENT (\\Answered $Done)" % uids[4])
    new_uid = fill(b, "INBOX", 1)[0]
    r = a.cmd("SELECT INBOX (QRESYNC (%d %d))" % (validity, modseq))
    assert r.of("VANISHED") == ["* VANISHED (EARLIER) %d,%d" % (
        uids[1], uids[3])], r
    fetch = r.of("FETCH")
    assert len(fetch) == 2, r
    assert re.match(r"\* 3 FETCH \(UID %d FLAGS \(\\Answered \$Done\) "
                    r"MODSEQ \(\d+\)\)$" % uids[4], fetch[0]), fetch
    assert re.match(r"\* 5 FETCH \(UID %d FLAGS \(\) MODSEQ \(\d+\)\)$"
                    % new_uid, fetch[1]), fetch
    assert r.lines.index(r.of("VANISHED")[0]) < r.lines.index(fetch[0])
    # known UIDs narrow the VANISHED set
    r = a.cmd("SELECT INBOX (QRESYNC (%d %d %d:%d))" % (
        validity, modseq, uids[2], uids[5]))
    assert r.lines[0] == "* OK [CLOSED] Previous mailbox closed"
    assert r.of("VANISHED") == ["* VANISHED (EARLIER) %d" % uids[3]], r
    fetch = r.of("FETCH")                  # new_uid is not a known UID
    assert len(fetch) == 1 and "UID %d " % uids[4] in fetch[0], r
    # nothing changed since now
    hms = int(code(r, "HIGHESTMODSEQ"))
    r = a.cmd("EXAMINE INBOX (QRESYNC (%d %d))" % (validity, hms))
    assert not r.of("VANISHED") and not r.of("FETCH")
    # another UIDVALIDITY: the client must start over, no resync data
    r = a.cmd("SELECT INBOX (QRESYNC (%d 1))" % (validity + 1))
    assert not r.of("VANISHED") and not r.of("FETCH")
    a.cmd("SELECT INBOX (QRESYNC (%d))" % validity, expect="BAD")


def test_qresync_select_large_output_in_chunks(login):
    """Every message changed: the FETCH lines exceed one output chunk
    (IMAP_OUT_CHUNK, 256 KiB), so SELECT answers in several parts."""
    a = login(qresync=True)
    r = a.cmd("SELECT Archive")
    validity = int(code(r, "UIDVALIDITY"))
    n = 700
    flags = " ".join(["\\Seen \\Flagged \\Answered \\Draft"] +
                     ["$Keyword_number_%02d_with_a_long_name" % i
                      for i in range(10)])
    for k in range(0, n, 175):       # under the parser's args_max
        data = b"".join(b" (%s) {%d+}\r\n" % (flags.encode(),
                                                len(msg(i))) + msg(i)
                        for i in range(k, k + 175))
        a.send(b"M APPEND Archive" + data + b"\r\n")
        r = a.finish(b"M")
        assert r.status == "OK", r
    r = a.cmd("SELECT Archive (QRESYNC (%d 1))" % validity)
    assert sum(len(l) for l in r.lines) > 256 * 1024
    assert len(r.of("FETCH")) == n
    seqs = [int(l.split()[1]) for l in r.of("FETCH")]
    assert seqs == list(range(1, n + 1))
    assert all("$Keyword_number_09_with_a_long_name" in l
               for l in r.of("FETCH"))
    assert r.tagged.startswith("OK [READ-WRITE]")


# --- names: modified UTF-7 and UTF-8 --------------------------------------

@pytest.mark.embedded_only
def test_mutf7_and_utf8_names(login, srv, user):
    rev1 = login()
    rev1.cmd('CREATE "&AOQ-pfel/Bl&AOQ-tter"')        # Äpfel/Blätter
    r = rev1.cmd('LIST "" "&AOQ-pfel/*"')
    assert list(list_names(r)) == ["&AOQ-pfel/Bl&AOQ-tter"]
    rev1.cmd('CREATE "&-and"')                          # "&and"
    utf = login(utf8=True)
    names = list_names(utf.cmd('LIST "" "*"'))
    assert "äpfel/Blätter" in names and "&and" in names
    assert "äpfel" in names                            # its parent
    utf.cmd('CREATE "Ünïcode ✓"')
    r = rev1.cmd('LIST "" "&ANw-n&AO8-code *"')
    assert list(list_names(r)) == ["&ANw-n&AO8-code &JxM-"]
    rev2 = login(rev2=True)
    r = rev2.cmd('STATUS "äpfel/Blätter" (MESSAGES)')
    assert '* STATUS "äpfel/Blätter" (MESSAGES 0)' in r.lines or \
        "* STATUS äpfel/Blätter (MESSAGES 0)" in r.lines, r
    r = rev1.cmd('SELECT "&AOQ-pfel/Bl&AOQ-tter"')
    r = rev1.cmd('RENAME "&AOQ-pfel/Bl&AOQ-tter" "&AOQ-pfel/Bl&APY-de"')
    assert "äpfel/Blöde" in list_names(utf.cmd('LIST "" "*"'))
    # on disk: Maildir++ with each level in modified UTF-7
    root = srv.maildir(user[0])
    assert os.path.isdir(os.path.join(root, ".&AOQ-pfel.Bl&APY-de", "cur"))
    # bad modified UTF-7 from a rev1 client, 8-bit names from it too
    rev1.cmd('CREATE "&Jjo"', expect="BAD")
    rev1.cmd('CREATE "&AGE-"', expect="BAD")        # "a" must not be shifted
    rev1.cmd('CREATE "caf\xc3\xa9"'.encode("latin-1"), expect="BAD")


# --- pipelining -------------------------------------------------------------

def test_pipelined_mailbox_commands(make_tem):
    """Thirty commands in one write: each runs once, in order, and the
    server stays clean (its own server: a crash must not take the others
    down)."""
    tem = make_tem(services=("smtp", "imap"),
                   users={"p@a.test": "pw-p-Secret1"},
                   extra_conf={"auth_allow_cleartext": "yes"})
    c = Imap(tem.ports["imap"])
    try:
        c.cmd('LOGIN p@a.test "pw-p-Secret1"')
        c.send(b"".join(b"P%d CREATE f%d\r\nQ%d STATUS f%d (MESSAGES)\r\n"
                        % (i, i, i, i) for i in range(30)))
        for i in range(30):
            assert c.finish(b"P%d" % i).status == "OK"
            r = c.finish(b"Q%d" % i)
            assert r.status == "OK" and r.lines == [
                "* STATUS f%d (MESSAGES 0)" % i], r
        names = list_names(c.cmd('LIST "" "f*"'))
        assert len(names) == 30
    finally:
        c.close()
