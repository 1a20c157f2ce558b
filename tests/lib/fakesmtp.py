"""fakesmtp - a scripted SMTP peer for delivery tests, on a loopback address.

Trust: test code only. Listens on (addr, port) — e.g. 127.0.0.7, so that
several peers can share the port tem's outbound_port names — answers
every command with a reply chosen by a script, and records what it got.

    with FakeSMTP("127.0.0.7", port, rcpt=["451 4.3.0 try later",
                                           "250 2.1.5 ok"]) as peer:
        ...
        peer.messages    # [(mail_from, [rcpts], data_bytes)], accepted ones
        peer.sessions    # how many connections were made

Each of rcpt/data/mail/rset is a list of replies used in turn (the last
one repeats), so "4xx the first time, 2xx after" is ["451 ...", "250 ..."];
a 421 reply closes the connection after it. close_after_data=True closes
the connection after each message's final reply (a peer that drops idle
clients at once). data_delay=S holds each final reply to DATA S seconds
(a slow peer: a client killed meanwhile had its DATA in flight);
peer.in_flight maps each session's client port to the message whose
reply is being held.
"""

import socket
import threading
import time


class FakeSMTP:
    def __init__(self, addr, port, mail=None, rcpt=None, data=None,
                 banner="220 fake.test ESMTP", ehlo=("PIPELINING", "8BITMIME",
                                                    "SIZE 10485760"),
                 rset=None, close_after_data=False, data_delay=0.0):
        self.addr, self.port = addr, port
        self.script = {"mail": list(mail or ["250 2.1.0 ok"]),
                       "rcpt": list(rcpt or ["250 2.1.5 ok"]),
                       "data": list(data or ["250 2.0.0 queued"]),
                       "rset": list(rset or ["250 2.0.0 ok"])}
        self.used = {"mail": 0, "rcpt": 0, "data": 0, "rset": 0}
        self.close_after_data = close_after_data
        self.data_delay = data_delay
        self.in_flight = {}      # client port -> data, reply being held
        self.message_ports = []  # the client port each of messages came on
        self.banner = banner
        self.ehlo = ehlo
        self.messages = []
        self.sessions = 0
        self.peers = []          # client addresses, one per connection
        self.lock = threading.Lock()
        self.stopping = False

    def _next(self, kind):
        with self.lock:
            lst = self.script[kind]
            i = min(self.used[kind], len(lst) - 1)
            self.used[kind] += 1
            return lst[i]

    def __enter__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.addr, self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()
        return False

    def _serve(self):
        while not self.stopping:
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.sessions += 1
                self.peers.append(peer[0])
            threading.Thread(target=self._session, args=(conn, peer[1]),
                             daemon=True).start()

    def _session(self, conn, client_port=None):
        conn.settimeout(10)
        f = conn.makefile("rb")

        def say(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            say(self.banner)
            mail_from, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                verb = cmd[:4].upper()
                if verb == "EHLO":
                    caps = ["fake.test"] + list(self.ehlo)
                    for c in caps[:-1]:
                        say("250-" + c)
                    say("250 " + caps[-1])
                elif verb == "HELO":
                    say("250 fake.test")
                elif verb == "MAIL":
                    r = self._next("mail")
                    if r.startswith("2"):
                        mail_from, rcpts = cmd.split(":", 1)[1].strip(), []
                    say(r)
                elif verb == "RCPT":
                    r = self._next("rcpt")
                    if r.startswith("2"):
                        rcpts.append(cmd.split(":", 1)[1].strip())
                    say(r)
                elif verb == "DATA":
                    if not rcpts:
                        say("554 5.5.1 no valid recipients")
                        continue
                    say("354 go ahead")
                    data = b""
                    while True:
                        l = f.readline()
                        if not l:
                            return
                        if l == b".\r\n":
                            break
                        if l.startswith(b".."):
                            l = l[1:]
                        data += l
                    if self.data_delay:
                        with self.lock:
                            self.in_flight[client_port] = data
                        time.sleep(self.data_delay)
                    r = self._next("data")
                    if r.startswith("2"):
                        with self.lock:
                            self.messages.append((mail_from, rcpts, data))
                            self.message_ports.append(client_port)
                    try:
                        say(r)
                    finally:
                        with self.lock:
                            self.in_flight.pop(client_port, None)
                    mail_from, rcpts = None, []
                    if self.close_after_data:
                        return
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    r = self._next("rset")
                    say(r)
                    if r.startswith("421"):
                        return
                elif verb == "QUIT":
                    say("221 2.0.0 bye")
                    return
                elif verb == "NOOP":
                    say("250 2.0.0 ok")
                else:
                    say("502 5.5.2 not implemented")
        except OSError:
            return
        finally:
            conn.close()
