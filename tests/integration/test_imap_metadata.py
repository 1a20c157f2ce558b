"""METADATA and METADATA-SERVER (RFC 5464): GETMETADATA (MAXSIZE, DEPTH)
and SETMETADATA on mailboxes and on the server (""), /private and
/shared entries kept per user (they survive a restart, follow RENAME and
go with DELETE), at most 64 KiB a value (NO [METADATA MAXSIZE 65536]),
and a per-user limit (NO [METADATA TOOMANY]).
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402
from imapclient import parse_list  # noqa: E402

USERS = {"m%d@a.test" % i: "pw-m%d-Secret" % i for i in range(1, 40)}
srv, user, login = imapclient.imap_fixtures(USERS)


def metadata(resp):
    """(mailbox, {entry: value}) of the one METADATA line of resp."""
    lines = resp.of("METADATA")
    assert len(lines) == 1, resp
    m = re.match(rb'\* METADATA ("[^"]*"|\S+) ', lines[0])
    assert m, lines[0]
    items = parse_list(lines[0][m.end():])
    return (m.group(1).strip(b'"'),
            {items[i].decode(): items[i + 1]
             for i in range(0, len(items), 2)})


def test_capabilities(login):
    caps = login().cmd("CAPABILITY").of("CAPABILITY")[0].split()
    assert b"METADATA" in caps and b"METADATA-SERVER" in caps


def test_server_and_mailbox_entries(login):
    c = login()
    c.cmd('SETMETADATA "" (/shared/comment "Hello server")')
    c.cmd('SETMETADATA INBOX (/private/comment "mine" '
          '/shared/comment {5+}\r\nlit\r\n)')
    box, d = metadata(c.cmd('GETMETADATA "" /shared/comment'))
    assert box == b"" and d == {"/shared/comment": b"Hello server"}
    box, d = metadata(c.cmd("GETMETADATA INBOX (/private/comment "
                            "/shared/comment /shared/nothere)"))
    assert box == b"INBOX"
    assert d == {"/private/comment": b"mine", "/shared/comment": b"lit\r\n",
                 "/shared/nothere": None}
    # Entry names are case-insensitive; the server's are not INBOX's.
    assert metadata(c.cmd('GETMETADATA "" /SHARED/Comment'))[1] == \
        {"/shared/comment": b"Hello server"}
    assert metadata(c.cmd('GETMETADATA "" /private/comment'))[1] == \
        {"/private/comment": None}
    # NIL removes.
    c.cmd("SETMETADATA INBOX (/private/comment NIL)")
    assert metadata(c.cmd("GETMETADATA INBOX /private/comment"))[1] == \
        {"/private/comment": None}


def test_depth_and_maxsize(login):
    c = login()
    c.cmd('SETMETADATA "" (/private/a "1" /private/a/b "22" '
          '/private/a/b/c "333" /private/ab "x" /shared/a "s")')
    d = metadata(c.cmd('GETMETADATA "" (DEPTH 0) /private/a'))[1]
    assert d == {"/private/a": b"1"}
    d = metadata(c.cmd('GETMETADATA "" (DEPTH 1) /private/a'))[1]
    assert d == {"/private/a": b"1", "/private/a/b": b"22"}
    d = metadata(c.cmd('GETMETADATA (DEPTH infinity) "" /private/a'))[1]
    assert d == {"/private/a": b"1", "/private/a/b": b"22",
                 "/private/a/b/c": b"333"}
    d = metadata(c.cmd('GETMETADATA "" (DEPTH infinity) /private'))[1]
    assert set(d) == {"/private/a", "/private/a/b", "/private/a/b/c",
                      "/private/ab"}
    r = c.cmd('GETMETADATA "" (MAXSIZE 2 DEPTH infinity) /private/a')
    assert metadata(r)[1] == {"/private/a": b"1", "/private/a/b": b"22"}
    assert r.tagged.startswith("OK [METADATA LONGENTRIES 3]"), r.tagged


def test_value_limit(login):
    c = login()
    big = b"v" * 65536
    r = c.cmd(b"SETMETADATA INBOX (/private/big {65536+}\r\n" + big + b")")
    assert r.status == "OK"
    assert metadata(c.cmd("GETMETADATA INBOX /private/big"))[1] == \
        {"/private/big": big}
    # Over 64 KiB: NO, before the literal is read (synchronizing) ...
    c.send(b"S1 SETMETADATA INBOX (/private/big {65537}\r\n")
    line = c.response_line()
    assert line.startswith(b"S1 NO [METADATA MAXSIZE 65536]"), line
    c.cmd("NOOP")
    # ... or as the literal is skipped (non-synchronizing; the parser
    # then ends the session, as for any literal over its limit).
    r = c.cmd(b"SETMETADATA INBOX (/private/big {65537+}\r\n" + big +
              b"w)", expect="NO")
    assert r.tagged.startswith("NO [METADATA MAXSIZE 65536]"), r
    c = login()
    assert metadata(c.cmd("GETMETADATA INBOX /private/big"))[1] == \
        {"/private/big": big}


def test_binary_value_round_trips(login):
    c = login()
    value = b"a\x00b\r\nc\xff"
    c.cmd(b"SETMETADATA INBOX (/private/bin ~{%d+}\r\n" % len(value) +
          value + b")")
    r = c.cmd("GETMETADATA INBOX /private/bin")
    assert metadata(r)[1] == {"/private/bin": value}


def test_toomany(login):
    c = login()
    for k in range(10):
        args = " ".join('/private/k%d/e%d "v"' % (k, i) for i in range(100))
        c.cmd('SETMETADATA "" (%s)' % args)
    r = c.cmd('SETMETADATA INBOX (/private/one "more")', expect="NO")
    assert r.tagged.startswith("NO [METADATA TOOMANY]"), r
    # At the limit a value can still change, and an entry go.
    c.cmd('SETMETADATA "" (/private/k0/e0 "changed" /private/k0/e1 NIL)')
    c.cmd('SETMETADATA INBOX (/private/one "more")')


def test_bad_entries(login):
    c = login()
    for cmd in ('SETMETADATA INBOX (/other/x "v")',
                'SETMETADATA INBOX (/private "v")',
                'SETMETADATA INBOX (/private//x "v")',
                'SETMETADATA INBOX (/private/x/ "v")',
                'SETMETADATA INBOX (/private/a*b "v")',
                'SETMETADATA INBOX (/private/x "v" /private/y)',
                'GETMETADATA INBOX (/private/x%)',
                'GETMETADATA (DEPTH 2) INBOX /private/x',
                'GETMETADATA (MAXSIZE -1) INBOX /private/x',
                'GETMETADATA (COLOR 1) INBOX /private/x',
                'GETMETADATA INBOX',
                'SETMETADATA INBOX /private/x "v"'):
        r = c.cmd(cmd, expect="BAD")
        assert r.status == "BAD", (cmd, r)
    r = c.cmd('GETMETADATA nosuch /private/x', expect="NO")
    assert "[NONEXISTENT]" in r.tagged
    r = c.cmd('SETMETADATA nosuch (/private/x "v")', expect="NO")
    assert "[NONEXISTENT]" in r.tagged


@pytest.mark.embedded_only
def test_rename_delete_and_restart(srv, user, login):
    c = login()
    c.cmd("CREATE Work")
    c.cmd("CREATE Work/Sub")
    c.cmd('SETMETADATA Work (/private/comment "w")')
    c.cmd('SETMETADATA Work/Sub (/private/comment "ws")')
    c.cmd("RENAME Work Job")
    assert metadata(c.cmd("GETMETADATA Job /private/comment"))[1] == \
        {"/private/comment": b"w"}
    assert metadata(c.cmd("GETMETADATA Job/Sub /private/comment"))[1] == \
        {"/private/comment": b"ws"}
    c.cmd("DELETE Job/Sub")
    c.cmd("CREATE Job/Sub")
    assert metadata(c.cmd("GETMETADATA Job/Sub /private/comment"))[1] == \
        {"/private/comment": None}
    c.close()
    srv.restart()
    c = login()
    assert metadata(c.cmd("GETMETADATA Job /private/comment"))[1] == \
        {"/private/comment": b"w"}
    path = os.path.join(srv.maildir(user[0]), "imap-metadata.sqlite")
    assert os.path.exists(path)


def test_users_are_separate(srv, login):
    a = imapclient.Imap(srv.ports["imap"])
    a.cmd('LOGIN m38@a.test "pw-m38-Secret"')
    b = imapclient.Imap(srv.ports["imap"])
    b.cmd('LOGIN m39@a.test "pw-m39-Secret"')
    a.cmd('SETMETADATA "" (/shared/comment "of a")')
    assert metadata(b.cmd('GETMETADATA "" /shared/comment'))[1] == \
        {"/shared/comment": None}
    a.close()
    b.close()


def test_shared_admin_is_the_servers(login):
    """RFC 5464 3.2.1.1: /shared/admin is read-only, a URI to reach the
    administrator."""
    c = login()
    assert metadata(c.cmd('GETMETADATA "" /shared/admin'))[1] == \
        {"/shared/admin": b"mailto:postmaster@a.test"}
    r = c.cmd('SETMETADATA "" (/shared/admin "mailto:me@a.test")',
              expect="NO")
    assert "[NOPERM]" in r.tagged
    c.cmd('SETMETADATA "" (/shared/comment "c")')
    d = metadata(c.cmd('GETMETADATA "" (DEPTH 1) /shared'))[1]
    assert d == {"/shared/admin": b"mailto:postmaster@a.test",
                 "/shared/comment": b"c"}
    # a mailbox has no such entry of the server's
    c.cmd('SETMETADATA INBOX (/shared/admin "x")')
