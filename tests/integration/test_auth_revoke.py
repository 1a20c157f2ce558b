"""test_auth_revoke - a cached login (src/auth/authcache.c) dies with the
account change that revokes it: `tem user passwd` and `tem user del`,
for IMAP LOGIN and SMTP AUTH (submission).

Each login is made twice first, so the second one is served from the
cache. After the admin command the test waits for the running server to
load the new accounts (TemServer.wait_accounts: its `accounts-reloaded`
line, the 1 s poll, or at once when admin commands are synchronous with
the server); from then on the old password (or the deleted user) must be
refused although it is still in the cache."""

import imaplib
import smtplib

import pytest

from temserver import PASSWORDS

ALICE, BOB = "alice@a.test", "bob@a.test"


@pytest.fixture
def srv(make_tem):
    return make_tem(services=("smtp", "submission", "imap"),
                    extra_conf={"auth_allow_cleartext": "yes"})


def imap_login(tem, user, password):
    m = imaplib.IMAP4("127.0.0.1", tem.ports["imap"], timeout=20)
    try:
        m.login(user, password)
        m.logout()
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


def smtp_login(tem, user, password):
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"],
                      timeout=20) as s:
        s.ehlo("c.test")
        try:
            s.login(user, password)
            return True
        except smtplib.SMTPAuthenticationError:
            return False


LOGINS = [imap_login, smtp_login]


def cache(tem, user, password):
    """Logs USER in twice on each protocol: the second time is cached."""
    for login in LOGINS:
        for _ in range(2):
            assert login(tem, user, password), (login.__name__, user)


@pytest.mark.parametrize("login", LOGINS, ids=["imap", "smtp"])
def test_passwd_revokes_the_cached_login(srv, login):
    cache(srv, ALICE, PASSWORDS[ALICE])
    srv.admin("user", "passwd", ALICE, stdin="a-new-Secret-9\n")
    srv.wait_accounts()
    assert not login(srv, ALICE, PASSWORDS[ALICE]), "old password accepted"
    assert login(srv, ALICE, "a-new-Secret-9")
    # the other user's cached login is untouched
    assert login(srv, BOB, PASSWORDS[BOB])


@pytest.mark.parametrize("login", LOGINS, ids=["imap", "smtp"])
def test_user_del_revokes_the_cached_login(srv, login):
    cache(srv, BOB, PASSWORDS[BOB])
    srv.admin("user", "del", BOB)
    srv.wait_accounts()
    assert not login(srv, BOB, PASSWORDS[BOB]), "deleted user logged in"
    assert login(srv, ALICE, PASSWORDS[ALICE])
