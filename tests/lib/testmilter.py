"""testmilter - real milters for the integration tests: one written with
Debian's python3-milter (pymilter, i.e. Sendmail's libmilter) whose
behaviour a test chooses, and raw-socket fakes for what libmilter never
does (garbage, an invalid reply code, a filter that wants nothing, one
that never answers).

Trust: test code only; listens on a unix socket in the test's temp dir
(or a loopback port).

Run as a program (tests start it through TestMilter below):

    python3 testmilter.py CONFIG.json

CONFIG (JSON):
  "socket":  "unix:/path" or "inet:PORT@127.0.0.1" (libmilter's syntax)
  "record":  a file; one JSON object a line is appended per event seen:
             {"ev": "connect"|"helo"|"mail"|"rcpt"|"data"|"header"|"eoh"|
              "body"|"eom"|"abort"|"close"|"negotiate", "args": [...],
              "macros": {name: value}} (eom also has "body_size",
             "body_sha256" and, under 64 KiB, "body": what the body
             callbacks got, CRLF as sent; "replaced_size"/"replaced_sha256"
             when it replaced the body)
  "fake":    instead of pymilter, a raw fake (see FAKES below)
  "leadspc": true -> negotiate SMFIP_HDR_LEADSPC
  "rcpt_rej": true -> negotiate SMFIP_RCPT_REJ (see refused recipients)
  "symlist": {CALLBACK: [MACRO, ...]} for CALLBACK in connect, hello,
             envfrom, envrcpt, data, eoh, eom: the macros asked for at that
             stage at negotiation (libmilter's smfi_setsymlist)
  "noreply": callbacks that negotiate SMFIP_NR_* (no reply is sent):
             among connect, hello, envfrom, envrcpt, data, header, eoh, body
  "at":      {STAGE: ACTION} for STAGE in connect, helo, mail, rcpt,
             data, header, eoh, body, eom. ACTION:
               {"do": "continue"|"accept"|"reject"|"tempfail"|"discard"|
                      "skip" (body: no more body chunks),
                "reply": [RCODE, XCODE, "text", "more lines"...],
                "sleep": seconds before answering,
                "progress": seconds of SMFIR_PROGRESS (every 0.3 s) before
                            answering (eom only),
                "exit": true -> the milter process exits at once (its
                        connections close)}
  "rcpt":    {"addr@domain": ACTION}: per recipient (lower case, no <>)
  "eom":     what to do at end of message, before "at"."eom" answers:
             {"edits": [{"op": "add", "name", "value"},
                        {"op": "insert", "index", "name", "value"},
                        {"op": "change", "index", "name", "value"},
                        {"op": "delete", "index", "name"}],
              "replace_body": {"text": "..."} or {"size": N} (generated
                        by replacement_body(N), sent 1 MiB a call),
              "add_rcpt": ["<a@b>"], "add_rcpt_par": [["<a@b>", "ARGS"]],
              "del_rcpt": ["<a@b>"],
              "chg_from": "<new@sender>", "quarantine": "reason"}

The process prints "ready" on stdout once its socket listens.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"      # Debian's, where python3-milter lives

# Macros asked for at each stage (libmilter answers what the MTA sent).
MACROS = ("j", "_", "v", "i", "{daemon_name}", "{daemon_addr}",
          "{if_name}", "{if_addr}", "{client_addr}", "{client_port}",
          "{client_name}", "{client_ptr}", "{client_resolve}",
          "{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}",
          "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_mailer}",
          "{mail_host}", "{mail_addr}", "{rcpt_mailer}", "{rcpt_host}",
          "{rcpt_addr}", "{msg_id}")

LINE = 76            # generated body lines: 74 characters + CRLF
BIG_CALL = 1 << 20   # replacebody() gets this much at a time


def replacement_body(size, start=0, length=None):
    """Bytes [start, start+length) of the deterministic body of SIZE bytes
    a milter sends with "replace_body": {"size": SIZE}: CRLF lines of 76
    octets ("line NNNNNNNN " + letters), the last one cut short. Both the
    milter and the test generate it piecewise, never 20 MB at once."""
    if length is None:
        length = size - start
    out = []
    first = start // LINE
    last = (start + length + LINE - 1) // LINE
    for n in range(first, last):
        line = (b"line %08d " % n).ljust(LINE - 2, b"abcdefghij"[n % 10:n % 10 + 1]) + b"\r\n"
        out.append(line)
    blob = b"".join(out)
    lo = start - first * LINE
    end = min(start + length, size)
    return blob[lo:lo + end - start]


def replacement_sha256(size):
    h = hashlib.sha256()
    for off in range(0, size, BIG_CALL):
        h.update(replacement_body(size, off, min(BIG_CALL, size - off)))
    return h.hexdigest()


# --- the recorder, shared by the pymilter filter and the fakes ----------

class Recorder:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, ev, **kw):
        kw["ev"] = ev
        kw["t"] = time.time()
        line = json.dumps(kw, default=repr) + "\n"
        with self.lock:
            with open(self.path, "a") as f:
                f.write(line)
                f.flush()


# --- the pymilter filter -------------------------------------------------

def run_pymilter(conf):
    import Milter

    record = Recorder(conf["record"])
    at = conf.get("at", {})
    per_rcpt = {k.lower(): v for k, v in conf.get("rcpt", {}).items()}
    eom_conf = conf.get("eom", {})
    symlist = conf.get("symlist", {})
    codes = {"continue": Milter.CONTINUE, "accept": Milter.ACCEPT,
             "reject": Milter.REJECT, "tempfail": Milter.TEMPFAIL,
             "discard": Milter.DISCARD, "skip": Milter.SKIP}

    class TestFilter(Milter.Base):
        def __init__(self):
            self.body_hash = hashlib.sha256()
            self.body_size = 0
            self.body_keep = []

        def macros(self):
            out = {}
            for m in MACROS:
                v = self.getsymval(m)
                if v is not None:
                    out[m] = v
            return out

        def answer(self, action):
            """Runs ACTION (dict, see the module comment) and returns the
            libmilter code."""
            if not action:
                return Milter.CONTINUE
            if action.get("exit"):
                os._exit(0)
            if action.get("progress"):
                end = time.monotonic() + action["progress"]
                while time.monotonic() < end:
                    self.progress()
                    time.sleep(0.3)
            if action.get("sleep"):
                time.sleep(action["sleep"])
            if action.get("reply"):
                self.setreply(*action["reply"])
            return codes[action.get("do", "continue")]

        def stage(self, ev, *args, **extra):
            record(ev, args=list(args), macros=self.macros(), **extra)
            return self.answer(at.get(ev))

        def negotiate(self, opts):
            # straight to the C call: pymilter 1.0.5's Base.setsymlist
            # (and @Milter.symlist) pass bytes, which it refuses, and
            # Base.negotiate then falls back to SMFIS_ALL_OPTS
            for name, syms in symlist.items():
                self._ctx.setsymlist(Milter.MACRO_CALLBACKS[name],
                                     " ".join(syms))
            rc = Milter.Base.negotiate(self, opts)
            record("negotiate", args=list(opts))
            return rc

        def connect(self, hostname, family, hostaddr):
            return self.stage("connect", hostname, family, hostaddr)

        def hello(self, heloname):
            return self.stage("helo", heloname)

        def envfrom(self, f, *params):
            self.body_hash = hashlib.sha256()
            self.body_size = 0
            self.body_keep = []
            return self.stage("mail", f, *params)

        def envrcpt(self, to, *params):
            record("rcpt", args=[to] + list(params), macros=self.macros())
            addr = to.strip("<>").lower()
            if addr in per_rcpt:
                return self.answer(per_rcpt[addr])
            return self.answer(at.get("rcpt"))

        def data(self):
            return self.stage("data")

        def header(self, name, value):
            return self.stage("header", name, value)

        def eoh(self):
            return self.stage("eoh")

        def body(self, chunk):
            self.body_hash.update(chunk)
            self.body_size += len(chunk)
            if self.body_size <= 65536:
                self.body_keep.append(chunk)
            record("body", args=[len(chunk)])
            return self.answer(at.get("body"))

        def eom(self):
            extra = {"body_size": self.body_size,
                     "body_sha256": self.body_hash.hexdigest()}
            if self.body_size <= 65536:
                extra["body"] = b"".join(self.body_keep).decode(
                    "utf-8", "surrogateescape")
            extra.update(self.edit())
            record("eom", args=[], macros=self.macros(), **extra)
            return self.answer(at.get("eom"))

        def edit(self):
            done = {}
            for e in eom_conf.get("edits", []):
                op = e["op"]
                if op == "add":
                    self.addheader(e["name"], e["value"])
                elif op == "insert":
                    self.addheader(e["name"], e["value"], e["index"])
                elif op == "change":
                    self.chgheader(e["name"], e["index"], e["value"])
                elif op == "delete":
                    self.chgheader(e["name"], e["index"], "")
            rb = eom_conf.get("replace_body")
            if rb is not None and "text" in rb:
                data = rb["text"].encode()
                self.replacebody(data)
                done["replaced_size"] = len(data)
            elif rb is not None:
                size = rb["size"]
                for off in range(0, size, BIG_CALL):
                    self.replacebody(replacement_body(
                        size, off, min(BIG_CALL, size - off)))
                done["replaced_size"] = size
            for r in eom_conf.get("add_rcpt", []):
                self.addrcpt(r)
            for r, params in eom_conf.get("add_rcpt_par", []):
                self.addrcpt(r, params)
            for r in eom_conf.get("del_rcpt", []):
                self.delrcpt(r)
            if eom_conf.get("chg_from"):
                self.chgfrom(eom_conf["chg_from"])
            if eom_conf.get("quarantine"):
                self.quarantine(eom_conf["quarantine"])
            return done

        def abort(self):
            record("abort", args=[])
            return Milter.CONTINUE

        def close(self):
            record("close", args=[])
            return Milter.CONTINUE

    # before the protocol mask is first computed (and cached)
    for name in conf.get("noreply", []):
        setattr(TestFilter, name, Milter.noreply(getattr(TestFilter, name)))
    if conf.get("leadspc"):
        Milter.header_leading_space(TestFilter)
    if conf.get("rcpt_rej"):
        Milter.rejected_recipients(TestFilter)
    Milter.factory = TestFilter
    # Milter.runmilter, with "ready" printed once the socket listens
    import milter
    milter.set_connect_callback(Milter.connect_callback)
    milter.set_helo_callback(lambda ctx, host: ctx.getpriv().hello(host))
    milter.set_envfrom_callback(
        lambda ctx, *b: ctx.getpriv().envfrom_bytes(*b))
    milter.set_envrcpt_callback(
        lambda ctx, *b: ctx.getpriv().envrcpt_bytes(*b))
    milter.set_header_callback(
        lambda ctx, f, v: ctx.getpriv().header_bytes(f, v))
    milter.set_eoh_callback(lambda ctx: ctx.getpriv().eoh())
    milter.set_body_callback(lambda ctx, chunk: ctx.getpriv().body(chunk))
    milter.set_eom_callback(lambda ctx: ctx.getpriv().eom())
    milter.set_abort_callback(lambda ctx: ctx.getpriv().abort())
    milter.set_close_callback(Milter.close_callback)
    milter.setconn(conf["socket"])
    milter.register("testmilter",
                    data=lambda ctx: ctx.getpriv().data(),
                    unknown=lambda ctx, cmd: Milter.CONTINUE,
                    negotiate=Milter.negotiate_callback)
    milter.opensocket(True)
    print("ready", flush=True)
    milter.main()


# --- raw fakes -------------------------------------------------------------
#
# FAKES (config "fake"):
#   garbage       negotiates, then answers the first command after
#                 negotiation with bytes that are no milter packet
#   badlength     negotiates, then announces a 4 GiB packet
#   badcode       negotiates, then answers 'C'/'H'/'M'... with continue but
#                 end of message with SMFIR_REPLYCODE "250 2.0.0 fine"
#                 (not 4xx/5xx: invalid)
#   nothing       negotiates no action and no event: every SMFIP_NO* bit
#   mute          accepts the connection, reads, never answers
#   close         negotiates, then closes the connection at MAIL
#   halfgarbage   answers end of message with a valid SMFIR_ADDHEADER,
#                 then garbage
#   unasked       negotiates no action, then answers end of message with
#                 SMFIR_ADDHEADER (an action it did not ask for) + accept
#   symlist       negotiates every action and the macro lists of config
#                 "symlist_raw" ({"STAGE": "names"}, STAGE an SMFIM_*
#                 number as a string), records each SMFIC_MACRO packet as
#                 {"ev": "macros", "args": [CMD, {name: value}]}, continues

SMFIP_NOALL = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x200


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def read_packet(sock):
    head = recv_exact(sock, 5)
    if head is None:
        return None, None
    n = struct.unpack(">I", head[:4])[0]
    data = recv_exact(sock, n - 1) if n > 1 else b""
    return head[4:5], data


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def fake_session(sock, mode, record, symlist_raw=None):
    seen = []
    try:
        while True:
            cmd, data = read_packet(sock)
            if cmd is None:
                break
            seen.append(cmd.decode("latin-1"))
            record("packet", args=[cmd.decode("latin-1"), len(data)])
            if mode == "mute":
                continue
            if cmd == b"O":
                ver, act, proto = struct.unpack(">III", data[:12])
                if mode == "nothing":
                    sock.sendall(packet(b"O", struct.pack(
                        ">III", 6, 0, SMFIP_NOALL)))
                elif mode == "unasked":
                    sock.sendall(packet(b"O", struct.pack(">III", 6, 0, 0)))
                elif mode == "symlist":
                    lists = b"".join(
                        struct.pack(">I", int(k)) + v.encode() + b"\0"
                        for k, v in symlist_raw.items())
                    sock.sendall(packet(b"O", struct.pack(
                        ">III", 6, act, 0) + lists))
                else:
                    sock.sendall(packet(b"O", struct.pack(">III", 6, act, 0)))
                continue
            if cmd == b"D" and mode == "symlist":
                parts = data[1:].split(b"\0")[:-1]
                record("macros", args=[data[:1].decode("latin-1"), {
                    parts[i].decode(): parts[i + 1].decode()
                    for i in range(0, len(parts) - 1, 2)}])
            if cmd in (b"D", b"A"):         # macros, abort: no reply
                continue
            if cmd in (b"Q",):
                break
            if mode == "garbage":
                sock.sendall(b"\x00\x00\x00\x09\xffGARBAGE!" + b"\x01" * 40)
                continue
            if mode == "badlength":
                sock.sendall(b"\xff\xff\xff\xffc")
                continue
            if mode == "close" and cmd == b"M":
                break
            if mode == "badcode" and cmd == b"E":
                sock.sendall(packet(b"y", b"250 2.0.0 fine\0"))
                continue
            if mode in ("halfgarbage", "unasked") and cmd == b"E":
                add = packet(b"h", b"X-Half\0yes\0")
                tail = (b"\x00\x00\x00\x02\xfe!" if mode == "halfgarbage"
                        else packet(b"a"))
                sock.sendall(add + tail)
                continue
            sock.sendall(packet(b"c"))
    except OSError:
        pass
    finally:
        record("fake-close", args=["".join(seen)])
        sock.close()


def run_fake(conf):
    record = Recorder(conf["record"])
    spec = conf["socket"]
    if spec.startswith("unix:"):
        path = spec[5:]
        if os.path.exists(path):
            os.unlink(path)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
    else:
        port, _, host = spec[5:].partition("@")
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, int(port)))
    srv.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=fake_session, args=(c, conf["fake"], record,
                                               conf.get("symlist_raw", {})),
                         daemon=True).start()


# --- the controller a test uses -----------------------------------------

class TestMilter:
    """Starts `python3 testmilter.py CONF` in its own temp dir (a context
    manager: the dir is removed when the block ends without an error);
    .spec is what goes into smtp_milters; .events() reads what it
    recorded."""

    __test__ = False        # not a pytest class

    def __init__(self, inet=False, **conf):
        self.dir = tempfile.mkdtemp(prefix="tem-milter-")
        self.conf = dict(conf)
        self.conf["record"] = os.path.join(self.dir, "record.jsonl")
        if inet:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.conf["socket"] = "inet:%d@127.0.0.1" % port
            self.spec = "inet:127.0.0.1:%d" % port
        else:
            path = os.path.join(self.dir, "m.sock")
            self.conf["socket"] = "unix:" + path
            self.spec = "unix:" + path
        self.proc = None
        self.log = os.path.join(self.dir, "milter.log")

    def __enter__(self):
        conf_path = os.path.join(self.dir, "conf.json")
        with open(conf_path, "w") as f:
            json.dump(self.conf, f)
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [PYTHON, os.path.abspath(__file__), conf_path],
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            self.stop()
            raise AssertionError("test milter did not start: %r\n%s" % (
                line, self.log_text()))
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop()
        if exc_type is None:
            self.remove()
        return False

    def remove(self):
        """Removes the temp dir (socket, record, log)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    def stop(self):
        p, self.proc = self.proc, None
        if p is None:
            return
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()       # a callback still sleeping: libmilter waits
                p.wait()
        p.stdout.close()

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def events(self, ev=None):
        """Every recorded event (dicts), oldest first; only those named EV
        when given."""
        out = []
        try:
            with open(self.conf["record"]) as f:
                for line in f:
                    if line.endswith("\n"):
                        out.append(json.loads(line))
        except FileNotFoundError:
            pass
        return [e for e in out if ev is None or e["ev"] == ev]

    def headers(self):
        """[(name, value)] of the last message's header callbacks."""
        evs = self.events()
        start = max((i for i, e in enumerate(evs) if e["ev"] == "mail"),
                    default=-1)
        return [tuple(e["args"]) for e in evs[start + 1:]
                if e["ev"] == "header"]


def main():
    with open(sys.argv[1]) as f:
        conf = json.load(f)
    if conf.get("fake"):
        run_fake(conf)
    else:
        run_pymilter(conf)


if __name__ == "__main__":
    main()
