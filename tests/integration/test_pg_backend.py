"""test_pg_backend - the PostgreSQL foundation and the accounts backend
(storage = postgresql) against a real PostgreSQL 15 (tests/lib/pgserver.py):

- the C unit tests of pg_conn, pg_listen and the accounts backend
  (build/asan/tests/pg/test-pg-backend, which needs TEM_TEST_PG_DSN and
  is therefore run here, not in tests/run.sh's unit pass);
- the listener across `pg_ctl restart -m fast`: it comes back by itself
  and calls resync;
- `tem domain|user|alias|user quota` with storage = postgresql: the rows
  in the database, and the same output, messages and exit codes as the
  same commands on the embedded backend;
- a database that is down: one clear error line and exit 1.
"""

import os
import subprocess

import pytest

from pgserver import (tem_cli, pg_conf, pg_init_conf, pg_unit_bin,
                      pg_unit_check)
from temserver import tem_bin


def unit_bin():
    return pg_unit_bin("test-pg-backend")


tem = tem_cli


@pytest.fixture(scope="module")
def unit_dsn(pg, tmp_path_factory):
    dsn = pg.fresh_db("unit")
    pg_init_conf(tmp_path_factory.mktemp("unit"), dsn)
    return dsn


def test_unit(unit_dsn):
    pg_unit_check("test-pg-backend", unit_dsn)


