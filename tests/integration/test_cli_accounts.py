"""test_cli_accounts - the `tem domain|user|alias` admin commands, run as the
real binary ($TEM_BIN, default build/asan/tem) against a temp config.

Checks exit codes, one-line `tem: ...` errors, sorted lists, the Maildir++
made for each user, that accounts.db holds yescrypt hashes and never the
password, passwords from stdin and from a terminal, and the change serial.
"""

import ctypes
import os
import pwd
import select
import sqlite3
import subprocess
import threading
import time

import pytest

import temadmin
from temserver import tem_bin

SPECIAL = ["Drafts", "Sent", "Trash", "Junk", "Archive"]


class Admin(temadmin.Admin):
    """The shared runner, plus the account store's files."""

    def db(self):
        return sqlite3.connect(os.path.join(self.data, "accounts.db"))

    def serial(self):
        try:
            with open(os.path.join(self.data, "accounts.serial")) as f:
                return int(f.read())
        except FileNotFoundError:
            return 0


@pytest.fixture
def adm(tmp_path):
    return Admin(tmp_path)


_libcrypt = ctypes.CDLL("libcrypt.so.1", use_errno=True)
_libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
_libcrypt.crypt.restype = ctypes.c_char_p


def crypt_matches(password, hashed):
    """Verifies with the system's libcrypt crypt(3) (Debian libcrypt1, which
    tem links too, but called here independently of tem's code)."""
    out = _libcrypt.crypt(password.encode(), hashed.encode())
    assert out is not None and not out.startswith(b"*"), \
        "libcrypt cannot read %r" % hashed
    return out.decode() == hashed


def test_help_and_usage_errors(adm):
    for cmd in ("domain", "user", "alias"):
        rc, out, err = adm.run(cmd, "--help")
        assert rc == 0 and err == ""
        assert out.startswith("usage: ") and cmd in out
        line = adm.fails(cmd, status=2)
        assert "missing" in line
        line = adm.fails(cmd, "frobnicate", status=2)
        assert "unknown" in line and "frobnicate" in line
    assert "usage" in adm.fails("domain", "add", status=2)
    assert "usage" in adm.fails("domain", "add", "a.test", "b.test", status=2)
    assert "usage" in adm.fails("alias", "add", "x@a.test", status=2)
    assert "usage" in adm.fails("user", "passwd", status=2)


def test_domains(adm):
    assert adm.lines("domain", "list") == []
    adm.ok("domain", "add", "Example.TEST")
    adm.ok("domain", "add", "b.test")
    adm.ok("domain", "add", "a.test.")
    assert adm.lines("domain", "list") == ["a.test", "b.test", "example.test"]
    line = adm.fails("domain", "add", "EXAMPLE.test")
    assert "example.test" in line and "exists" in line
    for bad in ("-bad.test", "a..test", "a_b.test", "a/b", "x" * 300):
        assert "invalid domain" in adm.fails("domain", "add", bad)
    adm.ok("domain", "del", "B.TEST")
    assert adm.lines("domain", "list") == ["a.test", "example.test"]
    line = adm.fails("domain", "del", "b.test")
    assert line == "tem: domain b.test does not exist"
    st = os.stat(adm.data)
    assert st.st_mode & 0o777 == 0o750


def test_user_add_makes_maildir_and_hash(adm):
    adm.ok("domain", "add", "a.test")
    adm.ok("user", "add", "Alice@A.Test", stdin="Secret-pw-1\n")
    assert adm.lines("user", "list") == ["alice@a.test"]
    box = adm.mailbox("a.test", "alice")
    for sub in ("cur", "new", "tmp"):
        assert os.path.isdir(os.path.join(box, sub))
    for name in SPECIAL:
        folder = os.path.join(box, "." + name)
        for sub in ("cur", "new", "tmp"):
            assert os.path.isdir(os.path.join(folder, sub)), (name, sub)
        assert os.path.isfile(os.path.join(folder, "maildirfolder"))
    with open(os.path.join(box, "subscriptions")) as f:
        assert sorted(f.read().split()) == sorted(SPECIAL)
    with adm.db() as db:
        rows = db.execute("SELECT address, hash FROM users").fetchall()
    assert len(rows) == 1
    address, hashed = rows[0]
    assert address == "alice@a.test"
    assert hashed.startswith("$y$")
    assert "Secret-pw-1" not in hashed
    assert crypt_matches("Secret-pw-1", hashed) is True
    assert crypt_matches("Secret-pw-2", hashed) is False
    with open(os.path.join(adm.data, "accounts.db"), "rb") as f:
        assert b"Secret-pw-1" not in f.read()


