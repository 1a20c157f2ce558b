"""NOTIFY (RFC 5465) against the real server: NOTIFY SET [STATUS] and
NONE with the selected, inboxes, personal, subscribed, subtree and
mailboxes filters; unsolicited STATUS for other mailboxes when messages
arrive (APPEND by another session, SMTP delivery to an INBOX nobody has
open), are expunged or change flags - pushed during IDLE, or sent with
the next command; LIST for MailboxName (create, rename with OLDNAME,
delete with \\NonExistent) and SubscriptionChange; the RFC's BAD rules
and NO [BADEVENT] for events tem does not send. imaplib drives the
NOTIFY command; the byte-exact client reads what is pushed.

One server for the module; each test logs in as a user of its own."""

import imaplib
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402
from temserver import send_mail  # noqa: E402

imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))

USERS = {"n%d@a.test" % i: "pw-n%d-Secret" % i for i in range(1, 21)}
srv, user, login = imapclient.imap_fixtures(USERS)

MSG_EVENTS = "MessageNew MessageExpunge FlagChange"


def msg(subject):
    return ("From: <a@b.test>\r\nSubject: %s\r\n\r\nbody\r\n" %
            subject).encode()


def idle_until(c, pred):
    """IDLE on c until an untagged line satisfies pred (or one pushed
    before it did); returns the lines seen (DONE sent, tagged OK read)."""
    seen = c.idle_begin()
    while not any(pred(l) for l in seen):
        seen.append(c.response_line())
    c.send(b"DONE\r\n")
    r = c.finish(b"I")
    assert r.status == "OK", r
    return seen + r.lines


def status_of(lines, box):
    """{ITEM: int} of the last "* STATUS box (...)" in lines."""
    out = None
    for l in lines:
        m = re.match(rb'\* STATUS "?%s"? \((.*)\)$' % re.escape(box.encode()),
                     l)
        if m:
            w = m.group(1).split()
            out = {w[i].decode(): int(w[i + 1]) for i in range(0, len(w), 2)}
    return out


def test_notify_command_rules(srv, user):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.login(*user)
    assert b"NOTIFY" in m.capability()[1][0].split()

    def notify(args):
        typ, dat = m._simple_command("NOTIFY", args)
        return typ, dat[0]

    assert notify("NONE")[0] == "OK"
    assert notify("SET (personal (%s))" % MSG_EVENTS)[0] == "OK"
    assert notify("SET STATUS (inboxes NONE) (selected (MessageNew "
                  "(UID FLAGS) MessageExpunge))")[0] == "OK"
    for bad in ["", "SET", "SET STATUS", "FOO", "SET (personal)",
                "SET (personal (MessageNew))",
                "SET (personal (FlagChange))",
                "SET (personal (MessageNew MessageExpunge MessageNew))",
                "SET (selected (MailboxName))",
                "SET (selected NONE) (selected-delayed NONE)",
                "SET (subtree (MailboxName))",
                "SET (mailboxes () (MailboxName))",
                "SET (nowhere (MailboxName))",
                "SET (personal (MessageNew (\"x\") MessageExpunge))"]:
        try:
            notify(bad)
            assert False, "accepted: NOTIFY %s" % bad
        except imaplib.IMAP4.error as e:
            assert "BAD" in str(e), (bad, e)
    # events tem does not send: NO with the list of those it does
    typ, dat = m._simple_command("NOTIFY", "SET (personal (MessageNew "
                                 "MessageExpunge AnnotationChange))")
    assert typ == "NO" and dat[0].startswith(
        b"[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
        b"SubscriptionChange MailboxMetadataChange ServerMetadataChange)]"), \
        dat
    typ, dat = m._simple_command("NOTIFY", "SET (personal (NewFancyEvent))")
    assert typ == "NO" and b"BADEVENT" in dat[0]
    m.logout()


