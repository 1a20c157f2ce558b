"""test_cli_queue - `tem queue list|flush|del`, run as the real binary
($TEM_BIN, default build/asan/tem) against a temp config.

Checks exit codes and the one-line `tem: ...` errors: an empty queue lists
nothing, an unknown or malformed id cannot be deleted, flush succeeds, a
damaged queue file is listed as damaged instead of crashing the command,
and the commands work while the server runs. Queues of real mail (list,
del, flush) are tested in test_delivery.py.
"""

import os

import pytest

from temadmin import Admin

UNKNOWN_ID = "0123456789abcdef"


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
