"""test_pg_queue_engine - the delivery engine on the shared queue
(storage = postgresql; src/queue/queue_pg_front.c behind queue.h): real
`tem serve` nodes on one PostgreSQL 15 (tests/lib/pgserver.py) deliver to
a scripted sink (tests/lib/fakesmtp.py) on 127.0.0.7, found through the
test DNS (fake.test MX, as test_delivery.py points remote mail at a
loopback port):

- the C unit test of queue.h on the database (test-pg-queue-front);

- a message submitted on node 1 reaches the sink once, with the file
  queue's log lines, and leaves no row behind;
- two nodes (127.0.0.1, 127.0.0.2) drain N messages: each delivered once;
- a node killed -9 while holding leases (the sink stalls its MAIL): the
  other node delivers each message once after queue_lease_time (5 s);
- a permanent 5xx: the sender gets a DSN in the INBOX in the database
  (the local route, msg/deliver_pg.c); a delay notice once;
- the database away at DATA: 451 4.3.0 and one log line with the
  session id.
"""

import os
import re
import smtplib
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402
from pgserver import PgServer, pg_init_conf, pg_unit_check  # noqa: E402
from temserver import (TemServer, insecure_tls_context, shared_port,  # noqa: E402
                       wait_for)

ALICE = ("alice@a.test", "alice-secret-1")
LEASE = 5


def zones():
    return {"fake.test": ["fake.test. 300 IN MX 10 mx.fake.test.",
                          "mx.fake.test. 300 IN A 127.0.0.7"]}


@pytest.fixture(scope="module")
def dns():
    with DnsServer(zones()) as d:
        yield d


def fresh_dsn(pg, tmp_path, name):
    dsn = pg.fresh_db(name)
    pg_init_conf(tmp_path / "init", dsn)
    return dsn


def node(dsn, dns, port, addr="127.0.0.1", first=True, **extra):
    """A tem node on dsn; the first provisions the domain and alice."""
    conf = {"storage": "postgresql", "postgresql_dsn": dsn,
            "queue_lease_time": "%ds" % LEASE, "queue_retry_base": "1s",
            "dns_server": dns.addr, "outbound_port": str(port)}
    conf.update(extra)
    return TemServer(users=dict([ALICE]) if first else {},
                     domains=("a.test",) if first else (),
                     services=("smtp", "submission"), listen_addr=addr,
                     extra_conf=conf)


def message(n):
    return ("From: Alice <alice@a.test>\r\nTo: u@fake.test\r\n"
            "Subject: m%d\r\nMessage-ID: <m%d@a.test>\r\n\r\nbody %d\r\n"
            % (n, n, n)).encode()


def submit(tem, n, rcpt="u@fake.test", addr="127.0.0.1"):
    """Sends message(n) from alice over submission; its queue id."""
    with smtplib.SMTP(addr, tem.ports["submission"], timeout=30) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.mail(ALICE[0])
        assert s.rcpt(rcpt)[0] == 250
        code, text = s.data(message(n))
        assert code == 250, text
    msgid = re.search(rb"queued as ([0-9a-f]{16})", text).group(1).decode()
    return re.search(r"smtp queued msgid=%s queue=([0-9a-f]{16})" % msgid,
                     tem.log_text()).group(1)


def delivered_ids(sink):
    return [re.search(rb"Message-ID: <(m\d+)@", data).group(1).decode()
            for _, _, data in sink.messages]


def rows(pg, db, table="queue"):
    return int(pg.psql("SELECT count(*) FROM %s" % table, db=db))


def test_unit(pg, tmp_path):
    """src/pg/test-pg-queue-front.c: queue.h's calls on the database."""
    pg_unit_check("test-pg-queue-front", fresh_dsn(pg, tmp_path, "unit"))


