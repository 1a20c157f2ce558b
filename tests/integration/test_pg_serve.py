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
