"""Inbound MX, storage: what a 250 promises. Each accepted message is in
every local recipient's Maildir INBOX, once per user, byte-identical to what
was sent but for the added trace headers and CRLF -> LF; it survives
kill -9; SIZE, 8BITMIME, SMTPUTF8, PIPELINING and CHUNKING (BDAT) work."""

import os
import threading

import pytest

from temserver import (SMTPClosed, SMTPConn, assert_stored, dot_stuff, expect,
                       fixture_bytes, send_mail, simple_message, wait_for)


def test_stored_byte_identical(tem):
    sent = fixture_bytes("message-mime-8bit.eml")
    send_mail(tem.smtp_port, "sender@b.test", ["alice@a.test"], sent)
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent, mail_from="sender@b.test", rcpt="alice@a.test")
    # Written to tmp/ and renamed: nothing is left behind there.
    if not tem.on_pg:
        assert tem.maildir_files("alice@a.test", ("tmp",)) == []
    assert tem.maildir_messages("bob@a.test") == []


@pytest.mark.embedded_only
def test_maildir_layout(tem):
    send_mail(tem.smtp_port, "sender@b.test", ["bob@a.test"],
              simple_message("layout"))
    base = os.path.join(tem.data_dir, "mail", "a.test", "bob")
    for sub in ("new", "cur", "tmp"):
        assert os.path.isdir(os.path.join(base, sub)), sub
    (name,) = os.listdir(os.path.join(base, "new"))
    # Maildir: unique name, no ':2,' info yet in new/, no path tricks.
    assert "/" not in name and not name.startswith(".")


def test_trace_headers(tem):
    sent = simple_message("trace")
    send_mail(tem.smtp_port, "sender@b.test", ["Alice@A.TEST"], sent,
              ehlo="client.test")
    (msg,) = tem.maildir_messages("alice@a.test")
    fields = assert_stored(msg, sent, mail_from="sender@b.test",
                           rcpt="alice@a.test")
    assert fields[0][0] == "return-path", [n for n, _ in fields]
    received = [raw for n, raw in fields if n == "received"][0]
    assert b"client.test" in received and b"127.0.0.1" in received, received
    assert b";" in received, "Received without a date: %r" % received


def test_several_recipients_stored_once_per_user(make_tem):
    tem = make_tem(aliases={"team@a.test": ["alice@a.test", "bob@a.test"]})
    sent = simple_message("many")
    send_mail(tem.smtp_port, "sender@b.test",
              ["alice@a.test", "bob@a.test", "team@a.test", "Alice@a.test",
               "alice+x@a.test"], sent)
    for user in ("alice@a.test", "bob@a.test"):
        msgs = tem.maildir_messages(user)
        assert len(msgs) == 1, "%s has %d copies" % (user, len(msgs))
        assert_stored(msgs[0], sent, mail_from="sender@b.test", rcpt=user)


def test_dot_stuffing_undone(tem):
    body = (b".one leading period\r\n..two\r\n...three\r\n.\r\n"
            b" .space then period\r\nend\r\n")
    sent = simple_message("dots", body=body)
    wire = dot_stuff(sent)
    assert b"\r\n....three" in wire and b"\r\n..\r\n" in wire
    send_mail(tem.smtp_port, "sender@b.test", ["alice@a.test"], sent)
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_message_whose_first_line_starts_with_a_period(tem):
    sent = b".Leading: a first line that starts with a period\r\n\r\nbody\r\n"
    send_mail(tem.smtp_port, "sender@b.test", ["alice@a.test"], sent)
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_message_of_one_period_line(tem):
    """DATA whose only line is "." (sent as "..")."""
    sent = b".\r\n"
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.cmd("DATA"), "354")
        c.send(b"..\r\n.\r\n")
        expect(c.reply(), "250")
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_8bit_body(tem):
    body = bytes(b for b in range(1, 256) if b not in (10, 13)) + b"\r\n"
    body += "ünïcödé ✓\r\n".encode("utf-8") + b"\xff\xfe\x80\r\n"
    sent = simple_message("8bit", body=body)
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test> BODY=8BITMIME"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(sent), "250")
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


