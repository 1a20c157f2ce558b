"""IMAP ACL (RFC 4314, RIGHTS=texk), the other users' namespace
"shared/<owner>/<folder>" and LIST-MYRIGHTS (RFC 8440), with two or three
real users: sharing a folder, reading it, each right enforced (NO
[NOPERM]), a revoke taking effect at once, the owner's changes seen by the
other session, names that try to reach elsewhere, and the ACL surviving a
restart.

One server for the module; each test takes fresh users, so the tests do
not see each other's folders or shares."""

import imaplib
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402
from temserver import module_server, natural_key, send_mail  # noqa: E402

USERS = {"u%d@a.test" % i: "pw-u%d-Secret" % i for i in range(1, 91)}
_order = iter(sorted(USERS, key=lambda a: int(re.sub(r"\D", "",
                                                      a.split("@")[0]))))
MSG = (b"From: <a@b.test>\r\nTo: <u@a.test>\r\nSubject: s%d\r\n"
       b"Message-ID: <%d@b.test>\r\n\r\nBody %d.\r\n")


@pytest.fixture(scope="module")
def srv():
    yield from module_server(services=("smtp", "imap"), users=USERS,
                             extra_conf={"auth_allow_cleartext": "yes"})


@pytest.fixture
def users(srv):
    """users(n) -> n logged-in (address, raw client) pairs of fresh users."""
    conns = []

    def make(n):
        out = []
        for _ in range(n):
            addr = next(_order)
            c = imapclient.Imap(srv.ports["imap"], text=True)
            conns.append(c)
            c.cmd('LOGIN %s "%s"' % (addr, USERS[addr]))
            out.append((addr, c))
        return out

    yield make
    for c in conns:
        c.close()


def login(srv, addr):
    c = imapclient.Imap(srv.ports["imap"], text=True)
    c.cmd('LOGIN %s "%s"' % (addr, USERS[addr]))
    return c


def imaplib_login(srv, addr):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.login(addr, USERS[addr])
    return m


def msg(i):
    return MSG % (i, i, i)


def list_names(resp):
    """{name: attributes} of the LIST lines."""
    out = {}
    for l in resp.of("LIST"):
        m = re.match(r'\* LIST \(([^)]*)\) "/" (.*)$', l)
        assert m, l
        out[m.group(2).strip('"')] = m.group(1).split()
    return out


def flags_of(c, seq):
    """The flags of message seq, without the session's \\Recent."""
    r = c.cmd("FETCH %d (FLAGS)" % seq)
    m = re.match(r"\* %d FETCH \(FLAGS \(([^)]*)\)\)$" % seq, r.lines[-1])
    assert m, r
    return set(m.group(1).split()) - {"\\Recent"}


def share(owner, folder, other_addr, rights, n=1):
    """The owner creates folder with n messages and grants rights."""
    owner.cmd('CREATE "%s"' % folder)
    for i in range(n):
        owner.append('"%s"' % folder, msg(i + 1))
    owner.cmd('SETACL "%s" %s %s' % (folder, other_addr, rights))


def test_capability_and_namespace(users):
    (_, c), = users(1)
    caps = c.cmd("CAPABILITY").of("CAPABILITY")[0].split()
    for cap in ("ACL", "RIGHTS=texk", "LIST-MYRIGHTS"):
        assert cap in caps
    r = c.cmd("NAMESPACE")
    assert r.lines == ['* NAMESPACE (("" "/")) (("shared/" "/")) NIL']


