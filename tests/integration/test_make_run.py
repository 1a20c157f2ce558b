"""test_make_run - `make run` in a fresh `git clone` of this repository:
it builds build/tem, provisions demo@example.test, starts the server on
its fixed ports (scripts/run-dev.sh: 2525 ... 2995, 2419, 2080), and the server is
used with smtplib (SMTP and submission with STARTTLS + AUTH), imaplib
(IMAPS) and poplib (POP3S).

The clone holds the committed tree (HEAD), not uncommitted edits. The
fixed ports are shared by every checkout on this machine: a lock file
keeps two runs of this test (other xdist workers, another `make test`)
from overlapping. tem is stopped by its pid (the child of make)."""

import fcntl
import imaplib
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import urllib.request

import pytest

from postfixpeer import listening_on
from temserver import REPO, insecure_tls_context, wait_for

PORTS = {"smtp": 2525, "submission": 2587, "submissions": 2465,
         "imap": 2143, "imaps": 2993, "pop3": 2110, "pop3s": 2995,
         "managesieve": 2419, "http": 2080}
LOCK = "/tmp/tem-make-run-ports.lock"
DEMO = "demo@example.test"


def smtp_banner(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            return s.recv(512).startswith(b"220 ")
    except OSError:
        return False


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def exe_name(pid):
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return ""


@pytest.fixture
def port_lock():
    with open(LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.mark.timeout(900)
def test_make_run_in_a_fresh_clone(tmp_path, port_lock):
    busy = [p for p in PORTS.values() if listening_on(p)]
    assert not busy, "ports of make run in use: %s" % busy
    clone = str(tmp_path / "tem")
    subprocess.run(["git", "clone", "-q", REPO, clone], check=True,
                   timeout=120)
    out_path = str(tmp_path / "make-run.out")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MAKE", "MFLAGS", "TEM_"))}
    with open(out_path, "wb") as out:
        make = subprocess.Popen(["make", "run"], cwd=clone, env=env,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)

    def output():
        with open(out_path, errors="replace") as f:
            return f.read()

    tem_pid = None
    try:
        def ready():
            assert make.poll() is None, "make run exited %s:\n%s" % (
                make.returncode, output())
            return smtp_banner(PORTS["smtp"])
        wait_for(ready, 600, "make run to build and answer on 2525",
                 interval=0.5)
        tems = [p for p in children(make.pid) if exe_name(p) == "tem"]
        assert len(tems) == 1, (children(make.pid), output())
        tem_pid = tems[0]
        text = output()
        assert "deps.sh: installing" not in text, text
        pw = re.search(r"account +%s +password: (\S+)" % re.escape(DEMO),
                       text).group(1)
        use_the_server(pw)
    finally:
        if tem_pid is not None:
            os.kill(tem_pid, signal.SIGTERM)
        try:
            rc = make.wait(timeout=15)
        except subprocess.TimeoutExpired:
            if tem_pid is not None:
                os.kill(tem_pid, signal.SIGKILL)
            make.kill()
            make.wait()
            raise
    assert tem_pid is not None
    assert rc == 0, "make run after SIGTERM to tem: exit %d\n%s" % (
        rc, output())
    assert not any(listening_on(p) for p in PORTS.values())
    shutil.rmtree(clone, ignore_errors=True)


def use_the_server(pw):
    ctx = insecure_tls_context()
    msg = (b"From: <sender@b.test>\r\nTo: <%s>\r\nSubject: make run works"
           b"\r\n\r\nhello from smtplib\r\n" % DEMO.encode())
    with smtplib.SMTP("127.0.0.1", PORTS["smtp"], timeout=20) as s:
        assert s.sendmail("sender@b.test", [DEMO], msg) == {}
    with smtplib.SMTP("127.0.0.1", PORTS["submission"], timeout=20) as s:
        s.starttls(context=ctx)
        s.login(DEMO, pw)
        assert s.sendmail(DEMO, [DEMO], msg.replace(
            b"make run works", b"submitted")) == {}
    # both are stored before their 250: IMAP sees them at once
    m = imaplib.IMAP4_SSL("127.0.0.1", PORTS["imaps"], ssl_context=ctx,
                          timeout=20)
    try:
        m.login(DEMO, pw)
        typ, data = m.select("INBOX")
        assert typ == "OK" and int(data[0]) == 2, data
        typ, data = m.fetch("1:2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = b"".join(d[1] for d in data if isinstance(d, tuple))
        assert b"make run works" in subjects and b"submitted" in subjects
    finally:
        m.logout()
    p = poplib.POP3_SSL("127.0.0.1", PORTS["pop3s"], context=ctx,
                        timeout=20)
    try:
        p.user(DEMO)
        p.pass_(pw)
        assert p.stat()[0] == 2
        lines = p.retr(1)[1]
        assert b"hello from smtplib" in lines, lines
    finally:
        p.quit()
    # ManageSieve greets with its capabilities; HTTP answers /healthz
    with socket.create_connection(("127.0.0.1", PORTS["managesieve"]),
                                  timeout=20) as c:
        greeting = b""
        while not greeting.endswith(b"\r\n") or b"OK" not in greeting:
            chunk = c.recv(4096)
            assert chunk, greeting
            greeting += chunk
        assert b'"IMPLEMENTATION" "tem"' in greeting, greeting
    with urllib.request.urlopen("http://127.0.0.1:%d/healthz"
                                % PORTS["http"], timeout=20) as r:
        assert r.status == 200
