"""test_pg_serve - `tem serve` with storage = postgresql against a real
PostgreSQL 15 (tests/lib/pgserver.py):

- (the schema checks at start are test_db.py's) while the database is
  away at start serve waits, and serves once it is back;
- `tem user add` on one node is seen by another node on the same
  database (NOTIFY tem_accounts) within a second: its RCPT is accepted;
- SMTP delivery to a user lands in PostgreSQL (a messages row, UID 1,
  the bytes in the wire form, CRLF); Sieve fileinto :create with a flag
  lands in that folder; an unknown user is refused 550 at RCPT;
- PostgreSQL stopped: 451 4.3.0; started again: 250 within 10 s without
  a restart of tem, and every message that got 250 is in the database.
"""

import smtplib
import subprocess
import time

import pytest

from pgserver import PgServer, pg_init_conf, tem_cli
from temserver import TemServer, free_port, wait_for


@pytest.fixture(scope="module")
def pg():
    with PgServer() as s:
        yield s


_dbs = [0]


def fresh_db(pg, tmp_path):
    """A new initialised database; its DSN."""
    _dbs[0] += 1
    dsn = pg.fresh_db("serve%d" % _dbs[0])
    pg_init_conf(tmp_path / "init", dsn)
    return dsn


def pg_node(dsn, listen_addr="127.0.0.1", users=None, **kw):
    """A TemServer on dsn (the accounts it adds go to the database)."""
    return TemServer(users=users if users is not None else {},
                     listen_addr=listen_addr,
                     extra_conf={"storage": "postgresql",
                                 "postgresql_dsn": dsn}, **kw)


def log_text(node):
    with open(node.logs[-1], encoding="utf-8", errors="replace") as f:
        return f.read()


def test_user_added_seen_by_other_node(pg, tmp_path):
    dsn = fresh_db(pg, tmp_path)
    with pg_node(dsn, users={"u@a.test": "pw-u"}) as one, \
            pg_node(dsn, listen_addr="127.0.0.2", domains=()) as two:
        def rcpt(node, addr):
            with smtplib.SMTP(node.listen_addr, node.smtp_port,
                              timeout=30) as s:
                s.ehlo("client.test")
                s.mail("x@b.test")
                return s.rcpt(addr)[0]
        assert rcpt(two, "u@a.test") == 250
        assert rcpt(two, "new@a.test") == 550
        one.add_user("new@a.test", "pw-new")
        t0 = time.monotonic()
        wait_for(lambda: "serial=%s by=notify" % pg.psql(
            "SELECT serial FROM accounts_serial",
            db=dsn.split("dbname=")[1].split()[0]) in log_text(two),
            timeout=5, what="node two reloads its accounts")
        assert time.monotonic() - t0 < 1.0
        assert rcpt(two, "new@a.test") == 250


def dbname(dsn):
    return dsn.split("dbname=")[1].split()[0]


def send(node, rcpt, subject, body="one\ntwo\n"):
    """Sends one message; (code, message) of the final reply, or of the
    refused RCPT."""
    msg = ("From: x@b.test\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" %
           (rcpt, subject, body.replace("\n", "\r\n")))
    with smtplib.SMTP(node.listen_addr, node.smtp_port, timeout=60) as s:
        s.ehlo("client.test")
        s.mail("x@b.test")
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text
        return s.data(msg.encode())


def test_delivery_into_postgresql(pg, tmp_path):
    dsn = fresh_db(pg, tmp_path)
    db = dbname(dsn)
    with pg_node(dsn, users={"u@a.test": "pw-u", "v@a.test": "pw-v"}) \
            as node:
        # scripts first: a delivery remembers "no script" for a second
        node.admin("sieve", "put", "u@a.test", "s", stdin=(
            'require ["fileinto", "mailbox", "imap4flags"];\n'
            'if header :contains "subject" "sorted" {\n'
            '  fileinto :create :flags ["\\\\Flagged", "$Work"] '
            '"Lists/tem";\n}\n'))
        node.admin("sieve", "activate", "u@a.test", "s")
        # fileinto a folder that is missing, without :create: INBOX
        node.admin("sieve", "put", "v@a.test", "s", stdin=(
            'require "fileinto";\nfileinto "Nowhere";\n'))
        node.admin("sieve", "activate", "v@a.test", "s")
        code, _ = send(node, "u@a.test", "first")
        assert code == 250
        row = pg.psql("SELECT b.name, m.uid, m.size = bl.size "
                      "FROM messages m JOIN mailboxes b ON b.id = "
                      "m.mailbox_id JOIN blobs bl ON bl.id = m.blob_id "
                      "JOIN users u ON u.id = b.user_id "
                      "WHERE u.address = 'u@a.test'", db=db)
        assert row == "INBOX|1|t", row
        data = bytes.fromhex(pg.psql("SELECT encode(data, 'hex') FROM "
                                     "blobs", db=db)).decode()
        assert data.startswith("Return-Path: <x@b.test>\r\n"
                               "Delivered-To: u@a.test\r\n"), data
        assert "\r\nSubject: first\r\n" in data, data
        assert data.endswith("\r\n\r\none\r\ntwo\r\n"), data
        assert "\n" not in data.replace("\r\n", ""), data
        # unknown user: 550 at RCPT, nothing stored
        code, text = send(node, "nobody@a.test", "lost")
        assert code == 550, text
        assert pg.psql("SELECT count(*) FROM messages", db=db) == "1"
        # Sieve fileinto :create with a flag and a keyword
        assert send(node, "u@a.test", "sorted one")[0] == 250
        row = pg.psql("SELECT b.name, m.uid, m.flags, m.keywords, "
                      "(SELECT count(*) FROM subscriptions s WHERE "
                      "s.user_id = b.user_id AND s.name = b.name) "
                      "FROM messages m JOIN mailboxes b ON b.id = "
                      "m.mailbox_id WHERE b.name <> 'INBOX'", db=db)
        assert row == "Lists/tem|1|2|{$Work}|1", row   # 2: \\Flagged
        assert send(node, "v@a.test", "fallback")[0] == 250
        assert pg.psql("SELECT b.name, m.uid FROM messages m JOIN "
                       "mailboxes b ON b.id = m.mailbox_id JOIN users u "
                       "ON u.id = b.user_id WHERE u.address = 'v@a.test'",
                       db=db) == "INBOX|1"
