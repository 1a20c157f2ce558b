"""Milters: every event and every action, end to end.

The real `tem serve` with smtp_milters / submission_milters pointing at a
real milter written with pymilter (Sendmail's libmilter), started by each
test with the behaviour it needs (tests/lib/testmilter.py), and at raw
fakes for what libmilter never does. Mail goes in over SMTP; what is
stored is read from the Maildir; what the filter saw is read from its
record.
"""

import hashlib
import os
import smtplib
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from temserver import (HOSTNAME, PASSWORDS, SMTPClosed, SMTPConn,  # noqa: E402
                       free_port, insecure_tls_context, simple_message,
                       wait_for)
from testmilter import LINE, TestMilter, replacement_sha256  # noqa: E402
from test_spool import small_quarantine, vm_hwm_kb  # noqa: E402,F401

ALICE, BOB = "alice@a.test", "bob@a.test"
SENDER = "sender@b.test"
STAGES = ("connect", "helo", "mail", "rcpt", "data", "header", "eoh",
          "body", "eom")


@pytest.fixture
def milter(request):
    """Factory: milter(**config) -> a started TestMilter (see
    testmilter.py), stopped when the test ends; its log is added to a
    failing test's report."""
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


def milter_tem(make_tem, smtp=(), submission=(), services=("smtp",),
               **conf):
    """A server whose port 25 uses the milters SMTP and submission the
    milters SUBMISSION; CONF: more config keys."""
    extra = {"smtp_milters": ", ".join(m.spec for m in smtp),
             "submission_milters": ", ".join(m.spec for m in submission)}
    extra.update(conf)
    return make_tem(services=services, extra_conf=extra)


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


# --- reject, tempfail and reply codes at each stage ----------------------

# Where the client sees a refusal at STAGE: connect and HELO refusals may
# come at the banner, EHLO or MAIL (Postfix answers the next command);
# the message stages at the end of DATA.
WHERE = {"connect": ("banner", "ehlo", "mail"), "helo": ("ehlo", "mail"),
         "mail": ("mail",), "rcpt": ("rcpt",),
         # Postfix refuses at the DATA command; a client that sends DATA
         # events with the message sees it after the dot
         "data": ("data", "end"),
         "header": ("end",), "eoh": ("end",), "body": ("end",),
         "eom": ("end",)}