def test_share_and_read_with_imaplib(srv, users):
    """The whole flow with Python's own client on both sides."""
    (a_addr, _), (b_addr, _) = users(2)
    a = imaplib_login(srv, a_addr)
    b = imaplib_login(srv, b_addr)
    try:
        assert a.create("Team")[0] == "OK"
        assert a.append("Team", None, None, msg(1))[0] == "OK"
        typ, _ = a.setacl("Team", b_addr, "lr")
        assert typ == "OK"
        typ, dat = a.getacl("Team")
        assert typ == "OK"
        assert dat[0].decode() == "Team %s lrswipkxteacd %s lr" % (
            a_addr, b_addr)
        box = "shared/%s/Team" % a_addr
        typ, dat = b.list("shared/", "*")
        names = [d.decode() for d in dat]
        assert '(\\HasNoChildren) "/" %s' % box in names, names
        typ, dat = b.myrights(box)
        assert typ == "OK" and dat[0].decode() == "%s lr" % box
        typ, dat = b.select(box, readonly=True)
        assert typ == "OK" and dat == [b"1"]
        typ, dat = b.fetch("1", "(BODY[])")
        assert typ == "OK" and dat[0][1] == msg(1)
        # "lr" only: no \Seen was kept for the owner
        a.select("Team")
        typ, dat = a.fetch("1", "(FLAGS)")
        assert b"\\Seen" not in dat[0]
        # revoke: the next command of the other session is refused
        assert a.deleteacl("Team", b_addr)[0] == "OK"
        typ, dat = b.fetch("1", "(BODY.PEEK[])")
        assert typ == "NO" and dat[0].startswith(b"[NOPERM]"), dat
        b.close()
        typ, dat = b.select(box, readonly=True)
        assert typ == "NO"
        typ, dat = b.list("shared/", "*")
        assert dat == [None]
    finally:
        a.logout()
        b.logout()


