"""cluster - several `tem serve` nodes on one PostgreSQL (issue 15).

Trust: test code only. Everything listens on loopback.

    with Cluster(3, services=("smtp", "imap"), lease="3s") as c:
        c.pg                  # the PgServer (c.pg.restart(): pg_ctl -m fast)
        c.nodes[1]            # a TemServer on 127.0.0.2, own data_dir
        c.nodes[1].kill9()    # SIGKILL; .start() brings it back
        c.psql("SELECT ...")  # on the nodes' database

Node i (0-based) listens on 127.0.0.(i+1), each service on a port of its
own (free_port: distinct on every node, so a test never confuses two
nodes). Every node has its own data_dir (TLS files, DKIM keys, logs) and
the same postgresql_dsn; node 0 runs `tem db init` and adds the domains
and users (through the CLI, on PostgreSQL), the others start on what is
there. The PostgreSQL server is the cluster's own unless one is given.
"""

import os

from pgserver import PgServer
from temserver import HOSTNAME, PASSWORDS, TemServer


class Cluster:
    def __init__(self, n=3, services=("smtp", "imap"), lease=None,
                 extra_conf=None, users=None, domains=("a.test",),
                 aliases=None, pg=None, pg_settings=None):
        self.n = n
        self.services = services
        self.extra = dict(extra_conf or {})
        if lease is not None:
            self.extra["queue_lease_time"] = lease
        self.users = dict(PASSWORDS if users is None else users)
        self.domains = domains
        self.aliases = aliases
        self.pg = pg
        self.own_pg = pg is None
        self.pg_settings = pg_settings
        self.nodes = []

    def addr(self, i):
        return "127.0.0.%d" % (i + 1)

    def __enter__(self):
        try:
            if self.own_pg:
                self.pg = PgServer(settings=self.pg_settings).__enter__()
            for i in range(self.n):
                first = i == 0
                node = TemServer(
                    users=self.users if first else {},
                    domains=self.domains if first else (),
                    aliases=self.aliases if first else None,
                    services=self.services, hostname=HOSTNAME,
                    listen_addr=self.addr(i), extra_conf=dict(self.extra),
                    pg=self.pg, pg_db=self.pg.dbname, pg_init=first)
                node.__enter__()
                self.nodes.append(node)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        """Stops every node (SIGTERM: exit 0 and a clean log checked when
        the test passed), then the cluster's own PostgreSQL."""
        errors = []
        try:
            for node in reversed(self.nodes):
                if exc_type is not None:
                    node.keep = True
                try:
                    node.__exit__(exc_type, exc, tb)
                except AssertionError as e:
                    errors.append(str(e))
        finally:
            if self.own_pg and self.pg is not None:
                self.pg.__exit__(None, None, None)
        if errors and exc_type is None:
            raise AssertionError("\n\n".join(errors))
        return False

    def psql(self, sql):
        return self.pg.psql(sql)

    def log_tails(self, n=60):
        return "\n".join(node.log_tail(n) for node in self.nodes)


def sockets_of(pid):
    """The socket inodes process pid holds."""
    out = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def local_ports_to(pid, remote_port):
    """The local TCP ports of pid's connections to remote_port (IPv4,
    /proc/net/tcp): which of a sink's sessions a node holds."""
    inodes = sockets_of(pid)
    ports = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            w = line.split()
            local, remote, inode = w[1], w[2], int(w[9])
            if inode in inodes and int(remote.split(":")[1], 16) == \
                    remote_port:
                ports.add(int(local.split(":")[1], 16))
    return ports
