"""Milters, the core path: tem's milter client against a real libmilter
filter (Debian's python3-milter, tests/lib/testmilter.py) and raw fakes.

Covered: connect and negotiation with the macros Postfix sends, every
event of a message reaching the filter (tem's Authentication-Results among
the header fields), accept, a per-recipient reject at RCPT (the others go
on), a reject with the filter's own reply at end of message, a tempfail at
MAIL, two filters in a row (the second sees the first one's header), and
the failures: a filter that is down under each milter_default_action, one
that closes mid-session, one that answers garbage, one slower than
milter_command_timeout, and SMFIP_RCPT_REJ (a filter that asked hears of
the recipients tem refused). None loses mail or hangs the session; each
failure is one log line.
"""

import socket
import struct
import threading

import pytest

from temserver import SMTPConn, simple_message, wait_for
from testmilter import TestMilter, packet, read_packet


def milter_tem(make_tem, milters, **extra):
    conf = {"smtp_milters": ", ".join(m.spec for m in milters)}
    conf.update(extra)
    return make_tem(extra_conf=conf)


def transaction(tem, rcpts, message=None, mail_from="sender@b.test"):
    """One session: returns [MAIL reply, RCPT replies..., DATA reply or
    None when no recipient was taken]."""
    out = []
    with SMTPConn(tem.smtp_port) as c:
        assert c.banner.code == 220, c.banner
        c.ehlo()
        r = c.cmd("MAIL FROM:<%s>" % mail_from)
        out.append(r)
        if r.code != 250:
            c.cmd("QUIT")
            return out
        ok = 0
        for rcpt in rcpts:
            r = c.cmd("RCPT TO:<%s>" % rcpt)
            out.append(r)
            ok += r.code == 250
        if ok:
            out.append(c.data(message or simple_message("milter")))
        else:
            out.append(None)
        assert c.cmd("QUIT").code == 221
    return out


def test_negotiation_events_and_macros(make_tem):
    with TestMilter() as m:
        tem = milter_tem(make_tem, [m])
        replies = transaction(tem, ["alice@a.test"])
        assert replies[-1].code == 250, replies
        (stored,) = tem.maildir_messages("alice@a.test")
        evs = wait_for(lambda: m.events("close") and m.events())
        names = [e["ev"] for e in evs]
        for ev in ("negotiate", "connect", "helo", "mail", "rcpt", "data",
                   "header", "eoh", "body", "eom", "close"):
            assert ev in names, (ev, names)
        assert names.index("connect") < names.index("helo") < \
            names.index("mail") < names.index("rcpt") < names.index("eom")
        conn = m.events("connect")[0]
        assert conn["macros"].get("j") == "mx.a.test", conn
        assert conn["macros"].get("{daemon_name}") == "smtp", conn
        assert conn["macros"].get("{client_addr}") == "127.0.0.1", conn
        assert m.events("helo")[0]["args"] == ["client.test"]
        assert m.events("mail")[0]["args"][0] == "<sender@b.test>"
        assert m.events("mail")[0]["macros"].get("{mail_addr}") == \
            "sender@b.test"
        assert m.events("rcpt")[0]["args"][0] == "<alice@a.test>"
        eom = m.events("eom")[0]
        queue_id = eom["macros"].get("i")
        assert queue_id and queue_id in tem.log_text(), eom
        # the body as on the wire: CRLF line ends
        assert eom["body"] == "Hello.\r\n", eom
        names = [h[0].lower() for h in m.headers()]
        # tem's trace below its own Received is among what the filter
        # sees; that Received itself is not (Postfix hides its own)
        assert "received" not in names and \
            "authentication-results" in names, names
        assert "subject" in names
        assert b"Subject: milter" in stored


def test_accept_at_mail_lets_the_message_pass(make_tem):
    with TestMilter(at={"mail": {"do": "accept"}}) as m:
        tem = milter_tem(make_tem, [m])
        replies = transaction(tem, ["alice@a.test"])
        assert replies[-1].code == 250, replies
        assert len(tem.maildir_messages("alice@a.test")) == 1
        # accepted: the filter saw no more of this message
        assert m.events("eom") == []


