"""Spam learning from IMAP (issue 10): what a user files as spam or ham
reaches a real rspamd (tests/lib/rspamd.py) through its controller, and
rspamd's statistics show it.

- COPY/MOVE (UID forms too) into Junk: learned as spam; out of Junk into
  another folder: ham; out of Junk into Trash: nothing.
- STORE +FLAGS $Junk: spam; +FLAGS $NotJunk: ham; -FLAGS: nothing.
- Off while rspamd_controller is unset.
- rspamd down or silent: the IMAP command answers OK without waiting for
  it, and one log line says why the learn failed.

Counts are read from rspamd's Bayes store (Rspamd.learns(): what `rspamc
stat` shows per statfile once its 30-60 s cache refreshes); one test
waits for `rspamc stat` itself. One rspamd and one tem for the module,
a user of its own per test.
"""

import os
import re
import socket
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from imapclient import Imap  # noqa: E402
from rspamd import rspamd_fixture  # noqa: E402,F401
from temserver import TemServer, free_port, module_server, wait_for  # noqa: E402

USERS = {"l%d@a.test" % i: "pw-l%d-Secret" % i for i in range(1, 21)}
_order = iter(sorted(USERS, key=lambda a: int(a[1:].split("@")[0])))


@pytest.fixture(scope="module")
def srv(rspamd):
    yield from module_server(
        services=("smtp", "imap"), users=USERS,
        extra_conf={"auth_allow_cleartext": "yes",
                    "rspamd_controller": rspamd.controller,
                    "rspamd_password": rspamd.password})


@pytest.fixture
def user():
    addr = next(_order)
    return addr, USERS[addr]


def login(srv, user):
    c = Imap(srv.ports["imap"])
    c.cmd('LOGIN %s "%s"' % user)
    return c


def message(tag):
    """A message no other test sends (rspamd refuses to learn the same
    message twice in one class)."""
    words = " ".join("w%s%d" % (tag, i) for i in range(30))
    return ("From: <s-%s@b.test>\r\nTo: <u@a.test>\r\nSubject: offer %s\r\n"
            "Message-ID: <%s@b.test>\r\n\r\nCheap offer %s, %s.\r\n"
            % (tag, tag, tag, tag, words)).encode()


def learn_lines(srv, user, cls=None):
    pat = r" spam learn user=%s class=%s status=" % (
        re.escape(user[0]), cls or r"\w+")
    return re.findall(pat + r"\d+.*", srv.log_text())


def queued(srv, user):
    """The learn-queued lines of USER (logged before the IMAP reply)."""
    return re.findall(r" spam learn-queued user=%s class=(\w+) count=(\d+)"
                      % re.escape(user[0]), srv.log_text())


def wait_learned(srv, user, cls, n):
    """Waits for the Nth learn line of USER and CLS; all must be 200."""
    lines = wait_for(lambda: len(learn_lines(srv, user, cls)) >= n and
                     learn_lines(srv, user, cls), 30,
                     "%d %s learn line(s) of %s" % (n, cls, user[0]))
    for l in lines:
        assert " status=200 " in l, l
    return lines


@pytest.mark.release
def test_move_into_junk_learns_spam(srv, rspamd, user):
    before = rspamd.learns()
    learned = rspamd.stat()["learned"]
    c = login(srv, user)
    c.append("INBOX", message("move-in"))
    c.cmd("SELECT INBOX")
    r = c.cmd("UID MOVE 1 Junk")
    assert r.tagged.startswith("OK"), r
    lines = wait_learned(srv, user, "spam", 1)
    assert 'answer="{\\"success\\":true}"' in lines[0], lines
    assert rspamd.learns() == {"spam": before["spam"] + 1,
                               "ham": before["ham"]}
    assert rspamd.stat()["learned"] == learned + 1
    c.close()


def test_move_out_of_junk_learns_ham(srv, rspamd, user):
    before = rspamd.learns()
    c = login(srv, user)
    c.append("Junk", message("move-out"))
    c.cmd("SELECT Junk")
    c.cmd("MOVE 1 INBOX")
    wait_learned(srv, user, "ham", 1)
    assert rspamd.learns() == {"spam": before["spam"],
                               "ham": before["ham"] + 1}
    c.close()


