"""pgserver - a throw-away PostgreSQL 15 cluster for the storage tests:
initdb in a temporary folder, the server on a free port on 127.0.0.1
(and its socket in that folder), stopped and removed on exit.

PostgreSQL refuses to run as root, so the cluster belongs to Debian's
`postgres` user (made by the postgresql package) and is run through
runuser. Authentication is `trust` on loopback: the cluster lives for one
test and listens on 127.0.0.1 only.

Trust: test code only; the server is stopped by pg_ctl on its own data
folder (never by name).
"""

import glob
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

from temserver import free_port, tem_bin


def pg_bin(name):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/" + name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (make test installs "
                           "the postgresql package)")
    return found[-1]


def pg_unit_bin(name):
    """A C unit test that needs a database (src/pg/test-pg-NAME.c, run by
    the integration tests with TEM_TEST_PG_DSN), beside TEM_BIN's build
    (build/asan/tests/pg/...), checked to be built and current."""
    root = os.path.dirname(os.path.abspath(tem_bin()))
    path = os.path.join(root, "tests", "pg", name)
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src", "pg",
                       name + ".c")
    assert os.access(path, os.X_OK), "%s missing (make unit)" % path
    assert os.path.getmtime(path) >= os.path.getmtime(src), \
        "%s older than its source (make unit)" % path
    return path


def pg_unit_check(name, dsn):
    """Runs the unit test NAME against dsn (all its tests must pass), and
    without TEM_TEST_PG_DSN (it must fail, not skip)."""
    env = dict(os.environ, TEM_TEST_PG_DSN=dsn)
    r = subprocess.run([pg_unit_bin(name)], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert name + ":" in r.stdout and " 0 failed" in r.stdout, \
        r.stdout + r.stderr
    env.pop("TEM_TEST_PG_DSN")
    r = subprocess.run([pg_unit_bin(name)], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "0 passed, 1 failed" in r.stdout
    assert "needs TEM_TEST_PG_DSN" in r.stderr


def pg_unit_run(name, dsn, *args, timeout=300):
    """Runs `NAME args` (pg_unit_bin) on dsn; the CompletedProcess."""
    env = dict(os.environ, TEM_TEST_PG_DSN=dsn)
    return subprocess.run([pg_unit_bin(name)] + list(args), env=env,
                          capture_output=True, text=True, timeout=timeout)


def pg_unit_across_restart(server, name, dsn, mode, timeout=120):
    """Runs `NAME mode` on dsn, restarts server once it printed "ready",
    and returns (exit code, the rest of its stdout, its stderr)."""
    env = dict(os.environ, TEM_TEST_PG_DSN=dsn)
    p = subprocess.Popen([pg_unit_bin(name), mode], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        server.restart()
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err


def pg_conf(path, dsn, storage="postgresql"):
    """Writes path/tem.conf for storage on dsn (data_dir path/data);
    its path as a string."""
    path.mkdir(parents=True, exist_ok=True)
    conf = path / "tem.conf"
    conf.write_text("hostname = mx.a.test\ndata_dir = %s\n"
                    "storage = %s\npostgresql_dsn = %s\n" %
                    (path / "data", storage, dsn))
    return str(conf)


def pg_init_conf(path, dsn):
    """pg_conf(path, dsn), then `tem db init` on dsn (it must succeed);
    the config's path."""
    conf = pg_conf(path, dsn)
    r = subprocess.run([tem_bin(), "-c", conf, "db", "init"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return conf


class PgServer:
    """Context manager: .dsn (for tem), .port, .psql(sql)."""

    def __init__(self, dbname="tem", user="tem", settings=None):
        self.dbname = dbname
        self.user = user
        self.settings = dict(settings or {})  # more -c name=value
        self.dir = None
        self.port = None

    def _run(self, *args, check=True, capture=False):
        return subprocess.run(["runuser", "-u", "postgres", "--"] +
                              list(args), check=check, text=True,
                              stdout=subprocess.PIPE if capture else
                              subprocess.DEVNULL,
                              stderr=subprocess.PIPE)

    @property
    def dsn(self):
        return self.dsn_of(self.dbname)

    def dsn_of(self, dbname):
        """The DSN of database dbname on this server."""
        return ("host=127.0.0.1 port=%d dbname=%s user=%s "
                "connect_timeout=5" % (self.port, dbname, self.user))

    def __enter__(self):
        pw = pwd.getpwnam("postgres")
        self.dir = tempfile.mkdtemp(prefix="tem-pg-")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = os.path.join(self.dir, "data")
        try:
            self._run(pg_bin("initdb"), "-D", data, "-U", self.user,
                      "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
            self.port = free_port()
            opts = ("-c listen_addresses=127.0.0.1 -c port=%d "
                    "-c unix_socket_directories=%s -c fsync=on "
                    "-c synchronous_commit=on" % (self.port, self.dir))
            for k, v in self.settings.items():
                opts += " -c %s=%s" % (k, v)
            self._run(pg_bin("pg_ctl"), "-D", data, "-w", "-t", "60",
                      "-l", os.path.join(self.dir, "log"), "-o", opts,
                      "start")
            self.psql("CREATE DATABASE %s" % self.dbname, db="postgres")
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def _ctl(self, *args, check=True):
        return self._run(pg_bin("pg_ctl"), "-D",
                         os.path.join(self.dir, "data"), *args, check=check)

    def restart(self):
        """pg_ctl restart -m fast: clients are cut off, then it serves
        again on the same port (the options are kept in postmaster.opts)."""
        self._ctl("-m", "fast", "-w", "-t", "60", "-l",
                  os.path.join(self.dir, "log"), "restart")

    def stop(self):
        self._ctl("-m", "fast", "-w", "stop")

    def psql(self, sql, db=None):
        """Runs sql with psql; returns its unaligned, tuples-only output."""
        r = subprocess.run([pg_bin("psql"), "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", self.user,
                            "-d", db or self.dbname, "-c", sql],
                           check=True, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        return r.stdout.strip()

    def fresh_db(self, name):
        """Creates database name (empty, no schema); its DSN."""
        self.psql("CREATE DATABASE %s" % name, db="postgres")
        return self.dsn_of(name)

    def init_db(self, tmp_path, prefix="db"):
        """A new database (prefix + a number), initialised by `tem db
        init` with a config under tmp_path; its DSN."""
        self._ndb = getattr(self, "_ndb", 0) + 1
        name = "%s%d" % (prefix, self._ndb)
        dsn = self.fresh_db(name)
        pg_init_conf(pathlib.Path(tmp_path) / ("init-" + name), dsn)
        return dsn

    def log(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.dir is None:
            return
        data = os.path.join(self.dir, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            self._run(pg_bin("pg_ctl"), "-D", data, "-m", "fast", "-w",
                      "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def tem_cli(conf, *args, stdin=None, timeout=60):
    """`tem -c conf ARGS...` (the binary under test), text in and out."""
    return subprocess.run([tem_bin(), "-c", conf] + list(args),
                          input=stdin, capture_output=True, text=True,
                          timeout=timeout)