def test_reject_one_recipient_at_rcpt(make_tem):
    with TestMilter(rcpt={"bob@a.test": {"do": "reject"}}) as m:
        tem = milter_tem(make_tem, [m])
        replies = transaction(tem, ["alice@a.test", "bob@a.test"])
        assert replies[1].code == 250, replies
        assert replies[2].code == 550 and "5.7.1" in replies[2].text, replies
        assert replies[3].code == 250, replies
        assert len(tem.maildir_messages("alice@a.test")) == 1
        assert tem.maildir_messages("bob@a.test") == []


def test_reject_at_end_of_message_with_its_reply(make_tem):
    act = {"do": "reject", "reply": ["554", "5.7.1", "Spam message rejected"]}
    with TestMilter(at={"eom": act}) as m:
        tem = milter_tem(make_tem, [m])
        replies = transaction(tem, ["alice@a.test"])
        last = replies[-1]
        assert last.code == 554, replies
        assert "5.7.1 Spam message rejected" in last.text, last
        assert tem.maildir_messages("alice@a.test") == []
        wait_for(lambda: "milter unix:" in tem.log_text() and
                 " reject stage=eom" in tem.log_text(), what="reject log")


def test_tempfail_at_mail(make_tem):
    with TestMilter(at={"mail": {"do": "tempfail"}}) as m:
        tem = milter_tem(make_tem, [m])
        replies = transaction(tem, ["alice@a.test"])
        assert replies[0].code == 451 and "4.7.1" in replies[0].text, replies


def test_two_filters_in_a_row(make_tem):
    first = TestMilter(eom={"edits": [{"op": "add", "name": "X-First",
                                       "value": "seen"}]})
    second = TestMilter()
    with first, second:
        tem = milter_tem(make_tem, [first, second])
        replies = transaction(tem, ["alice@a.test"])
        assert replies[-1].code == 250, replies
        (stored,) = tem.maildir_messages("alice@a.test")
        assert b"X-First: seen\n" in stored
        # the second filter saw the message as the first left it
        assert ("X-First", "seen") in second.headers()
        assert ("X-First", "seen") not in first.headers()


@pytest.mark.parametrize("action,code", [("tempfail", 451), ("reject", 550),
                                         ("accept", 250)])
def test_filter_down(make_tem, tmp_path, action, code):
    spec = "unix:%s/nobody.sock" % tmp_path
    tem = make_tem(extra_conf={"smtp_milters": spec,
                               "milter_default_action": action})
    replies = transaction(tem, ["alice@a.test"])
    assert replies[0].code == code, replies
    if action == "accept":
        assert replies[-1].code == 250, replies
        assert len(tem.maildir_messages("alice@a.test")) == 1
    else:
        assert tem.maildir_messages("alice@a.test") == []
    wait_for(lambda: 'error="connection refused" action=%s' % action in
             tem.log_text(), what="the failure's log line")


@pytest.mark.parametrize("action", ["tempfail", "accept"])
def test_filter_closes_mid_session(make_tem, action):
    with TestMilter(fake="close") as m:
        tem = milter_tem(make_tem, [m], milter_default_action=action)
        replies = transaction(tem, ["alice@a.test"])
        if action == "tempfail":
            assert replies[0].code == 451, replies
        else:
            assert replies[-1].code == 250, replies
            assert len(tem.maildir_messages("alice@a.test")) == 1
        wait_for(lambda: 'error="closed by the filter" action=%s' % action
                 in tem.log_text(), what="the failure's log line")


def test_garbage_reply(make_tem):
    with TestMilter(fake="garbage") as m:
        tem = milter_tem(make_tem, [m], milter_default_action="accept")
        replies = transaction(tem, ["alice@a.test"])
        assert replies[-1].code == 250, replies
        assert len(tem.maildir_messages("alice@a.test")) == 1
        log = tem.log_text()
        assert "milter %s error=" % m.spec in log and "action=accept" in log


