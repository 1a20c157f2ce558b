"""test_pg_queue - the shared outbound queue on PostgreSQL
(src/queue/queue_pg.h) against a real PostgreSQL 15 (tests/lib/pgserver.py):

- the C unit tests (build/asan/tests/pg/test-pg-queue: submit, take,
  report, defer, flags, admin, three takers draining 200 messages each
  taken once, lease renewal, NOTIFY), which need TEM_TEST_PG_DSN and are
  therefore run here, not in tests/run.sh's unit pass;
- a node killed -9 while it holds leases: another node takes its messages
  once the lease (3 s in the test binary) ran out, and delivers each once;
- `tem queue list|del|flush` with storage = postgresql;
- `pg_ctl restart -m fast` under submits and takes: the process sees
  PG_UNAVAILABLE, recovers without a restart, and every acknowledged
  message is delivered.
"""

import os
import subprocess
import time


from pgserver import pg_init_conf, pg_unit_bin, pg_unit_check
from temserver import tem_bin


def unit_bin():
    return pg_unit_bin("test-pg-queue")


def fresh_db(pg, tmp_path, name):
    """A new database after `tem db init`; its DSN (the config beside
    it: tmp_path/tem.conf)."""
    dsn = pg.fresh_db(name)
    pg_init_conf(tmp_path, dsn)
    return dsn


def env_for(dsn):
    return dict(os.environ, TEM_TEST_PG_DSN=dsn)


def test_unit(pg, tmp_path):
    dsn = fresh_db(pg, tmp_path, "unit")
    pg_unit_check("test-pg-queue", dsn)


def test_killed_node_loses_leases(pg, tmp_path):
    dsn = fresh_db(pg, tmp_path, "kill")
    holder = subprocess.Popen([unit_bin(), "hold", "5"], env=env_for(dsn),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = holder.stdout.readline().split()
        assert line and line[0] == "held", holder.stderr.read()
        held = set(line[1:])
        assert len(held) == 5
        owner = pg.psql("SELECT DISTINCT lease_owner FROM queue", db="kill")
        assert owner.count(":") == 2, owner
    finally:
        holder.kill()		# -9: no release, the renewer dies with it
        holder.wait()
    killed_at = time.monotonic()
    r = subprocess.run([unit_bin(), "drain", "5"], env=env_for(dsn),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    delivered = [ln.split()[1] for ln in r.stdout.splitlines()
                 if ln.startswith("delivered ")]
    # each message once, by the other node, after the lease ran out
    assert sorted(delivered) == sorted(held)
    assert time.monotonic() - killed_at >= 2.0
    assert pg.psql("SELECT count(*) FROM queue", db="kill") == "0"
    assert pg.psql("SELECT count(*) FROM blobs", db="kill") == "0"


def test_database_restart(pg, tmp_path):
    dsn = fresh_db(pg, tmp_path, "restart")
    out = tmp_path / "ids"
    p = subprocess.Popen([unit_bin(), "restart", str(out)],
                         env=env_for(dsn), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        pg.restart()
        # the process finds the outage and works again by itself
        assert p.stdout.readline().strip() == "recovered", p.stderr.read()
        p.stdin.write("stop\n")
        p.stdin.flush()
        stdout, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, stdout + stderr
    assert "drained" in stdout
    lines = out.read_text().splitlines()
    acked = {ln.split()[1] for ln in lines if ln.startswith("acked ")}
    delivered = {ln.split()[1] for ln in lines if ln.startswith("delivered ")}
    assert len(acked) >= 2
    # nothing acknowledged is lost
    assert acked <= delivered, acked - delivered
    assert "database unavailable" in stderr
    assert pg.psql("SELECT count(*) FROM queue", db="restart") == "0"


def test_cli_queue(pg, tmp_path):
    dsn = fresh_db(pg, tmp_path, "cli")
    conf = str(tmp_path / "tem.conf")

    def tem(*args):
        return subprocess.run([tem_bin(), "-c", conf, "queue"] + list(args),
                              capture_output=True, text=True, timeout=60)

    r = tem("list")
    assert r.returncode == 0 and r.stdout == "", r
    r = subprocess.run([unit_bin(), "submit", "3"], env=env_for(dsn),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ids = r.stdout.split()
    assert len(ids) == 3
    # one arrival second for all three, whatever the clock did meanwhile,
    # then the newest a second later: the list is by arrival, then id
    pg.psql("UPDATE queue SET received = date_trunc('second', now()) - "
            "CASE WHEN id = '%s' THEN interval '0' ELSE interval '1s' END"
            % ids[0], db="cli")
    r = tem("list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == \
        sorted(ids[1:]) + [ids[0]], r.stdout
    assert "<s@a.test>" in lines[2] and "r1@far.test" in lines[2], lines[2]
    r = tem("del", ids[1].upper())
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r
    r = tem("del", ids[1])
    assert r.returncode == 1
    assert r.stderr == "tem: no message %s in the queue\n" % ids[1]
    r = tem("del", "nothex")
    assert r.returncode == 1
    assert r.stderr == "tem: a queue id is 16 hex digits (see tem queue " \
        "list)\n"
    assert [ln.split()[0] for ln in tem("list").stdout.splitlines()] == \
        [ids[2], ids[0]]
    assert pg.psql("SELECT count(*) FROM blobs", db="cli") == "2"
    pg.psql("UPDATE queue SET next_attempt = now() + interval '1 hour'; "
            "UPDATE queue_rcpts SET next_try = now() + interval '1 hour'",
            db="cli")
    r = tem("flush")
    assert r.returncode == 0 and r.stderr == "", r
    assert pg.psql("SELECT count(*) FROM queue WHERE next_attempt <= now()",
                   db="cli") == "2"