def test_listener_survives_restart(pg, unit_dsn):
    env = dict(os.environ, TEM_TEST_PG_DSN=unit_dsn)
    p = subprocess.Popen([unit_bin(), "listen-restart"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        pg.restart()
        out, err = p.communicate(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, out + err
    assert "resynced (resyncs 2)" in out
    # one line for the outage in the log, and one for the return
    assert err.count("pg listen lost the database") == 1, err
    assert err.count("pg listen connected again") == 1, err


# The same script on both backends: each step's exit code, stdout and
# stderr must match.
SCRIPT = [
    (("domain", "list"), None),
    (("domain", "add", "A.Test"), None),
    (("domain", "add", "a.test"), None),
    (("domain", "add", "b.test"), None),
    (("domain", "add", "bad_domain!"), None),
    (("user", "add", "Jürgen@A.test"), "secret\n"),
    (("user", "add", "jürgen@a.test"), "secret\n"),
    (("user", "add", "BOB@a.test"), "pw\n"),
    (("user", "add", "carol@b.test"), "pw\n"),
    (("user", "add", "x@nope.test"), "pw\n"),
    (("user", "add", "y@a.test"), "\n"),
    (("user", "passwd", "bob@a.test"), "pw2\n"),
    (("user", "passwd", "nobody@a.test"), "pw2\n"),
    (("user", "list"), None),
    (("user", "list", "a.test"), None),
    (("user", "list", "JüRGEN@a.test"), None),
    (("user", "list", "nobody@a.test"), None),
    (("user", "list", "nope.test"), None),
    (("alias", "add", "Info@a.test", "Bob@A.TEST", "x@Remote.test"), None),
    (("alias", "add", "info@a.test", "bob@a.test", "y@r.test"), None),
    (("alias", "add", "z@nope.test", "bob@a.test"), None),
    (("alias", "list"), None),
    (("alias", "list", "INFO@a.test"), None),
    (("alias", "list", "none@a.test"), None),
    (("user", "quota", "bob@a.test"), None),
    (("user", "quota", "bob@a.test", "1G", "100"), None),
    (("user", "quota", "bob@a.test"), None),
    (("user", "quota", "bob@a.test", "default"), None),
    (("user", "quota", "bob@a.test"), None),
    (("user", "quota", "nobody@a.test", "1G"), None),
    (("domain", "del", "a.test"), None),
    (("alias", "del", "info@a.test"), None),
    (("alias", "del", "info@a.test"), None),
    (("user", "del", "nobody@a.test"), None),
    (("domain", "del", "nope.test"), None),
    (("domain", "list"), None),
]


def run_script(conf):
    out = []
    for args, stdin in SCRIPT:
        r = tem(conf, *args, stdin=stdin)
        out.append((args, r.returncode, r.stdout, r.stderr))
    return out


def test_cli_same_as_embedded(pg, tmp_path):
    dsn = pg.fresh_db("cli")
    pconf = pg_init_conf(tmp_path / "pg", dsn)
    econf = pg_conf(tmp_path / "emb", dsn, "embedded")
    got_pg = run_script(pconf)
    got_emb = run_script(econf)
    for p, e in zip(got_pg, got_emb):
        assert p == e, (p, e)
    # and the rows are in the database, in the case rules' form
    assert pg.psql("SELECT string_agg(name, ' ' ORDER BY name) FROM "
                   "domains", db="cli") == "a.test b.test"
    assert pg.psql("SELECT string_agg(address, ' ' ORDER BY id) FROM users",
                   db="cli") == "Jürgen@a.test bob@a.test carol@b.test"
    assert pg.psql("SELECT hash LIKE '$y$%' FROM users WHERE address = "
                   "'bob@a.test'", db="cli") == "t"
    assert pg.psql("SELECT count(*) FROM aliases", db="cli") == "0"
    assert int(pg.psql("SELECT serial FROM accounts_serial",
                       db="cli")) > 10
    # user del: the embedded store keeps the Maildir, the cluster
    # deletes the mail with the account
    r = tem(pconf, "user", "del", "carol@b.test")
    assert r.returncode == 0 and r.stdout == \
        "user carol@b.test deleted with its mail\n", r
    r = tem(econf, "user", "del", "carol@b.test")
    assert r.returncode == 0 and "its mailbox stays in" in r.stdout


def test_cli_quota_and_alias_rows(pg, tmp_path):
    dsn = pg.fresh_db("rows")
    conf = pg_init_conf(tmp_path, dsn)
    assert tem(conf, "domain", "add", "c.test").returncode == 0
    assert tem(conf, "user", "add", "u@c.test", stdin="pw\n").returncode == 0
    assert tem(conf, "user", "quota", "u@c.test", "500M",
               "20").returncode == 0
    assert pg.psql("SELECT quota_storage, quota_messages FROM users",
                   db="rows") == "524288000|20"
    assert tem(conf, "alias", "add", "a@c.test", "u@c.test",
               "Ext@Far.test").returncode == 0
    assert pg.psql("SELECT array_to_string(targets, ',') FROM aliases",
                   db="rows") == "u@c.test,Ext@far.test"


def test_database_down(tmp_path):
    from temserver import free_port
    conf = pg_conf(tmp_path, "host=127.0.0.1 port=%d dbname=tem "
                      "connect_timeout=3" % free_port(), "postgresql")
    for args in (("domain", "list"), ("user", "add", "u@a.test"),
                 ("alias", "list")):
        r = tem(conf, *args, stdin="pw\n")
        assert r.returncode == 1, r
        assert r.stdout == ""
        lines = r.stderr.splitlines()
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("tem: database unavailable: "), r.stderr
        assert "refused" in lines[0]


def test_schema_missing(pg, tmp_path):
    dsn = pg.fresh_db("empty")
    conf = pg_conf(tmp_path, dsn, "postgresql")
    r = tem(conf, "domain", "list")
    assert r.returncode == 1
    assert r.stderr == "tem: the database holds no tem schema; run tem " \
        "db init first\n"


def test_concurrent_changes_serialised(pg, tmp_path):
    """Admin commands on several nodes at once: each change gets its own
    serial (the accounts_serial row orders them), none is lost."""
    dsn = pg.fresh_db("conc")
    conf = pg_init_conf(tmp_path, dsn)
    before = int(pg.psql("SELECT serial FROM accounts_serial", db="conc"))
    procs = [subprocess.Popen([tem_bin(), "-c", conf, "domain", "add",
                               "d%d.test" % i], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i in range(6)]
    procs.append(subprocess.Popen([tem_bin(), "-c", conf, "domain", "add",
                                   "d0.test"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    failed = [o for o in outs if o[2] != 0]
    # d0.test twice: exactly one of the two says it exists
    assert len(failed) == 1, outs
    assert failed[0][1] == "tem: domain d0.test already exists\n", outs
    assert pg.psql("SELECT count(*) FROM domains", db="conc") == "6"
    assert int(pg.psql("SELECT serial FROM accounts_serial",
                       db="conc")) == before + 6