def test_status_of_other_mailboxes(srv, user, login):
    a, b = login(), login()
    for box in ("Work", "Work/Old", "Play"):
        a.cmd("CREATE " + box)
    b.append("Work", msg("w1"))
    a.cmd("SELECT INBOX")
    r = a.cmd("NOTIFY SET STATUS (selected (%s)) (subtree Work (%s))"
              % (MSG_EVENTS, MSG_EVENTS))
    st = status_of(r.lines, "Work")
    assert st["MESSAGES"] == 1 and st["UIDNEXT"] == 2 and \
        "UIDVALIDITY" in st and st["UNSEEN"] == 1, r
    assert status_of(r.lines, "Work/Old")["MESSAGES"] == 0
    assert status_of(r.lines, "Play") is None
    assert status_of(r.lines, "INBOX") is None	# selected: no STATUS
    # another session appends: pushed during IDLE
    b.append("Work/Old", msg("o1"))
    seen = idle_until(a, lambda l: l.startswith(b"* STATUS"))
    assert status_of(seen, "Work/Old")["MESSAGES"] == 1
    # Play is not watched: nothing, at IDLE or with a command
    b.append("Play", msg("p1"))
    b.append("Work", msg("w2"))
    seen = idle_until(a, lambda l: l.startswith(b"* STATUS"))
    assert status_of(seen, "Play") is None
    assert status_of(seen, "Work")["MESSAGES"] == 2
    # flag change and expunge in another session's selected mailbox
    b.cmd("SELECT Work")
    b.cmd("STORE 1 +FLAGS (\\Seen)")
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Work")["UNSEEN"] == 1, r
    b.cmd("STORE 2 +FLAGS (\\Deleted)")
    b.cmd("EXPUNGE")
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Work")["MESSAGES"] == 1, r
    # the selected mailbox still gets EXISTS, not STATUS
    b.append("INBOX", msg("i1"))
    r = a.cmd("NOOP")
    assert b"* 1 EXISTS" in r.lines and status_of(r.lines, "INBOX") is None
    # the client's own changes are not told back to it
    a.append("Work", msg("mine"))
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Work") is None, r
    # NOTIFY NONE: silence
    a.cmd("NOTIFY NONE")
    b.append("Work", msg("w3"))
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Work") is None


def test_flag_changes_need_flagchange(login):
    a, b = login(), login()
    a.cmd("CREATE Box")
    a.cmd("NOTIFY SET (mailboxes Box (MessageNew MessageExpunge))")
    b.append("Box", msg("one"))
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Box")["MESSAGES"] == 1, r
    b.cmd("SELECT Box")
    b.cmd("STORE 1 +FLAGS (\\Seen)")
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Box") is None, r
    a.cmd("NOTIFY SET (mailboxes Box (%s))" % MSG_EVENTS)
    b.cmd("STORE 1 -FLAGS (\\Seen)")
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Box")["UNSEEN"] == 1, r


def test_selected_none_keeps_idle_quiet(login):
    a, b = login(), login()
    a.cmd("CREATE Work")
    a.cmd("SELECT INBOX")
    a.cmd("NOTIFY SET (selected NONE) (personal (%s))" % MSG_EVENTS)
    b.append("INBOX", msg("in selected"))
    b.append("Work", msg("elsewhere"))
    seen = idle_until(a, lambda l: l.startswith(b"* STATUS"))
    assert b"* 1 EXISTS" not in seen, seen
    assert status_of(seen, "Work")["MESSAGES"] == 1
    r = a.cmd("NOOP")		# the next command still tells
    assert b"* 1 EXISTS" in r.lines, r
    # with SELECTED message events IDLE tells at once again
    a.cmd("NOTIFY SET (selected (%s))" % MSG_EVENTS)
    b.append("INBOX", msg("two"))
    seen = idle_until(a, lambda l: l == b"* 2 EXISTS")


def test_delivery_to_unopened_inbox(srv, user, login):
    a = login(condstore=True)
    a.cmd("CREATE Keep")
    a.cmd("SELECT Keep")
    a.cmd("NOTIFY SET (inboxes (%s))" % MSG_EVENTS)
    send_mail(srv.smtp_port, "sender@b.test", [user[0]],
              b"Subject: pushed\r\n\r\nhello\r\n")
    seen = idle_until(a, lambda l: l.startswith(b"* STATUS"))
    st = status_of(seen, "INBOX")
    assert st["MESSAGES"] == 1 and "HIGHESTMODSEQ" in st, seen


