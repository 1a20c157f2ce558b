"""Interop: Postfix (the Debian package) as tem's peer MTA, both ways.

Hosts, all on one port P as real MX hosts all listen on port 25:
  tem A    a.test, user alice; submission on 127.0.0.1; sends with
           dns_server = the test DNS and outbound_port = P
  Postfix  mx.p.test on 127.0.0.5:P (the MX of p.test in the test DNS);
           delivers p.test into Maildirs (virtual(8)); relays b.test to
           tem B with transport_maps (no DNS); TLS both ways (may)
  tem B    mx.b.test for b.test on 127.0.0.3:P, users bob and carol

Postfix is a private instance (tests/lib/postfixpeer.py): its own config
dir, queue and data directories in a temp dir, never /etc/postfix nor
port 25. The servers are started once for the module; each test uses its
own recipients or counts what is new.
"""

import os
import re
import smtplib
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from dsnreader import parse_dsn  # noqa: E402
from postfixpeer import (PostfixPeer, PostfixUnavailable,  # noqa: E402
                         ensure_installed, listening_on)
import temserver  # noqa: E402
from temserver import (DATA, TemServer, fixture_bytes,  # noqa: E402
                       insecure_tls_context, on_disk, split_added_headers,
                       first_difference, wait_for)

ALICE = ("alice@a.test", "alice-secret-1")
BOB = ("bob@b.test", "bob-secret-1")
CAROL = ("carol@b.test", "carol-secret-1")
PF_ADDR = "127.0.0.5"
TEM_B_ADDR = "127.0.0.3"
PF_USER = "user@p.test"        # Postfix mailboxes
PF_LATER = "later@p.test"
PF_SENDER = "sender@p.test"    # sender of mail into tem B; gets bounces


# --- set-up -----------------------------------------------------------------

def shared_port():
    """A port free on 127.0.0.1, tem B's and Postfix's addresses."""
    return temserver.shared_port(("127.0.0.1", TEM_B_ADDR, PF_ADDR))


ZONES = {
    "p.test": [
        "p.test. 300 IN MX 10 mx.p.test.",
        "mx.p.test. 300 IN A %s" % PF_ADDR,
    ],
}


class Hosts:
    def __init__(self, port, dns, pf, a, b):
        self.port, self.dns, self.pf, self.a, self.b = port, dns, pf, a, b


@pytest.fixture(scope="module")
def postfix_installed():
    try:
        installed_now = ensure_installed()
    except PostfixUnavailable as e:
        pytest.fail("Postfix cannot be installed: %s" % e)
    if installed_now:
        # the package must not have started a system instance
        assert not listening_on(25), "something listens on port 25 after " \
            "installing postfix (a system instance?)"


@pytest.fixture(scope="module")
def hosts(postfix_installed):
    port = shared_port()
    tls = {
        "smtpd_tls_cert_file": os.path.join(DATA, "mx.a.test.crt"),
        "smtpd_tls_key_file": os.path.join(DATA, "mx.a.test.key"),
        "smtpd_tls_security_level": "may",
        "smtpd_tls_loglevel": "1",
        "smtpd_tls_received_header": "yes",
        "smtp_tls_security_level": "may",
        "smtp_tls_loglevel": "1",
    }
    pf = PostfixPeer(PF_ADDR, port, hostname="mx.p.test", domain="p.test",
                     mailboxes=[PF_USER, PF_LATER, PF_SENDER],
                     transports={"b.test": "smtp:[%s]:%d" % (TEM_B_ADDR,
                                                            port)},
                     extra=tls,
                     # the whole dialogue with tem A (.1) and tem B (.3)
                     debug_peers="127.0.0.1, %s" % TEM_B_ADDR)
    a = TemServer(users=dict([ALICE]), domains=("a.test",),
                  services=("submission",),
                  extra_conf={"queue_retry_base": "1s",
                              "outbound_port": str(port)})
    b = TemServer(users=dict([BOB, CAROL]), domains=("b.test",),
                  hostname="mx.b.test", listen_addr=TEM_B_ADDR,
                  smtp_port=port)
    with DnsServer(ZONES) as dns:
        a.extra_conf["dns_server"] = dns.addr
        with pf, a, b:
            h = Hosts(port, dns, pf, a, b)
            yield h
            failed = getattr(h, "failed", False)
            if failed:
                a.keep = b.keep = pf.keep = True


