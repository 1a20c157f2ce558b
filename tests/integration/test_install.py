"""test_install - running tem for real: `make install`/`uninstall` into a
DESTDIR, `make deb` and the package installed on this machine and purged,
the systemd unit (systemd-analyze verify and security), sd_notify
(READY, WATCHDOG, RELOADING, STOPPING on a datagram socket the test binds)
and `tem setup DOMAIN`.

The journal sink: unit-tested with a fake sd_journal_send
(src/util/test-log-journal.c), and end to end here with the real
libsystemd against a fake journald: a datagram socket at
/run/systemd/journal/socket in a private mount namespace (unshare -m),
so a real journald, if any, is never touched.
The package test installs on this machine (a chroot of Debian 12 would
cost minutes of debootstrap) with apt, then purges it; it leaves no user
or data_dir it made behind.
"""

import grp
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest

from temserver import REPO, TemServer, free_port, tem_bin, wait_for

EXPOSURE_MAX = 3.0          # issue 11: aim under 3.0 (it is 1.5 today)
VERSION = re.search(r'TEM_VERSION "([^"]+)"',
                    open(os.path.join(REPO, "src", "version.h")).read())[1]


def make(*args, check=True):
    p = subprocess.run(["make", "--no-print-directory", "-s"] + list(args),
                       cwd=REPO, capture_output=True, text=True, timeout=600)
    if check:
        assert p.returncode == 0, p.stdout + p.stderr
    return p


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def tmp(tmp_path):
    return str(tmp_path)


def man_sources(tmp):
    """Stand-ins for the generated man pages (helper docs makes the real
    ones): install must take whatever MANPAGES names."""
    paths = []
    for name, sec in (("tem.8", "8"), ("tem.conf.5", "5")):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write('.TH %s %s\n.SH NAME\n%s\n' % (name.split(".")[0],
                                                    sec, name))
        paths.append(p)
    return paths