def test_rights_enforced(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Proj", b_addr, "lrs", n=2)
    box = '"shared/%s/Proj"' % a_addr
    r = b.cmd("SELECT " + box)
    assert "[READ-WRITE]" in r.tagged
    assert "* 2 EXISTS" in r.lines
    b.cmd("STORE 1 +FLAGS (\\Seen)")
    for what in ("\\Flagged", "\\Deleted", "$label"):
        r = b.cmd("STORE 1 +FLAGS (%s)" % what, expect="NO")
        assert "[NOPERM]" in r.tagged, (what, r)
    r = b.cmd("STORE 1 FLAGS (\\Seen)", expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.cmd("EXPUNGE", expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.cmd("MOVE 1 INBOX", expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.append(box, msg(9), expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.cmd("COPY 2 " + box, expect="NO")
    assert "[NOPERM]" in r.tagged
    # copy out of the shared folder into the user's own INBOX
    r = b.cmd("COPY 1:2 INBOX")
    assert "[COPYUID" in r.tagged
    # the owner sees b's \Seen
    a.cmd("SELECT Proj")
    assert "\\Seen" in a.cmd("FETCH 1 (FLAGS)").lines[0]
    # more rights: i w t e
    a.cmd("SETACL Proj %s +itwe" % b_addr)
    b.append(box, msg(3), flags="\\Flagged")
    b.cmd("STORE 1 +FLAGS (\\Deleted $label)")
    r = b.cmd("EXPUNGE")
    assert "* 1 EXPUNGE" in r.lines
    r = a.cmd("NOOP")
    assert "* 1 EXPUNGE" in r.lines
    r = a.cmd("FETCH 2 (FLAGS)")
    assert "\\Flagged" in r.lines[-1], r
    # b may look up and read, not administer
    r = b.cmd("GETACL " + box, expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.cmd("SETACL %s %s lrswipkxtea" % (box, b_addr), expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.cmd("MYRIGHTS " + box)
    assert r.lines == ["* MYRIGHTS %s lrswited" % box.strip('"')]


@pytest.mark.embedded_only
def test_failed_copy_across_users_leaves_no_trace(srv, users):
    """COPY out of a shared folder is all or nothing: a message that
    vanished on disk fails it, and the one copied before is taken back."""
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Cp", b_addr, "lr", n=2)
    b.cmd('EXAMINE "shared/%s/Cp"' % a_addr)
    cur = os.path.join(srv.maildir(a_addr, ".Cp"), "cur")
    # the newer file (tem's own order: mtime, then numbers as numbers)
    files = sorted(os.listdir(cur), key=lambda n: (
        os.stat(os.path.join(cur, n)).st_mtime_ns, natural_key(n)))
    os.unlink(os.path.join(cur, files[-1]))
    r = b.cmd("COPY 1:2 INBOX", expect="NO")
    assert "[EXPUNGEISSUED]" in r.tagged, r
    r = b.cmd("STATUS INBOX (MESSAGES)")
    assert r.lines == ["* STATUS INBOX (MESSAGES 0)"], r
    b.cmd("COPY 1 INBOX")
    assert b.cmd("STATUS INBOX (MESSAGES)").lines == [
        "* STATUS INBOX (MESSAGES 1)"]


def test_read_only_without_write_rights(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Ro", b_addr, "lr")
    box = '"shared/%s/Ro"' % a_addr
    r = b.cmd("SELECT " + box)
    assert "[READ-ONLY]" in r.tagged
    b.cmd("FETCH 1 BODY[]")
    a.cmd("SELECT Ro")
    assert "\\Seen" not in a.cmd("FETCH 1 (FLAGS)").lines[0]
    r = b.cmd("STATUS %s (MESSAGES UNSEEN)" % box)
    assert r.lines[0].endswith("(MESSAGES 1 UNSEEN 1)")
    # an IMAP4rev2 client gets the LIST line under the name it used
    b.cmd("ENABLE IMAP4rev2")
    r = b.cmd("EXAMINE " + box)
    assert '* LIST () "/" %s' % box.strip('"') in r.lines, r


def test_owner_changes_reach_the_other_session(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Live", b_addr, "lrs")
    b.cmd('SELECT "shared/%s/Live"' % a_addr)
    a.append("Live", msg(2))
    a.cmd("SELECT Live")
    a.cmd("STORE 1 +FLAGS (\\Flagged)")
    r = b.cmd("NOOP")
    assert "* 2 EXISTS" in r.lines, r
    assert any(l.startswith("* 1 FETCH") and "\\Flagged" in l
               for l in r.lines), r
    # IDLE wakes up for the owner's change too
    tag = b"I1"
    b.send(tag + b" IDLE\r\n")
    assert b.response_line().startswith(b"+")
    a.append("Live", msg(3))
    line = b.response_line()
    assert line == b"* 3 EXISTS", line
    b.send(b"DONE\r\n")
    b.finish(tag)


def test_delivery_into_a_shared_inbox(srv, users):
    (a_addr, a), (b_addr, b) = users(2)
    a.cmd("SETACL INBOX %s lr" % b_addr)
    r = b.cmd('EXAMINE "shared/%s/INBOX"' % a_addr)
    assert "* 0 EXISTS" in r.lines
    send_mail(srv.smtp_port, "x@b.test", [a_addr], msg(7))
    b.send(b"I1 IDLE\r\n")
    assert b.response_line().startswith(b"+")
    assert b.response_line() == b"* 1 EXISTS"
    b.send(b"DONE\r\n")
    b.finish(b"I1")
    r = b.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert "Subject: s7" in r.lines[0]


def test_append_keeps_only_allowed_flags(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Drop", b_addr, "lri", n=0)
    b.append('"shared/%s/Drop"' % a_addr, msg(1),
             flags="\\Seen \\Flagged \\Deleted $x")
    a.cmd("SELECT Drop")
    assert flags_of(a, 1) == set()
    a.cmd("SETACL Drop %s +st" % b_addr)
    b.append('"shared/%s/Drop"' % a_addr, msg(2),
             flags="\\Seen \\Flagged \\Deleted $x")
    a.cmd("NOOP")
    assert flags_of(a, 2) == {"\\Seen", "\\Deleted"}


def test_subscribe_to_a_shared_folder(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Sub", b_addr, "lr", n=0)
    box = "shared/%s/Sub" % a_addr
    b.cmd('SUBSCRIBE "%s"' % box)
    names = list_names(b.cmd('LIST (SUBSCRIBED) "" "shared/*"'))
    assert names[box] == ["\\HasNoChildren", "\\Subscribed"]
    assert b.cmd('LSUB "" "shared/*"').lines == ['* LSUB () "/" ' + box]
    a.cmd("DELETEACL Sub %s" % b_addr)
    names = list_names(b.cmd('LIST (SUBSCRIBED) "" "shared/*"'))
    assert list(names) == [box]
    assert {"\\NonExistent", "\\Subscribed"} <= set(names[box])


def test_revoke_takes_effect(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Gone", b_addr, "lrs")
    box = '"shared/%s/Gone"' % a_addr
    b.cmd("SELECT " + box)
    b.cmd("FETCH 1 (FLAGS)")
    a.cmd("SETACL Gone %s -r" % b_addr)
    r = b.cmd("FETCH 1 (FLAGS)", expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.cmd("UID SEARCH ALL", expect="NO")
    assert "[NOPERM]" in r.tagged
    # nor do the owner's changes reach it any more
    a.append("Gone", msg(2))
    assert b.cmd("NOOP").lines == []
    b.cmd("UNSELECT")
    # still "l": seen, but not allowed
    r = b.cmd("SELECT " + box, expect="NO")
    assert "[NOPERM]" in r.tagged
    a.cmd("DELETEACL Gone %s" % b_addr)
    r = b.cmd("SELECT " + box, expect="NO")
    assert "[NONEXISTENT]" in r.tagged
    assert list_names(b.cmd('LIST "" "*"')).keys() == \
        {"INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash"}


def test_anyone_and_list_myrights(users):
    (a_addr, a), (b_addr, b), (c_addr, c) = users(3)
    a.cmd("CREATE Pub/Sub")
    a.cmd("SETACL Pub/Sub anyone lr")
    a.cmd('SETACL INBOX %s lrs' % c_addr)
    for who in (b, c):
        names = list_names(who.cmd('LIST "" "*"'))
        assert names["shared"] == ["\\Noselect", "\\HasChildren"]
        assert names["shared/" + a_addr] == ["\\Noselect", "\\HasChildren"]
        assert names["shared/%s/Pub" % a_addr] == ["\\Noselect",
                                                   "\\HasChildren"]
        assert names["shared/%s/Pub/Sub" % a_addr] == ["\\HasNoChildren"]
    assert "shared/%s/INBOX" % a_addr not in list_names(
        b.cmd('LIST "" "*"'))
    r = c.cmd('LIST "" "*" RETURN (MYRIGHTS)')
    rights = dict(l.rsplit(" ", 1) for l in r.of("MYRIGHTS"))
    assert rights["* MYRIGHTS INBOX"] == "lrswipkxteacd"
    assert rights["* MYRIGHTS shared/%s/INBOX" % a_addr] == "lrs"
    assert rights["* MYRIGHTS shared/%s/Pub/Sub" % a_addr] == "lr"
    assert "* MYRIGHTS shared" not in rights
    # LIST-EXTENDED with STATUS on a shared folder
    r = c.cmd('LIST "shared/" "%%/INBOX" RETURN (STATUS (MESSAGES))')
    assert r.of("STATUS") == ["* STATUS shared/%s/INBOX (MESSAGES 0)" %
                              a_addr]


def test_acl_commands(users):
    (a_addr, a), (b_addr, b) = users(2)
    a.cmd("CREATE Box")
    r = a.cmd("MYRIGHTS Box")
    assert r.lines == ["* MYRIGHTS Box lrswipkxteacd"]
    r = a.cmd("LISTRIGHTS Box %s" % b_addr)
    assert r.lines == ['* LISTRIGHTS Box %s "" l r s w i p k x t e a c d'
                       % b_addr]
    r = a.cmd("LISTRIGHTS Box %s" % a_addr)
    assert r.lines == ["* LISTRIGHTS Box %s lrswipkxteacd" % a_addr]
    a.cmd("SETACL Box %s lr" % b_addr.upper())     # any case: canonical
    a.cmd("SETACL Box %s +wc" % b_addr)
    a.cmd("SETACL Box %s -r" % b_addr)
    r = a.cmd("GETACL Box")
    assert r.lines == ["* ACL Box %s lrswipkxteacd %s lwkxc" %
                       (a_addr, b_addr)]
    a.cmd("SETACL Box anyone d")
    r = a.cmd("GETACL Box")
    assert r.lines == ["* ACL Box %s lrswipkxteacd anyone ted %s lwkxc" %
                       (a_addr, b_addr)]
    r = a.cmd("SETACL Box %s lrz" % b_addr, expect="BAD")
    r = a.cmd("SETACL Box nobody@a.test r", expect="NO")
    r = a.cmd("SETACL Box %s r" % a_addr, expect="NO")
    r = a.cmd("SETACL Nope %s r" % b_addr, expect="NO")
    assert "[NONEXISTENT]" in r.tagged
    a.cmd("DELETEACL Box anyone")
    a.cmd("SETACL Box %s \"\"" % b_addr)
    assert a.cmd("GETACL Box").lines == ["* ACL Box %s lrswipkxteacd" %
                                         a_addr]


def test_rename_follows_delete_drops(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Old", b_addr, "lr")
    a.cmd("CREATE Old/Kid")
    a.cmd("SETACL Old/Kid %s lr" % b_addr)
    a.cmd("RENAME Old New")
    names = list_names(b.cmd('LIST "shared/" "*"'))
    assert "shared/%s/New" % a_addr in names
    assert "shared/%s/New/Kid" % a_addr in names
    assert "shared/%s/Old" % a_addr not in names
    b.cmd('EXAMINE "shared/%s/New"' % a_addr)
    a.cmd("DELETE New/Kid")
    a.cmd("CREATE New/Kid")     # a new folder of that name: not shared
    names = list_names(b.cmd('LIST "shared/" "*"'))
    assert "shared/%s/New/Kid" % a_addr not in names
    # a shared folder cannot move to another user; the namespace is
    # reserved
    r = b.cmd('RENAME "shared/%s/New" Mine' % a_addr, expect="NO")
    r = a.cmd('RENAME New "shared/%s/New"' % b_addr, expect="NO")
    r = a.cmd("CREATE shared", expect="NO")
    r = a.cmd("CREATE shared/x", expect="NO")
    assert "[NOPERM]" in r.tagged


def test_create_and_delete_inside_a_shared_folder(users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Top", b_addr, "lrk")
    b.cmd('CREATE "shared/%s/Top/Made"' % a_addr)
    assert "Top/Made" in list_names(a.cmd('LIST "" "*"'))
    # the child got the parent's ACL: b sees it, but has no "x"
    r = b.cmd('DELETE "shared/%s/Top/Made"' % a_addr, expect="NO")
    assert "[NOPERM]" in r.tagged
    r = b.cmd('CREATE "shared/%s/Else"' % a_addr, expect="NO")
    assert "[NOPERM]" in r.tagged
    # RENAME needs "x" on the folder and "k" on the new parent
    r = b.cmd('RENAME "shared/%s/Top/Made" "shared/%s/Top/Done"' %
              (a_addr, a_addr), expect="NO")
    assert "[NOPERM]" in r.tagged
    a.cmd("SETACL Top/Made %s +x" % b_addr)
    b.cmd("SELECT \"shared/%s/Top/Made\"" % a_addr)
    b.cmd('RENAME "shared/%s/Top/Made" "shared/%s/Top/Done"' %
          (a_addr, a_addr))
    names = list_names(a.cmd('LIST "" "Top/*"'))
    assert list(names) == ["Top/Done"]
    r = b.cmd('RENAME "shared/%s/Top/Done" "shared/%s/Out"' %
              (a_addr, a_addr), expect="NO")
    assert "[NOPERM]" in r.tagged
    # the ACL went along: b still holds "x" there; deleting the folder
    # b has selected deselects it first (no BYE)
    b.cmd('DELETE "shared/%s/Top/Done"' % a_addr)
    r = b.cmd("FETCH 1 FLAGS", expect="BAD")
    assert "No mailbox selected" in r.tagged
    assert "Top/Done" not in list_names(a.cmd('LIST "" "*"'))


@pytest.mark.embedded_only
def test_names_that_try_to_reach_elsewhere(srv, users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Sec", b_addr, "lr")
    a.cmd("CREATE Private")
    a.append("Private", msg(1))
    local, _ = a_addr.split("@")
    for name in ("shared/%s/Private" % a_addr,
                 "shared/%s/INBOX" % a_addr,
                 "shared/%s/Sec/../Private" % a_addr,
                 "shared/%s/../Private" % a_addr,
                 "shared/../%s/Private" % local,
                 "shared/%s/Sec/.." % a_addr,
                 "shared/%s" % a_addr,
                 "shared",
                 "shared/nobody@a.test/INBOX",
                 "shared/%s/Private" % b_addr):
        r = b.cmd('SELECT "%s"' % name, expect=None)
        assert r.status in ("NO", "BAD"), (name, r)
        assert "NONEXISTENT" in r.tagged or r.status == "BAD", (name, r)
        r = b.cmd('STATUS "%s" (MESSAGES)' % name, expect=None)
        assert r.status in ("NO", "BAD") and not r.of("STATUS"), (name, r)
    # the owner's address in any case reaches the same shared folder
    r = b.cmd('EXAMINE "shared/%s/Sec"' % a_addr.upper())
    assert "* 1 EXISTS" in r.lines
    # nothing outside data_dir/mail was created
    assert not os.path.exists(os.path.join(srv.data_dir, "Private"))


@pytest.mark.embedded_only
def test_acl_survives_a_restart(srv, users):
    (a_addr, a), (b_addr, b) = users(2)
    share(a, "Keep", b_addr, "lrs")
    a.close()
    b.close()
    srv.restart()
    b = login(srv, b_addr)
    try:
        r = b.cmd('MYRIGHTS "shared/%s/Keep"' % a_addr)
        assert r.lines[0].endswith(" lrs")
        b.cmd('SELECT "shared/%s/Keep"' % a_addr)
    finally:
        b.close()
    assert os.path.exists(os.path.join(srv.data_dir, "acl.sqlite"))


def test_negative_rights_with_imaplib(srv, users):
    """RFC 4314 2: "-ident" rights are taken away from what ident and
    anyone grant: SETACL and DELETEACL take them, GETACL lists them,
    MYRIGHTS, LIST and every command see what is left."""
    (a_addr, a), (b_addr, b), (c_addr, c) = users(3)
    share(a, "Team", "anyone", "lrs", n=1)
    m = imaplib_login(srv, a_addr)
    assert m.setacl("Team", "-" + b_addr.upper(), "r")[0] == "OK"
    typ, dat = m.getacl("Team")
    assert typ == "OK" and dat == [
        ("Team %s lrswipkxteacd -%s r anyone lrs" % (a_addr, b_addr)
         ).encode()], dat
    assert a.cmd("LISTRIGHTS Team -%s" % b_addr).lines == [
        '* LISTRIGHTS Team -%s "" l r s w i p k x t e a c d' % b_addr]
    # b keeps l and s, lost r: listed, not readable
    box = "shared/%s/Team" % a_addr
    assert b.cmd("MYRIGHTS %s" % box).lines == ["* MYRIGHTS %s ls" % box]
    assert box in list_names(b.cmd('LIST "" "*"'))
    r = b.cmd("SELECT %s" % box, expect="NO")
    assert "[NOPERM]" in r.tagged, r
    assert c.cmd("MYRIGHTS %s" % box).lines == ["* MYRIGHTS %s lrs" % box]
    c.cmd("SELECT %s" % box)
    # "-anyone" reaches everyone; with l gone the folder is not listed
    assert m.setacl("Team", "-anyone", "+l")[0] == "OK"
    assert box not in list_names(c.cmd('LIST "" "*"'))
    assert c.cmd("MYRIGHTS %s" % box).lines == ["* MYRIGHTS %s rs" % box]
    # the owner keeps everything and cannot lose it
    typ, dat = m.myrights("Team")
    assert dat == [b"Team lrswipkxteacd"], dat
    assert m._simple_command("SETACL", "Team", "-" + a_addr, "r")[0] == "NO"
    # DELETEACL of the negative entries gives the rights back
    assert m.deleteacl("Team", "-anyone")[0] == "OK"
    assert m.deleteacl("Team", "-" + b_addr)[0] == "OK"
    assert b.cmd("MYRIGHTS %s" % box).lines == ["* MYRIGHTS %s lrs" % box]
    b.cmd("SELECT %s" % box)
    m.logout()