@pytest.fixture(autouse=True)
def report_logs(request, hosts):
    """On failure: the tem logs (conftest adds them) and Postfix's log."""
    request.node.tem_servers = [hosts.a, hosts.b]
    yield
    rep = getattr(request.node, "tem_rep_call", None)
    if rep is not None and rep.failed:
        hosts.failed = True
        print(hosts.pf.log_tail(200))


# --- helpers ----------------------------------------------------------------

def message(rcpts, subject, body, sender=ALICE[0]):
    return ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s.%d@test>\r\nDate: Sat, 28 Nov 2026 02:00:00 "
            "+0000\r\n\r\n%s" % (sender, ", ".join(rcpts), subject,
                                 subject.replace(" ", "-"),
                                 time.monotonic_ns(), body)).encode()


def submit(tem, rcpts, msg, mail_options=()):
    """Authenticated submission to tem A: STARTTLS, AUTH, one message."""
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        refused = s.sendmail(ALICE[0], rcpts, msg,
                             mail_options=list(mail_options))
        assert not refused, refused
    return msg


def inject(pf, sender, rcpts, msg):
    """Plain SMTP into Postfix (loopback is in its mynetworks)."""
    with smtplib.SMTP(pf.addr, pf.port, timeout=20) as s:
        s.ehlo("injector.test")
        refused = s.sendmail(sender, rcpts, msg)
        assert not refused, refused
    return msg


def count_in(seq, needle):
    return sum(1 for m in seq if needle in m)


def split_fields(head):
    """Header block (bytes, LF) -> [(name-lowercase, raw field bytes)]."""
    fields = []
    for raw in re.split(rb"\n(?![ \t])", head):
        if raw:
            name = raw.split(b":", 1)[0].decode().lower()
            fields.append((name, raw))
    return fields


def postfix_added(stored, sent):
    """Asserts STORED (a Postfix Maildir file) ends with SENT (as on disk)
    and returns the header fields above it."""
    want = on_disk(sent)
    if not stored.endswith(want):
        i = stored.find(want[:40])
        raise AssertionError("not byte-identical; " + first_difference(
            stored[i:] if i >= 0 else stored, want))
    return split_fields(stored[:-len(want)].rstrip(b"\n"))


def log_lines(text, *needles):
    return [l for l in text.splitlines() if all(n in l for n in needles)]


def postfix_pid(log, daemon, needle):
    """The pid of the Postfix DAEMON whose log line holds NEEDLE."""
    for l in log_lines(log, "postfix/%s[" % daemon, needle):
        return re.search(r"postfix/%s\[(\d+)\]" % daemon, l).group(1)
    return None


def postfix_sent_ids(pf, rcpt):
    """Postfix's queue ids of its `to=<RCPT> ... status=sent` log lines."""
    return [re.search(r": ([0-9A-F]+): to=", l).group(1) for l in
            log_lines(pf.log_text(), "to=<%s>" % rcpt, "status=sent")]


def wait_postfix_done(pf, rcpt, before):
    """Waits until Postfix has sent more than BEFORE messages to RCPT and
    is done with every one of them (its qmgr logs `QID: removed`): after
    that, nothing more for RCPT can arrive."""
    def done():
        ids = postfix_sent_ids(pf, rcpt)
        log = pf.log_text()
        return len(ids) > before and all(": %s: removed" % q in log
                                         for q in ids)
    wait_for(done, what="Postfix to finish its mail for " + rcpt)


def wait_tem_to_postfix_done(a, pf, rcpt):
    """Waits until tem A's queue is empty and Postfix removed every
    message tem A handed it for RCPT (tem's log: `queued as QID`)."""
    a.wait_queue_empty()
    ids = re.findall(r"mta to=<%s>.*status=sent.*queued as ([0-9A-F]+)"
                     % re.escape(rcpt), a.log_text())
    assert ids, a.log_tail()
    wait_for(lambda: all(": %s: removed" % q in pf.log_text() for q in ids),
             what="Postfix to finish the mail tem A sent to " + rcpt)


def wait_no_kept_connection(a):
    """tem keeps an idle connection for the next batch a few seconds,
    and the Postfix smtpd at its other end keeps the tables it started
    with: after a reload, wait until tem A holds no connection to
    Postfix, so that the next message meets the new settings."""
    wait_for(lambda: len(log_lines(a.log_text(), "mta connect host=mx.p.test"))
             == len(log_lines(a.log_text(), "mta disconnect host=mx.p.test")),
             what="tem A's kept connection to Postfix to close")