def test_one_message_delivered_once(pg, dns, tmp_path):
    dsn = fresh_dsn(pg, tmp_path, "one")
    port = shared_port()
    with FakeSMTP("127.0.0.7", port) as sink, node(dsn, dns, port) as a:
        qid = submit(a, 1)
        wait_for(lambda: sink.messages, what="the delivery")
        wait_for(lambda: rows(pg, "one") == 0, what="the row removed")
        assert delivered_ids(sink) == ["m1"]
        log = a.log_text()
        assert re.search(r"%s mta to=<u@fake.test> relay=\S+ delay=\d+s "
                         r"status=sent" % qid, log), a.log_tail()
        assert "%s queue removed" % qid in log
        assert rows(pg, "one", "blobs") == 0
    assert len(sink.messages) == 1


def test_two_nodes_drain_each_once(pg, dns, tmp_path):
    dsn = fresh_dsn(pg, tmp_path, "two")
    port = shared_port()
    n = 24
    with FakeSMTP("127.0.0.7", port) as sink, \
            node(dsn, dns, port) as a, \
            node(dsn, dns, port, "127.0.0.2", first=False) as b:
        for i in range(n):
            if i % 2:
                submit(b, i, addr="127.0.0.2")
            else:
                submit(a, i)
        wait_for(lambda: rows(pg, "two") == 0, timeout=60,
                 what="both nodes to drain the queue")
        got = delivered_ids(sink)
        assert sorted(got) == sorted("m%d" % i for i in range(n)), got
        sent = (a.log_text() + b.log_text()).count("status=sent")
        assert sent == n


