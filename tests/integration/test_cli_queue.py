"""test_cli_queue - `tem queue list|flush|del`, run as the real binary
($TEM_BIN, default build/asan/tem) against a temp config.

Checks exit codes and the one-line `tem: ...` errors: an empty queue lists
nothing, an unknown or malformed id cannot be deleted, flush succeeds, a
damaged queue file is listed as damaged instead of crashing the command,
and the commands work while the server runs. Messages cannot be queued
from the command line: the end-to-end queue tests (list, del and flush of
real mail) come with the delivery engine.
"""

import os
import subprocess

import pytest

from temserver import SANITIZER_MARKS, sanitizer_env, tem_bin

UNKNOWN_ID = "0123456789abcdef"


class Admin:
    """A temp config (data_dir below tmp_path, run_as empty) and a runner."""

    def __init__(self, tmp_path):
        self.data = str(tmp_path / "data")
        self.conf = str(tmp_path / "tem.conf")
        with open(self.conf, "w") as f:
            f.write("data_dir = %s\nrun_as =\n" % self.data)
        self.env = sanitizer_env()

    def run(self, *args, conf=None):
        p = subprocess.run([tem_bin(), "-c", conf or self.conf, *args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=self.env, timeout=60)
        out, err = p.stdout.decode(), p.stderr.decode()
        for mark in SANITIZER_MARKS:
            assert mark not in err, err
        return p.returncode, out, err

    def ok(self, *args, conf=None):
        rc, out, err = self.run(*args, conf=conf)
        assert rc == 0, (args, rc, err)
        assert err == "", (args, err)
        return out

    def fails(self, *args, status=None, conf=None):
        """Runs a command that must fail: returns its one stderr line."""
        rc, out, err = self.run(*args, conf=conf)
        assert rc != 0, (args, out)
        if status is not None:
            assert rc == status, (args, rc, err)
        lines = err.splitlines()
        assert len(lines) == 1, (args, err)
        assert lines[0].startswith("tem: "), lines
        assert out == "", out
        return lines[0]


@pytest.fixture
def admin(tmp_path):
    return Admin(tmp_path)


def test_help(admin):
    out = admin.ok("queue", "--help")
    for sub in ("list", "flush", "del ID"):
        assert "queue " + sub in out, out


def test_list_empty_queue_prints_nothing(admin):
    # no queue directory at all (the server never ran)
    assert admin.ok("queue", "list") == ""
    assert not os.path.exists(os.path.join(admin.data, "queue"))
    # an existing, empty one
    os.makedirs(os.path.join(admin.data, "queue", "msg"))
    assert admin.ok("queue", "list") == ""


def test_del_unknown_id_fails_with_one_line(admin):
    line = admin.fails("queue", "del", UNKNOWN_ID, status=1)
    assert UNKNOWN_ID in line, line
    os.makedirs(os.path.join(admin.data, "queue", "msg"))
    line = admin.fails("queue", "del", UNKNOWN_ID.upper(), status=1)
    assert UNKNOWN_ID in line, line


@pytest.mark.parametrize("bad", ["xyz", "0123456789abcdeg",
                                 "0123456789abcdef0", "../../etc/passwd",
                                 ""])
def test_del_malformed_id_fails_with_one_line(admin, bad):
    line = admin.fails("queue", "del", bad, status=1)
    assert "16 hex digits" in line, line


def test_flush_succeeds(admin):
    assert admin.ok("queue", "flush") == ""
    # the queue directory is the server's to create, not the CLI's
    assert not os.path.exists(os.path.join(admin.data, "queue"))
    os.makedirs(os.path.join(admin.data, "queue", "msg"))
    assert admin.ok("queue", "flush") == ""
    assert os.path.exists(os.path.join(admin.data, "queue", "flush"))


@pytest.mark.parametrize("args", [[], ["bogus"], ["list", "extra"],
                                  ["flush", "x"], ["del"],
                                  ["del", UNKNOWN_ID, "x"]])
def test_usage_errors(admin, args):
    admin.fails("queue", *args, status=2)


def test_damaged_file_is_listed_not_fatal(admin):
    msg = os.path.join(admin.data, "queue", "msg")
    os.makedirs(msg)
    with open(os.path.join(msg, UNKNOWN_ID), "wb") as f:
        f.write(b"TEMQ0001E\x00\x00\x00\x05garbage\x1b[31m")
    out = admin.ok("queue", "list")
    assert out.startswith(UNKNOWN_ID + " damaged="), out
    assert "\x1b" not in out
    assert len(out.splitlines()) == 1
    # and del removes it like any other message
    assert admin.ok("queue", "del", UNKNOWN_ID) == ""
    assert admin.ok("queue", "list") == ""


def test_commands_while_server_runs(admin, tem):
    assert admin.ok("queue", "list", conf=tem.conf_path) == ""
    assert admin.ok("queue", "flush", conf=tem.conf_path) == ""
    line = admin.fails("queue", "del", UNKNOWN_ID, status=1,
                       conf=tem.conf_path)
    assert UNKNOWN_ID in line, line
    assert tem.alive()
