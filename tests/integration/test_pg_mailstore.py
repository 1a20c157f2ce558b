"""test_pg_mailstore - the mail store on PostgreSQL (src/pg/pg_mailstore.h)
against a real PostgreSQL 15 (tests/lib/pgserver.py):

- the C unit tests (build/asan/tests/pg/test-pg-mailstore, which needs
  TEM_TEST_PG_DSN and is therefore run here, not in tests/run.sh's unit
  pass): folders, append and read back, 4 concurrent appenders, STORE
  with UNCHANGEDSINCE, CONDSTORE and QRESYNC reads, expunge, copy/move
  sharing blobs, NOTIFY per change and "ID R" per folder renamed, the
  expunge log pruned under vanished_floor (QRESYNC then says VANISHED
  is incomplete), \\Recent claimed by two concurrent sessions (each UID
  once);
- appends going on while the database restarts (`pg_ctl restart -m
  fast`; build/asan/tests/pg/test-pg-mailload): only "unavailable" while
  it is away, every acknowledged message kept, the same process
  appending again afterwards.
"""

import pytest

from pgserver import (PgServer, pg_init_conf, pg_unit_across_restart,
                      pg_unit_check, pg_unit_run)


@pytest.fixture(scope="module")
def dsn(pg, tmp_path_factory):
    pg_init_conf(tmp_path_factory.mktemp("ms"), pg.dsn)
    return pg.dsn


def test_unit(dsn):
    pg_unit_check("test-pg-mailstore", dsn)


def test_appends_survive_restart(pg, dsn):
    rc, out, err = pg_unit_across_restart(pg, "test-pg-mailload", dsn,
                                          "append-restart")
    assert rc == 0, out + err
    assert out.startswith("survived"), out + err
    # what the database holds is what was acknowledged, or more (a
    # commit whose answer the restart cut off), never less, and the
    # UIDs are dense: a rolled-back append gave its number back
    acked = int(out.split("acked ")[1].split(",")[0])
    n = int(pg.psql("SELECT count(*) FROM messages m JOIN mailboxes b ON "
                    "b.id = m.mailbox_id WHERE b.name = 'Restart'"))
    assert n >= acked
    assert pg.psql("SELECT uidnext - 1 = %d AND highestmodseq = %d FROM "
                   "mailboxes WHERE name = 'Restart'" % (n, n + 1)) == "t"


if __name__ == "__main__":
    # The measurements (not a test): python3 tests/integration/
    # test_pg_mailstore.py bench - appends per second with 1 and 4
    # threads, a 10,000-message SELECT state read, EXPLAIN ANALYZE of the
    # hot queries, on a throw-away PostgreSQL.
    import pathlib
    import sys
    import tempfile
    with PgServer() as server, tempfile.TemporaryDirectory() as d:
        pg_init_conf(pathlib.Path(d), server.dsn)
        r = pg_unit_run("test-pg-mailload", server.dsn,
                        *(sys.argv[1:] or ["bench"]), timeout=900)
        sys.stdout.write(r.stdout + r.stderr)
        sys.exit(r.returncode)