def test_user_errors(adm):
    line = adm.fails("user", "add", "bob@nowhere.test", stdin="pw\n")
    assert line == "tem: domain nowhere.test does not exist"
    assert not os.path.exists(adm.mailbox("nowhere.test", "bob"))
    adm.ok("domain", "add", "a.test")
    assert "empty password" in adm.fails("user", "add", "bob@a.test",
                                         stdin="")
    assert "empty password" in adm.fails("user", "add", "bob@a.test",
                                         stdin="\n")
    assert adm.lines("user", "list") == []
    adm.ok("user", "add", "bob@a.test", stdin="pw\n")
    line = adm.fails("user", "add", "BOB@a.test", stdin="pw\n")
    assert line == "tem: user bob@a.test already exists"
    for bad in ("nobody", "@a.test", "a b@a.test", "../x@a.test",
                "x/y@a.test", ".x@a.test", '"q"@a.test'):
        assert "invalid address" in adm.fails("user", "add", bad,
                                              stdin="pw\n"), bad
    line = adm.fails("user", "passwd", "nobody@a.test", stdin="pw\n")
    assert line == "tem: user nobody@a.test does not exist"
    line = adm.fails("user", "del", "nobody@a.test")
    assert line == "tem: user nobody@a.test does not exist"
    line = adm.fails("user", "add", "long@a.test", stdin="x" * 5000 + "\n")
    assert "longer" in line


def test_password_is_first_line_of_stdin(adm):
    adm.ok("domain", "add", "a.test")
    adm.ok("user", "add", "carol@a.test", stdin="first-line\r\nsecond\n")
    with adm.db() as db:
        (hashed,) = db.execute("SELECT hash FROM users").fetchone()
    assert crypt_matches("first-line", hashed) is True
    adm.ok("user", "passwd", "Carol@a.test", stdin="new-pw")  # no newline
    with adm.db() as db:
        (new,) = db.execute("SELECT hash FROM users").fetchone()
    assert new != hashed and new.startswith("$y$")
    assert crypt_matches("new-pw", new) is True


def test_user_list_del_and_utf8(adm):
    adm.ok("domain", "add", "a.test")
    adm.ok("domain", "add", "b.test")
    for addr in ("zed@a.test", "amy@b.test", "Bob@a.test", "Jürgen@a.test"):
        adm.ok("user", "add", addr, stdin="pw\n")
    assert adm.lines("user", "list") == sorted(
        ["zed@a.test", "amy@b.test", "bob@a.test", "Jürgen@a.test"])
    assert adm.lines("user", "list", "A.TEST") == sorted(
        ["zed@a.test", "bob@a.test", "Jürgen@a.test"])
    assert adm.lines("user", "list", "jürgen@a.test") == ["Jürgen@a.test"]
    assert "does not exist" in adm.fails("user", "list", "c.test")
    # A UTF-8 local part keeps its case; its Maildir has the raw name.
    assert os.path.isdir(adm.mailbox("a.test", "Jürgen") + "/new")
    line = adm.fails("user", "add", "jürgen@a.test", stdin="pw\n")
    assert "already exists" in line
    # del keeps the Maildir on disk.
    adm.ok("user", "del", "ZED@a.test")
    assert "zed@a.test" not in adm.lines("user", "list")
    assert os.path.isdir(adm.mailbox("a.test", "zed") + "/cur")
    # re-adding keeps what is there
    marker = adm.mailbox("a.test", "zed") + "/cur/1.msg:2,S"
    open(marker, "w").close()
    adm.ok("user", "add", "zed@a.test", stdin="pw\n")
    assert os.path.exists(marker)


def test_domain_del_refused_while_in_use(adm):
    adm.ok("domain", "add", "a.test")
    adm.ok("user", "add", "u@a.test", stdin="pw\n")
    adm.ok("alias", "add", "info@a.test", "u@a.test")
    line = adm.fails("domain", "del", "a.test")
    assert "a.test" in line and "1 user" in line and "1 alias" in line
    adm.ok("user", "del", "u@a.test")
    line = adm.fails("domain", "del", "a.test")
    assert "0 users" in line and "1 alias" in line
    adm.ok("alias", "del", "info@a.test")
    adm.ok("domain", "del", "a.test")
    assert adm.lines("domain", "list") == []


def test_aliases(adm):
    adm.ok("domain", "add", "a.test")
    adm.ok("user", "add", "alice@a.test", stdin="pw\n")
    adm.ok("alias", "add", "Sales@A.test", "ALICE@a.test",
           "Partner@Remote.Test")
    adm.ok("alias", "add", "info@a.test", "sales@a.test")
    assert adm.lines("alias", "list") == [
        "info@a.test sales@a.test",
        "sales@a.test alice@a.test,Partner@remote.test",
    ]
    # add to an existing alias appends, duplicates dropped
    adm.ok("alias", "add", "sales@a.test", "alice@a.test", "x@other.test")
    assert adm.lines("alias", "list", "SALES@a.test") == [
        "sales@a.test alice@a.test,Partner@remote.test,x@other.test"]
    line = adm.fails("alias", "add", "x@remote.test", "alice@a.test")
    assert line == "tem: domain remote.test does not exist"
    assert "invalid address" in adm.fails("alias", "add", "y@a.test",
                                          "not-an-address")
    assert "invalid address" in adm.fails("alias", "add", "y@a.test",
                                          "a@b@")
    assert "does not exist" in adm.fails("alias", "list", "nope@a.test")
    adm.ok("alias", "del", "info@a.test")
    line = adm.fails("alias", "del", "info@a.test")
    assert line == "tem: alias info@a.test does not exist"
    assert adm.lines("alias", "list") == [
        "sales@a.test alice@a.test,Partner@remote.test,x@other.test"]