def test_install_tree_and_uninstall(tmp):
    root = os.path.join(tmp, "root")
    mans = man_sources(tmp)
    make("install", "DESTDIR=" + root, "PREFIX=/usr",
         "MANPAGES=" + " ".join(mans))
    want = {
        "usr/sbin/tem": 0o755,
        "lib/systemd/system/tem.service": 0o644,
        "etc/tem/tem.conf": 0o640,
        "var/lib/tem": 0o750,
        "usr/share/man/man8/tem.8": 0o644,
        "usr/share/man/man5/tem.conf.5": 0o644,
    }
    for rel, m in want.items():
        p = os.path.join(root, rel)
        assert os.path.exists(p), rel
        assert mode(p) == m, "%s mode %o, want %o" % (rel, mode(p), m)
    unit = open(os.path.join(root, "lib/systemd/system/tem.service")).read()
    assert "ExecStart=/usr/sbin/tem -c /etc/tem/tem.conf serve" in unit
    assert "@SBINDIR@" not in unit
    out = subprocess.run([os.path.join(root, "usr/sbin/tem"), "--version"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "tem " + VERSION
    # the shipped config is all comments and valid
    conf = os.path.join(root, "etc/tem/tem.conf")
    assert subprocess.run([tem_bin(), "-c", conf, "check"],
                          capture_output=True).returncode == 0

    # a second install keeps the administrator's config
    with open(conf, "a") as f:
        f.write("log_level = debug\n")
    make("install", "DESTDIR=" + root, "PREFIX=/usr", "MANPAGES=")
    assert open(conf).read().endswith("log_level = debug\n")

    make("uninstall", "DESTDIR=" + root, "PREFIX=/usr")
    for rel in ("usr/sbin/tem", "lib/systemd/system/tem.service",
                "usr/share/man/man8/tem.8", "usr/share/man/man5/tem.conf.5"):
        assert not os.path.exists(os.path.join(root, rel)), rel
    assert os.path.exists(conf)                       # config kept
    assert os.path.isdir(os.path.join(root, "var/lib/tem"))  # data kept


def test_install_default_prefix(tmp):
    root = os.path.join(tmp, "root")
    make("install", "DESTDIR=" + root, "MANPAGES=")
    assert os.access(os.path.join(root, "usr/local/sbin/tem"), os.X_OK)
    unit = os.path.join(root, "usr/local/lib/systemd/system/tem.service")
    assert "ExecStart=/usr/local/sbin/tem " in open(unit).read()


def exposure(unit_path):
    p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--no-pager", unit_path],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for tem\.service: ([0-9.]+)",
                  p.stdout)
    assert m, p.stdout + p.stderr
    return float(m[1])


def test_unit_verify_and_security(tmp):
    root = os.path.join(tmp, "root")
    make("install", "DESTDIR=" + root, "PREFIX=/usr", "MANPAGES=")
    # verify checks that ExecStart is executable: point it at the staged
    # binary (a copy named tem.service, as the unit's name matters)
    text = open(os.path.join(root, "lib/systemd/system/tem.service")).read()
    unit = os.path.join(tmp, "tem.service")
    with open(unit, "w") as f:
        f.write(text.replace("/usr/sbin/tem", root + "/usr/sbin/tem"))
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", unit],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr.strip() == "", p.stderr
    for need in ("Type=notify", "WatchdogSec=30s", "User=tem",
                 "ExecReload=/bin/kill -HUP $MAINPID",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "ProtectSystem=strict", "ReadWritePaths=/var/lib/tem",
                 "SystemCallFilter=@system-service",
                 "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"):
        assert need + "\n" in text, need
    score = exposure(unit)
    print("systemd-analyze security exposure: %.1f" % score)
    assert score < EXPOSURE_MAX


def deb_path():
    arch = subprocess.run(["dpkg", "--print-architecture"],
                          capture_output=True, text=True).stdout.strip()
    return os.path.join(REPO, "build", "tem_%s_%s.deb" % (VERSION, arch))


def test_deb_contents():
    make("deb", "MANPAGES=")
    deb = deb_path()
    info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True,
                          text=True, check=True).stdout
    assert " Package: tem\n" in info
    assert " Version: %s\n" % VERSION in info
    deps = re.search(r"^ Depends: (.*)$", info, re.M)[1]
    for lib in ("libc6", "libevent-2.1-7", "libssl3", "libsqlite3-0",
                "libunbound8", "libsystemd0", "adduser"):
        assert lib in deps, deps
    for script in ("postinst", "prerm", "postrm", "conffiles"):
        assert " " + script + " " in info.replace("\t", " "), script
    files = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                           text=True, check=True).stdout
    names = {line.split()[-1]: line.split()[0] for line in files.splitlines()}
    assert names["./usr/sbin/tem"] == "-rwxr-xr-x"
    assert names["./lib/systemd/system/tem.service"] == "-rw-r--r--"
    assert names["./etc/tem/tem.conf"] == "-rw-r-----"
    assert "./var/lib/tem/" not in names       # postinst makes it, tem's
    ctl = subprocess.run(["dpkg-deb", "-f", deb, "Package"],
                         capture_output=True, text=True).stdout
    assert ctl.strip() == "tem"
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["dpkg-deb", "-e", deb, d], check=True)
        assert open(os.path.join(d, "conffiles")).read() == \
            "/etc/tem/tem.conf\n"
        for s in ("postinst", "prerm", "postrm"):
            assert subprocess.run(["sh", "-n", os.path.join(d, s)]
                                  ).returncode == 0, s