@pytest.mark.embedded_only
def test_smtputf8_address_stored_under_raw_utf8_folder(make_tem):
    tem = make_tem(users={"alice@a.test": "alice-Secret-1",
                          "jürgen@a.test": "jürgen-Secret-3"})
    sent = ("From: José <josé@b.test>\r\nTo: <jürgen@a.test>\r\n"
            "Subject: Grüße\r\n\r\nHallo Jürgen.\r\n").encode("utf-8")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<josé@b.test> SMTPUTF8 BODY=8BITMIME"), "250")
        expect(c.cmd("RCPT TO:<jürgen@a.test>"), "250")
        expect(c.data(sent), "250")
    folder = os.path.join(tem.data_dir.encode(), b"mail", b"a.test",
                          "jürgen".encode("utf-8"))
    assert os.path.isdir(os.path.join(folder, b"new")), \
        os.listdir(os.path.join(tem.data_dir.encode(), b"mail", b"a.test"))
    (msg,) = tem.maildir_messages("jürgen@a.test")
    assert_stored(msg, sent, mail_from="josé@b.test", rcpt="jürgen@a.test")
    assert tem.maildir_messages("alice@a.test") == []


def test_size_parameter_over_limit_552(make_tem):
    tem = make_tem(extra_conf={"message_size_limit": "64k"})
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test> SIZE=70000"), "552 5.3.4")
        expect(c.cmd("MAIL FROM:<sender@b.test> SIZE=60000"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")


def test_actual_size_over_limit_552(make_tem):
    tem = make_tem(extra_conf={"message_size_limit": "64k"})
    line = b"y" * 98 + b"\r\n"
    big = simple_message("big", body=line * 1000)           # ~100 KB
    small = simple_message("small", body=line * 600)        # ~60 KB
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(big), "552 5.3.4")
        # The session goes on; a message under the limit still gets in.
        expect(c.cmd("NOOP"), "250")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(small), "250")
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, small)
    if not tem.on_pg:       # nothing left in tmp/ (the Maildir's own)
        assert tem.maildir_files("alice@a.test", ("tmp",)) == []


def test_bdat_over_limit_552(make_tem):
    tem = make_tem(extra_conf={"message_size_limit": "64k"})
    chunk = b"z" * 70000
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        expect(c.reply(), "552 5.3.4")
        expect(c.cmd("NOOP"), "250")
    assert tem.maildir_messages("alice@a.test") == []


def test_kill9_right_after_250_keeps_the_message(tem):
    sent = simple_message("durable")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.cmd("RCPT TO:<bob@a.test>"), "250")
        expect(c.data(sent), "250")
        tem.kill9()
    tem.start()
    for user in ("alice@a.test", "bob@a.test"):
        msgs = tem.maildir_messages(user)
        assert len(msgs) == 1, "%s: %d messages after kill -9" % (user, len(msgs))
        assert_stored(msgs[0], sent)


def test_connection_lost_in_data_stores_nothing(tem):
    ended = tem.log_text().count(" smtp disconnect ")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.cmd("DATA"), "354")
        c.send(simple_message("cut")[:40])
    # the server saw the cut session end (its disconnect line)
    wait_for(lambda: tem.log_text().count(" smtp disconnect ") > ended,
             10, "the cut session's disconnect line")
    assert tem.maildir_messages("alice@a.test") == []
    # The next session works, and only its message arrives.
    sent = simple_message("whole")
    send_mail(tem.smtp_port, "sender@b.test", ["alice@a.test"], sent)
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_pipelining_mail_rcpt_rcpt_data(tem):
    sent = simple_message("pipelined")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<sender@b.test>\r\nRCPT TO:<alice@a.test>\r\n"
               b"RCPT TO:<nobody@a.test>\r\nRCPT TO:<bob@a.test>\r\nDATA\r\n")
        r = c.replies(5)
        expect(r[0], "250")
        expect(r[1], "250")
        expect(r[2], "550 5.1.1")
        expect(r[3], "250")
        expect(r[4], "354")
        c.send(dot_stuff(sent) + b".\r\n")
        expect(c.reply(), "250")
    for user in ("alice@a.test", "bob@a.test"):
        (msg,) = tem.maildir_messages(user)
        assert_stored(msg, sent)