def test_copy_in_and_out(srv, rspamd, user):
    """COPY into Junk is spam, COPY of another out of Junk ham; a copy
    from Junk into Junk and a move into Trash teach nothing."""
    before = rspamd.learns()
    c = login(srv, user)
    c.append("INBOX", message("copy-in"))
    c.append("Junk", message("copy-out"))
    c.append("Junk", message("to-trash"))
    c.cmd("SELECT INBOX")
    c.cmd("COPY 1 Junk")
    wait_learned(srv, user, "spam", 1)
    c.cmd("SELECT Junk")
    # Junk now: copy-out (1), to-trash (2), copy-in (3)
    c.cmd("COPY 1 INBOX")
    wait_learned(srv, user, "ham", 1)
    c.cmd("COPY 3 Junk")
    c.cmd("UID MOVE 2 Trash")
    assert queued(srv, user) == [("spam", "1"), ("ham", "1")]
    assert rspamd.learns() == {"spam": before["spam"] + 1,
                               "ham": before["ham"] + 1}
    c.close()


def test_store_junk_keywords(srv, rspamd, user):
    before = rspamd.learns()
    c = login(srv, user)
    for tag in ("kw-junk", "kw-notjunk", "kw-remove"):
        c.append("INBOX", message(tag))
    c.cmd("SELECT INBOX")
    c.cmd("STORE 1 +FLAGS ($Junk)")
    wait_learned(srv, user, "spam", 1)
    c.cmd("UID STORE 2 +FLAGS.SILENT ($notjunk)")
    wait_learned(srv, user, "ham", 1)
    c.cmd("STORE 3 -FLAGS ($Junk)")
    c.cmd("STORE 3 +FLAGS ($Junk $NotJunk)")
    assert queued(srv, user) == [("spam", "1"), ("ham", "1")]
    assert rspamd.learns() == {"spam": before["spam"] + 1,
                               "ham": before["ham"] + 1}
    c.close()


def test_rspamc_stat_shows_learning(srv, rspamd, user):
    """`rspamc stat` itself: its statfile lines count every learn of this
    module (the controller refreshes them every 30-60 s)."""
    c = login(srv, user)
    c.append("INBOX", message("stat-spam"))
    c.append("Junk", message("stat-ham"))
    c.cmd("SELECT INBOX")
    c.cmd("MOVE 1 Junk")
    c.cmd("SELECT Junk")
    c.cmd("UID MOVE 1 INBOX")
    wait_learned(srv, user, "spam", 1)
    wait_learned(srv, user, "ham", 1)
    want = rspamd.learns()

    def stat_counts():
        out = rspamd.rspamc("stat")
        got = dict(re.findall(r"Statfile: BAYES_(SPAM|HAM) .*?learned: "
                              r"(\d+)", out))
        return {"spam": int(got.get("SPAM", -1)),
                "ham": int(got.get("HAM", -1))} == want and out
    wait_for(stat_counts, 120, "rspamc stat to show %s" % want, interval=1)
    c.close()


def test_learning_off_when_unset(rspamd):
    before = rspamd.learns()
    users = {"off@a.test": "pw-off-Secret"}
    with TemServer(services=("imap",), users=users,
                   extra_conf={"auth_allow_cleartext": "yes"}) as t:
        u = ("off@a.test", users["off@a.test"])
        c = login(t, u)
        c.append("INBOX", message("off"))
        c.cmd("SELECT INBOX")
        c.cmd("MOVE 1 Junk")
        c.cmd("SELECT Junk")
        c.cmd("STORE 1 +FLAGS ($Junk)")
        c.cmd("LOGOUT", expect=None)
        c.close()
        assert " spam " not in t.log_text()
    assert rspamd.learns() == before


