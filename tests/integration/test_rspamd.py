"""rspamd in the SMTP path (issue 10): tem with `smtp_milters` pointed at
a real rspamd's proxy worker in milter mode (tests/lib/rspamd.py).

- Clean mail is delivered to INBOX with rspamd's headers (X-Spamd-Result,
  X-Spam-Status), and rspamd saw the Authentication-Results tem wrote
  (its test rule TEM_AUTH_RESULTS echoes the field in X-Spamd-Result).
- GTUBE: rejected with 554 5.7.1 and rspamd's message ("Gtube pattern");
  nothing stored.
- Soft reject: 451 4.7.1 with rspamd's message; nothing stored.
- "add header" (rspamd's X-Spam: Yes): filed into the recipient's Junk,
  not INBOX; a sender's own "X-Spam: Yes" on clean mail is not enough.

One rspamd and one tem for the module.
"""

import os
import re
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from rspamd import (GTUBE, GTUBE_ADD_HEADER, SOFT_REJECT_MESSAGE,  # noqa: E402
                    TEST_HEADER, Rspamd, rspamd_fixture)
from temserver import (SMTPConn, TemServer, module_server,  # noqa: E402
                       simple_message, wait_for)

RCPT = "alice@a.test"


@pytest.fixture(scope="module")
def srv(rspamd):
    yield from module_server(
        services=("smtp",),
        extra_conf={"smtp_milters": rspamd.milter,
                    # a broken rspamd must show as a failure here, never
                    # as mail let through
                    "milter_default_action": "reject"})


def folder_messages(srv, folder=""):
    """The messages of RCPT's folder ("" INBOX, ".Junk"), as bytes."""
    out = []
    root = os.path.join(srv.maildir(RCPT), folder)
    for sub in ("new", "cur"):
        d = os.path.join(root, sub)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else ():
            with open(os.path.join(d, name), "rb") as f:
                out.append(f.read())
    return out


def transaction(srv, message):
    """MAIL, RCPT, DATA of MESSAGE from b.test to RCPT; the DATA reply."""
    with SMTPConn(srv.smtp_port) as c:
        assert c.banner.code == 220, c.banner
        c.ehlo("client.b.test")
        r = c.cmd("MAIL FROM:<sender@b.test>")
        assert r.code == 250, r
        r = c.cmd("RCPT TO:<%s>" % RCPT)
        assert r.code == 250, r
        r = c.data(message)
        c.cmd("QUIT")
        return r


def stored_with(srv, folder, marker):
    """Waits for the message holding MARKER in FOLDER; returns it."""
    def find():
        return [m for m in folder_messages(srv, folder) if marker in m]
    got = wait_for(find, 30, "a message with %r in %s" % (marker,
                                                         folder or "INBOX"))
    assert len(got) == 1, got
    return got[0]


def header_of(message):
    return message.split(b"\n\n", 1)[0].decode("utf-8", "replace")


def field(head, name):
    """The unfolded values of field NAME in HEAD (str)."""
    unfolded = re.sub(r"\r?\n[ \t]+", " ", head)
    return re.findall(r"(?im)^%s:[ \t]*(.*)$" % re.escape(name), unfolded)


@pytest.mark.release
def test_clean_mail_gets_rspamd_headers(srv, rspamd):
    r = transaction(srv, simple_message("clean", b"Hello, a clean one.\r\n"))
    assert r.code == 250, r
    m = stored_with(srv, "", b"Subject: clean")
    head = header_of(m)
    result = field(head, "X-Spamd-Result")
    assert len(result) == 1 and result[0].startswith("default: False"), head
    assert field(head, "X-Spam-Status") and \
        field(head, "X-Spam-Status")[0].startswith("No"), head
    assert not field(head, "X-Spam"), head
    # tem's Authentication-Results, as rspamd got it through the milter
    ar = field(head, "Authentication-Results")
    assert ar and ar[0].startswith("mx.a.test;"), head
    seen = re.search(r"TEM_AUTH_RESULTS\(0\.00\)\[([^\]]*)\]", result[0])
    assert seen, result[0]
    assert seen.group(1).startswith("mx.a.test;") and "spf=" in \
        seen.group(1), seen.group(1)
    # and rspamd's own log of the scan says the same
    wait_for(lambda: re.search(r"TEM_AUTH_RESULTS\(0\.00\)\{mx\.a\.test; "
                               r"spf=none smtp\.mailfrom=sender@b\.test;",
                               rspamd.log_text()), 30,
             "rspamd's log line with tem's Authentication-Results")
    assert not any(b"Subject: clean" in x
                   for x in folder_messages(srv, ".Junk"))