def test_pipelining_next_transaction_after_end_of_data(tem):
    """RFC 2920: the client may send the next MAIL/RCPT/DATA right behind
    the end-of-data dot, in the same packet."""
    one = simple_message("one", to="alice@a.test")
    two = simple_message("two", to="bob@a.test")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<s1@b.test>\r\nRCPT TO:<alice@a.test>\r\nDATA\r\n")
        for want in ("250", "250", "354"):
            expect(c.reply(), want)
        c.send(dot_stuff(one) + b".\r\nMAIL FROM:<s2@b.test>\r\n"
               b"RCPT TO:<bob@a.test>\r\nDATA\r\n")
        for want in ("250", "250", "250", "354"):
            expect(c.reply(), want)
        c.send(dot_stuff(two) + b".\r\nQUIT\r\n")
        expect(c.reply(), "250")
        expect(c.reply(), "221")
    (a,) = tem.maildir_messages("alice@a.test")
    (b,) = tem.maildir_messages("bob@a.test")
    assert_stored(a, one, mail_from="s1@b.test")
    assert_stored(b, two, mail_from="s2@b.test")


def bdat_session(tem, chunks, rcpts=("alice@a.test",), one_send=False):
    """MAIL, RCPT, then BDAT for each chunk, the last one LAST."""
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        for r in rcpts:
            expect(c.cmd("RCPT TO:<%s>" % r), "250")
        wire = b""
        for i, ch in enumerate(chunks):
            last = b" LAST" if i == len(chunks) - 1 else b""
            wire += b"BDAT %d%s\r\n" % (len(ch), last) + ch
            if not one_send:
                c.send(wire)
                wire = b""
                expect(c.reply(), "250")
        if one_send:
            c.send(wire)
            for _ in chunks:
                expect(c.reply(), "250")
        expect(c.cmd("NOOP"), "250")


def test_bdat_several_chunks(tem):
    sent = simple_message("bdat", body=b".no unstuffing in BDAT\r\n..\r\n"
                          b".\r\nend\r\n")
    chunks = [sent[:10], sent[10:50], sent[50:]]
    bdat_session(tem, chunks)
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_bdat_pipelined_and_zero_last(tem):
    sent = simple_message("bdat0", body=b"x" * 5000 + b"\r\n")
    bdat_session(tem, [sent[:3000], sent[3000:], b""], one_send=True)
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_bdat_chunk_boundary_inside_crlf(tem):
    sent = simple_message("split crlf", body=b"line one\r\nline two\r\n")
    cut = sent.index(b"line one\r\n") + len(b"line one\r")
    bdat_session(tem, [sent[:cut], sent[cut:]])
    (msg,) = tem.maildir_messages("alice@a.test")
    assert_stored(msg, sent)


def test_bdat_errors(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        # RFC 3030 2: a refused BDAT's chunk is read and thrown away.
        c.send(b"BDAT 5 LAST\r\nhello")
        expect(c.reply(), "503 5.5.1")
        expect(c.cmd("NOOP"), "250")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        c.send(b"BDAT 4\r\nabcd")
        expect(c.reply(), "250")
        expect(c.cmd("DATA"), "503 5.5.1")
        expect(c.cmd("RSET"), "250")
        expect(c.cmd("NOOP"), "250")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        # A size that cannot be parsed leaves the chunk's end unknown: the
        # server may go on or close, but it must answer first.
        expect(c.cmd("BDAT five"), "501")
        try:
            expect(c.cmd("NOOP"), "250")
        except (SMTPClosed, ConnectionResetError):
            pass
    assert tem.maildir_messages("alice@a.test") == []


def test_concurrent_sessions_all_stored(tem):
    errors, n = [], 25

    def one(i):
        try:
            send_mail(tem.smtp_port, "s%d@b.test" % i,
                      ["alice@a.test", "bob@a.test"],
                      simple_message("concurrent %d" % i))
        except Exception as e:     # noqa: BLE001 - reported below
            errors.append("%d: %r" % (i, e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for user in ("alice@a.test", "bob@a.test"):
        msgs = tem.maildir_messages(user)
        assert len(msgs) == n
        subjects = {m.split(b"Subject: ")[1].split(b"\n")[0] for m in msgs}
        assert len(subjects) == n
