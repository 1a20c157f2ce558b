"""The order of writes behind a 250 (SPEC: the final 250 comes only after
the message is fsynced): in each recipient's Maildir for local mail
(inbound MX), in the queue for mail to a remote recipient (submission).

The running server is traced with strace: for every recipient, the file
(unnamed O_TMPFILE in new/, or named in tmp/) must be synced
(fsync/fdatasync of it, or syncfs) before it is linked or renamed
into new/, and the directory synced (fsync of new/ or the Maildir, or
syncfs) after the rename; both before the final 250 is written. Causal
order is safe to read from strace -f: a thread stays stopped at each
syscall exit until strace has printed it.

The queue path: the queue file is written in queue/tmp/, synced, renamed
into queue/msg/, then queue/msg/ is synced, and only then the 250."""

import base64
import os
import re
import signal
import subprocess
import time

import pytest

from temserver import PASSWORDS, SMTPConn, dot_stuff, expect, simple_message

# strace of the Maildir and queue files' fsyncs and renames (on
# PostgreSQL the COMMIT is the durability point)
pytestmark = pytest.mark.embedded_only


TRACED = ("fsync,fdatasync,syncfs,sync,rename,renameat,renameat2,link,linkat,"
          "openat,write,writev,sendto,sendmsg")
LINE = re.compile(r"^(\d+) +(.*)$")


class Strace:
    """strace -f attached to a running process (detached on stop)."""

    def __init__(self, pid, path):
        self.out = path
        self.err = path + ".err"
        with open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                ["strace", "-f", "-yy", "-s", "64", "-e", "trace=" + TRACED,
                 "-o", path, "-p", str(pid)],
                stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 10
        try:
            # "strace: Process N attached with T threads" once all are.
            while "attached" not in self._messages():
                assert self.proc.poll() is None, self._messages()
                assert time.monotonic() < deadline, self._messages()
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise

    def _messages(self):
        with open(self.err) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=10)

    def events(self):
        """[(name, args, start, end)] with start/end the line numbers of
        the call's entry and return."""
        pending, out = {}, []
        with open(self.out, errors="replace") as f:
            for i, raw in enumerate(f):
                m = LINE.match(raw.rstrip("\n"))
                if not m:
                    continue
                pid, text = m.groups()
                r = re.match(r"<\.\.\. (\w+) resumed>(.*)$", text)
                if r:
                    if pid in pending:
                        name, args, start = pending.pop(pid)
                        out.append((name, args + r.group(2), start, i))
                    continue
                c = re.match(r"(\w+)\((.*)$", text)
                if not c:
                    continue
                if text.endswith("<unfinished ...>"):
                    pending[pid] = (c.group(1), c.group(2), i)
                else:
                    out.append((c.group(1), c.group(2), i, i))
        return out


def traced_delivery(tem, rcpts, chunked=False, login=None):
    """Delivers one message to RCPTS under strace (on the submission port,
    AUTH PLAIN as LOGIN, when LOGIN is given); returns the events and the
    line of the final reply's write."""
    sent = simple_message("durable", body=b"fsync me\r\n" * 50)
    trace = Strace(tem.proc.pid, os.path.join(tem.dir, "strace.out"))
    port = tem.ports["submission"] if login else tem.smtp_port
    sender = login or "sender@b.test"
    try:
        with SMTPConn(port) as c:
            c.ehlo()
            if login:
                token = base64.b64encode(b"\0%s\0%s" % (
                    login.encode(), PASSWORDS[login].encode())).decode()
                expect(c.cmd("AUTH PLAIN " + token), "235")
            expect(c.cmd("MAIL FROM:<%s>" % sender), "250")
            for r in rcpts:
                expect(c.cmd("RCPT TO:<%s>" % r), "250")
            if chunked:
                c.send(b"BDAT %d LAST\r\n" % len(sent) + sent)
            else:
                expect(c.cmd("DATA"), "354")
                c.send(dot_stuff(sent) + b".\r\n")
            final = expect(c.reply(), "250")
            expect(c.cmd("QUIT"), "221")
    finally:
        trace.stop()
    events = trace.events()
    marker = final.last[:30]
    writes = [e for e in events if e[0] in ("write", "writev", "sendto",
                                             "sendmsg")
              and "TCP:" in e[1] and marker in e[1]]
    assert writes, "final reply %r not found in the trace" % marker
    return events, writes[0][2]


