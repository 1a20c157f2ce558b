"""Inbound MX, RFC 5321 session: greeting, EHLO/HELO, the commands, their
order, reply codes and enhanced status codes (RFC 2034), and who may be a
recipient (local users, aliases, postmaster; no relaying)."""

import re

import pytest

from temserver import (HOSTNAME, SMTPConn, assert_stored, expect,
                       simple_message)

ESC = re.compile(r"^(\d)\d\d[ -]([245])\.\d{1,3}\.\d{1,3}( |$)")


def ehlo_keywords(reply):
    """{KEYWORD: [params]} from an EHLO reply."""
    out = {}
    for line in reply.lines[1:]:
        words = line[4:].split()
        if words:
            out[words[0].upper()] = words[1:]
    return out


def test_banner_and_ehlo_extensions(tem):
    with SMTPConn(tem.smtp_port) as c:
        expect(c.banner, "220 " + HOSTNAME)
        r = c.ehlo()
        assert r.lines[0].startswith("250-" + HOSTNAME), r
        kw = ehlo_keywords(r)
        for ext in ("PIPELINING", "SIZE", "8BITMIME", "SMTPUTF8",
                    "ENHANCEDSTATUSCODES", "STARTTLS", "CHUNKING", "DSN"):
            assert ext in kw, "EHLO lacks %s: %s" % (ext, r)
        # Default message_size_limit 50M, shown in bytes.
        assert kw["SIZE"] == [str(50 * 1024 * 1024)], r


def test_ehlo_size_shows_configured_limit(make_tem):
    tem = make_tem(extra_conf={"message_size_limit": "64k"})
    with SMTPConn(tem.smtp_port) as c:
        assert ehlo_keywords(c.ehlo())["SIZE"] == ["65536"]


def test_helo_then_mail(tem):
    with SMTPConn(tem.smtp_port) as c:
        expect(c.cmd("HELO client.test"), "250")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(simple_message("helo")), "250")
    assert len(tem.maildir_messages("alice@a.test")) == 1


def test_ehlo_helo_need_a_domain(tem):
    with SMTPConn(tem.smtp_port) as c:
        expect(c.cmd("EHLO"), "501")
        expect(c.cmd("HELO"), "501")
        c.ehlo()


def test_noop_rset_quit(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("NOOP"), "250 2.0.0")
        expect(c.cmd("NOOP anything at all"), "250 2.0.0")
        expect(c.cmd("RSET"), "250 2.0.0")
        expect(c.cmd("QUIT"), "221 2.0.0")
        assert c.wait_closed() == b""


def test_commands_are_case_insensitive(tem):
    with SMTPConn(tem.smtp_port) as c:
        expect(c.cmd("ehlo client.test"), "250")
        expect(c.cmd("mail from:<sender@b.test>"), "250 2.1.0")
        expect(c.cmd("rcpt to:<alice@a.test>"), "250 2.1.5")
        expect(c.cmd("rset"), "250")


def test_vrfy_252_help_214(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("VRFY alice@a.test"), "252")
        # No user enumeration: an unknown user gets the same answer.
        expect(c.cmd("VRFY nobody@a.test"), "252")
        expect(c.cmd("HELP"), "214")
        expect(c.cmd("NOOP"), "250")


def test_enhanced_status_codes_on_every_reply(tem):
    """RFC 2034: after EHLO every reply but the greeting and the EHLO reply
    carries an enhanced code whose class matches the reply's."""
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        replies = [c.cmd(x) for x in (
            "NOOP", "MAIL FROM:<sender@b.test>", "RCPT TO:<alice@a.test>",
            "RCPT TO:<nobody@a.test>", "RCPT TO:<x@remote.test>",
            "MAIL FROM:<again@b.test>", "XYZZY", "RSET", "VRFY alice@a.test",
            "RCPT TO:<alice@a.test>")]
        replies.append(c.cmd("QUIT"))
        for r in replies:
            for line in r.lines:
                m = ESC.match(line)
                assert m and m.group(1) == m.group(2), \
                    "no matching enhanced status code: %r" % line