def test_mailbox_name_and_subscription(login):
    a, b = login(), login()
    a.cmd("NOTIFY SET (personal (MailboxName SubscriptionChange))")
    b.cmd("CREATE Lists")
    r = a.cmd("NOOP")
    assert b'* LIST () "/" Lists' in r.lines, r
    b.cmd("RENAME Lists Groups")
    b.cmd("SUBSCRIBE Groups")
    seen = idle_until(a, lambda l: b"Subscribed" in l)
    assert b'* LIST () "/" Groups ("OLDNAME" (Lists))' in seen, seen
    assert b'* LIST (\\Subscribed) "/" Groups' in seen, seen
    b.cmd("UNSUBSCRIBE Groups")
    b.cmd("DELETE Groups")
    r = a.cmd("NOOP")
    assert r.lines[-2:] == [b'* LIST () "/" Groups',
                            b'* LIST (\\NonExistent) "/" Groups'], r
    # message events were not asked for: appends say nothing
    b.cmd("CREATE Other")
    b.append("Other", msg("x"))
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Other") is None


def test_metadata_changes(login):
    a, b = login(), login()
    a.cmd("CREATE Notes")
    a.cmd("NOTIFY SET (mailboxes Notes (MailboxMetadataChange "
          "ServerMetadataChange))")
    b.cmd('SETMETADATA Notes (/private/comment "hello")')
    b.cmd('SETMETADATA "" (/private/motd "hi")')
    b.cmd('SETMETADATA INBOX (/private/comment "not watched")')
    r = a.cmd("NOOP")
    assert r.lines == [b"* METADATA Notes /private/comment",
                       b'* METADATA "" /private/motd'], r
    # its own changes are not told back
    a.cmd('SETMETADATA Notes (/private/comment NIL)')
    r = a.cmd("NOOP")
    assert r.lines == [], r


def test_subscribed_and_mailboxes_filters(login):
    a, b = login(), login()
    for box in ("Sub", "Named", "Neither"):
        a.cmd("CREATE " + box)
    a.cmd("SUBSCRIBE Sub")
    a.cmd("NOTIFY SET (subscribed (%s)) (mailboxes (Named) (%s))"
          % (MSG_EVENTS, MSG_EVENTS))
    for box in ("Sub", "Named", "Neither"):
        b.append(box, msg(box))
    r = a.cmd("NOOP")
    assert status_of(r.lines, "Sub")["MESSAGES"] == 1, r
    assert status_of(r.lines, "Named")["MESSAGES"] == 1, r
    assert status_of(r.lines, "Neither") is None, r


HDR_FETCH = "UID BODY.PEEK[HEADER.FIELDS (From Subject)]"


def test_message_new_fetch_attributes(srv, user, login):
    """RFC 5465 5.2: SELECTED's MessageNew attributes come as a FETCH
    right after the EXISTS - with the next command's answer and during
    IDLE - never for what the client put there itself, and never set
    \\Seen."""
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.login(*user)
    m.select("INBOX")
    typ, _ = m._simple_command(
        "NOTIFY", "SET (SELECTED (MessageNew (%s) MessageExpunge))"
        % HDR_FETCH)
    assert typ == "OK"
    b = login()
    b.append("INBOX", msg("first news"))
    typ, _ = m.noop()
    assert typ == "OK"
    assert m.untagged_responses["EXISTS"][-1] == b"1", m.untagged_responses
    fetch = m.untagged_responses.get("FETCH")
    assert fetch and isinstance(fetch[0], tuple), m.untagged_responses
    assert fetch[0][0].upper().startswith(
        b"1 (UID 1 BODY[HEADER.FIELDS (FROM SUBJECT)] {"), fetch
    assert fetch[0][1] == b"From: <a@b.test>\r\nSubject: first news\r\n\r\n"
    m.untagged_responses.clear()
    typ, dat = m.fetch("1", "(FLAGS)")	# PEEK or not: no \Seen
    assert b"\\Seen" not in dat[0], dat
    m.logout()

    # during IDLE: EXISTS, then the FETCH
    a = login(rev2=True)
    a.cmd("SELECT INBOX")
    a.cmd("NOTIFY SET (SELECTED-DELAYED (MessageNew (%s FLAGS) "
          "MessageExpunge))" % HDR_FETCH)
    b.append("INBOX", msg("while idle"), flags="\\Flagged")
    seen = idle_until(a, lambda l: b" FETCH " in l)
    assert seen[0] == b"* 2 EXISTS", seen
    assert seen[1] == (b"* 2 FETCH (UID 2 FLAGS (\\Flagged) "
                       b"BODY[HEADER.FIELDS (FROM SUBJECT)] {41}\r\n"
                       b"From: <a@b.test>\r\nSubject: while idle\r\n\r\n)"
                       ), seen
    # what the client added itself (APPEND, COPY): EXISTS, no FETCH
    r = a.append("INBOX", msg("mine"))
    assert b"* 3 EXISTS" in r.lines and not r.of("FETCH"), r
    r = a.cmd("COPY 1 INBOX")
    assert b"* 4 EXISTS" in r.lines and not r.of("FETCH"), r
    # ... but another session's COPY in the same command's answer does
    b.cmd("SELECT INBOX")
    b.cmd("COPY 2 INBOX")
    r = a.cmd("NOOP")
    assert r.lines[0] == b"* 5 EXISTS" and \
        r.fetches()[5]["UID"] == b"5", r
    # NOTIFY without attributes: EXISTS alone again
    a.cmd("NOTIFY SET (SELECTED (MessageNew MessageExpunge))")
    b.append("INBOX", msg("plain"))
    r = a.cmd("NOOP")
    assert b"* 6 EXISTS" in r.lines and not r.of("FETCH"), r