@pytest.mark.parametrize("stage", STAGES)
def test_reject_at_each_stage_with_reply_text(make_tem, milter, stage):
    text = "milter refuses at %s" % stage
    m = milter(at={stage: {"do": "reject",
                           "reply": ["554", "5.7.1", text]}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step in WHERE[stage], (out.step, out.replies)
    assert out.reply.code == 554, out.reply
    assert "5.7.1" in out.reply.last and text in out.reply.text, out.reply
    assert inbox(tem) == []


@pytest.mark.parametrize("stage", STAGES)
def test_tempfail_at_each_stage(make_tem, milter, stage):
    m = milter(at={stage: {"do": "tempfail"}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step in WHERE[stage], (out.step, out.replies)
    assert 400 <= out.reply.code < 500, out.reply
    assert inbox(tem) == []


def test_reject_without_text_is_550_5_7_1(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(at={"eom": {"do": "reject"}})])
    out = send(tem)
    assert out.step == "end" and out.reply.code == 550, out.reply
    assert out.reply.last.startswith("550 5.7.1"), out.reply
    assert inbox(tem) == []


def test_multiline_reply_reaches_the_client(make_tem, milter):
    m = milter(at={"eom": {"do": "reject", "reply": [
        "550", "5.7.0", "first line", "second line"]}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step == "end", out.replies
    lines = out.reply.lines
    assert len(lines) == 2, lines
    assert lines[0].startswith("550-5.7.0") and "first line" in lines[0]
    assert lines[1].startswith("550 5.7.0") and "second line" in lines[1]


def test_per_recipient_reject_at_rcpt(make_tem, milter):
    m = milter(rcpt={BOB: {"do": "reject",
                           "reply": ["550", "5.1.1", "bob is not wanted"]}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.rcpts[ALICE].code == 250, out.rcpts
    r = out.rcpts[BOB]
    assert r.code == 550 and "5.1.1" in r.last and "bob is not wanted" in \
        r.last, r
    assert out.replies["end"].code == 250, out.replies
    assert len(inbox(tem, ALICE)) == 1
    assert inbox(tem, BOB) == []


def test_tempfail_one_recipient(make_tem, milter):
    m = milter(rcpt={BOB: {"do": "tempfail"}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.rcpts[BOB].code // 100 == 4, out.rcpts
    assert out.replies["end"].code == 250, out.replies
    assert len(inbox(tem, ALICE)) == 1 and inbox(tem, BOB) == []


# --- discard, quarantine, accept ------------------------------------------

def test_discard_answers_250_and_stores_nothing(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(at={"eom": {"do": "discard"}})])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.step is None and out.reply.code == 250, out.replies
    assert inbox(tem, ALICE) == [] and inbox(tem, BOB) == []
    assert junk(tem) == []
    assert tem.queue_ids() == []


def test_discard_at_rcpt_drops_the_message(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(at={"rcpt": {"do": "discard"}})])
    out = send(tem)
    assert out.step is None and out.reply.code == 250, out.replies
    assert inbox(tem) == []


def test_quarantine_files_into_junk_not_inbox(make_tem, milter):
    m = milter(eom={"quarantine": "looks like spam"})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem, rcpts=(ALICE, BOB))
    assert out.step is None and out.reply.code == 250, out.replies
    for who in (ALICE, BOB):
        assert len(wait_for(lambda: junk(tem, who), 10, "Junk")) == 1
        assert inbox(tem, who) == []


def test_accept_at_mail_skips_the_rest_and_delivers(make_tem, milter):
    m = milter(at={"mail": {"do": "accept"}})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.step is None and out.reply.code == 250, out.replies
    assert len(inbox(tem)) == 1
    # accepted: the filter hears no more of this message
    assert m.events("eom") == [] and m.events("header") == []


# --- header edits ---------------------------------------------------------

TAGGED = (b"From: <sender@b.test>\r\nTo: <alice@a.test>\r\nX-Tag: one\r\n"
          b"Subject: tags\r\nX-Tag: two\r\n\tfolded\r\nx-tag: three\r\n"
          b"\r\nbody\r\n")


def test_add_header_over_inet(make_tem, milter):
    m = milter(inet=True, eom={"edits": [
        {"op": "add", "name": "X-Milter", "value": "added"},
        {"op": "add", "name": "X-Folded", "value": "a\r\n\tb"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    f = fields(stored)
    assert ("X-Milter", " added") in f, f
    assert ("X-Folded", " a\n\tb") in f, f
    # appended after the last field, before the body
    assert f[-1][0] == "X-Folded" and f[-2][0] == "X-Milter", f
    assert body_of(stored) == b"body\n"


@pytest.mark.parametrize("index", [0, 1, 3, 1000])
def test_insert_header(make_tem, milter, index):
    m = milter(eom={"edits": [
        {"op": "insert", "index": index, "name": "X-Ins", "value": "here"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    f = fields(one_message(tem))
    seen = [n for n, _ in m.headers()]     # what the filter counted
    names = [n for n, _ in f]
    at = names.index("X-Ins")
    assert names.count("X-Ins") == 1
    if index < len(seen):
        # before the index-th field the filter saw (0 = its first)
        assert names[at + 1] == seen[index], (names, seen)
    else:
        assert at == len(names) - 1, names      # past the end: appended
    # nothing else moved: what the filter saw is the end of the head
    rest = [n for n in names if n != "X-Ins"]
    assert rest[-len(seen):] == seen, (names, seen)


def test_change_nth_header_case_insensitively(make_tem, milter):
    m = milter(eom={"edits": [
        {"op": "change", "index": 2, "name": "x-TAG", "value": "changed"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    assert values(stored, "X-Tag") == ["one", "changed", "three"], \
        fields(stored)
    assert b"folded" not in stored


def test_delete_header(make_tem, milter):
    m = milter(eom={"edits": [
        {"op": "delete", "index": 1, "name": "X-Tag"},
        {"op": "delete", "index": 1, "name": "Subject"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    # the first X-Tag and the Subject gone, the rest as it was
    assert values(stored, "X-Tag") == ["two\n\tfolded", "three"], \
        fields(stored)
    assert values(stored, "Subject") == []
    assert body_of(stored) == b"body\n"


def test_change_of_missing_header_appends_delete_of_missing_is_noop(
        make_tem, milter):
    m = milter(eom={"edits": [
        {"op": "change", "index": 1, "name": "X-New", "value": "appended"},
        {"op": "delete", "index": 5, "name": "X-Tag"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    assert values(stored, "X-New") == ["appended"]
    assert len(values(stored, "X-Tag")) == 3


def test_leading_space_negotiated(make_tem, milter):
    m = milter(leadspc=True, eom={"edits": [
        {"op": "add", "name": "X-Lead", "value": " kept as sent"},
        {"op": "add", "name": "X-Tight", "value": "nospace"}]})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    assert b"\nX-Lead: kept as sent\n" in stored
    assert b"\nX-Tight:nospace\n" in stored
    # the filter got values with their own leading space
    assert ("Subject", " tags") in m.headers(), m.headers()


# --- the body ----------------------------------------------------------------

def test_replace_body(make_tem, milter):
    m = milter(eom={"replace_body": {"text": "new body\r\nline two\r\n"}})
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, msg=TAGGED).reply.code == 250
    stored = one_message(tem)
    assert body_of(stored) == b"new body\nline two\n"
    assert values(stored, "Subject") == ["tags"]
    assert len(values(stored, "X-Tag")) == 3
    # the filter got the old body, CRLF
    assert m.events("eom")[-1]["body"] == "body\r\n"


def big_body_message(size):
    """A message whose body is SIZE bytes of CRLF lines."""
    line = b"x" * (LINE - 2) + b"\r\n"
    return (b"From: <sender@b.test>\r\nTo: <alice@a.test>\r\n"
            b"Subject: big\r\n\r\n" + line * (size // LINE))


def test_replace_20mb_body_with_20mb_bounded_memory(make_tem, milter,
                                                    small_quarantine):
    size = (20 << 20) // LINE * LINE
    m = milter(eom={"replace_body": {"size": size}})
    tem = milter_tem(make_tem, smtp=[m],
                     message_size_limit=str(64 << 20))
    out = send(tem, msg=big_body_message(20 << 20), timeout=300)
    assert out.reply.code == 250, out.replies
    peak = vm_hwm_kb(tem.proc.pid)
    print("peak RSS %d kB replacing a %d-byte body" % (peak, size))
    stored = one_message(tem)
    assert values(stored, "Subject") == ["big"]
    body = body_of(stored)
    del stored
    assert len(body) == size - size // LINE     # CRLF -> LF
    got = hashlib.sha256(body.replace(b"\n", b"\r\n")).hexdigest()
    del body
    assert got == replacement_sha256(size), "stored body is not the new one"
    ev = m.events("eom")[-1]
    assert ev["body_size"] == (20 << 20) // LINE * LINE
    assert peak < 128 * 1024, "peak RSS %d kB >= 128 MB" % peak


# --- the envelope --------------------------------------------------------------

def test_add_local_recipient(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(eom={"add_rcpt": ["<bob@a.test>"]})])
    assert send(tem).reply.code == 250
    assert len(inbox(tem, ALICE)) == 1
    stored = one_message(tem, BOB)
    assert any(BOB in v for v in values(stored, "Delivered-To")), \
        fields(stored)


def test_add_remote_recipient_is_queued(make_tem, milter):
    m = milter(eom={"add_rcpt": ["<far@remote.test>"]})
    # the remote copy stays queued: its relay refuses connections
    tem = milter_tem(make_tem, smtp=[m],
                     relay_host="127.0.0.1:%d" % free_port())
    assert send(tem).reply.code == 250
    assert len(inbox(tem, ALICE)) == 1
    ids = tem.queue_ids()
    assert len(ids) == 1, ids
    out = tem.admin("queue", "list").stdout.decode()
    assert "far@remote.test" in out, out


def test_delete_recipient(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(eom={"del_rcpt": ["<bob@a.test>"]})])
    assert send(tem, rcpts=(ALICE, BOB)).reply.code == 250
    assert len(inbox(tem, ALICE)) == 1
    assert inbox(tem, BOB) == []


def test_change_sender(make_tem, milter):
    tem = milter_tem(make_tem, smtp=[milter(eom={"chg_from": "<new@b.test>"})])
    assert send(tem).reply.code == 250
    stored = one_message(tem)
    assert values(stored, "Return-Path") == ["<new@b.test>"], fields(stored)


# --- several milters, the two ports, what a milter sees ----------------------

def test_milters_in_a_row_second_sees_first_edit(make_tem, milter):
    first = milter(eom={"edits": [
        {"op": "add", "name": "X-First", "value": "1"},
        {"op": "delete", "index": 1, "name": "Subject"}]})
    second = milter(eom={"edits": [
        {"op": "add", "name": "X-Second", "value": "2"}]})
    tem = milter_tem(make_tem, smtp=[first, second])
    assert send(tem, msg=TAGGED).reply.code == 250
    seen = m_names(second)
    assert "X-First" in seen and "Subject" not in seen, seen
    assert "Subject" in m_names(first)
    stored = one_message(tem)
    assert values(stored, "X-First") == ["1"]
    assert values(stored, "X-Second") == ["2"]


def m_names(m):
    return [n for n, _ in m.headers()]


def test_first_milter_rejects_second_never_sees_the_message(make_tem,
                                                            milter):
    first = milter(at={"eom": {"do": "reject"}})
    second = milter()
    tem = milter_tem(make_tem, smtp=[first, second])
    assert send(tem).reply.code == 550
    assert second.events("eom") == []


def test_submission_milters_on_587_smtp_milters_on_25(make_tem, milter):
    on25 = milter(eom={"edits": [{"op": "add", "name": "X-Port",
                                  "value": "25"}]})
    on587 = milter(eom={"edits": [{"op": "add", "name": "X-Port",
                                   "value": "587"}]})
    tem = milter_tem(make_tem, smtp=[on25], submission=[on587],
                     services=("smtp", "submission"))
    submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB))
    stored = one_message(tem, BOB)
    assert values(stored, "X-Port") == ["587"]
    # (port 25's filter saw the start-up probe connect, and no mail)
    assert on25.events("mail") == []
    mail = on587.events("mail")[-1]
    assert mail["args"][0] == "<alice@a.test>"
    assert mail["macros"].get("{auth_authen}") == ALICE, mail
    # and port 25 uses the other list
    sessions = len(on587.events("connect"))
    assert send(tem).reply.code == 250
    assert values(one_message(tem, ALICE), "X-Port") == ["25"]
    assert len(on587.events("connect")) == sessions
    assert len(on25.events("mail")) == 1


def test_milter_sees_envelope_macros_and_authentication_results(make_tem,
                                                               milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem, rcpts=(ALICE, BOB), msg=TAGGED).reply.code == 250
    conn = m.events("connect")[-1]
    assert conn["macros"].get("j") == HOSTNAME, conn
    assert "127.0.0.1" in repr(conn["args"]), conn
    assert m.events("helo")[-1]["args"] == ["client.test"]
    assert m.events("mail")[-1]["args"][0] == "<%s>" % SENDER
    assert [e["args"][0] for e in m.events("rcpt")] == [
        "<%s>" % ALICE, "<%s>" % BOB]
    hdrs = m.headers()
    ar = [v for n, v in hdrs if n.lower() == "authentication-results"]
    assert ar and HOSTNAME in ar[0], hdrs
    assert ("Subject", "tags") in hdrs or ("Subject", " tags") in hdrs, hdrs
    eom = m.events("eom")[-1]
    assert eom["body"] == "body\r\n"
    assert eom["macros"].get("i"), eom     # the queue id


def test_filter_that_wants_nothing(make_tem, milter):
    m = milter(fake="nothing")
    tem = milter_tem(make_tem, smtp=[m])
    assert send(tem).reply.code == 250
    assert len(inbox(tem)) == 1
    seen = "".join(e["args"][0] for e in m.events("packet"))
    for cmd in "CHMRTLNB":      # EOM cannot be declined
        assert cmd not in seen, seen


def test_progress_keeps_a_slow_filter_alive(make_tem, milter):
    m = milter(at={"eom": {"progress": 3}})
    # only the content timeout is short: progress must reset it
    tem = milter_tem(make_tem, smtp=[m], milter_content_timeout="1s")
    out = send(tem)
    assert out.reply.code == 250, out.replies
    assert len(inbox(tem)) == 1


# --- a filter that fails: the default action, the session goes on --------

FAILURES = {
    "sleep": dict(at={"mail": {"sleep": 4}}),
    "sleep-eom": dict(at={"eom": {"sleep": 4}}),
    "exit": dict(at={"mail": {"exit": True}}),
    "garbage": dict(fake="garbage"),
    "badlength": dict(fake="badlength"),
    "badcode": dict(fake="badcode"),
    "mute": dict(fake="mute"),
    "close": dict(fake="close"),
}
SHORT = {"milter_connect_timeout": "1s", "milter_command_timeout": "1s",
         "milter_content_timeout": "1s"}


def failing(make_tem, milter, kind, action):
    m = milter(**FAILURES[kind])
    tem = milter_tem(make_tem, smtp=[m], milter_default_action=action,
                     **SHORT)
    return m, tem


def two_messages(tem):
    """Two transactions in one session; the replies to both and to NOOP."""
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        first = transaction(c)
        c.cmd("RSET")
        second = transaction(c)
        noop = c.cmd("NOOP")
        c.cmd("QUIT")
    return first, second, noop


def milter_log_lines(tem):
    return [l for l in tem.log_text().splitlines() if " milter " in l and
            "error=" in l]


# the refusals: every failure with the default tempfail, two with reject
REFUSALS = ([(k, "tempfail", 451, "4.7.1") for k in sorted(FAILURES)] +
            [(k, "reject", 550, "5.7.1") for k in ("sleep", "garbage")])


@pytest.mark.parametrize("kind, action, code, status", REFUSALS)
def test_failing_filter_refuses_by_default_action(make_tem, milter, kind,
                                                  action, code, status):
    m, tem = failing(make_tem, milter, kind, action)
    first, second, noop = two_messages(tem)
    assert first.step is not None, first.replies
    assert first.reply.code == code and status in first.reply.last, \
        first.replies
    # the session goes on: the filter is tried again or left out
    assert second.reply is not None and second.reply.code in (250, code), \
        second.replies
    assert noop.code == 250
    if second.reply.code == code:
        assert inbox(tem) == []
    assert milter_log_lines(tem), tem.log_tail()


@pytest.mark.parametrize("kind", ["sleep", "exit", "garbage", "badcode"])
def test_failing_filter_accept_delivers(make_tem, milter, kind):
    m, tem = failing(make_tem, milter, kind, "accept")
    first, second, noop = two_messages(tem)
    assert first.step is None and first.reply.code == 250, first.replies
    assert second.step is None and second.reply.code == 250, second.replies
    assert noop.code == 250
    wait_for(lambda: len(inbox(tem)) == 2, 10, "two messages")
    assert milter_log_lines(tem), tem.log_tail()


def test_milter_down_tempfails(make_tem):
    """Nothing listens where the filter should be."""
    tem = make_tem(extra_conf=dict(SHORT, smtp_milters="inet:127.0.0.1:%d"
                                   % free_port()))
    first, second, noop = two_messages(tem)
    assert first.reply.code == 451, first.replies
    assert noop.code == 250
    assert inbox(tem) == []


# --- the SMTP side around the filters ----------------------------------------

def test_pipelined_commands_answered_in_order(make_tem, milter):
    """MAIL, two RCPTs and DATA in one write while the filter answers each
    event: the replies come in order, the refused recipient in its
    place."""
    m = milter(rcpt={BOB: {"do": "reject"}})
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        c.send("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nRCPT TO:<%s>\r\n"
               "DATA\r\n" % (SENDER, BOB, ALICE))
        codes = [r.code for r in c.replies(4)]
        assert codes == [250, 550, 250, 354], codes
        c.send(dot(simple_message()) + b".\r\n")
        assert c.reply().code == 250
        c.cmd("QUIT")
    assert len(inbox(tem, ALICE)) == 1 and inbox(tem, BOB) == []


def test_bdat_message_goes_through_the_filter(make_tem, milter):
    m = milter(eom={"edits": [{"op": "add", "name": "X-Bdat",
                               "value": "seen"}]})
    tem = milter_tem(make_tem, smtp=[m])
    msg = TAGGED
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<%s>" % SENDER).code == 250
        assert c.cmd("RCPT TO:<%s>" % ALICE).code == 250
        c.send(b"BDAT 20\r\n" + msg[:20])
        assert c.reply().code == 250
        rest = msg[20:]
        c.send(b"BDAT %d LAST\r\n" % len(rest) + rest)
        assert c.reply().code == 250
        c.cmd("QUIT")
    stored = one_message(tem)
    assert values(stored, "X-Bdat") == ["seen"]
    assert m.events("eom")[-1]["body"] == "body\r\n"


def test_second_message_of_a_session_starts_clean(make_tem, milter):
    """Envelope changes and header edits belong to one message: the
    second message of the session gets its own, once."""
    m = milter(eom={"add_rcpt": ["<bob@a.test>"], "edits": [
        {"op": "add", "name": "X-Once", "value": "1"}]})
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        for i in range(2):
            out = transaction(c, msg=simple_message(subject="n%d" % i))
            assert out.step is None and out.reply.code == 250, out.replies
        c.cmd("QUIT")
    wait_for(lambda: len(inbox(tem, BOB)) == 2, 10, "two copies for bob")
    for who in (ALICE, BOB):
        msgs = inbox(tem, who)
        assert len(msgs) == 2, who
        for stored in msgs:
            assert values(stored, "X-Once") == ["1"], fields(stored)
    assert len(m.events("eom")) == 2


def test_second_filter_sees_the_replaced_body(make_tem, milter):
    first = milter(eom={"replace_body": {"text": "replaced\r\n"}})
    second = milter()
    tem = milter_tem(make_tem, smtp=[first, second])
    assert send(tem, msg=TAGGED).reply.code == 250
    assert first.events("eom")[-1]["body"] == "body\r\n"
    assert second.events("eom")[-1]["body"] == "replaced\r\n"
    assert body_of(one_message(tem)) == b"replaced\n"


def test_tls_macros_after_starttls(make_tem, milter):
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        c.starttls()
        c.ehlo()
        out = transaction(c)
        assert out.reply.code == 250, out.replies
        c.cmd("QUIT")
    macros = m.events("mail")[-1]["macros"]
    assert macros.get("{tls_version}", "").startswith("TLS"), macros
    assert macros.get("{cipher}"), macros


def test_header_value_cannot_forge_a_field(make_tem, milter):
    """A value with a line end that is no folding never becomes a field of
    its own: the edit fails (the default action applies) or is refused."""
    m = milter(eom={"edits": [{"op": "add", "name": "X-Bad",
                               "value": "a\nForged: yes"}]})
    tem = milter_tem(make_tem, smtp=[m])
    out = send(tem)
    assert out.reply.code in (250, 451), out.replies
    for stored in inbox(tem):
        assert values(stored, "Forged") == [], fields(stored)


def test_submission_reject(make_tem, milter):
    m = milter(at={"eom": {"do": "reject",
                           "reply": ["550", "5.7.1", "not from you"]}})
    tem = milter_tem(make_tem, submission=[m],
                     services=("smtp", "submission"))
    with pytest.raises(smtplib.SMTPDataError) as e:
        submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB))
    assert e.value.smtp_code == 550 and b"not from you" in e.value.smtp_error
    assert inbox(tem, BOB) == []