def test_gtube_is_rejected_with_rspamds_message(srv, rspamd):
    r = transaction(srv, simple_message("gtube", GTUBE.encode() + b"\r\n"))
    # rspamd's own text for the reason (its smtp_message)
    assert r.last == "554 5.7.1 Gtube pattern", r
    assert not any(b"Subject: gtube" in m for m in
                   folder_messages(srv) + folder_messages(srv, ".Junk"))


def test_soft_reject_is_451(srv, rspamd):
    msg = simple_message("soft").replace(
        b"\r\n\r\n", b"\r\n%s: soft-reject\r\n\r\n" % TEST_HEADER.encode(),
        1)
    r = transaction(srv, msg)
    assert r.last == "451 4.7.1 " + SOFT_REJECT_MESSAGE, r
    assert not any(b"Subject: soft" in m for m in
                   folder_messages(srv) + folder_messages(srv, ".Junk"))


@pytest.mark.parametrize("how", ["gtube", "header"])
def test_add_header_files_into_junk(srv, rspamd, how):
    subject = "add-header-" + how
    if how == "gtube":
        msg = simple_message(subject, GTUBE_ADD_HEADER.encode() + b"\r\n")
    else:
        msg = simple_message(subject).replace(
            b"\r\n\r\n", b"\r\n%s: add-header\r\n\r\n"
            % TEST_HEADER.encode(), 1)
    r = transaction(srv, msg)
    assert r.code == 250, r
    m = stored_with(srv, ".Junk", b"Subject: " + subject.encode())
    head = header_of(m)
    assert [v.lower() for v in field(head, "X-Spam")] == ["yes"], head
    assert not any(subject.encode() in x for x in folder_messages(srv))
    assert re.search(r"milter done msgid=\S+ .* spam-mark=yes folder=Junk",
                     srv.log_text())


def test_senders_own_spam_mark_is_not_the_filters(srv, rspamd):
    """A clean message that says "X-Spam: Yes" itself: rspamd adds no
    mark, so it goes to INBOX (the rule counts only marks a filter
    added)."""
    msg = simple_message("self-marked").replace(
        b"\r\n\r\n", b"\r\nX-Spam: Yes\r\n\r\n", 1)
    r = transaction(srv, msg)
    assert r.code == 250, r
    m = stored_with(srv, "", b"Subject: self-marked")
    assert b"X-Spamd-Result:" in m


def test_rspamd_down_tempfails_and_keeps_nothing(rspamd):
    """rspamd stopped under tem (milter_default_action unset: tempfail):
    the message gets 451 4.7.1 (the client keeps it and retries), one
    line says why, and nothing half-filtered is stored."""
    with Rspamd() as down:
        with TemServer(services=("smtp",),
                       extra_conf={"smtp_milters": down.milter}) as t:
            down.stop_rspamd()
            with SMTPConn(t.smtp_port) as c:
                assert c.banner.code == 220, c.banner
                c.ehlo("client.b.test")
                r = c.cmd("MAIL FROM:<sender@b.test>")
                assert r.code == 451 and r.last.startswith("451 4.7.1"), r
                c.cmd("QUIT")
            assert re.search(r"milter inet:127\.0\.0\.1:%d .*"
                             r"action=tempfail" % down.ports["proxy"],
                             t.log_text()), t.log_tail()
            assert t.maildir_messages(RCPT) == []