def test_command_sequence_errors(tem):
    with SMTPConn(tem.smtp_port) as c:
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "503 5.5.1")
        c.ehlo()
        expect(c.cmd("RCPT TO:<alice@a.test>"), "503 5.5.1")
        expect(c.cmd("DATA"), "503 5.5.1", "554 5.5.1")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "503 5.5.1")
        expect(c.cmd("DATA"), "503 5.5.1", "554 5.5.1")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.cmd("RSET"), "250")
        expect(c.cmd("DATA"), "503 5.5.1", "554 5.5.1")
        expect(c.cmd("NOOP"), "250")


def test_data_refused_when_no_recipient_was_accepted(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<nobody@a.test>"), "550 5.1.1")
        expect(c.cmd("DATA"), "503 5.5.1", "554 5.5.1")
        expect(c.cmd("NOOP"), "250")


def test_unknown_command(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("XYZZY plugh"), "500 5.5.1", "500 5.5.2")
        expect(c.cmd("NOOP"), "250")


@pytest.mark.parametrize("line", [
    "MAIL FROM:<sender@b.test",
    "MAIL FROM:",
    "MAIL TO:<sender@b.test>",
    "MAIL FROM:<sender@@b.test>",
])
def test_mail_syntax_errors(tem, line):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd(line), "501 5.")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")


def test_null_sender_accepted(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(simple_message("bounce")), "250")
    (msg,) = tem.maildir_messages("alice@a.test")
    assert msg.startswith(b"Return-Path: <>\n") or b"\nReturn-Path: <>\n" in msg


def test_unknown_local_user_550_511(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<nobody@a.test>"), "550 5.1.1")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250 2.1.5")


@pytest.mark.parametrize("rcpt", [
    "bob@remote.test",
    "bob@sub.a.test",
    "bob@a.test.remote.test",
    "bob@[192.0.2.1]",
    "@a.test:bob@remote.test",          # source route ending outside
    "@a.test,@b.test:bob@remote.test",
])
def test_relay_denied(tem, rcpt):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<%s>" % rcpt), "554 5.7.1")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")


@pytest.mark.parametrize("rcpt", [
    "bob%remote.test@a.test",           # % hack
    "alice%remote.test@a.test",
    "\"bob@remote.test\"@a.test",       # quoted local part holding @
    "\"alice@remote.test\"@a.test",
    "remote.test!bob@a.test",           # bang path
    "remote.test!alice@a.test",
    "bob%remote.test",                  # no domain at all
    "remote.test!bob",
])
def test_relay_tricks_refused(tem, rcpt):
    """The old relay tricks that name our own domain: not a user of ours,
    so refused (as relay denied or as unknown user); never accepted."""
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<%s>" % rcpt), "554 5.7.1", "550 5.1.1",
               "501 5.1.3", "553 5.1.3")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")