def postfix_queue_id(pf, rcpt, status="sent"):
    """The queue id of Postfix's `to=<RCPT> ... status=STATUS` log line."""
    lines = log_lines(pf.log_text(), "to=<%s>" % rcpt, "status=" + status)
    return re.search(r": ([0-9A-F]+): to=", lines[-1]).group(1) if lines \
        else None


# --- tem -> Postfix ---------------------------------------------------------

def test_tem_to_postfix_over_tls_byte_identical_once(hosts):
    a, pf = hosts.a, hosts.pf
    before = len(pf.messages(PF_USER))
    sent = submit(a, [PF_USER], message(
        [PF_USER], "tem to postfix", "Hello Postfix,\r\n.a leading dot\r\n"
        "..two dots\r\n\r\ntrailing space \r\nbye\r\n"))
    got = wait_for(lambda: pf.messages(PF_USER)[before:], what="delivery")
    wait_tem_to_postfix_done(a, pf, PF_USER)
    new = pf.messages(PF_USER)[before:]
    assert len(new) == 1, "delivered %d times" % len(new)
    fields = postfix_added(got[0], sent)
    names = [n for n, _ in fields]
    # Postfix's own fields, then its Received, then tem A's Received
    assert names == ["return-path", "x-original-to", "delivered-to",
                     "received", "received"], names
    assert fields[0][1] == b"Return-Path: <alice@a.test>"
    rec_pf, rec_tem = fields[3][1].decode(), fields[4][1].decode()
    assert rec_pf.startswith("Received: from mx.a.test (")
    assert "by mx.p.test (Postfix) with ESMTPS" in rec_pf, rec_pf
    assert "(using TLS" in rec_pf, rec_pf
    assert "by mx.a.test" in rec_tem and "ESMTPSA" in rec_tem, rec_tem
    # tem A's log: sent to Postfix's MX over TLS; Postfix's queue id
    tlog = a.log_text()
    sent_lines = log_lines(tlog, "mta to=<%s>" % PF_USER, "status=sent",
                           "relay=mx.p.test[%s]" % PF_ADDR)
    assert sent_lines, a.log_tail()
    m = re.search(r"said: 250 2\.0\.0 Ok: queued as ([0-9A-F]+)",
                  sent_lines[-1])
    assert m, sent_lines[-1]
    qid = m.group(1)
    assert log_lines(tlog, "mta tls host=mx.p.test[%s]" % PF_ADDR), \
        a.log_tail()
    # Postfix's log: the smtpd that queued it had TLS with tem A, and
    # virtual(8) delivered it
    log = pf.log_text()
    pid = postfix_pid(log, "smtpd", qid + ": client=unknown[127.0.0.1]")
    assert pid, pf.log_tail()
    assert log_lines(log, "postfix/smtpd[%s]" % pid, "TLS connection "
                     "established from unknown[127.0.0.1]"), pf.log_tail()
    assert log_lines(log, qid + ": to=<%s>" % PF_USER, "relay=virtual",
                     "status=sent (delivered to maildir)"), pf.log_tail()


def test_tem_to_postfix_8bitmime_intact(hosts):
    a, pf = hosts.a, hosts.pf
    before = len(pf.messages(PF_USER))
    sent = fixture_bytes("message-mime-8bit.eml")
    assert any(c > 127 for c in sent)
    submit(a, [PF_USER], sent, mail_options=["BODY=8BITMIME"])
    got = wait_for(lambda: pf.messages(PF_USER)[before:], what="delivery")
    fields = postfix_added(got[0], sent)
    assert [n for n, _ in fields][-2:] == ["received", "received"]
    # tem A passed BODY=8BITMIME on to Postfix (debug dialogue)
    assert log_lines(pf.log_text(), "< unknown[127.0.0.1]: MAIL FROM:"
                     "<alice@a.test>", "BODY=8BITMIME"), pf.log_tail()