class SilentController:
    """A controller that accepts and reads but never answers, until
    release(): shows that the IMAP reply does not wait for rspamd."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        self.data = b""
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        conn.settimeout(30)
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                with self.lock:
                    self.data += chunk
        except OSError:
            pass

    def received(self):
        with self.lock:
            return self.data

    def release(self):
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.conns = []
        self.sock.close()


def test_rspamd_down_or_silent(rspamd):
    """Refused: the MOVE answers OK and one line says why the learn
    failed. Silent: the MOVE answers OK while the learn request is still
    unanswered."""
    users = {"down@a.test": "pw-down-Secret", "slow@a.test": "pw-slow-Secret"}
    silent = SilentController()
    dead = "127.0.0.1:%d" % free_port()
    try:
        for addr, controller in (("down@a.test", dead),
                                 ("slow@a.test", silent.addr)):
            with TemServer(services=("imap",), users=users, extra_conf={
                    "auth_allow_cleartext": "yes",
                    "rspamd_controller": controller,
                    "rspamd_password": "pw"}) as t:
                u = (addr, users[addr])
                c = login(t, u)
                c.append("INBOX", message("down-" + addr))
                c.cmd("SELECT INBOX")
                r = c.cmd("MOVE 1 Junk")
                assert r.tagged.startswith("OK"), r
                if controller == dead:
                    line = wait_for(lambda: re.findall(
                        r"spam learn-failed user=down@a\.test class=spam "
                        r"controller=%s error=\"connect: Connection "
                        r"refused\"" % re.escape(dead), t.log_text()), 30,
                        "the learn-failed line")
                    assert len(line) == 1, line
                else:
                    # the request reached the controller, which has not
                    # answered, and the MOVE has answered
                    wait_for(lambda: b"Subject: offer down-slow"
                             in silent.received(), 30,
                             "the message at the silent controller")
                    head = silent.received()
                    assert head.startswith(b"POST /learnspam HTTP/1.1\r\n")
                    assert b"\r\nPassword: pw\r\n" in head
                    c.cmd("NOOP")
                    silent.release()
                    wait_for(lambda: "spam learn-failed user=slow@a.test "
                             "class=spam" in t.log_text(), 30,
                             "the learn-failed line")
                    assert 'error="connection closed without an answer"' \
                        in t.log_text()
                c.close()
    finally:
        silent.release()


def test_queue_full_drops_and_stop_cancels(rspamd):
    """A MOVE of more messages than the learner queue holds (64) while
    the controller is silent: the first 64 are queued, the rest dropped
    with one line; stopping tem drops what waits and cancels the request
    in flight (tem still exits 0 within its 10 s)."""
    users = {"bulk@a.test": "pw-bulk-Secret"}
    silent = SilentController()
    try:
        with TemServer(services=("imap",), users=users, extra_conf={
                "auth_allow_cleartext": "yes",
                "rspamd_controller": silent.addr}) as t:
            c = login(t, ("bulk@a.test", users["bulk@a.test"]))
            for i in range(70):
                c.append("INBOX", message("bulk%d" % i))
            c.cmd("SELECT INBOX")
            r = c.cmd("MOVE 1:70 Junk")
            assert r.tagged.startswith("OK"), r
            log = t.log_text()
            assert re.findall(r"spam learn-queued user=bulk@a\.test "
                              r"class=spam count=64", log), log
            assert re.findall(r"spam learn-dropped user=bulk@a\.test "
                              r"class=spam count=6 reason=queue-full", log)
            wait_for(silent.received, 30, "the first learn request")
            c.cmd("LOGOUT", expect=None)
            c.close()
            t.stop()
            log = t.log_text()
            assert re.findall(r"- spam learn-dropped count=63 "
                              r"reason=stopping", log), log
            assert 'error="receive: cancelled"' in log or \
                'error="send: cancelled"' in log, log
    finally:
        silent.release()


def test_wrong_password_and_relearn_are_logged(srv, rspamd, user):
    """rspamd's refusals reach the log line as its answer: a second $Junk
    on a message learned as spam gets 208 "already learned"; a tem with a
    wrong password gets 401 and learns nothing."""
    c = login(srv, user)
    c.append("INBOX", message("twice"))
    c.cmd("SELECT INBOX")
    c.cmd("STORE 1 +FLAGS ($Junk)")
    wait_learned(srv, user, "spam", 1)
    c.cmd("COPY 1 Junk")
    line = wait_for(lambda: [l for l in learn_lines(srv, user, "spam")
                             if " status=208 " in l], 30, "the 208 line")
    assert "already learned as spam" in line[0], line
    c.close()
    before = rspamd.learns()
    users = {"wrongpw@a.test": "pw-wrongpw-Secret"}
    with TemServer(services=("imap",), users=users, extra_conf={
            "auth_allow_cleartext": "yes",
            "rspamd_controller": rspamd.controller,
            "rspamd_password": "not-" + rspamd.password}) as t:
        u = ("wrongpw@a.test", users["wrongpw@a.test"])
        c = login(t, u)
        c.append("INBOX", message("wrongpw"))
        c.cmd("SELECT INBOX")
        c.cmd("MOVE 1 Junk")
        line = wait_for(lambda: learn_lines(t, u, "spam"), 30,
                        "the learn line")
        assert re.search(r'warning: \S+ spam learn user=wrongpw@a\.test '
                         r'class=spam status=401 answer="\{\\"error\\":'
                         r'\\"Unauthorized\\"\}"', t.log_text()), line
        assert rspamd.password not in t.log_text()
        c.close()
    assert rspamd.learns() == before
