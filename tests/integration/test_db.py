"""test_db - `tem db status|init|upgrade` against a real PostgreSQL 15
(tests/lib/pgserver.py: initdb in a temporary folder, its own port on
127.0.0.1): the schema is created once, versioned, refused when it is
newer than the binary, safe when several nodes run init at once; its
constraints hold (lowercase addresses, one active Sieve script, a
deleted user takes its mailboxes and messages along); and a server with
storage = postgresql starts on an initialised database and refuses, with
one log line, one that is not initialised or newer than it.
"""

import subprocess

import pytest

from pgserver import PgServer, tem_cli
from temserver import tem_bin


@pytest.fixture
def pg():
    with PgServer() as s:
        yield s


def write_conf(tmp_path, dsn, extra=""):
    path = tmp_path / "tem.conf"
    path.write_text("hostname = mx.a.test\ndata_dir = %s\n"
                    "postgresql_dsn = %s\n%s" %
                    (tmp_path / "data", dsn, extra))
    return str(path)


def tem(conf, *args, timeout=60):
    return tem_cli(conf, *args, timeout=timeout)


def inbox_with_message(pg, user_id, text, uidvalidity=1):
    """Makes user_id's INBOX holding one message of text, by SQL; its
    id."""
    mb = pg.psql("INSERT INTO mailboxes(user_id, name, uidvalidity) "
                 "VALUES (%s, 'INBOX', %d) RETURNING id" % (user_id,
                                                          uidvalidity))
    blob = pg.psql("INSERT INTO blobs(size, data) VALUES (%d, '%s') "
                   "RETURNING id" % (len(text), text))
    pg.psql("INSERT INTO messages(mailbox_id, uid, modseq, blob_id, size, "
            "internaldate) VALUES (%s, 1, 2, %s, %d, now())" %
            (mb, blob, len(text)))
    return mb


def test_init_status_upgrade(pg, tmp_path):
    conf = write_conf(tmp_path, pg.dsn)
    r = tem(conf, "db", "status")
    assert r.returncode == 1
    assert "schema version 0" in r.stdout and "tem db init" in r.stdout
    assert "PostgreSQL 15." in r.stdout

    r = tem(conf, "db", "upgrade")
    assert r.returncode == 1 and "no tem schema" in r.stderr

    r = tem(conf, "db", "init")
    assert r.returncode == 0, r.stderr
    assert "applied migration 1:" in r.stdout
    tables = set(pg.psql("SELECT tablename FROM pg_tables WHERE "
                         "schemaname = 'public'").split())
    for t in ("tem_schema", "domains", "users", "aliases", "dkim_keys",
              "mailboxes", "messages", "blobs", "expunged", "acl",
              "queue", "queue_rcpts", "sieve_scripts", "sieve_vacation",
              "sieve_duplicates", "counters"):
        assert t in tables, t
    assert "applied migration 2:" in r.stdout
    assert "pop3_locks" in tables
    assert pg.psql("SELECT string_agg(version::text, ',' ORDER BY version) "
                   "FROM tem_schema") == "1,2"

    r = tem(conf, "db", "status")
    assert r.returncode == 0 and "schema version 2 (this tem: 2)" in r.stdout

    r = tem(conf, "db", "init")
    assert r.returncode == 1 and "already holds a tem schema" in r.stderr
    r = tem(conf, "db", "upgrade")
    assert r.returncode == 0 and "already at version 2" in r.stdout
    assert pg.psql("SELECT count(*) FROM tem_schema") == "2"