def test_relay_denied_nothing_queued_or_stored(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<bob@remote.test>"), "554 5.7.1")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(simple_message("relay")), "250")
    assert len(tem.maildir_messages("alice@a.test")) == 1
    q = tem.admin("queue", "list", check=False)
    assert q.returncode == 0 and q.stdout == b"", q


@pytest.mark.parametrize("rcpt,owner", [
    ("alice@a.test", "alice@a.test"),
    ("Alice@A.TEST", "alice@a.test"),
    ("ALICE@a.test", "alice@a.test"),
    ("alice+tag@a.test", "alice@a.test"),
    ("bob+x+y@A.test", "bob@a.test"),
    ("postmaster@a.test", "alice@a.test"),   # first user of a.test
    ("Postmaster@A.TEST", "alice@a.test"),
    ("postmaster", "alice@a.test"),          # bare <postmaster>
    ("team@a.test", "bob@a.test"),           # alias
])
def test_recipient_forms_reach_the_right_mailbox(make_tem, rcpt, owner):
    tem = make_tem(aliases={"team@a.test": ["bob@a.test"]})
    sent = simple_message("rcpt form")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<%s>" % rcpt), "250 2.1.5")
        expect(c.data(sent), "250")
    msgs = tem.maildir_messages(owner)
    assert len(msgs) == 1, "%s: %d messages for %s" % (rcpt, len(msgs), owner)
    assert_stored(msgs[0], sent, mail_from="sender@b.test")
    other = "bob@a.test" if owner == "alice@a.test" else "alice@a.test"
    assert tem.maildir_messages(other) == []


def test_postmaster_goes_to_its_alias(make_tem):
    tem = make_tem(aliases={"postmaster@a.test": ["bob@a.test"]})
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<postmaster@a.test>"), "250")
        expect(c.cmd("RCPT TO:<postmaster>"), "250")
        expect(c.data(simple_message("pm")), "250")
    assert len(tem.maildir_messages("bob@a.test")) == 1
    assert tem.maildir_messages("alice@a.test") == []


def test_dsn_parameters_accepted(tem):
    sent = simple_message("dsn")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test> RET=HDRS ENVID=QQ314159"),
               "250")
        expect(c.cmd("RCPT TO:<alice@a.test> NOTIFY=SUCCESS,DELAY "
                     "ORCPT=rfc822;alice@a.test"), "250")
        expect(c.cmd("RCPT TO:<bob@a.test> NOTIFY=NEVER"), "250")
        expect(c.data(sent), "250")
    assert_stored(tem.maildir_messages("alice@a.test")[0], sent)
    assert_stored(tem.maildir_messages("bob@a.test")[0], sent)


@pytest.mark.parametrize("line", [
    "MAIL FROM:<sender@b.test> RET=SOMETIMES",
    "RCPT TO:<alice@a.test> NOTIFY=BOGUS",
    "RCPT TO:<alice@a.test> NOTIFY=NEVER,SUCCESS",
])
def test_bad_dsn_parameters_501(tem, line):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        if line.startswith("RCPT"):
            expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd(line), "501 5.5.4")
        expect(c.cmd("NOOP"), "250")


def test_unknown_mail_parameter_555(tem):
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test> XYZZY=1"), "555 5.5.4")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test> XYZZY=1"), "555 5.5.4")


def test_two_transactions_in_one_session(tem):
    first, second = simple_message("one"), simple_message("two")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<s1@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(first), "250")
        expect(c.cmd("MAIL FROM:<s2@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.data(second), "250")
    got = tem.maildir_messages("alice@a.test")
    assert len(got) == 2
    bodies = sorted(got, key=lambda m: b"Subject: two" in m)
    assert_stored(bodies[0], first, mail_from="s1@b.test")
    assert_stored(bodies[1], second, mail_from="s2@b.test")


def test_rset_discards_the_transaction(tem):
    sent = simple_message("after rset", to="bob@a.test")
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<alice@a.test>"), "250")
        expect(c.cmd("RSET"), "250")
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<bob@a.test>"), "250")
        expect(c.data(sent), "250")
    assert tem.maildir_messages("alice@a.test") == []
    assert len(tem.maildir_messages("bob@a.test")) == 1


def test_utf8_address_needs_smtputf8(tem):
    """RFC 6531 3.4: a non-ASCII address without SMTPUTF8 on MAIL."""
    with SMTPConn(tem.smtp_port) as c:
        c.ehlo()
        expect(c.cmd("MAIL FROM:<sender@b.test>"), "250")
        expect(c.cmd("RCPT TO:<jürgen@a.test>"), "553 5.6.7")
        expect(c.cmd("RSET"), "250")
        expect(c.cmd("MAIL FROM:<josé@b.test>"), "553 5.6.7", "550 5.6.7")
