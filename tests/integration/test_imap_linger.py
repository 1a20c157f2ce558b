"""A user's store stays open for a while after the last session leaves
(src/store/mailbox_linger.c), so a client that logs in again soon finds
its index and its folder in memory. What changed meanwhile must show all
the same: mail delivered by SMTP, a flag set and a message removed by an
outside tool in the Maildir, and another user's login in between. UIDs
and UIDVALIDITY stay what the first session saw."""

import imaplib
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import (PASSWORDS, send_mail,  # noqa: E402
                       simple_message, wait_for)

ALICE = "alice@a.test"
BOB = "bob@a.test"


def session(tem, user):
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"])
    typ, dat = m.login(user, PASSWORDS[user])
    assert typ == "OK", dat
    return m


def inbox(m):
    """(UIDVALIDITY, {uid: (flags set, Subject)}) of INBOX, selected."""
    typ, dat = m.select("INBOX")
    assert typ == "OK", dat
    uv = int(m.response("UIDVALIDITY")[1][0])
    typ, dat = m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS "
                       "(SUBJECT)])") if int(dat[0]) else ("OK", [])
    assert typ == "OK", dat
    out = {}
    for item in dat:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1)
            subj = re.search(rb"Subject: ([^\r\n]*)", item[1]).group(1)
            out[uid] = (set(flags.decode().split()), subj.decode())
    return uv, out


def deliver(tem, subject):
    send_mail(tem.smtp_port, "sender@b.test", [ALICE],
              simple_message(subject, mail_from="sender@b.test", to=ALICE))


@pytest.mark.embedded_only
def test_a_login_after_logout_sees_what_changed_meanwhile(make_tem):
    tem = make_tem(services=("smtp", "imap"),
                   extra_conf={"auth_allow_cleartext": "yes"})
    for s in ("one", "two", "three"):
        deliver(tem, s)

    # 1. the first session: three messages; \Flagged on "one"
    m = session(tem, ALICE)
    uv, first = inbox(m)
    assert sorted(s for _, s in first.values()) == ["one", "three", "two"]
    uid = {s: u for u, (_, s) in first.items()}
    typ, dat = m.uid("STORE", str(uid["one"]), "+FLAGS", "(\\Flagged)")
    assert typ == "OK", dat
    m.logout()

    # 2. meanwhile: new mail, an outside tool flags "two" \Seen and
    # deletes "three", another user logs in and out
    deliver(tem, "four")
    for path in tem.maildir_files(ALICE):
        with open(path, "rb") as f:
            data = f.read()
        if b"Subject: two" in data:
            base = os.path.basename(path).partition(":2,")
            os.rename(path, os.path.join(os.path.dirname(os.path.dirname(
                path)), "cur", base[0] + ":2," + "".join(sorted(
                    base[2] + "S"))))
        elif b"Subject: three" in data:
            os.unlink(path)
    b = session(tem, BOB)
    inbox(b)
    b.logout()

    # 3. a new session sees all of it, with the same UIDs. Outside tools
    # are noticed within about a second (a change in the same tick of the
    # directory's mtime as the last look waits for the next recheck), so
    # sessions are opened until SELECT shows the deletion.
    def selected():
        m = session(tem, ALICE)
        typ, dat = m.select("INBOX")
        assert typ == "OK", dat
        typ, found = m.uid("SEARCH", "ALL")
        assert typ == "OK", found
        if int(dat[0]) == 3 and str(uid["three"]) not in found[0].decode(
                ).split():
            return m
        m.logout()
        return None
    m = wait_for(selected, timeout=10, what="the outside deletion seen")
    uv2, second = inbox(m)
    assert uv2 == uv
    subjects = {s: (u, f) for u, (f, s) in second.items()}
    assert sorted(subjects) == ["four", "one", "two"], second
    assert subjects["one"][0] == uid["one"]
    assert "\\Flagged" in subjects["one"][1]
    assert subjects["two"][0] == uid["two"]
    assert "\\Seen" in subjects["two"][1]
    assert subjects["four"][0] > max(uid.values())
    assert "\\Seen" not in subjects["four"][1]
    # and what it changes lands on disk as before
    typ, dat = m.uid("STORE", str(uid["two"]), "+FLAGS", "(\\Answered)")
    assert typ == "OK", dat
    m.logout()
    flags = {}
    for path in tem.maildir_files(ALICE):
        with open(path, "rb") as f:
            subj = re.search(rb"Subject: ([^\r\n]*)", f.read()).group(1)
        flags[subj] = os.path.basename(path).partition(":2,")[2]
    assert flags == {b"one": "F", b"two": "RS", b"four": ""}, flags
