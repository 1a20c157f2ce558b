"""test_pg_imap_extra - IMAP ACL (RFC 4314), METADATA (RFC 5464) and
QUOTA (RFC 9208) on PostgreSQL (store/mailbox_acl_pg.c, metadata_pg.c,
quota_pg.c) against a real PostgreSQL 15 (tests/lib/pgserver.py):

- the C unit tests (build/asan/tests/pg/test-pg-extra, which needs
  TEM_TEST_PG_DSN and is therefore run here, not in tests/run.sh's unit
  pass): one ACL script and one METADATA script played on the embedded
  files and on the database give the same transcript (rights, negative
  rights, shares, the identifier and entry limits, rename and delete),
  rows going with their account, and the usage pg_ms_usage counts;
- a real `tem serve` with storage = postgresql and imaplib clients:
  SETACL/GETACL/MYRIGHTS and a second user reading the shared folder,
  a revoke seen at the other session's next command; SETMETADATA and
  GETMETADATA from another session, carried by RENAME; GETQUOTAROOT's
  usage after APPENDs and NO [OVERQUOTA] past the limit;
- a second node on the same database: a grant and a revoke made on node
  1 are obeyed by a session on node 2 at its next command, metadata and
  the quota usage are the same from both.
"""

import imaplib
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from pgserver import pg_init_conf, pg_unit_check  # noqa: E402
from temserver import TemServer  # noqa: E402

USERS = {"x%d@a.test" % i: "pw-x%d-Secret" % i for i in range(1, 5)}
# imaplib knows no RFC 5464 commands: taught here
for _cmd in ("SETMETADATA", "GETMETADATA"):
    imaplib.Commands.setdefault(_cmd, ("AUTH", "SELECTED"))
MSG = (b"From: <a@b.test>\r\nTo: <x@a.test>\r\nSubject: s%d\r\n"
       b"Message-ID: <%d@b.test>\r\n\r\nBody %d.\r\n")


@pytest.fixture(scope="module")
def dsn(pg, tmp_path_factory):
    pg_init_conf(tmp_path_factory.mktemp("extra"), pg.dsn)
    return pg.dsn


@pytest.fixture(scope="module")
def srv(dsn):
    t = TemServer(users=USERS, services=("smtp", "imap"),
                  extra_conf={"storage": "postgresql",
                              "postgresql_dsn": dsn,
                              "auth_allow_cleartext": "yes"})
    with t:
        yield t


@pytest.fixture(scope="module")
def node2(srv, dsn):
    """A second node on the same database (accounts come from it)."""
    t = TemServer(users={}, domains=(), services=("imap",),
                  listen_addr="127.0.0.2",
                  extra_conf={"storage": "postgresql",
                              "postgresql_dsn": dsn,
                              "auth_allow_cleartext": "yes"})
    with t:
        yield t


def login(srv, addr):
    m = imaplib.IMAP4(srv.listen_addr, srv.ports["imap"])
    m.login(addr, USERS[addr])
    return m


def ok(r):
    typ, data = r
    assert typ == "OK", data
    return data


def msg(i):
    return MSG % (i, i, i)


def test_unit(dsn):
    pg_unit_check("test-pg-extra", dsn)


def test_acl_shared_folder(srv, pg):
    owner, other = "x1@a.test", "x2@a.test"
    a = login(srv, owner)
    ok(a.create("Proj"))
    ok(a.append("Proj", None, None, msg(1)))
    ok(a.setacl("Proj", other, "lrs"))
    acl = ok(a.getacl("Proj"))[0].decode()
    assert re.search(r"%s lrswipkxteacd" % re.escape(owner), acl), acl
    assert "%s lrs" % other in acl, acl
    assert pg.psql("SELECT a.rights FROM acl a JOIN mailboxes m ON m.id = "
                   "a.mailbox_id WHERE m.name = 'Proj' AND a.ident = "
                   "'%s'" % other) == "lrs"

    b = login(srv, other)
    name = "shared/%s/Proj" % owner
    r = ok(b.myrights(name))[0].decode()
    assert r.endswith(" lrs"), r
    listed = b"".join(ok(b.list('""', "shared/*")))
    assert name.encode() in listed, listed
    typ, data = b.select(name)
    assert typ == "OK" and data == [b"1"], data
    body = ok(b.fetch("1", "(BODY.PEEK[])"))
    assert b"Subject: s1" in body[0][1]
    # no t right: \Deleted refused
    typ, data = b.store("1", "+FLAGS", "(\\Deleted)")
    assert typ == "NO" and b"NOPERM" in data[0], data
    # the owner's revoke is seen at the other session's next command
    ok(a.deleteacl("Proj", other))
    typ, data = b.fetch("1", "(FLAGS)")
    assert typ == "NO", data
    assert pg.psql("SELECT count(*) FROM acl WHERE ident = '%s'" %
                   other) == "0"
    # RENAME keeps the folder's id, so its ACL follows
    ok(a.setacl("Proj", "anyone", "lr"))
    ok(a.rename("Proj", "Proj2"))
    r = ok(b.myrights("shared/%s/Proj2" % owner))[0].decode()
    assert r.endswith(" lr"), r
    for m in (a, b):
        m.logout()


