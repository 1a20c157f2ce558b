"""dovecot: a private Dovecot 2.3 instance, the peer of bench/imap.

Trust: benchmark code run as root on a test machine. Never touches
/etc/dovecot nor port 143: the config is written to DIR/dovecot.conf
(base_dir, state_dir, log files, passwd-file and the users' homes all in
DIR), started with `dovecot -c CONF`, stopped with `doveadm -c CONF stop`
(then SIGTERM/SIGKILL to the master pid from DIR/run/master.pid).

Set up as /work/shared/PEERS.md says, but for IMAP only (`protocols =
imap`: POP3 is not measured here, and bench/pop3 may hold port 10110):
IMAP on 127.0.0.1:IMAP_PORT (imaps off), ssl = no, plaintext auth
allowed, PLAIN and LOGIN mechanisms, passdb and userdb passwd-file with
{PLAIN} passwords, one system user (`bench`) owning every home,
mail_location = maildir:~/Maildir, an inbox namespace with "/" as
separator, and the limits raised for load tests: mail_max_userip_connections,
default_client_limit, the imap and imap-login process_limit, the anvil and
auth client_limit. Everything else (one imap-login process per connection,
one imap process per session, fsync behaviour, no auth cache) is Dovecot's
default. Python 3 standard library only.
"""

import os
import pwd
import shutil
import signal
import subprocess
import time

SYSTEM_USER = "bench"
PACKAGES = ("dovecot-imapd",)


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return "ok installed" in p.stdout


def install(log):
    """Installs the Dovecot packages if missing (no service started, none
    enabled at boot) and makes the system user `bench`. Raises
    CalledProcessError on failure."""
    missing = [p for p in PACKAGES if not installed(p)]
    if missing:
        log("installing %s (no service started)" % " ".join(missing))
        policy = "/usr/sbin/policy-rc.d"
        made = False
        if not os.path.exists(policy):
            with open(policy, "w") as f:
                f.write("#!/bin/sh\nexit 101\n")
            os.chmod(policy, 0o755)
            made = True
        try:
            subprocess.run(["apt-get", "install", "-y", "-q",
                            "--no-install-recommends"] + missing, check=True,
                           stdout=subprocess.DEVNULL,
                           env=dict(os.environ,
                                    DEBIAN_FRONTEND="noninteractive"))
        finally:
            if made:
                os.unlink(policy)
        subprocess.run(["update-rc.d", "dovecot", "disable"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--create-home", "--home-dir",
                        "/home/" + SYSTEM_USER, "--shell", "/usr/sbin/nologin",
                        SYSTEM_USER], check=True)


CONF = """# written by bench/imap/dovecot.py (PEERS.md set-up)
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = tem-bench-imap
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
}}
mail_max_userip_connections = {limit}
default_client_limit = {limit}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_limit = {limit}
}}
service imap {{
  process_limit = {limit}
}}
service anvil {{
  client_limit = {clients}
}}
service auth {{
  client_limit = {clients}
}}
"""


class Dovecot:
    """A private Dovecot in BASE/dovecot; users added with add_user()
    before start()."""
    name = "dovecot"

    def __init__(self, base, imap_port, limit, log):
        self.dir = os.path.join(base, "dovecot")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.imap_port = imap_port
        self.port = imap_port
        self.limit = limit
        self.log = log
        self.pid = None
        self.started = False
        pw = pwd.getpwnam(SYSTEM_USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.makedirs(os.path.join(self.dir, "home"))
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.join(self.dir, "home"), 0o755)
        self.users = []

    def home(self, user):
        return os.path.join(self.dir, "home", user)

    def maildir(self, user):
        """The user's INBOX Maildir (made, owned by the system user)."""
        return os.path.join(self.home(user), "Maildir")

    def add_user(self, user, password):
        md = self.maildir(user)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        self.users.append((user, password))

    def chown_homes(self):
        top = os.path.join(self.dir, "home")
        for dirpath, dirs, files in os.walk(top):
            for n in dirs + files:
                os.lchown(os.path.join(dirpath, n), self.uid, self.gid)

    def start(self):
        """Writes the config and passwd-file, starts the master; True once
        IMAP answers."""
        with open(os.path.join(self.dir, "users"), "w") as f:
            for user, pw in self.users:
                f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (
                    user, pw, self.uid, self.gid, self.home(user)))
        self.chown_homes()
        with open(self.conf, "w") as f:
            f.write(CONF.format(dir=self.dir, uid=self.uid,
                                imap_port=self.imap_port, limit=self.limit,
                                # anvil/auth: a connection from every login
                                # process (imap-login, imap-urlauth-login)
                                clients=self.limit + 500))
        self.started = True
        # The master daemonizes; its stderr (start-up errors) goes to a
        # file, not a pipe that the daemon would hold open.
        out = os.path.join(self.dir, "start.out")
        with open(out, "wb") as f:
            rc = subprocess.run(["dovecot", "-c", self.conf],
                                stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT,
                                timeout=30).returncode
        if rc != 0:
            with open(out, errors="replace") as f:
                self.log("dovecot: start failed (exit %d): %s"
                         % (rc, f.read().strip()[-500:]))
            return False
        deadline = time.monotonic() + 10
        pidfile = os.path.join(self.dir, "run", "master.pid")
        while time.monotonic() < deadline:
            try:
                with open(pidfile) as f:
                    self.pid = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if self.pid is None:
            self.log("dovecot: no %s after 10 s" % pidfile)
            return False
        return True

    def alive(self):
        return self.pid is not None and os.path.exists("/proc/%d" % self.pid)

    def stop(self):
        if not self.started:
            return
        self.started = False
        subprocess.run(["doveadm", "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
        if self.pid is None:
            return
        # doveadm stop signals the master; wait for it (and its children)
        for sig, wait in ((None, 20), (signal.SIGTERM, 10),
                          (signal.SIGKILL, 5)):
            if sig is not None and self.alive():
                self.log("dovecot: master %d still running; %s" % (
                    self.pid, signal.Signals(sig).name))
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self.alive():
                break

    def log_path(self):
        return os.path.join(self.dir, "dovecot.log")

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)
