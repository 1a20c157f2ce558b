"""test_pg_notify - IMAP NOTIFY (RFC 5465) across nodes on PostgreSQL
(store/mailbox_pg_notify.c, the 'tem_user' channel of
pg/pg_mailstore_notify.c) with two `tem serve` nodes on one PostgreSQL
15 (127.0.0.1 and 127.0.0.2, tests/lib/pgserver.py):

- a NOTIFY SET session on node one hears, as untagged LIST and METADATA
  responses pushed during IDLE, a CREATE, RENAME (OLDNAME), SUBSCRIBE,
  SETMETADATA (a folder's and the server's), DELETE (\\NonExistent)
  and RENAME INBOX (a new folder) made by a session on node two, each
  well within a second (the time is printed, not asserted: the machine
  may be loaded);
- a session's own changes are not told back (RFC 5465 5): its APPEND to
  another folder and its CREATE give it no STATUS or LIST, while the
  same changes by another session of its node do;
- the listener cut off (its backend terminated): what was missed is
  lost, so the session gets NOTIFICATIONOVERFLOW, and a new NOTIFY SET
  hears changes again.
"""

import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402
from pgserver import pg_init_conf  # noqa: E402
from temserver import TemServer  # noqa: E402

USERS = {"n%d@a.test" % i: "pw-n%d-Secret" % i for i in range(1, 5)}
MSG = b"From: <a@b.test>\r\nSubject: s\r\n\r\nbody\r\n"
WAIT = 10	# seconds an expected line may take at most (loaded machine)


def pg_node(dsn, listen_addr, users, domains=("a.test",)):
    return TemServer(users=users, domains=domains, listen_addr=listen_addr,
                     services=("smtp", "imap"),
                     extra_conf={"storage": "postgresql",
                                 "postgresql_dsn": dsn,
                                 "auth_allow_cleartext": "yes"})


@pytest.fixture(scope="module")
def nodes(pg, tmp_path_factory):
    pg_init_conf(tmp_path_factory.mktemp("notify"), pg.dsn)
    with pg_node(pg.dsn, "127.0.0.1", USERS) as one, \
            pg_node(pg.dsn, "127.0.0.2", {}, domains=()) as two:
        yield one, two


_users = iter(sorted(USERS))


@pytest.fixture
def login(nodes):
    """login(node) -> a logged-in Imap of this test's user on node."""
    user = next(_users)
    conns = []

    def make(node):
        c = imapclient.Imap(node.ports["imap"], host=node.listen_addr)
        conns.append(c)
        c.cmd('LOGIN %s "%s"' % (user, USERS[user]))
        return c

    yield make
    for c in conns:
        c.close()


def idle_until(c, pred, action=None):
    """IDLE on c; runs action() once IDLE is on; reads until an untagged
    line satisfies pred (within WAIT seconds). (lines, seconds from
    action to that line)."""
    seen = c.idle_begin()
    t0 = time.monotonic()
    worker = None
    if action is not None:
        worker = threading.Thread(target=action)
        worker.start()
    c.sock.settimeout(WAIT)
    try:
        while not any(pred(l) for l in seen):
            seen.append(c.response_line())
    finally:
        took = time.monotonic() - t0
        c.sock.settimeout(imapclient.IO_TIMEOUT)
    c.send(b"DONE\r\n")
    r = c.finish(b"I")
    assert r.status == "OK", r
    if worker is not None:
        # the action's own answer: read before its connection is reused
        # or closed by the test
        worker.join(WAIT)
        assert not worker.is_alive(), "the action did not finish"
    return seen + r.lines, took


def test_folder_events_from_another_node(nodes, login):
    one, two = nodes
    a, b = login(one), login(two)
    a.cmd("NOTIFY SET (personal (MailboxName SubscriptionChange "
          "MailboxMetadataChange ServerMetadataChange))")
    steps = [
        ("CREATE Lists", b'* LIST () "/" Lists'),
        ("RENAME Lists Groups", b'* LIST () "/" Groups ("OLDNAME" (Lists))'),
        ("SUBSCRIBE Groups", b'* LIST (\\Subscribed) "/" Groups'),
        ('SETMETADATA Groups (/private/comment "hi")',
         b"* METADATA Groups /private/comment"),
        ('SETMETADATA "" (/private/motd "hello")',
         b'* METADATA "" /private/motd'),
        ("UNSUBSCRIBE Groups", b'* LIST () "/" Groups'),
        ("DELETE Groups", b'* LIST (\\NonExistent) "/" Groups'),
        # RENAME INBOX makes a folder that takes its messages
        ("RENAME INBOX Saved", b'* LIST () "/" Saved'),
    ]
    for command, want in steps:
        lines, took = idle_until(a, lambda l: l == want,
                                 lambda: b.cmd(command))
        print("%s on node two -> %r on node one: %.1f ms" %
              (command, want, took * 1000))
        assert want in lines, (command, lines)


def test_own_changes_not_told(nodes, login):
    one, two = nodes
    a, other, b = login(one), login(one), login(two)
    a.cmd("NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))")
    # its own APPEND and CREATE: nothing; then a marker from node two,
    # heard after them (NOTIFYs arrive in commit order)
    lines = a.append("Archive", MSG).lines + a.cmd("CREATE Mine").lines
    more, _ = idle_until(a, lambda l: b"Marker" in l,
                         lambda: b.cmd("CREATE Marker"))
    lines += more
    assert not any(b"STATUS" in l or b"Mine" in l for l in lines), lines
    # the same by another session of its own node: told
    lines, _ = idle_until(a, lambda l: l.startswith(b"* STATUS Archive"),
                          lambda: other.append("Archive", MSG))
    st = [l for l in lines if l.startswith(b"* STATUS Archive")]
    assert b"MESSAGES 2" in st[-1], lines
    lines, _ = idle_until(a, lambda l: b"Theirs" in l,
                          lambda: other.cmd("CREATE Theirs"))
    assert b'* LIST () "/" Theirs' in lines, lines


def test_listener_lost_is_overflow(pg, nodes, login):
    one, two = nodes
    a, b = login(one), login(two)
    a.cmd("NOTIFY SET (personal (MailboxName))")

    def cut():
        pg.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %tem_user%'")
    lines, _ = idle_until(a, lambda l: b"NOTIFICATIONOVERFLOW" in l, cut)
    assert any(l.startswith(b"* OK [NOTIFICATIONOVERFLOW]")
               for l in lines), lines
    # notifications are off; a new NOTIFY SET hears changes again
    a.cmd("NOTIFY SET (personal (MailboxName))")
    lines, _ = idle_until(a, lambda l: b"Again" in l,
                          lambda: b.cmd("CREATE Again"))
    assert b'* LIST () "/" Again' in lines, lines