@pytest.mark.parametrize("action,code", [("tempfail", 451), ("accept", 250)])
def test_slow_filter_times_out(make_tem, action, code):
    with TestMilter(at={"rcpt": {"sleep": 4}}) as m:
        tem = milter_tem(make_tem, [m], milter_command_timeout="1s",
                         milter_default_action=action)
        with SMTPConn(tem.smtp_port) as c:
            c.ehlo()
            assert c.cmd("MAIL FROM:<sender@b.test>").code == 250
            r = c.cmd("RCPT TO:<alice@a.test>")
            assert r.code == code, r
            # the session goes on
            assert c.cmd("RSET").code == 250
            assert c.cmd("NOOP").code == 250
            if action == "accept":
                assert c.cmd("MAIL FROM:<sender@b.test>").code == 250
                assert c.cmd("RCPT TO:<alice@a.test>").code == 250
                assert c.data(simple_message("late")).code == 250
            assert c.cmd("QUIT").code == 221
        wait_for(lambda: 'error="reply timeout" action=%s' % action in
                 tem.log_text(), what="the timeout's log line")
        if action == "accept":
            assert len(tem.maildir_messages("alice@a.test")) == 1


def test_quarantine_goes_to_junk(make_tem):
    with TestMilter(eom={"quarantine": "looks like spam"}) as m:
        tem = milter_tem(make_tem, [m])
        replies = transaction(tem, ["alice@a.test"])
        assert replies[-1].code == 250, replies
        assert tem.maildir_messages("alice@a.test") == []
        junk = tem.maildir_files("alice@a.test",
                                 (".Junk/new", ".Junk/cur"))
        assert len(junk) == 1, junk


class RcptRejFake:
    """A raw filter on a unix socket that negotiates SMFIP_RCPT_REJ (and
    nothing after RCPT) and records each RCPT with the macros before it."""

    def __init__(self, path):
        self.path = path
        self.rcpts = []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def serve(self, c):
        macros = {}
        while True:
            cmd, data = read_packet(c)
            if cmd is None:
                return
            if cmd == b"O":
                # RCPT_REJ, and no data/headers/eoh/body: NODATA NOHDRS
                # NOEOH NOBODY
                proto = 0x800 | 0x200 | 0x20 | 0x40 | 0x10
                reply = b"O" + struct.pack(">III", 6, 0, proto)
            elif cmd == b"D":
                parts = data[1:].split(b"\0")
                macros = dict(zip(parts[0::2], parts[1::2]))
                continue
            elif cmd in (b"A", b"Q"):
                if cmd == b"Q":
                    return
                continue
            else:
                if cmd == b"R":
                    self.rcpts.append((data.split(b"\0")[0].decode(),
                                       {k.decode(): v.decode()
                                        for k, v in macros.items()}))
                reply = b"c"
            c.sendall(packet(reply[:1], reply[1:]))

    def run(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,),
                             daemon=True).start()

    def close(self):
        self.srv.close()


def test_rcpt_rej_tells_refused_recipients(make_tem, tmp_path):
    fake = RcptRejFake(str(tmp_path / "rej.sock"))
    try:
        tem = make_tem(extra_conf={"smtp_milters": "unix:" + fake.path})
        replies = transaction(tem, ["nobody@a.test", "alice@a.test"])
        assert replies[1].code == 550, replies
        assert replies[2].code == 250 and replies[3].code == 250, replies
        rej, ok = wait_for(lambda: len(fake.rcpts) >= 2 and fake.rcpts)
        assert rej[0] == "<nobody@a.test>", rej
        assert rej[1].get("{rcpt_mailer}") == "error", rej
        assert rej[1].get("{rcpt_host}") == "5.1.1", rej
        assert ok[0] == "<alice@a.test>", ok
        assert ok[1].get("{rcpt_mailer}") == "local", ok
        assert ok[1].get("{rcpt_host}") == "a.test", ok
        assert len(tem.maildir_messages("alice@a.test")) == 1
    finally:
        fake.close()


def test_multi_line_reply_at_rcpt(make_tem):
    act = {"do": "reject", "reply": ["550", "5.7.1", "first line",
                                     "second line"]}
    with TestMilter(rcpt={"bob@a.test": act}) as m:
        tem = milter_tem(make_tem, [m])
        replies = transaction(tem, ["bob@a.test", "alice@a.test"])
        r = replies[1]
        assert r.code == 550 and len(r.lines) == 2, r
        assert r.lines[0].startswith("550-5.7.1 first line"), r
        assert r.lines[1].startswith("550 5.7.1 second line"), r
        assert replies[-1].code == 250, replies
