"""temadmin - the admin commands (`tem -c CONF domain|user|alias|queue|dkim
...`) run as the real binary ($TEM_BIN) against a temp config, without a
server. Trust: test code only.

    a = Admin(tmp_path, run_as="", extra="hostname = mx.a.test\\n")
    a.ok("domain", "add", "a.test")      # stdout; exit 0, empty stderr
    a.fails("user", "del", "x@y", status=1)  # its one "tem: ..." line
    a.run(...)                           # (exit code, stdout, stderr)
Every run checks stderr for sanitizer reports.
"""

import os
import subprocess

from temserver import SANITIZER_MARKS, sanitizer_env, tem_bin


class Admin:
    """A temp config (data_dir below tmp_path, run_as RUN_AS, EXTRA
    lines) and a runner."""

    def __init__(self, tmp_path, run_as="", extra=""):
        self.data = str(tmp_path / "data")
        self.conf = str(tmp_path / "tem.conf")
        with open(self.conf, "w") as f:
            f.write("data_dir = %s\nrun_as = %s\n%s" % (self.data, run_as,
                                                       extra))
        self.env = sanitizer_env()

    def run(self, *args, stdin=None, conf=None):
        p = subprocess.run([tem_bin(), "-c", conf or self.conf, *args],
                           input=stdin.encode() if stdin is not None else None,
                           stdin=subprocess.DEVNULL if stdin is None else None,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env, timeout=60)
        out, err = p.stdout.decode(), p.stderr.decode()
        for mark in SANITIZER_MARKS:
            assert mark not in err, err
        return p.returncode, out, err

    def ok(self, *args, stdin=None, conf=None):
        rc, out, err = self.run(*args, stdin=stdin, conf=conf)
        assert rc == 0, (args, rc, err)
        assert err == "", (args, err)
        return out

    def fails(self, *args, stdin=None, status=None, conf=None):
        """Runs a command that must fail: returns its one stderr line."""
        rc, out, err = self.run(*args, stdin=stdin, conf=conf)
        assert rc != 0, (args, out)
        if status is not None:
            assert rc == status, (args, rc, err)
        lines = err.splitlines()
        assert len(lines) == 1, (args, err)
        assert lines[0].startswith("tem: "), lines
        assert out == "", out
        return lines[0]

    def lines(self, *args):
        return self.ok(*args).splitlines()

    def mailbox(self, domain, localpart):
        return os.path.join(self.data, "mail", domain, localpart)