def test_upgrade_from_version_1(pg, tmp_path, monkeypatch):
    """A database made by a tem of schema version 1 (TEM_TEST_PG_SCHEMA_TO
    stops init there) holding mail: serve refuses it with one line, `tem
    db upgrade` applies migration 2 only, keeps every row, and the
    upgraded database serves."""
    from temserver import free_port
    conf = write_conf(tmp_path, pg.dsn, "storage = postgresql\n"
                      "smtp_listen = 127.0.0.1:%d\n" % free_port())
    monkeypatch.setenv("TEM_TEST_PG_SCHEMA_TO", "1")
    r = tem(conf, "db", "init")
    assert r.returncode == 0, r.stderr
    assert "applied migration 1:" in r.stdout
    assert "migration 2" not in r.stdout
    monkeypatch.delenv("TEM_TEST_PG_SCHEMA_TO")
    assert pg.psql("SELECT max(version) FROM tem_schema") == "1"
    r = tem(conf, "db", "status")
    assert r.returncode == 1
    assert "schema version 1 (this tem: 2)" in r.stdout
    assert "tem db upgrade" in r.stdout

    pg.psql("INSERT INTO domains(name) VALUES ('a.test');"
            "INSERT INTO users(address, domain, hash) VALUES "
            "('u@a.test', 'a.test', 'x')")
    uid = pg.psql("SELECT id FROM users")
    mb = inbox_with_message(pg, uid, "hello", uidvalidity=7)
    pg.psql("UPDATE mailboxes SET uidnext = 2")

    r = tem(conf, "serve", timeout=60)
    assert r.returncode == 1, r.stderr
    lines = [l for l in r.stderr.splitlines() if "database-refused" in l]
    assert len(lines) == 1, r.stderr
    assert "schema version 1" in lines[0] and "tem db upgrade" in lines[0]

    r = tem(conf, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert "applied migration 2:" in r.stdout
    assert "migration 1" not in r.stdout
    assert pg.psql("SELECT string_agg(version::text, ',' ORDER BY version) "
                   "FROM tem_schema") == "1,2"
    # the rows are kept, the new column has its default
    assert pg.psql("SELECT m.uid || ' ' || m.exact || ' ' || "
                   "encode(b.data, 'escape') FROM messages m JOIN blobs b "
                   "ON b.id = m.blob_id WHERE m.mailbox_id = %s" % mb) == \
        "1 false hello"
    assert pg.psql("SELECT uidvalidity || ' ' || uidnext FROM mailboxes") \
        == "7 2"
    assert pg.psql("SELECT count(*) FROM pop3_locks") == "0"
    r = tem(conf, "db", "upgrade")
    assert r.returncode == 0 and "already at version 2" in r.stdout


def test_concurrent_init_applies_once(pg, tmp_path):
    conf = write_conf(tmp_path, pg.dsn)
    procs = [subprocess.Popen([tem_bin(), "-c", conf, "db", "init"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60) + (p.returncode,) for p in procs]
    applied = [o for o in outs if "applied migration 1" in o[0]]
    assert len(applied) == 1, outs
    # the others either found it done under the lock or were told to
    # upgrade; none failed half-way
    for out, err, rc in outs:
        assert rc == 0 or "already holds a tem schema" in err, (out, err)
    assert pg.psql("SELECT count(*) FROM tem_schema") == "2"


def test_newer_schema_refused(pg, tmp_path):
    conf = write_conf(tmp_path, pg.dsn)
    assert tem(conf, "db", "init").returncode == 0
    pg.psql("INSERT INTO tem_schema(version, what) VALUES (99, 'future')")
    r = tem(conf, "db", "upgrade")
    assert r.returncode == 1
    assert "newer than this tem knows" in r.stderr


def test_schema_constraints(pg, tmp_path):
    conf = write_conf(tmp_path, pg.dsn)
    assert tem(conf, "db", "init").returncode == 0
    pg.psql("INSERT INTO domains(name) VALUES ('a.test');"
            "INSERT INTO users(address, domain, hash) VALUES "
            "('u@a.test', 'a.test', 'x')")
    with pytest.raises(subprocess.CalledProcessError):
        pg.psql("INSERT INTO users(address, domain, hash) VALUES "
                "('U2@a.test', 'a.test', 'x')")
    # the case rules: a UTF-8 local part keeps its case, and is unique
    # with its ASCII letters folded (only those: ü and Ü differ)
    pg.psql("INSERT INTO users(address, domain, hash) VALUES "
            "('Jürgen@a.test', 'a.test', 'x')")
    with pytest.raises(subprocess.CalledProcessError):
        pg.psql("INSERT INTO users(address, domain, hash) VALUES "
                "('jürgen@a.test', 'a.test', 'x')")
    pg.psql("INSERT INTO users(address, domain, hash) VALUES "
            "('JÜrgen@a.test', 'a.test', 'x')")
    with pytest.raises(subprocess.CalledProcessError):
        pg.psql("INSERT INTO aliases(address, domain, targets) VALUES "
                "('Info@a.test', 'a.test', '{u@a.test}')")
    pg.psql("DELETE FROM users WHERE address LIKE 'J%'")
    uid = pg.psql("SELECT id FROM users WHERE address = 'u@a.test'")
    pg.psql("INSERT INTO sieve_scripts(user_id, name, script, active) "
            "VALUES (%s, 'one', 'keep;', true)" % uid)
    with pytest.raises(subprocess.CalledProcessError):
        pg.psql("INSERT INTO sieve_scripts(user_id, name, script, active) "
                "VALUES (%s, 'two', 'keep;', true)" % uid)
    mb = inbox_with_message(pg, uid, "abc")
    # the UID allocation the cluster relies on: one row, one number each
    got = pg.psql("UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = %s "
                  "RETURNING uidnext - 1" % mb)
    assert got == "1"
    pg.psql("DELETE FROM users WHERE id = %s" % uid)
    assert pg.psql("SELECT count(*) FROM mailboxes") == "0"
    assert pg.psql("SELECT count(*) FROM messages") == "0"
    assert pg.psql("SELECT count(*) FROM sieve_scripts") == "0"


def test_unreachable_database(tmp_path):
    from temserver import free_port
    conf = write_conf(tmp_path, "host=127.0.0.1 port=%d dbname=tem "
                      "connect_timeout=3" % free_port())
    r = tem(conf, "db", "status")
    assert r.returncode == 1
    assert r.stderr.startswith("tem: postgresql: connect:")


def test_serve_checks_schema(pg, tmp_path):
    """serve starts on an initialised database (and stops cleanly); a
    database not initialised, or with a newer schema, is refused with one
    log line and exit 1."""
    from temserver import TemServer, free_port
    conf = write_conf(tmp_path, pg.dsn, "storage = postgresql\n"
                      "smtp_listen = 127.0.0.1:%d\n" % free_port())

    def refused():
        r = tem(conf, "serve", timeout=60)
        assert r.returncode == 1, r.stderr
        lines = [l for l in r.stderr.splitlines() if "database-refused" in l]
        assert len(lines) == 1, r.stderr
        return lines[0]

    assert "not initialised: run tem db init" in refused()
    assert tem(conf, "db", "init").returncode == 0
    with TemServer(users={}, extra_conf={"storage": "postgresql",
                                         "postgresql_dsn": pg.dsn}) as node:
        with open(node.logs[-1]) as f:
            assert "server accounts-loaded" in f.read()
    pg.psql("INSERT INTO tem_schema(version, what) VALUES (99, 'future')")
    assert "newer than this tem knows" in refused()
