"""ptyscreen - a full-screen program (mutt, neomutt) on a pseudo-terminal,
typed at like a user: each key once the screen shows what the previous
one should have drawn.

Trust: test code; runs the program given with the environment given.
"""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time

RUN_TIMEOUT = 60
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\r|\x0f|\x0e")


def terminal_env(home):
    """A small, fixed environment: HOME, an xterm, UTF-8, UTC."""
    return {"HOME": str(home), "TERM": "xterm", "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "PATH": os.environ.get("PATH", "/usr/bin"),
            "TZ": "UTC"}


class Screen:
    """A program on a 120x40 pseudo-terminal; what it drew is kept with
    escape sequences removed (enough to find text it showed)."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 40, 120, 0, 0))
        self.raw = b""
        self.eof = False

    @property
    def text(self):
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def _read(self, wait):
        r, _, _ = select.select([self.fd], [], [], wait)
        if not r:
            return
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:               # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            self.eof = True
        self.raw += chunk

    def wait_text(self, needle, since=0, timeout=RUN_TIMEOUT):
        """Waits until NEEDLE was drawn after offset SINCE of self.text."""
        deadline = time.monotonic() + timeout
        while needle not in self.text[since:]:
            assert not self.eof, "the program exited before showing %r:\n%s" % (
                needle, self.text[-3000:])
            assert time.monotonic() < deadline, "%r never shown:\n%s" % (
                needle, self.text[-3000:])
            self._read(0.2)

    def keys(self, data):
        """Types DATA; returns the offset of what is drawn after it."""
        mark = len(self.text)
        os.write(self.fd, data)
        return mark

    def wait_exit(self, timeout=RUN_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read(0.2)
        if not self.eof:
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        assert self.eof, "the program did not exit:\n" + self.text[-3000:]
        return status

    def kill(self):
        """Ends the program if it still runs (after a failed step)."""
        if self.eof:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass            # wait_exit reaped it
