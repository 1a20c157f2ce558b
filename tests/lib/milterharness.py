"""milterharness - what the milter integration tests share: the `milter`
fixture (a TestMilter per call, see testmilter.py), a server with milters,
one SMTP transaction step by step, and readers of what tem stored.

Trust: test code only; loopback and temp dirs.

A test module imports the fixture with the helpers:
    from milterharness import milter, milter_tem, send ...  # noqa: F401
"""

import os
import smtplib

import pytest

from temserver import PASSWORDS, SMTPClosed, SMTPConn, insecure_tls_context, \
    simple_message, wait_for
from testmilter import TestMilter

ALICE, BOB = "alice@a.test", "bob@a.test"
SENDER = "sender@b.test"


@pytest.fixture
def milter(request):
    """Factory: milter(**config) -> a started TestMilter (see
    testmilter.py), stopped when the test ends; its log is added to a
    failing test's report (and its dir kept), else its dir removed."""
    started = []

    def start(**conf):
        m = TestMilter(**conf)
        m.__enter__()
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()
        rep = getattr(request.node, "tem_rep_call", None)
        if rep is not None and rep.failed:
            rep.sections.append(("milter " + m.dir, m.log_text()))
        else:
            m.remove()


def milter_tem(make_tem, smtp=(), submission=(), services=("smtp",),
               aliases=None, **conf):
    """A server whose port 25 uses the milters SMTP and submission the
    milters SUBMISSION; CONF: more config keys."""
    extra = {"smtp_milters": ", ".join(m.spec for m in smtp),
             "submission_milters": ", ".join(m.spec for m in submission)}
    extra.update(conf)
    return make_tem(services=services, extra_conf=extra, aliases=aliases)


# --- sending ------------------------------------------------------------

class Outcome:
    """The replies of one transaction: .step is the first command that got
    no 2xx/3xx ("banner", "ehlo", "mail", "rcpt", "data", "end") or None,
    .reply that reply (else the final one)."""

    def __init__(self):
        self.replies = {}
        self.rcpts = {}
        self.step = None
        self.reply = None

    def note(self, step, r):
        self.replies[step] = r
        self.reply = r
        if r.code >= 400 and self.step is None:
            self.step = step
        return r.code < 400

def transaction(c, rcpts=(ALICE,), msg=None, mail_from=SENDER, out=None):
    """MAIL, RCPTs, DATA on the open SMTPConn C; stops at the first
    refusal (a refused RCPT only skips that recipient)."""
    out = out or Outcome()
    msg = msg if msg is not None else simple_message(to=rcpts[0])
    if not out.note("mail", c.cmd("MAIL FROM:<%s>" % mail_from)):
        return out
    ok = False
    for r in rcpts:
        rr = c.cmd("RCPT TO:<%s>" % r)
        out.rcpts[r] = rr
        ok |= rr.code < 400
        if rr.code >= 400 and out.step is None:
            out.step, out.reply = "rcpt", rr
    if not ok:
        return out
    r = c.cmd("DATA")
    if not out.note("data", r):
        return out
    c.send(dot(msg) + b".\r\n")
    out.note("end", c.reply())
    return out


def dot(message):
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..")


def send(tem, rcpts=(ALICE,), msg=None, mail_from=SENDER, timeout=30):
    """One session, one transaction; QUIT. Returns the Outcome."""
    out = Outcome()
    with SMTPConn(tem.smtp_port, timeout=timeout, read_banner=False) as c:
        try:
            if not out.note("banner", c.reply()):
                return out
            if not out.note("ehlo", c.cmd("EHLO client.test")):
                return out
            transaction(c, rcpts, msg, mail_from, out)
            c.cmd("QUIT")
        except SMTPClosed:
            if out.step is None:
                out.step = "closed"
    return out


def submit(tem, rcpts, msg, user=ALICE):
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=30) as s:
        s.ehlo("client.test")
        s.starttls(context=insecure_tls_context())
        s.ehlo("client.test")
        s.login(user, PASSWORDS[user])
        return s.sendmail(user, list(rcpts), msg)


# --- what was stored -----------------------------------------------------

def fields(stored):
    """[(name, value)] of the stored header section (unfolded by removing
    the line ends only), in order."""
    head = stored.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    out = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + line)
        elif ":" in line:
            name, _, value = line.partition(":")
            out.append((name, value))
    return out


def values(stored, name):
    return [v.strip() for n, v in fields(stored) if n.lower() == name.lower()]


def body_of(stored):
    return stored.split(b"\n\n", 1)[1]


def inbox(tem, who=ALICE):
    return tem.maildir_messages(who)


def junk(tem, who=ALICE):
    """The messages in WHO's Junk folder (new/ and cur/)."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(tem.maildir(who), ".Junk", sub)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else ():
            with open(os.path.join(d, name), "rb") as f:
                out.append(f.read())
    return out


def one_message(tem, who=ALICE):
    return wait_for(lambda: inbox(tem, who), 10, "a message for " + who)[0]


# --- header edits -------------------------------------------------------

TAGGED = (b"From: <sender@b.test>\r\nTo: <alice@a.test>\r\nX-Tag: one\r\n"
          b"Subject: tags\r\nX-Tag: two\r\n\tfolded\r\nx-tag: three\r\n"
          b"\r\nbody\r\n")


def edited(make_tem, milter, *edits, **conf):
    """Sends TAGGED through a filter (CONF: its config) making EDITS at
    the end of the message; returns (the filter, the stored message)."""
    m = milter(eom={"edits": list(edits)}, **conf)
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    return m, one_message(tem)


def m_names(m):
    return [n for n, _ in m.headers()]