def test_postfix_5xx_unknown_user_bounces_to_alice(hosts):
    a, pf = hosts.a, hosts.pf
    before = len(a.maildir_messages(ALICE[0]))
    submit(a, ["nobody@p.test"], message(["nobody@p.test"], "to nobody",
                                         "Is anybody there?\r\n"))
    dsns = wait_for(lambda: a.maildir_messages(ALICE[0])[before:],
                    what="bounce to alice")
    a.wait_queue_empty()       # the bounce is local: nothing more comes
    assert len(a.maildir_messages(ALICE[0])) == before + 1
    text = dsns[0].decode("utf-8", "replace")
    assert "Return-Path: <>" in text
    assert "report-type=delivery-status" in text
    assert "Final-Recipient: rfc822; nobody@p.test" in text
    assert "Action: failed" in text
    assert "Status: 5.1.1" in text
    assert "User unknown in virtual mailbox table" in text
    assert "Subject: to nobody" in text      # the original headers come back
    d = parse_dsn(dsns[0])
    r = d.recipient("nobody@p.test")
    assert (r["action"], r["status"]) == ("failed", "5.1.1"), r
    assert d.original["Subject"] == "to nobody", d.original_type
    assert log_lines(pf.log_text(), "NOQUEUE: reject: RCPT from "
                     "unknown[127.0.0.1]: 550 5.1.1 <nobody@p.test>")
    assert log_lines(a.log_text(), "mta to=<nobody@p.test>",
                     "status=bounced"), a.log_tail()


def test_postfix_4xx_is_retried_and_delivered_once(hosts):
    a, pf = hosts.a, hosts.pf
    bounces = len(a.maildir_messages(ALICE[0]))
    pf.set_rcpt_access({PF_LATER: "450 4.2.0 try later"})
    pf.reload()
    wait_no_kept_connection(a)
    try:
        sent = submit(a, [PF_LATER], message([PF_LATER], "later please",
                                             "Second time lucky.\r\n"))
        wait_for(lambda: log_lines(a.log_text(), "mta to=<%s>" % PF_LATER,
                                   "status=deferred"),
                 what="tem A to defer after Postfix's 450")
        assert len(a.queue_ids()) == 1
        assert log_lines(pf.log_text(), "NOQUEUE: reject: RCPT from",
                         "450 4.2.0 <%s>" % PF_LATER)
        assert pf.messages(PF_LATER) == []
    finally:
        pf.set_rcpt_access({})
        pf.reload()
        wait_no_kept_connection(a)
    got = wait_for(lambda: pf.messages(PF_LATER), what="the retry")
    wait_tem_to_postfix_done(a, pf, PF_LATER)
    assert len(pf.messages(PF_LATER)) == 1
    postfix_added(got[0], sent)
    assert len(a.maildir_messages(ALICE[0])) == bounces   # no bounce
    assert log_lines(a.log_text(), "mta to=<%s>" % PF_LATER, "status=sent")


# --- Postfix -> tem ---------------------------------------------------------

def tem_b_stored_check(stored, sent, rcpt):
    """tem B's fields on top, then Postfix's Received, then SENT."""
    fields, rest = split_added_headers(stored)
    if rest != on_disk(sent):
        raise AssertionError("stored message differs from what was sent; " +
                             first_difference(rest, on_disk(sent)))
    names = [n for n, _ in fields]
    # tem B adds its Authentication-Results (SPF/DKIM/DMARC) below its
    # Received line; Postfix's own Received follows
    assert names == ["return-path", "delivered-to", "received",
                     "authentication-results", "received"], names
    assert fields[0][1] == b"Return-Path: <%s>\n" % PF_SENDER.encode()
    assert fields[1][1].lower() == b"delivered-to: %s\n" % rcpt.encode()
    assert fields[3][1].startswith(b"Authentication-Results: mx.b.test;")
    rec_tem, rec_pf = fields[2][1].decode(), fields[4][1].decode()
    assert rec_tem.startswith("Received: from mx.p.test"), rec_tem
    assert "by mx.b.test" in rec_tem, rec_tem
    assert "by mx.p.test (Postfix)" in rec_pf, rec_pf
    return fields


def test_postfix_to_tem_over_tls_byte_identical(hosts):
    b, pf = hosts.b, hosts.pf
    before = len(postfix_sent_ids(pf, BOB[0]))
    sent = inject(pf, PF_SENDER, [BOB[0]], message(
        [BOB[0]], "postfix to tem", "Hello tem,\r\n.leading dot\r\n\r\n"
        "bye\r\n", sender=PF_SENDER))
    got = wait_for(lambda: [m for m in b.maildir_messages(BOB[0])
                            if b"Subject: postfix to tem" in m],
                   what="delivery to bob")
    wait_postfix_done(pf, BOB[0], before)
    assert count_in(b.maildir_messages(BOB[0]),
                    b"Subject: postfix to tem") == 1
    fields = tem_b_stored_check(got[0], sent, BOB[0])
    # tem B's Received says the hop was TLS
    assert "ESMTPS" in fields[2][1].decode(), fields[2][1]
    # Postfix: TLS to tem B, and tem's 250 with its queue id
    log = pf.log_text()
    relay = "relay=%s[%s]:%d" % (TEM_B_ADDR, TEM_B_ADDR, hosts.port)
    assert log_lines(log, "postfix/smtp[", "TLS connection established to "
                     "%s[%s]:%d" % (TEM_B_ADDR, TEM_B_ADDR, hosts.port)), \
        pf.log_tail()
    sent_lines = log_lines(log, "to=<%s>" % BOB[0], relay, "status=sent")
    assert sent_lines, pf.log_tail()
    m = re.search(r"status=sent \(250 2\.0\.0 Ok: queued as (\S+)\)",
                  sent_lines[-1])
    assert m, sent_lines[-1]
    assert m.group(1) in b.log_text(), "tem B's log lacks id %s" % m.group(1)