def apt(*args):
    # other jobs on this machine may hold the dpkg lock for a while
    p = subprocess.run(["apt-get", "-y", "-q", "-o",
                        "DPkg::Lock::Timeout=600"] + list(args),
                       capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr
    return p


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return "ok installed" in p.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="installs a package: root")
def test_deb_install_and_purge():
    assert not installed("tem"), "a tem package is installed already"
    had_user = subprocess.run(["getent", "passwd", "tem"],
                              capture_output=True).returncode == 0
    had_data = os.path.exists("/var/lib/tem")
    make("deb", "MANPAGES=")
    try:
        apt("install", deb_path())
        assert installed("tem")
        assert os.access("/usr/sbin/tem", os.X_OK)
        pw = pwd.getpwnam("tem")
        assert pw.pw_dir == "/var/lib/tem"
        assert pw.pw_shell == "/usr/sbin/nologin"
        st = os.stat("/var/lib/tem")
        assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid)
        assert mode("/var/lib/tem") == 0o750
        st = os.stat("/etc/tem/tem.conf")
        assert st.st_uid == 0 and st.st_gid == grp.getgrnam("tem").gr_gid
        assert mode("/etc/tem/tem.conf") == 0o640
        # enabled for boot (deb-systemd-helper), started only where
        # systemd runs: here it does not, so nothing was started
        assert os.path.islink("/etc/systemd/system/multi-user.target.wants/"
                              "tem.service")
        unit = "/lib/systemd/system/tem.service"
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", unit],
                           capture_output=True, text=True)
        assert p.returncode == 0 and p.stderr.strip() == "", p.stderr
        assert exposure(unit) < EXPOSURE_MAX
        # the service's user can read the installed config
        p = subprocess.run(["runuser", "-u", "tem", "--", "/usr/sbin/tem",
                            "-c", "/etc/tem/tem.conf", "check"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    finally:
        if installed("tem") or os.path.exists("/etc/tem"):
            apt("purge", "tem")
    assert not os.path.exists("/usr/sbin/tem")
    assert not os.path.exists("/lib/systemd/system/tem.service")
    assert not os.path.exists("/etc/tem")      # purge: config gone
    assert os.path.isdir("/var/lib/tem")       # the mail is never purged
    pwd.getpwnam("tem")                        # nor its owner
    # leave the machine as found
    if not had_data:
        subprocess.run(["rm", "-rf", "/var/lib/tem"], check=True)
    if not had_user:
        subprocess.run(["userdel", "tem"], check=True)
        subprocess.run(["groupdel", "tem"], capture_output=True)


class NotifySocket:
    """The service manager's end of NOTIFY_SOCKET: an AF_UNIX datagram
    socket; each datagram is KEY=VALUE lines."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.got = []

    def wait(self, key, timeout=30):
        """Returns the first datagram not yet seen that has KEY."""
        deadline = time.monotonic() + timeout
        while True:
            for i, d in enumerate(self.got):
                if key in d:
                    del self.got[:i + 1]
                    return d
            left = deadline - time.monotonic()
            assert left > 0, "no %s from tem (got %r)" % (key, self.got)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.got.append(dict(line.split("=", 1)
                                 for line in data.split("\n") if "=" in line))

    def close(self):
        self.sock.close()


def test_sd_notify(tmp):
    ns = NotifySocket(os.path.join(tmp, "notify"))
    t = TemServer(services=("smtp", "imap"))
    t.env["NOTIFY_SOCKET"] = ns.path
    t.env["WATCHDOG_USEC"] = "400000"          # pings every 200 ms
    try:
        with t:
            ready = ns.wait("READY")
            assert ready["READY"] == "1"
            # READY=1 comes after the listeners are bound: they answer
            for svc in ("smtp", "imap"):
                socket.create_connection(("127.0.0.1", t.ports[svc]),
                                         timeout=5).close()
            assert "server watchdog interval_ms=200" in t.log_text()
            assert ns.wait("WATCHDOG")["WATCHDOG"] == "1"
            assert ns.wait("WATCHDOG")["WATCHDOG"] == "1"   # it repeats
            t.proc.send_signal(signal.SIGHUP)
            rel = ns.wait("RELOADING")
            assert rel["RELOADING"] == "1" and int(rel["MONOTONIC_USEC"]) > 0
            assert ns.wait("READY")["READY"] == "1"
            assert t.stop() == 0
            assert ns.wait("STOPPING")["STOPPING"] == "1"
    finally:
        ns.close()


def test_no_notify_socket_no_change():
    """In a terminal (no NOTIFY_SOCKET) serve says nothing about it."""
    with TemServer() as t:
        log = t.log_text()
    assert "sd-notify" not in log and "watchdog" not in log


def low_port():
    """A port below 1024 free on 127.0.0.1 right now (we are root)."""
    for port in range(700, 1000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port below 1024")


@pytest.mark.skipif(os.geteuid() != 0, reason="changes user: root")
def test_unprivileged_with_bind_capability():
    """The unit's design without systemd: tem started as a plain user
    (nobody here, tem under the unit) holding only CAP_NET_BIND_SERVICE as
    an ambient capability binds a port below 1024 and serves; its own
    root-then-setuid drop is skipped."""
    tmp = tempfile.mkdtemp(prefix="tem-test-")   # pytest's is root-only
    os.chmod(tmp, 0o755)
    data = os.path.join(tmp, "data")
    os.mkdir(data, 0o750)
    os.chown(data, 65534, 65534)
    port = low_port()
    conf = os.path.join(tmp, "tem.conf")
    with open(conf, "w") as f:
        f.write("hostname = mx.a.test\ndata_dir = %s\nrun_as = tem\n"
                "smtp_listen = 127.0.0.1:%d\n" % (data, port))
    os.chmod(conf, 0o644)
    env = dict(os.environ)
    env.pop("TEM_CONFIG", None)
    log = os.path.join(tmp, "serve.log")
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            ["setpriv", "--reuid", "nobody", "--regid", "nogroup",
             "--clear-groups", "--inh-caps", "-all,+net_bind_service",
             "--ambient-caps", "+net_bind_service", tem_bin(), "-c", conf,
             "serve"], stdout=f, stderr=f, stdin=subprocess.DEVNULL,
            env=env)
    try:
        def banner():
            assert proc.poll() is None, open(log).read()
            try:
                with socket.create_connection(("127.0.0.1", port),
                                              timeout=5) as c:
                    return c.recv(512)
            except OSError:
                return None
        assert wait_for(banner, timeout=30,
                        what="tem on port %d" % port).startswith(b"220 ")
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
    text = open(log).read()
    assert rc == 0, text
    assert "running as user" not in text       # no drop: never was root
    assert os.stat(os.path.join(data, "queue")).st_uid == 65534
    shutil.rmtree(tmp)


# Runs in `unshare -m`: a tmpfs on /run (this namespace only), the
# journal's socket there, tem serve with JOURNAL_STREAM naming its stderr
# (a file), one SMTP connection; prints the datagrams as JSON lines.
JOURNAL_FAKE = r"""
import json, os, signal, socket, subprocess, sys, time
tem, conf, log, port = sys.argv[1:5]
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
os.makedirs("/run/systemd/journal")
j = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
j.bind("/run/systemd/journal/socket")
j.settimeout(30)
f = open(log, "wb")
st = os.fstat(f.fileno())
env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
env.pop("TEM_CONFIG", None)
p = subprocess.Popen([tem, "-c", conf, "serve"], stderr=f, stdout=f,
                     stdin=subprocess.DEVNULL, env=env)
def entries(until):
    while True:
        d = j.recv(65536).decode()
        e = dict(l.split("=", 1) for l in d.split("\n") if "=" in l)
        print(json.dumps(e), flush=True)
        if until in e.get("MESSAGE", ""):
            return
try:
    entries("server started")
    c = socket.create_connection(("127.0.0.1", int(port)))
    c.recv(512)
    c.sendall(b"QUIT\r\n")
    c.recv(512)
    c.close()
    entries("smtp disconnect")
    p.send_signal(signal.SIGTERM)
    entries("server stopped")
    sys.exit(p.wait(timeout=15))
finally:
    if p.poll() is None:        # a failed check leaves no server behind
        p.kill()
        p.wait()
"""


def test_journal_fields(tmp):
    port = free_port()
    conf = os.path.join(tmp, "tem.conf")
    with open(conf, "w") as f:
        f.write("hostname = mx.a.test\ndata_dir = %s/data\nrun_as =\n"
                "smtp_listen = 127.0.0.1:%d\n" % (tmp, port))
    log = os.path.join(tmp, "stderr.log")
    p = subprocess.run(["unshare", "-m", "/usr/bin/python3", "-c",
                        JOURNAL_FAKE, tem_bin(), conf, log, str(port)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr + open(log).read()
    entries = [json.loads(line) for line in p.stdout.splitlines()]
    started = [e for e in entries if "server started" in e["MESSAGE"]][0]
    assert started["MESSAGE"].startswith("info: - server started version=")
    assert started["PRIORITY"] == "6" and started["SYSLOG_IDENTIFIER"] == "tem"
    assert "TEM_ID" not in started
    conn = [e for e in entries if " smtp connect " in e["MESSAGE"]][0]
    sid = conn["TEM_ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", sid)
    assert conn["MESSAGE"].startswith("info: %s smtp connect " % sid)
    assert any(e.get("TEM_ID") == sid and "smtp disconnect" in e["MESSAGE"]
               for e in entries)
    # the journal got the lines, stderr none of them (the sanitizers'
    # reports, written by the runtime, would still land there)
    assert "server started" not in open(log).read()


def run_tem(*args):
    env = dict(os.environ)
    env.pop("TEM_CONFIG", None)
    return subprocess.run([tem_bin()] + list(args), capture_output=True,
                          text=True, env=env, timeout=120)


def test_setup(tmp):
    conf = os.path.join(tmp, "tem.conf")
    data = os.path.join(tmp, "data")
    args = ["-c", conf, "setup", "Example.ORG", "--hostname",
            "mx.example.org", "--data-dir", data, "--run-as", ""]
    # the packaged, all-comment config may be replaced without --force
    with open(os.path.join(REPO, "dist", "tem.conf")) as src, \
            open(conf, "w") as dst:
        dst.write(src.read())
    p = run_tem(*args)
    assert p.returncode == 0, p.stderr
    text = open(conf).read()
    for line in ("hostname = mx.example.org", "data_dir = " + data,
                 "smtp_listen = *:25, [::]:25",
                 "submission_listen = *:587, [::]:587",
                 "submissions_listen = *:465, [::]:465",
                 "imap_listen = *:143, [::]:143",
                 "imaps_listen = *:993, [::]:993",
                 "pop3_listen = *:110, [::]:110",
                 "pop3s_listen = *:995, [::]:995",
                 "managesieve_listen = *:4190, [::]:4190"):
        assert line + "\n" in text, line
    # http and ACME: set when this build has the keys, else commented
    assert re.search(r"^#?http_listen = \*:80, \[::\]:80$", text, re.M)
    assert re.search(r"^#?https_listen = \*:443, \[::\]:443$", text, re.M)
    assert re.search(r"^#?acme_names = mx\.example\.org, mail\.example\.org, "
                     r"autoconfig\.example\.org, mta-sts\.example\.org$",
                     text, re.M)
    assert mode(conf) == 0o640
    pw = re.search(r"^account postmaster@example\.org password (\S{20})$",
                   p.stdout, re.M)[1]
    records = p.stdout.split("Publish these DNS records:\n")[1]
    assert "example.org. IN MX 10 mx.example.org." in records
    assert re.search(r'^tem-\d{6}-rsa\._domainkey\.example\.org\. IN TXT '
                     r'"v=DKIM1; k=rsa; p=', records, re.M)
    assert "_dmarc.example.org." in records
    assert pw not in open(os.path.join(data, "accounts.db"), "rb").read() \
        .decode("latin-1")

    # tem check accepts what setup wrote; the account exists
    assert run_tem("-c", conf, "check").returncode == 0
    users = run_tem("-c", conf, "user", "list").stdout
    assert "postmaster@example.org" in users

    # a config with settings is kept without --force
    p = run_tem(*args)
    assert p.returncode == 1
    assert p.stderr.startswith("tem: ") and "--force" in p.stderr
    assert open(conf).read() == text
    # --force rewrites it and keeps the account (and its password)
    p = run_tem(*(args + ["--force"]))
    assert p.returncode == 0, p.stderr
    assert "account postmaster@example.org kept" in p.stdout
    assert "password" not in p.stdout.split("\n")[1]

    # usage errors
    assert run_tem("-c", conf, "setup").returncode == 2
    p = run_tem("-c", os.path.join(tmp, "x.conf"), "setup", "example.org",
                "--hostname", "bare", "--run-as", "")
    assert p.returncode == 2 and "full DNS name" in p.stderr
    assert run_tem("setup", "--help").returncode == 0


def test_setup_logs_in(tmp):
    """The generated password logs in by IMAP on the server setup made,
    its standard ports moved to a loopback test port."""
    conf = os.path.join(tmp, "tem.conf")
    p = run_tem("-c", conf, "setup", "example.org", "--hostname",
                "mx.example.org", "--data-dir", os.path.join(tmp, "d"),
                "--run-as", "")
    assert p.returncode == 0, p.stderr
    pw = re.search(r"password (\S{20})$", p.stdout, re.M)[1]
    port = free_port()
    lines = [line for line in open(conf).read().splitlines()
             if not re.match(r"#?\w+_listen =", line)]
    lines += ["imap_listen = 127.0.0.1:%d" % port,
              "auth_allow_cleartext = yes"]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    env = dict(os.environ)
    env.pop("TEM_CONFIG", None)
    with open(os.path.join(tmp, "serve.log"), "wb") as log:
        proc = subprocess.Popen([tem_bin(), "-c", conf, "serve"], stderr=log,
                                stdout=log, stdin=subprocess.DEVNULL,
                                env=env)
    try:
        def connect():
            try:
                return imaplib.IMAP4("127.0.0.1", port, timeout=5)
            except OSError:
                return None
        im = wait_for(connect, timeout=30, what="tem's IMAP port")
        assert im.login("postmaster@example.org", pw)[0] == "OK"
        im.logout()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    log = open(os.path.join(tmp, "serve.log")).read()
    assert "Sanitizer" not in log and "runtime error" not in log, log