def check_order(events, reply_at, user):
    """The file was synced before it got its name in new/ (a rename from
    tmp/, or a link of an unnamed O_TMPFILE file), new/ was synced after,
    both before the 250."""
    box = "/mail/a.test/%s/" % user
    placed = [e for e in events
              if e[0] in ("rename", "renameat", "renameat2", "link", "linkat")
              and box + "new/" in e[1] and (box + "tmp/" in e[1] or
                                            "AT_EMPTY_PATH" in e[1] or
                                            "/proc/self/fd/" in e[1])]
    assert len(placed) == 1, "%s: want one file put into new/, got %s" % (
        user, placed)
    name, rargs, rstart, rend = placed[0]
    if box + "tmp/" in rargs:
        tmp = re.search(r'"([^"]*' + re.escape(box) + r'tmp/[^"]*)"',
                        rargs).group(1)
        opened = [e for e in events if e[0] == "openat" and tmp in e[1]]
        mine = lambda a: tmp + ">" in a
    else:
        # linkat(FD<path>, "", ..., AT_EMPTY_PATH) or
        # linkat(AT_FDCWD, "/proc/self/fd/FD", ...): FD is the file
        m = re.match(r"(\d+)<", rargs) or re.search(
            r'"/proc/self/fd/(\d+)"', rargs)
        fd = m.group(1)
        opened = [e for e in events if e[0] == "openat" and
                  "O_TMPFILE" in e[1] and e[3] < rstart and
                  re.search(r"= %s<" % fd, e[1])]
        opened = opened[-1:]
        mine = lambda a: a.startswith(fd + "<")
    assert opened, "open of the file linked by %s not traced" % rargs
    file_synced = [e for e in events
                   if e[2] > opened[0][3] and e[3] < rstart and (
                       e[0] == "syncfs" or e[0] == "sync" or
                       (e[0] in ("fsync", "fdatasync") and mine(e[1])))]
    assert file_synced, "%s: %s put into new/ before any sync of it" % (
        user, rargs)
    dir_synced = [e for e in events
                  if e[2] > rend and e[3] < reply_at and (
                      e[0] in ("syncfs", "sync") or
                      (e[0] in ("fsync", "fdatasync") and
                       re.search(re.escape(box.rstrip("/")) + r"(/new)?/?>",
                                 e[1])))]
    assert dir_synced, "%s: no sync of new/ between the rename and the 250" % (
        user)
    assert rend < reply_at, "%s: 250 written before the file was in new/" \
        % user


def check_queue_order(events, reply_at):
    """queue/tmp/ID written and synced, renamed into queue/msg/, then
    queue/msg/ synced, all before the 250."""
    renames = [e for e in events
               if e[0] in ("rename", "renameat", "renameat2", "link", "linkat")
               and "/queue/tmp/" in e[1] and "/queue/msg/" in e[1]]
    assert len(renames) == 1, "want one queue tmp->msg rename, got %s" % (
        renames,)
    _, rargs, rstart, rend = renames[0]
    tmp = re.search(r'"([^"]*/queue/tmp/[0-9a-f]+)"', rargs).group(1)
    opened = [e for e in events if e[0] == "openat" and tmp in e[1]]
    assert opened, "open of %s not traced" % tmp
    file_synced = [e for e in events
                   if e[2] > opened[0][3] and e[3] < rstart and (
                       e[0] in ("syncfs", "sync") or
                       (e[0] in ("fsync", "fdatasync") and tmp + ">" in e[1]))]
    assert file_synced, "%s renamed into queue/msg/ before any sync of it" \
        % tmp
    dir_synced = [e for e in events
                  if e[2] > rend and e[3] < reply_at and (
                      e[0] in ("syncfs", "sync") or
                      (e[0] in ("fsync", "fdatasync") and
                       re.search(r"/queue/msg/?>", e[1])))]
    assert dir_synced, "no sync of queue/msg/ between the rename and the 250"
    assert rend < reply_at, "250 written before the rename"


def test_one_recipient_synced_before_250(tem):
    events, reply_at = traced_delivery(tem, ["alice@a.test"])
    check_order(events, reply_at, "alice")


def test_several_recipients_synced_before_250(tem):
    events, reply_at = traced_delivery(tem, ["alice@a.test", "bob@a.test"])
    check_order(events, reply_at, "alice")
    check_order(events, reply_at, "bob")


def test_bdat_synced_before_250(tem):
    events, reply_at = traced_delivery(tem, ["bob@a.test"], chunked=True)
    check_order(events, reply_at, "bob")


def test_remote_recipient_queued_and_synced_before_250(make_tem):
    tem = make_tem(services=("smtp", "submission"),
                   extra_conf={"auth_allow_cleartext": "yes"})
    events, reply_at = traced_delivery(tem, ["someone@remote.test"],
                                       login="alice@a.test")
    check_queue_order(events, reply_at)
    # and it went to the queue, not to a Maildir
    assert not [e for e in events if "/mail/" in e[1] and "/new/" in e[1]
                and e[0].startswith("rename") and e[3] < reply_at]
