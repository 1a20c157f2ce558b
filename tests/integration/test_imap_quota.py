"""QUOTA (RFC 9208): per-user STORAGE and MESSAGE limits set with
`tem user quota ADDRESS SIZE [MESSAGES]` (or config default_quota and
default_quota_messages), shown by GETQUOTA/GETQUOTAROOT, enforced at
APPEND and COPY with NO [OVERQUOTA] and at SMTP with 452 4.2.2 (at RCPT,
and after the data when no recipient has room); usage follows deliveries,
APPENDs, COPYs and EXPUNGEs without a directory walk per message.
"""

import os
import re
import smtplib
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402
from temserver import TemServer  # noqa: E402

USERS = {"q%d@a.test" % i: "pw-q%d-Secret" % i for i in range(1, 40)}
srv, user, login = imapclient.imap_fixtures(USERS, text=True)


def message(n, size):
    """A message of exactly size octets (CRLF lines) with subject n."""
    head = "From: a@a.test\r\nTo: b@a.test\r\nSubject: m%d\r\n\r\n" % n
    body_len = size - len(head)
    line = "x" * 70 + "\r\n"
    body = (line * (body_len // len(line) + 1))[:body_len - 2] + "\r\n"
    data = (head + body).encode()
    assert len(data) == size
    return data


def quota(resp):
    """{resource: (usage, limit)} of the one QUOTA line of resp."""
    lines = resp.of("QUOTA")
    assert len(lines) == 1, resp
    m = re.match(r'\* QUOTA "" \((.*)\)$', lines[0])
    assert m, lines[0]
    w = m.group(1).split()
    return {w[i]: (int(w[i + 1]), int(w[i + 2])) for i in range(0, len(w), 3)}


def set_quota(srv, addr, *args):
    srv.admin("user", "quota", addr, *args)


def smtp(srv):
    return smtplib.SMTP("127.0.0.1", srv.smtp_port, timeout=30)


def test_capabilities(login):
    c = login()
    caps = c.cmd("CAPABILITY").of("CAPABILITY")[0].split()
    for cap in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
        assert cap in caps
    assert "QUOTASET" not in caps


def test_no_limit_no_root(login):
    c = login()
    r = c.cmd("GETQUOTAROOT INBOX")
    assert r.of("QUOTAROOT") == ["* QUOTAROOT INBOX"]
    assert r.of("QUOTA") == []
    r = c.cmd('GETQUOTA ""', expect="NO")
    assert "[NONEXISTENT]" in r.tagged


def test_cli_sets_and_shows(srv, user, login):
    addr = user[0]
    assert srv.admin("user", "quota", addr).stdout.decode() == \
        "%s default\n" % addr
    set_quota(srv, addr, "10K", "3")
    assert srv.admin("user", "quota", addr).stdout.decode() == \
        "%s 10240 3\n" % addr
    c = login()
    r = c.cmd("GETQUOTAROOT INBOX")
    assert r.of("QUOTAROOT") == ['* QUOTAROOT INBOX ""']
    assert quota(r) == {"STORAGE": (0, 10), "MESSAGE": (0, 3)}
    # Visible at once in the running server (the control socket).
    set_quota(srv, addr, "2M")
    assert quota(c.cmd('GETQUOTA ""')) == {"STORAGE": (0, 2048)}
    set_quota(srv, addr, "none", "0")
    assert c.cmd("GETQUOTAROOT INBOX").of("QUOTA") == []
    set_quota(srv, addr, "default")
    assert srv.admin("user", "quota", addr).stdout.decode() == \
        "%s default\n" % addr


def test_cli_refuses_bad_values(srv, user):
    for args in (("lots",), ("10T",), ("-1",), ("1M", "1K"), ("1M", "x")):
        p = srv.admin("user", "quota", user[0], *args, check=False)
        assert p.returncode != 0, args
        assert b"usage" in p.stderr
    p = srv.admin("user", "quota", "nobody@a.test", "1M", check=False)
    assert p.returncode == 1 and b"does not exist" in p.stderr


def test_getquotaroot_of_missing_folder(srv, user, login):
    set_quota(srv, user[0], "1M")
    c = login()
    r = c.cmd("GETQUOTAROOT nosuch", expect="NO")
    assert "[NONEXISTENT]" in r.tagged


def test_setquota_is_refused(srv, user, login):
    set_quota(srv, user[0], "1M")
    c = login()
    r = c.cmd('SETQUOTA "" (STORAGE 512)', expect="NO")
    assert "[NOPERM]" in r.tagged
    assert quota(c.cmd('GETQUOTA ""'))["STORAGE"][1] == 1024


def test_message_limit_append_and_expunge(srv, user, login):
    set_quota(srv, user[0], "0", "3")
    c = login()
    for n in range(3):
        c.append("INBOX", message(n, 500))
    r = c.append("INBOX", message(9, 500), expect="NO")
    assert r.tagged.startswith("NO [OVERQUOTA]"), r
    assert quota(c.cmd('GETQUOTA ""')) == {"MESSAGE": (3, 3)}
    c.cmd("SELECT INBOX")
    assert len(c.cmd("SEARCH ALL").of("SEARCH")[0].split()) == 5
    c.cmd("STORE 1 +FLAGS (\\Deleted)")
    c.cmd("EXPUNGE")
    assert quota(c.cmd('GETQUOTA ""')) == {"MESSAGE": (2, 3)}
    c.append("INBOX", message(4, 500))
    assert "imap over-quota user=%s cmd=APPEND" % user[0] in srv.log_text()


def test_storage_limit_append_copy_move(srv, user, login):
    set_quota(srv, user[0], "8K")
    c = login()
    c.append("INBOX", message(1, 3000))
    c.append("INBOX", message(2, 3000))
    r = c.append("INBOX", message(3, 3000), expect="NO")
    assert "[OVERQUOTA]" in r.tagged
    st = quota(c.cmd("GETQUOTAROOT INBOX"))["STORAGE"]
    assert st[1] == 8 and 5 <= st[0] <= 6, st   # files store LF ends
    c.cmd("CREATE Keep")
    c.cmd("SELECT INBOX")
    r = c.cmd("COPY 1 Keep", expect="NO")
    assert "[OVERQUOTA]" in r.tagged
    # MOVE stays within the one quota root: it never adds to the usage.
    c.cmd("MOVE 1 Keep")
    assert quota(c.cmd('GETQUOTA ""'))["STORAGE"] == st
    assert c.cmd("STATUS Keep (MESSAGES)").of("STATUS") == \
        ["* STATUS Keep (MESSAGES 1)"]
    c.cmd("DELETE Keep")         # usage computed again from the disk
    st2 = quota(c.cmd('GETQUOTA ""'))["STORAGE"]
    assert st2[0] < st[0]
    c.cmd("COPY 1 INBOX")


def test_multiappend_counts_every_message(srv, user, login):
    set_quota(srv, user[0], "0", "2")
    c = login()
    tag = "M1"
    a, b, d = message(1, 300), message(2, 300), message(3, 300)
    c.send(("%s APPEND INBOX {%d+}\r\n" % (tag, len(a))).encode() + a +
           (" {%d+}\r\n" % len(b)).encode() + b +
           (" {%d+}\r\n" % len(d)).encode() + d + b"\r\n")
    r = c.finish(tag.encode())
    assert r.tagged.startswith("NO [OVERQUOTA]"), r
    assert quota(c.cmd('GETQUOTA ""')) == {"MESSAGE": (0, 2)}


@pytest.mark.embedded_only
def test_usage_counts_what_is_already_there(srv, user, login):
    """A usage not known yet is computed from the folders' files (their
    ,S= sizes), including mail that outside tools put there."""
    root = srv.maildir(user[0])
    with open(os.path.join(root, "new", "1.M1P1.host,S=4096"), "wb") as f:
        f.write(b"x" * 4096)
    os.makedirs(os.path.join(root, ".Old", "cur"), exist_ok=True)
    os.makedirs(os.path.join(root, ".Old", "new"), exist_ok=True)
    os.makedirs(os.path.join(root, ".Old", "tmp"), exist_ok=True)
    with open(os.path.join(root, ".Old", "cur", "2.M2P2.host:2,S"),
              "wb") as f:
        f.write(b"y" * 1000)
    with open(os.path.join(root, "tmp", "3.M3P3.host"), "wb") as f:
        f.write(b"z" * 100000)     # tmp/ is not mail yet
    set_quota(srv, user[0], "1M", "100")
    c = login()
    assert quota(c.cmd('GETQUOTA ""')) == {"STORAGE": (5, 1024),
                                           "MESSAGE": (2, 100)}


def test_smtp_delivery_counts_and_rcpt_refused(srv, user, login):
    addr = user[0]
    set_quota(srv, addr, "1M", "2")
    c = login()
    assert quota(c.cmd('GETQUOTA ""'))["MESSAGE"] == (0, 2)
    with smtp(srv) as s:
        for n in range(2):
            s.sendmail("x@b.test", [addr], message(n, 400))
        s.mail("x@b.test")
        code, text = s.rcpt(addr)
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
        assert b"Mailbox full" in text
        s.rset()
    assert quota(c.cmd('GETQUOTA ""'))["MESSAGE"] == (2, 2)
    assert "smtp reject over-quota to=<%s>" % addr in srv.log_text()


def test_smtp_size_param_refused_at_rcpt(srv, user, login):
    addr = user[0]
    set_quota(srv, addr, "10K")
    login().cmd('GETQUOTA ""')
    with smtp(srv) as s:
        s.ehlo()
        s.mail("x@b.test", ["SIZE=20000"])
        code, text = s.rcpt(addr)
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
        s.rset()
        s.mail("x@b.test", ["SIZE=2000"])
        assert s.rcpt(addr)[0] == 250
        s.rset()


def test_smtp_after_data_single_and_multi(srv, request):
    """After the data the real size is checked per recipient: when no
    recipient has room the message gets 452 4.2.2 (one recipient or
    several); when some have room it is delivered to all, and a full
    mailbox goes past its limit by this one message (Dovecot's
    quota_grace), logged per recipient."""
    a, b, free_ = "q37@a.test", "q38@a.test", "q39@a.test"
    conns = {}
    for addr in (a, b, free_):
        if addr != free_:
            set_quota(srv, addr, "6K")
        c = imapclient.Imap(srv.ports["imap"], text=True)
        request.addfinalizer(c.close)
        c.cmd('LOGIN %s "%s"' % (addr, USERS[addr]))
        c.cmd('GETQUOTA ""' if addr != free_ else "NOOP")  # usage known
        conns[addr] = c
    with smtp(srv) as s:
        s.ehlo()
        # No SIZE= (smtplib would send it): RCPT cannot know the size.
        assert s.mail("x@b.test")[0] == 250
        assert s.rcpt(a)[0] == 250
        code, text = s.data(message(1, 9000))
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
        # two recipients, neither with room: the one reply says so
        assert s.mail("x@b.test")[0] == 250
        assert s.rcpt(a)[0] == 250 and s.rcpt(b)[0] == 250
        code, text = s.data(message(2, 9000))
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
        # one with room: delivered to both, a goes past by this message
        assert s.mail("x@b.test")[0] == 250
        assert s.rcpt(a)[0] == 250 and s.rcpt(free_)[0] == 250
        assert s.data(message(3, 9000))[0] == 250
    assert len(srv.maildir_messages(a)) == 1
    assert len(srv.maildir_messages(b)) == 0
    assert len(srv.maildir_messages(free_)) == 1
    assert "smtp over-quota-grace" in srv.log_text() and \
        "to=<%s>" % a in srv.log_text()
    c = conns[a]
    c.cmd("NOOP")
    assert quota(c.cmd('GETQUOTA ""'))["STORAGE"][0] >= 8
    # the next one is refused at RCPT already
    with smtp(srv) as s:
        s.ehlo()
        assert s.mail("x@b.test")[0] == 250
        assert s.rcpt(a)[0] == 452


@pytest.mark.release
def test_default_quota_from_config():
    tem = TemServer(services=("smtp", "imap"),
                    users={"d1@a.test": "pw-d1-Secret"},
                    extra_conf={"auth_allow_cleartext": "yes",
                                "default_quota": "3K",
                                "default_quota_messages": "1"})
    with tem:
        c = imapclient.Imap(tem.ports["imap"], text=True)
        c.cmd('LOGIN d1@a.test "pw-d1-Secret"')
        assert quota(c.cmd("GETQUOTAROOT INBOX")) == {
            "STORAGE": (0, 3), "MESSAGE": (0, 1)}
        c.append("INBOX", message(1, 200))
        assert "[OVERQUOTA]" in c.append("INBOX", message(2, 200),
                                         expect="NO").tagged
        tem.admin("user", "quota", "d1@a.test", "none")   # own: unlimited
        assert c.cmd("GETQUOTAROOT INBOX").of("QUOTA") == []
        c.append("INBOX", message(2, 200))
        c.close()


def test_status_deleted_storage(login):
    """RFC 9208 5: STATUS DELETED-STORAGE, the KiB EXPUNGE would free."""
    c = login()
    c.append("INBOX", message(1, 3000))
    c.append("INBOX", message(2, 500))
    assert c.cmd("STATUS INBOX (DELETED DELETED-STORAGE)").of("STATUS") == \
        ["* STATUS INBOX (DELETED 0 DELETED-STORAGE 0)"]
    c.cmd("SELECT INBOX")
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert c.cmd("STATUS INBOX (DELETED-STORAGE DELETED)").of("STATUS") == \
        ["* STATUS INBOX (DELETED 1 DELETED-STORAGE 3)"]