def test_serial_bumps_on_change_only(adm):
    adm.ok("domain", "list")
    s0 = adm.serial()
    adm.ok("domain", "add", "a.test")
    s1 = adm.serial()
    assert s1 > s0
    adm.fails("domain", "add", "a.test")
    adm.ok("domain", "list")
    assert adm.serial() == s1
    adm.ok("user", "add", "u@a.test", stdin="pw\n")
    s2 = adm.serial()
    assert s2 > s1
    adm.ok("user", "passwd", "u@a.test", stdin="pw2\n")
    adm.ok("alias", "add", "v@a.test", "u@a.test")
    adm.ok("alias", "del", "v@a.test")
    adm.ok("user", "del", "u@a.test")
    adm.ok("domain", "del", "a.test")
    assert adm.serial() == s2 + 5
    leftovers = [n for n in os.listdir(adm.data) if ".tmp" in n]
    assert leftovers == []


def test_concurrent_admin_commands(adm):
    adm.ok("domain", "list")
    s0 = adm.serial()
    results = []

    def add(i):
        results.append(adm.run("domain", "add", "d%d.test" % i))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[0] for r in results] == [0] * 8, results
    assert len(adm.lines("domain", "list")) == 8
    assert adm.serial() == s0 + 8


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_files_owned_by_run_as(tmp_path):
    nobody = pwd.getpwnam("nobody")
    adm = Admin(tmp_path, run_as="nobody")
    adm.ok("domain", "add", "a.test")
    adm.ok("user", "add", "u@a.test", stdin="pw\n")
    for rel in ("", "accounts.db", "accounts.serial", "mail", "mail/a.test",
                "mail/a.test/u", "mail/a.test/u/new", "mail/a.test/u/.Sent",
                "mail/a.test/u/.Sent/maildirfolder",
                "mail/a.test/u/subscriptions"):
        st = os.stat(os.path.join(adm.data, rel))
        assert st.st_uid == nobody.pw_uid, rel
    st = os.stat(os.path.join(adm.data, "accounts.db"))
    assert st.st_mode & 0o077 == 0, oct(st.st_mode)


def test_run_as_missing_user_is_ignored(tmp_path):
    adm = Admin(tmp_path, run_as="no-such-user-tem")
    adm.ok("domain", "add", "a.test")
    assert adm.lines("domain", "list") == ["a.test"]


def _read_until(fd, want, deadline):
    got = b""
    while want not in got:
        left = deadline - time.monotonic()
        assert left > 0, "timed out waiting for %r, got %r" % (want, got)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 4096)
            assert chunk, "EOF before %r, got %r" % (want, got)
            got += chunk
    return got


def _prompted_add(adm, address, first, second):
    """Runs `user add` with a terminal as stdin, answering both prompts."""
    master, slave = os.openpty()
    proc = subprocess.Popen([tem_bin(), "-c", adm.conf, "user", "add",
                             address], stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=adm.env)
    os.close(slave)
    deadline = time.monotonic() + 30
    try:
        err = _read_until(proc.stderr.fileno(), b"password", deadline)
        os.write(master, first.encode() + b"\n")
        err += _read_until(proc.stderr.fileno(), b"Retype", deadline)
        os.write(master, second.encode() + b"\n")
        out, rest = proc.communicate(timeout=30)
        err += rest
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out.decode(), err.decode()


def test_password_prompt_on_terminal(adm):
    adm.ok("domain", "add", "a.test")
    rc, out, err = _prompted_add(adm, "tty@a.test", "tty-Secret", "tty-Secret")
    assert rc == 0, err
    assert "tty-Secret" not in err and "tty-Secret" not in out
    assert adm.lines("user", "list") == ["tty@a.test"]
    with adm.db() as db:
        (hashed,) = db.execute("SELECT hash FROM users").fetchone()
    assert crypt_matches("tty-Secret", hashed) is True
    rc, out, err = _prompted_add(adm, "tty2@a.test", "one", "two")
    assert rc != 0
    assert err.splitlines()[-1] == "tem: the passwords do not match"
    assert adm.lines("user", "list") == ["tty@a.test"]
