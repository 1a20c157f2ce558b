"""test_pg_sieve - Sieve scripts and Sieve state on PostgreSQL
(src/sieve/sieve_store_pg.h) against a real PostgreSQL 15
(tests/lib/pgserver.py):

- the C unit tests (build/asan/tests/pg/test-pg-sieve: put, get, list,
  activate, deactivate, delete, rename, the count and size limits, two
  threads activating different scripts at once, duplicate and vacation
  memory with expiry, the bounded purge and the per-user cap), which need
  TEM_TEST_PG_DSN and are therefore run here, not in tests/run.sh's unit
  pass;
- the delivery stage's job on PostgreSQL (build/asan/tests/pg/
  test-pg-sieve-stage: the active script's row run and named, the same
  text compiled once, an edited one again, none active: no run);
- `pg_ctl restart -m fast` under store calls: EAGAIN (the database is
  away), then the same process works again;
- `tem sieve put|get|list|activate|deactivate|del` with storage =
  postgresql: the rows in the database, and the same output, messages
  and exit codes as the same commands on the embedded backend, a script
  that does not compile included ("NAME:LINE: message");
- the shared abuse counters (src/auth/counters_pg.h, not wired into the
  server yet): build/asan/tests/pg/test-pg-counters on a database of its
  own.
"""

import subprocess

import pytest

from pgserver import (tem_cli, pg_conf, pg_init_conf,
                      pg_unit_across_restart, pg_unit_check)
from temserver import tem_bin


tem = tem_cli


def ok(conf, *args, stdin=None):
    r = tem(conf, *args, stdin=stdin)
    assert r.returncode == 0, (args, r.stderr)
    return r


@pytest.fixture(scope="module")
def unit_dsn(pg, tmp_path_factory):
    dsn = pg.fresh_db("unit")
    pg_init_conf(tmp_path_factory.mktemp("unit"), dsn)
    return dsn


def test_unit(unit_dsn):
    pg_unit_check("test-pg-sieve", unit_dsn)


def test_stage_unit(unit_dsn):
    """The Sieve stage's job reads and runs the active script's row."""
    pg_unit_check("test-pg-sieve-stage", unit_dsn)


def test_counters_unit(pg, tmp_path):
    dsn = pg.fresh_db("counters")
    pg_init_conf(tmp_path, dsn)
    pg_unit_check("test-pg-counters", dsn)


def test_restart(pg, unit_dsn):
    code, out, err = pg_unit_across_restart(pg, "test-pg-sieve", unit_dsn,
                                            "restart")
    assert code == 0, err
    assert out.strip() == "recovered", (out, err)


# Each step: (arguments after "sieve", standard input). The same steps run
# on both backends; their output, messages and exit codes must match.
STEPS = [
    (["list", "u@a.test"], None),
    (["put", "u@a.test", "one"], "keep;\n"),
    (["put", "u@a.test", "two"], "require \"fileinto\";\n"
     "fileinto \"Junk\";\n"),
    (["put", "u@a.test", "bad"], "keep;\nif true { fileinto \"x\"; }\n"),
    (["put", "u@a.test", "bad"], "keep;\nnosuchcommand;\n"),
    (["put", "u@a.test", "a/b"], "keep;\n"),
    (["get", "u@a.test", "bad"], None),
    (["get", "u@a.test", "two"], None),
    (["list", "u@a.test"], None),
    (["activate", "u@a.test", "one"], None),
    (["activate", "u@a.test", "two"], None),
    (["list", "u@a.test"], None),
    (["activate", "u@a.test", "nope"], None),
    (["del", "u@a.test", "two"], None),
    (["del", "u@a.test", "nope"], None),
    (["deactivate", "u@a.test"], None),
    (["deactivate", "u@a.test"], None),
    (["list", "u@a.test"], None),
    (["del", "u@a.test", "two"], None),
    (["list", "u@a.test"], None),
    (["get", "u@a.test", "two"], None),
    (["list", "nobody@a.test"], None),
    (["put", "nobody@a.test", "x"], "keep;\n"),
    (["get"], None),
]


def run_steps(conf):
    ok(conf, "domain", "add", "a.test")
    ok(conf, "user", "add", "u@a.test", stdin="pw-long-enough\n")
    return [(r.returncode, r.stdout, r.stderr) for r in
            (tem(conf, "sieve", *args, stdin=stdin) for args, stdin in STEPS)]


def test_cli_same_as_embedded(pg, tmp_path):
    dsn = pg.fresh_db("cli")
    pgconf = pg_conf(tmp_path / "pg", dsn, "postgresql")
    ok(pgconf, "db", "init")
    emconf = pg_conf(tmp_path / "em", dsn, "embedded")
    got = run_steps(pgconf)
    want = run_steps(emconf)
    for (args, _), g, w in zip(STEPS, got, want):
        assert g == w, (args, g, w)
    # what each step was, so that both agreeing on nothing fails
    codes = [g[0] for g in got]
    assert codes == [0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0,
                     0, 0, 1, 1, 1, 2], got
    assert got[4][2] == "bad:2: " + got[4][2].split(": ", 1)[1]
    assert got[11][1] == "one\ntwo (active)\n"
    assert pg.psql("SELECT name || ':' || active FROM sieve_scripts "
                   "ORDER BY name", db="cli").split() == ["one:false"]


def test_cli_not_utf8(pg, tmp_path):
    """A script that is not UTF-8 compiles (in a comment) but a text
    column cannot keep it: refused, the embedded store keeps it."""
    dsn = pg.fresh_db("notutf8")
    conf = pg_conf(tmp_path, dsn, "postgresql")
    ok(conf, "db", "init")
    ok(conf, "domain", "add", "a.test")
    ok(conf, "user", "add", "u@a.test", stdin="pw-long-enough\n")
    r = subprocess.run([tem_bin(), "-c", conf, "sieve", "put", "u@a.test",
                        "x"], input=b"keep; # \xff\n", capture_output=True,
                       timeout=60)
    assert r.returncode == 1
    assert r.stderr == (b"tem: script 'x' is not UTF-8 text (or holds a "
                        b"NUL octet)\n")
    assert pg.psql("SELECT count(*) FROM sieve_scripts",
                   db="notutf8") == "0"


def test_cli_database_down(tmp_path):
    conf = pg_conf(tmp_path, "host=127.0.0.1 port=1 dbname=x "
                      "connect_timeout=2", "postgresql")
    r = tem(conf, "sieve", "list", "u@a.test")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "unavailable" in r.stderr, r.stderr