def getmetadata(m, mailbox, entry):
    """The METADATA response of GETMETADATA mailbox entry, as bytes."""
    typ, data = m._simple_command("GETMETADATA", mailbox, entry)
    assert typ == "OK", data
    _, data = m._untagged_response(typ, data, "METADATA")
    return b"".join(d if isinstance(d, bytes) else b"".join(d)
                    for d in data if d)


def test_metadata(srv, pg):
    addr = "x3@a.test"
    a = login(srv, addr)
    ok(a.create("Notes"))
    ok(a._simple_command("SETMETADATA", "Notes",
                         '(/private/comment "hello there")'))
    ok(a._simple_command("SETMETADATA", '""',
                         '(/private/vendor/x "server")'))
    assert pg.psql("SELECT count(*) FROM mailbox_metadata m JOIN users u "
                   "ON u.id = m.user_id WHERE u.address = '%s'" %
                   addr) == "2"
    b = login(srv, addr)
    assert b"hello there" in getmetadata(b, "Notes", "/private/comment")
    assert b"server" in getmetadata(b, '""', "/private/vendor/x")
    # RENAME carries the entries, DELETE drops them
    ok(a.rename("Notes", "Memo"))
    assert pg.psql("SELECT mailbox FROM mailbox_metadata WHERE entry = "
                   "'/private/comment'") == "Memo"
    ok(a.delete("Memo"))
    assert pg.psql("SELECT count(*) FROM mailbox_metadata WHERE entry = "
                   "'/private/comment'") == "0"
    for m in (a, b):
        m.logout()


def quota_of(data):
    line = b" ".join(d for d in data if d).decode()
    m = re.search(r'\(([^)]*)\)', line)
    w = m.group(1).split()
    return {w[i]: (int(w[i + 1]), int(w[i + 2])) for i in range(0, len(w), 3)}


def test_quota(srv):
    addr = "x4@a.test"
    srv.admin("user", "quota", addr, "100K", "3")
    a = login(srv, addr)
    sizes = 0
    for i in range(2):
        ok(a.append("INBOX", None, None, msg(10 + i)))
        sizes += len(msg(10 + i))
    typ, data = a.getquotaroot("INBOX")
    assert typ == "OK", data
    q = quota_of(data[1])
    assert q == {"STORAGE": ((sizes + 1023) // 1024, 100),
                 "MESSAGE": (2, 3)}, q
    ok(a.append("INBOX", None, None, msg(12)))
    typ, data = a.append("INBOX", None, None, msg(13))
    assert typ == "NO" and b"OVERQUOTA" in data[0], data
    ok(a.select("INBOX"))
    typ, data = a.copy("1", "INBOX")
    assert typ == "NO" and b"OVERQUOTA" in data[0], data
    assert "imap over-quota user=%s cmd=APPEND" % addr in srv.log_text()
    a.logout()


def test_across_nodes(srv, node2):
    """What one node changes, the other's sessions go by: a grant and a
    revoke (no ACL cache outlives a command on PostgreSQL), metadata,
    and the quota usage."""
    owner, other = "x1@a.test", "x3@a.test"
    a = login(srv, owner)
    ok(a.create("Cross"))
    ok(a.append("Cross", None, None, msg(20)))
    b = login(node2, other)
    name = "shared/%s/Cross" % owner
    typ, data = b.select(name, readonly=True)
    assert typ == "NO", data
    ok(a.setacl("Cross", other, "lr"))
    typ, data = b.select(name, readonly=True)
    assert typ == "OK" and data == [b"1"], data
    ok(b.fetch("1", "(FLAGS)"))
    ok(a.deleteacl("Cross", other))
    typ, data = b.fetch("1", "(FLAGS)")
    assert typ == "NO", data
    ok(a._simple_command("SETMETADATA", "INBOX",
                         '(/private/comment "from node 1")'))
    c = login(node2, owner)
    assert b"from node 1" in getmetadata(c, "INBOX", "/private/comment")
    srv.admin("user", "quota", owner, "10M")
    typ, data = c.getquotaroot("INBOX")
    assert typ == "OK", data
    used = quota_of(data[1])["STORAGE"][0]
    ok(a.append("INBOX", None, None, b"x" * 4096 + b"\r\n"))
    typ, data = c.getquotaroot("INBOX")
    assert quota_of(data[1])["STORAGE"][0] >= used + 4, data
    for m in (a, b, c):
        m.logout()


def test_database_away(srv, pg):
    """Last (the database stays stopped): ACL and METADATA commands say
    NO [UNAVAILABLE] while PostgreSQL is away, and the session lives."""
    addr = "x1@a.test"
    a = login(srv, addr)
    ok(a.create("Away"))
    pg.stop()
    typ, data = a.getacl("Away")
    assert typ == "NO" and b"[UNAVAILABLE]" in data[0], data
    # a server entry: no folder look-up first, the metadata store answers
    typ, data = a._simple_command("SETMETADATA", '""',
                                  '(/private/comment "x")')
    assert typ == "NO" and b"[UNAVAILABLE]" in data[0], data
    typ, data = a._simple_command("GETMETADATA", '""',
                                  "/private/comment")
    assert typ == "NO" and b"[UNAVAILABLE]" in data[0], data
    ok(a.noop())
    assert "imap metadata-failed user=%s" % addr in srv.log_text()
    a.logout()
