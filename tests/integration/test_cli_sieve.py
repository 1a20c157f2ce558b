"""test_cli_sieve - `tem sieve put|get|list|activate|deactivate|del`, run
as the real binary ($TEM_BIN) against a temp config: the store's files
on disk, the active mark, compile errors with "NAME:LINE: message", the
limits, and the refusals (unknown account, bad name, active script).
"""

import os
import pathlib
import pwd
import re
import shutil
import stat
import tempfile

import pytest

import temadmin

SCRIPT = 'require "fileinto";\nif header :contains "subject" "x" {\n' \
         '  fileinto "X";\n}\n'
BROKEN = 'require "fileinto";\nkeep;\nfrobnicate;\n'


@pytest.fixture
def adm(tmp_path):
    a = temadmin.Admin(tmp_path)
    a.ok("domain", "add", "a.test")
    a.ok("user", "add", "alice@a.test", stdin="pw-alice\n")
    return a


def test_help_and_usage(adm):
    rc, out, err = adm.run("sieve", "--help")
    assert rc == 0 and "sieve put ADDRESS NAME" in out and err == ""
    assert "usage: tem sieve put ADDRESS NAME" in \
        adm.fails("sieve", "put", "alice@a.test", status=2)
    assert "unknown sieve command 'frob'" in \
        adm.fails("sieve", "frob", "alice@a.test", status=2)
    assert "missing sieve command" in adm.fails("sieve", status=2)


def test_put_get_list_activate_del(adm):
    assert adm.ok("sieve", "list", "alice@a.test") == ""
    adm.ok("sieve", "put", "alice@a.test", "main", stdin=SCRIPT)
    adm.ok("sieve", "put", "Alice@A.TEST", "other", stdin="keep;\n")
    assert adm.ok("sieve", "get", "alice@a.test", "main") == SCRIPT
    assert adm.lines("sieve", "list", "alice@a.test") == ["main", "other"]
    # On disk: the lower-cased address, as the Maildir; 0700; NAME.sieve.
    d = os.path.join(adm.data, "sieve", "a.test", "alice")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    with open(os.path.join(d, "main.sieve")) as f:
        assert f.read() == SCRIPT

    adm.ok("sieve", "activate", "alice@a.test", "main")
    assert adm.lines("sieve", "list", "alice@a.test") == \
        ["main (active)", "other"]
    with open(os.path.join(d, "active")) as f:
        assert f.read() == "main"
    err = adm.fails("sieve", "del", "alice@a.test", "main", status=1)
    assert "is active" in err and "deactivate" in err
    adm.ok("sieve", "del", "alice@a.test", "other")
    assert adm.lines("sieve", "list", "alice@a.test") == ["main (active)"]
    adm.ok("sieve", "deactivate", "alice@a.test")
    assert not os.path.exists(os.path.join(d, "active"))
    adm.ok("sieve", "del", "alice@a.test", "main")
    assert adm.ok("sieve", "list", "alice@a.test") == ""
    assert "has no script 'main'" in \
        adm.fails("sieve", "get", "alice@a.test", "main", status=1)
    assert "has no script 'nope'" in \
        adm.fails("sieve", "activate", "alice@a.test", "nope", status=1)


def test_compile_error_names_the_line(adm):
    rc, out, err = adm.run("sieve", "put", "alice@a.test", "bad",
                           stdin=BROKEN)
    assert rc == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert re.match(r"^bad:3: .*frobnicate", lines[0]), lines
    assert adm.ok("sieve", "list", "alice@a.test") == ""
    # An empty script is a valid one (RFC 5228: implicit keep).
    adm.ok("sieve", "put", "alice@a.test", "empty", stdin="")
    assert adm.ok("sieve", "get", "alice@a.test", "empty") == ""


def test_refusals(adm):
    assert "bob@a.test" in adm.fails("sieve", "list", "bob@a.test",
                                     status=1)
    assert "invalid script name" in adm.fails(
        "sieve", "put", "alice@a.test", "a/b", stdin="keep;", status=1)
    assert "invalid script name" in adm.fails(
        "sieve", "put", "alice@a.test", "x" * 129, stdin="keep;", status=1)
    assert "larger than" in adm.fails(
        "sieve", "put", "alice@a.test", "big",
        stdin="#" * (1024 * 1024 + 1), status=1)
    for i in range(32):
        adm.ok("sieve", "put", "alice@a.test", "s%02d" % i, stdin="keep;")
    assert "32 scripts" in adm.fails("sieve", "put", "alice@a.test",
                                     "s99", stdin="keep;", status=1)
    adm.ok("sieve", "put", "alice@a.test", "s05", stdin="stop;")


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_written_as_run_as():
    """Run as root, `tem sieve` writes as run_as: the server (running as
    run_as) must read and change the files."""
    nobody = pwd.getpwnam("nobody")
    top = tempfile.mkdtemp(prefix="tem-test-")
    try:
        os.chmod(top, 0o755)     # run_as must reach data/
        a = temadmin.Admin(pathlib.Path(top), run_as="nobody")
        a.ok("domain", "add", "a.test")
        a.ok("user", "add", "u@a.test", stdin="pw\n")
        a.ok("sieve", "put", "u@a.test", "s", stdin="keep;\n")
        a.ok("sieve", "activate", "u@a.test", "s")
        for rel in ("sieve", "sieve/a.test", "sieve/a.test/u",
                    "sieve/a.test/u/s.sieve", "sieve/a.test/u/active"):
            st = os.stat(os.path.join(a.data, rel))
            assert st.st_uid == nobody.pw_uid, rel
        assert a.ok("sieve", "get", "u@a.test", "s") == "keep;\n"
    finally:
        shutil.rmtree(top, ignore_errors=True)