def test_message_new_attribute_rules(srv, user):
    """MessageNew's attributes follow FETCH's grammar (BAD otherwise) and
    belong to SELECTED or SELECTED-DELAYED only; a BAD keeps the NOTIFY
    in force."""
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.login(*user)
    ok = "SET (selected (MessageNew (UID FLAGS ENVELOPE BODY.PEEK[1]<0.10> " \
        "BINARY.SIZE[1] RFC822.SIZE) MessageExpunge FlagChange))"
    assert m._simple_command("NOTIFY", ok)[0] == "OK"
    for bad in ["SET (selected (MessageNew (NOSUCHITEM) MessageExpunge))",
                "SET (selected (MessageNew (ALL) MessageExpunge))",
                "SET (selected (MessageNew (BODY[HEADER.FIELDS ()]) "
                "MessageExpunge))",
                "SET (selected (MessageNew (BODY[0]) MessageExpunge))",
                "SET (selected (MessageNew (BINARY.SIZE[1]<0.1>) "
                "MessageExpunge))",
                "SET (personal (MessageNew (UID) MessageExpunge))",
                "SET (inboxes (MessageNew (UID) MessageExpunge))"]:
        try:
            m._simple_command("NOTIFY", bad)
            assert False, "accepted: NOTIFY %s" % bad
        except imaplib.IMAP4.error as e:
            assert "BAD" in str(e), (bad, e)
    m.logout()


def test_pushed_between_commands(login):
    """With NOTIFY on, what happens reaches the client while it sends
    nothing (no IDLE, no command): EXISTS with MessageNew's FETCH and
    EXPUNGE for SELECTED, STATUS for other mailboxes; SELECTED-DELAYED
    keeps the selected mailbox's news for the next command."""
    a, b = login(rev2=True), login()
    a.cmd("CREATE Other")
    a.cmd("SELECT INBOX")
    a.cmd("NOTIFY SET (SELECTED (MessageNew (UID) MessageExpunge)) "
          "(personal (MessageNew MessageExpunge))")
    b.append("INBOX", msg("pushed"))
    assert a.response_line() == b"* 1 EXISTS"
    assert a.response_line() == b"* 1 FETCH (UID 1)"
    b.cmd("SELECT INBOX")
    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    b.cmd("EXPUNGE")
    line = a.response_line()
    if line.startswith(b"* 1 FETCH (FLAGS"):	# if it came before
        line = a.response_line()
    assert line == b"* 1 EXPUNGE"
    b.append("Other", msg("elsewhere"))
    line = a.response_line()
    assert status_of([line], "Other")["MESSAGES"] == 1, line
    r = a.cmd("NOOP")
    assert r.lines == [], r
    # SELECTED-DELAYED: the INBOX news wait, Other's STATUS does not
    a.cmd("NOTIFY SET (SELECTED-DELAYED (MessageNew (UID) MessageExpunge)) "
          "(personal (MessageNew MessageExpunge))")
    b.append("INBOX", msg("delayed"))
    b.append("Other", msg("not delayed"))
    line = a.response_line()
    assert status_of([line], "Other")["MESSAGES"] == 2, line
    r = a.cmd("NOOP")
    assert r.lines[:2] == [b"* 1 EXISTS", b"* 1 FETCH (UID 2)"], r