def test_postfix_to_tem_unknown_recipient_bounced_by_postfix(hosts):
    pf = hosts.pf
    before = len(pf.messages(PF_SENDER))
    inject(pf, PF_SENDER, ["nobody@b.test"], message(
        ["nobody@b.test"], "to nobody at b", "Anyone?\r\n",
        sender=PF_SENDER))
    dsns = wait_for(lambda: pf.messages(PF_SENDER)[before:],
                    what="Postfix's bounce")
    text = dsns[0].decode("utf-8", "replace")
    assert "MAILER-DAEMON" in text
    assert "<nobody@b.test>: host %s[%s] said: 550 5.1.1" % (
        TEM_B_ADDR, TEM_B_ADDR) in text, text
    assert "Status: 5.1.1" in text
    assert log_lines(pf.log_text(), "to=<nobody@b.test>", "status=bounced",
                     "said: 550 5.1.1"), pf.log_tail()


def test_postfix_to_tem_pipelining_two_recipients(hosts):
    b, pf = hosts.b, hosts.pf
    sent = fixture_bytes("message-mime-8bit.eml")
    sent = sent.replace(b"Subject: ", b"Subject: pipelined ", 1)
    before = {who: len(postfix_sent_ids(pf, who)) for who in (BOB[0],
                                                              CAROL[0])}
    inject(pf, PF_SENDER, [BOB[0], CAROL[0]], sent)
    for who in (BOB[0], CAROL[0]):
        got = wait_for(lambda: [m for m in b.maildir_messages(who)
                                if b"Subject: pipelined " in m],
                       what="delivery to " + who)
        tem_b_stored_check(got[0], sent, who)
        wait_postfix_done(pf, who, before[who])
    for who in (BOB[0], CAROL[0]):
        assert count_in(b.maildir_messages(who), b"Subject: pipelined ") == 1
    # one transaction: the same Postfix queue id, sent to both
    qid = postfix_queue_id(pf, CAROL[0])
    assert qid and qid == postfix_queue_id(pf, BOB[0])
    log = pf.log_text().splitlines()
    peer = "%s[%s]:%d" % (TEM_B_ADDR, TEM_B_ADDR, hosts.port)
    pids = {re.search(r"postfix/smtp\[(\d+)\]", l).group(1) for l in log
            if "postfix/smtp[" in l and qid + ": to=<" in l}
    assert len(pids) == 1, pids
    me = "postfix/smtp[%s]" % pids.pop()
    mine = [l for l in log if me in l]
    assert any("250-PIPELINING" in l for l in mine), "tem B did not offer it"
    assert any("Using ESMTP PIPELINING" in l for l in mine), \
        "Postfix did not pipeline"
    # The dialogue of this transaction: every command up to DATA went out
    # before the first reply to them came back.
    start = max(i for i, l in enumerate(mine)
                if "> %s: MAIL FROM:<%s>" % (peer, PF_SENDER) in l and
                any(qid in m for m in mine[i:]))
    seq = [l.split(": ", 2)[-1] for l in mine[start:]
           if ("> %s:" % peer) in l or ("< %s:" % peer) in l]
    sent_cmds = [s for s in seq if s.startswith(("MAIL", "RCPT", "DATA"))]
    assert len(sent_cmds) >= 4, seq
    first_reply = next(i for i, l in enumerate(mine[start:])
                       if "< %s: 250" % peer in l)
    data_sent = next(i for i, l in enumerate(mine[start:])
                     if "> %s: DATA" % peer in l)
    assert data_sent < first_reply, "\n".join(mine[start:start + 20])