class StallingSMTP(FakeSMTP):
    """Holds every MAIL FROM until gate is set; counts the held ones."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.gate = threading.Event()
        self.held = 0

    def _next(self, kind):
        if kind == "mail" and not self.gate.is_set():
            with self.lock:
                self.held += 1
            self.gate.wait(60)
        return super()._next(kind)


def test_killed_node_leases_taken_over(pg, dns, tmp_path):
    dsn = fresh_dsn(pg, tmp_path, "kill")
    port = shared_port()
    n = 3
    with StallingSMTP("127.0.0.7", port) as sink:
        with node(dsn, dns, port) as a:
            ids = [submit(a, i) for i in range(n)]
            wait_for(lambda: sink.held >= 1, what="node 1 in its MAIL")
            owner = "SELECT count(*) FROM queue WHERE lease_owner IS NOT NULL"
            wait_for(lambda: pg.psql(owner, db="kill") == str(n),
                     what="node 1 holding every lease")
            a.kill9()
            killed = time.monotonic()
        sink.gate.set()		# node 1's session is gone: no DATA came
        with node(dsn, dns, port, "127.0.0.2", first=False) as b:
            wait_for(lambda: rows(pg, "kill") == 0, timeout=60,
                     what="node 2 to deliver after the leases")
            assert time.monotonic() - killed >= 2.0
            log = b.log_text()
            for qid in ids:
                assert re.search(r"%s mta to=<u@fake.test> .*status=sent"
                                 % qid, log), b.log_tail()
        assert sorted(delivered_ids(sink)) == ["m%d" % i for i in range(n)]


def test_clean_stop_hands_leases_back(pg, dns, tmp_path):
    """A stopping node gives its leases back at once (a 60 s lease would
    otherwise keep the other node waiting)."""
    dsn = fresh_dsn(pg, tmp_path, "stop")
    port = shared_port()
    n = 2
    leased = "SELECT count(*) FROM queue WHERE lease_owner IS NOT NULL"
    with StallingSMTP("127.0.0.7", port) as sink:
        with node(dsn, dns, port, queue_lease_time="60s") as a:
            for i in range(n):
                submit(a, i)
            wait_for(lambda: sink.held >= 1, what="node 1 in its MAIL")
            wait_for(lambda: pg.psql(leased, db="stop") == str(n),
                     what="node 1 holding every lease")
            a.stop()
        assert pg.psql(leased, db="stop") == "0"
        assert rows(pg, "stop") == n
        sink.gate.set()
        with node(dsn, dns, port, "127.0.0.2", first=False):
            wait_for(lambda: rows(pg, "stop") == 0, timeout=30,
                     what="node 2 to deliver what node 1 handed back")
        assert sorted(delivered_ids(sink)) == ["m%d" % i for i in range(n)]


def test_permanent_failure_bounces_to_sender(pg, dns, tmp_path):
    dsn = fresh_dsn(pg, tmp_path, "bounce")
    port = shared_port()
    with FakeSMTP("127.0.0.7", port,
                  rcpt=["550 5.1.1 no such user here"]) as sink, \
            node(dsn, dns, port) as a:
        qid = submit(a, 1)
        wait_for(lambda: rows(pg, "bounce") == 0, timeout=30,
                 what="the bounce delivered and both rows gone")
        log = a.log_text()
        assert re.search(r"%s mta to=<u@fake.test> .*status=bounced "
                         r"\(.*no such user" % qid, log), a.log_tail()
        dsn_ids = [m for m in re.findall(
            r"(\S+) mta to=<alice@a.test> relay=local .*status=sent", log)
            if m != qid]
        assert len(dsn_ids) == 1, a.log_tail()
        assert sink.messages == []
        # the report is in alice's INBOX in the database
        report = pg.psql(
            "SELECT convert_from(bl.data, 'UTF8') FROM messages m "
            "JOIN mailboxes b ON b.id = m.mailbox_id JOIN users u ON "
            "u.id = b.user_id JOIN blobs bl ON bl.id = m.blob_id WHERE "
            "u.address = 'alice@a.test' AND b.name = 'INBOX'", db="bounce")
        assert "multipart/report" in report and "no such user" in report, \
            report
        assert "Action: failed" in report


def test_delay_notice_once(pg, dns, tmp_path):
    """delay_warning_time on the shared queue: one notice to the sender,
    its flag in the database, none again at later retries."""
    dsn = fresh_dsn(pg, tmp_path, "delay")
    port = shared_port()
    notice = r"(\S+) mta to=<alice@a.test> relay=local .*status=sent"
    with FakeSMTP("127.0.0.7", port, rcpt=["451 4.7.1 greylisted"]), \
            node(dsn, dns, port, delay_warning_time="3s") as a:
        qid = submit(a, 1)
        tries = "%s mta to=<u@fake.test> " % qid
        wait_for(lambda: re.search(notice, a.log_text()), timeout=30,
                 what="the delay notice")
        assert pg.psql("SELECT flags FROM queue_rcpts WHERE queue_id = "
                       "'%s'" % qid, db="delay") == "2"  # QUEUE_RF_DELAY_DSN
        after = a.log_text().count(tries)
        wait_for(lambda: a.log_text().count(tries) > after, timeout=40,
                 what="another retry")
        assert len(re.findall(notice, a.log_text())) == 1, a.log_tail()
        assert "status=deferred" in a.log_text()


def test_database_away_at_data_is_451(tmp_path, dns):
    port = shared_port()
    with PgServer() as own:
        dsn = fresh_dsn(own, tmp_path, "away")
        with node(dsn, dns, port) as a:
            with smtplib.SMTP("127.0.0.1", a.ports["submission"],
                              timeout=30) as s:
                s.starttls(context=insecure_tls_context())
                s.login(*ALICE)
                own.stop()
                s.mail(ALICE[0])
                assert s.rcpt("u@fake.test")[0] == 250
                code, text = s.data(message(1))
            assert (code, text[:5]) == (451, b"4.3.0"), (code, text)
            log = a.log_text()
            failed = re.findall(r"\]: \w+: (\S+) msg queue-failed ", log)
            replied = re.findall(r"\]: \w+: (\S+) smtp reply code=451 "
                                 r"text=\"451 4.3.0 ", log)
            # one line, with the session's id, for the one 451
            assert len(failed) == 1 and failed == replied, a.log_tail()
