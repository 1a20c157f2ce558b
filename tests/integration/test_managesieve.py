"""test_managesieve - the ManageSieve server (RFC 5804, managesieve_listen)
against the real `tem serve`: the capability greeting, STARTTLS and
AUTHENTICATE PLAIN (refused before TLS unless auth_allow_cleartext, both
forms after, throttled on a bad password as IMAP is), input pipelined
after STARTTLS dropped, every command with its response codes, quoted
strings and both literal forms, compile errors with their line, the size
and count limits, UNAUTHENTICATE, and Debian's sieve-connect as a real
client. The store is the one `tem sieve` uses (checked both ways).
"""

import os
import subprocess
import time

import pytest

from sieveclient import SieveConn, lit, plain, q
from temserver import (PASSWORDS, ConnClosed, TemServer, insecure_tls_context,
                       module_server)

ALICE = "alice@a.test"
BOB = "bob@a.test"
SCRIPT = ('require ["fileinto", "imap4flags"];\r\n'
          'if header :contains "subject" "[list]" {\r\n'
          '  fileinto "Lists";\r\n  addflag "\\\\Flagged";\r\n}\r\n')
BROKEN = 'require "fileinto";\r\nkeep;\r\nfrobnicate "x";\r\n'


@pytest.fixture(scope="module")
def tem():
    yield from module_server(services=("smtp", "managesieve"))


def session(tem, user=ALICE, source=None):
    c = SieveConn(tem.ports["managesieve"], source=source)
    c.starttls()
    c.login(user, PASSWORDS[user])
    return c


def test_greeting_capabilities(tem):
    with SieveConn(tem.ports["managesieve"]) as c:
        caps = c.caps
        assert c.greeting.status == "OK"
        assert caps["IMPLEMENTATION"] == "tem"
        assert caps["VERSION"] == "1.0"
        assert "STARTTLS" in caps
        assert caps["SASL"] == ""        # no PLAIN before TLS
        ext = caps["SIEVE"].split()
        for e in ("fileinto", "vacation", "imap4flags", "variables",
                  "include", "editheader", "duplicate"):
            assert e in ext
        assert int(caps["MAXREDIRECTS"]) >= 1
        assert "NOTIFY" not in caps
        r = c.cmd("CAPABILITY")
        assert r.status == "OK" and c.parse_caps(r.lines) == caps
        # Before login: no script commands, no PLAIN.
        r = c.cmd("LISTSCRIPTS")
        assert r.status == "NO"
        # nor a literal bigger than a SASL response: dropped as it comes
        r = c.cmd("PUTSCRIPT", q("s"), lit("#" * 20000))
        assert r.status == "NO" and r.code is None, r
        assert c.cmd("NOOP").status == "OK"
        r = c.cmd("AUTHENTICATE", q("PLAIN"), q(plain(ALICE,
                                                      PASSWORDS[ALICE])))
        assert r.status == "NO" and r.code == "ENCRYPT-NEEDED", r
        c.starttls()
        assert c.caps["SASL"] == "PLAIN"
        assert "STARTTLS" not in c.caps
        assert c.cmd("STARTTLS").status == "NO"
        r = c.cmd("AUTHENTICATE", q("LOGIN"))
        assert r.status == "NO"
        c.login(ALICE, PASSWORDS[ALICE])
        r = c.cmd("CAPABILITY")
        caps = c.parse_caps(r.lines)
        assert caps["OWNER"] == ALICE and caps["SASL"] == ""
        r = c.cmd("LOGOUT")
        assert r.status == "OK"


def test_authenticate_continuation_and_unauthenticate(tem):
    with SieveConn(tem.ports["managesieve"]) as c:
        c.starttls()
        c.send(b'AUTHENTICATE "PLAIN"\r\n')
        assert c.readline() == b'""'
        r = c.cmd(lit(plain(ALICE, PASSWORDS[ALICE])).decode())
        assert r.status == "OK", r
        assert c.cmd("LISTSCRIPTS").status == "OK"
        assert c.cmd("UNAUTHENTICATE").status == "OK"
        assert c.cmd("LISTSCRIPTS").status == "NO"
        c.send(b'authenticate "plain"\r\n')
        assert c.readline() == b'""'
        assert c.cmd('"*"').status == "NO"      # cancelled
        c.login(BOB, PASSWORDS[BOB])
        assert c.list() == {}


def test_every_script_command(tem):
    with session(tem) as c:
        r = c.cmd("HAVESPACE", q("main"), "1000")
        assert r.status == "OK", r
        r = c.cmd("PUTSCRIPT", q("main"), lit(SCRIPT))
        assert r.status == "OK", r
        r = c.cmd("PUTSCRIPT", q("other \"quoted\""), q("keep;"))
        assert r.status == "OK", r
        assert c.list() == {"main": False, 'other "quoted"': False}
        assert c.script("main") == SCRIPT
        r = c.cmd("SETACTIVE", q("main"))
        assert r.status == "OK", r
        assert c.list() == {"main": True, 'other "quoted"': False}
        r = c.cmd("DELETESCRIPT", q("main"))
        assert r.status == "NO" and r.code == "ACTIVE", r
        r = c.cmd("RENAMESCRIPT", q("main"), q('other "quoted"'))
        assert r.status == "NO" and r.code == "ALREADYEXISTS", r
        r = c.cmd("RENAMESCRIPT", q("main"), q("renamed"))
        assert r.status == "OK", r
        assert c.list() == {"renamed": True, 'other "quoted"': False}
        for verb in ("GETSCRIPT", "SETACTIVE", "DELETESCRIPT"):
            r = c.cmd(verb, q("nope"))
            assert r.status == "NO" and r.code == "NONEXISTENT", (verb, r)
        r = c.cmd("RENAMESCRIPT", q("nope"), q("x"))
        assert r.code == "NONEXISTENT", r
        r = c.cmd("CHECKSCRIPT", lit(SCRIPT, sync=True))
        assert r.status == "OK", r
        r = c.cmd("NOOP", q("tag-1"))
        assert r.status == "OK" and r.code == 'TAG "tag-1"', r
        assert c.cmd("NOOP").status == "OK"
        r = c.cmd("SETACTIVE", q(""))
        assert r.status == "OK", r
        assert c.list() == {"renamed": False, 'other "quoted"': False}
        for name in ("renamed", 'other "quoted"'):
            assert c.cmd("DELETESCRIPT", q(name)).status == "OK"
        assert c.list() == {}
        r = c.cmd("PUTSCRIPT", q("a/b"), q("keep;"))
        assert r.status == "NO" and "name" in r.text, r
        assert c.cmd("LOGOUT").status == "OK"
    log = tem.log_text()
    assert "managesieve putscript user=%s name=\"main\"" % ALICE in log
    assert "managesieve renamescript user=%s" % ALICE in log


def test_compile_error_has_its_line(tem):
    with session(tem) as c:
        for verb, args in (("PUTSCRIPT", (q("bad"), lit(BROKEN))),
                           ("CHECKSCRIPT", (lit(BROKEN),))):
            r = c.cmd(verb, *args)
            assert r.status == "NO", r
            assert r.text.startswith("line 3: "), r
            assert "frobnicate" in r.text
        assert c.list() == {}


def test_limits(tem):
    with session(tem, user=BOB) as c:
        big = "#" * (1024 * 1024 + 1)
        r = c.cmd("PUTSCRIPT", q("big"), lit(big))
        assert r.status == "NO" and r.code == "QUOTA/MAXSIZE", r
        r = c.cmd("HAVESPACE", q("big"), str(1024 * 1024 + 1))
        assert r.status == "NO" and r.code == "QUOTA/MAXSIZE", r
        # the session goes on after the dropped literal
        assert c.cmd("NOOP").status == "OK"
        r = c.cmd("PUTSCRIPT", q("max"), lit("#" * (1024 * 1024)))
        assert r.status == "OK", r
        for i in range(31):
            r = c.cmd("PUTSCRIPT", q("s%02d" % i), q("keep;"))
            assert r.status == "OK", (i, r)
        r = c.cmd("PUTSCRIPT", q("one-more"), q("keep;"))
        assert r.status == "NO" and r.code == "QUOTA/MAXSCRIPTS", r
        r = c.cmd("HAVESPACE", q("one-more"), "10")
        assert r.status == "NO" and r.code == "QUOTA/MAXSCRIPTS", r
        assert c.cmd("HAVESPACE", q("s01"), "10").status == "OK"
        assert c.cmd("PUTSCRIPT", q("s01"), q("stop;")).status == "OK"
        r = c.cmd("NOOP", q("x" * 2000))
        assert r.status == "NO", r          # quoted strings: 1024 octets
        r = c.cmd("FROBNICATE")
        assert r.status == "NO", r
        for name in ["max"] + ["s%02d" % i for i in range(31)]:
            assert c.cmd("DELETESCRIPT", q(name)).status == "OK"


def test_bad_password_throttled_and_logged(tem):
    # from its own address: the delay per address must not slow the rest
    with SieveConn(tem.ports["managesieve"], source="127.0.0.7") as c:
        c.starttls()
        t0 = time.monotonic()
        r = c.cmd("AUTHENTICATE", q("PLAIN"), q(plain(ALICE, "wrong-pw")))
        assert r.status == "NO", r
        assert time.monotonic() - t0 >= 0.9
        t0 = time.monotonic()
        r = c.cmd("AUTHENTICATE", q("PLAIN"), q(plain("nobody@a.test",
                                                      "x")))
        assert r.status == "NO", r
        assert time.monotonic() - t0 >= 1.8     # the delay grows
        c.login(ALICE, PASSWORDS[ALICE])        # still possible
    log = tem.log_text()
    assert ('managesieve auth-failed user="%s" addr=127.0.0.7' % ALICE
            in log)
    assert "wrong-pw" not in log


def test_store_shared_with_cli(tem):
    tem.admin("sieve", "put", BOB, "from-cli", stdin="discard;\n")
    tem.admin("sieve", "activate", BOB, "from-cli")
    with session(tem, user=BOB) as c:
        assert c.list() == {"from-cli": True}
        assert c.script("from-cli") == "discard;\n"
        assert c.cmd("PUTSCRIPT", q("from-ms"), q("keep;")).status == "OK"
    out = tem.admin("sieve", "list", BOB).stdout.decode().splitlines()
    assert out == ["from-cli (active)", "from-ms"]
    tem.admin("sieve", "deactivate", BOB)
    tem.admin("sieve", "del", BOB, "from-cli")
    tem.admin("sieve", "del", BOB, "from-ms")


def sieve_connect(tem, *args, user=ALICE, stdin=None):
    r, w = os.pipe()
    os.write(w, (PASSWORDS[user] + "\n").encode())
    os.close(w)
    try:
        return subprocess.run(
            ["sieve-connect", "--server", "127.0.0.1", "--port",
             str(tem.ports["managesieve"]), "--user", user,
             "--passwordfd", str(r), "--notlsverify", *args],
            pass_fds=(r,), capture_output=True, timeout=60, input=stdin)
    finally:
        os.close(r)


def test_sieve_connect(tem, tmp_path):
    local = tmp_path / "filter.sieve"
    local.write_text(SCRIPT)
    p = sieve_connect(tem, "--upload", "--localsieve", str(local),
                      "--remotesieve", "sc")
    assert p.returncode == 0, p.stderr
    p = sieve_connect(tem, "--activate", "--remotesieve", "sc")
    assert p.returncode == 0, p.stderr
    p = sieve_connect(tem, "--list")
    assert p.returncode == 0, p.stderr
    assert b"sc" in p.stdout and b"ACTIVE" in p.stdout.upper(), p.stdout
    back = tmp_path / "back.sieve"
    p = sieve_connect(tem, "--download", "--remotesieve", "sc",
                      "--localsieve", str(back))
    assert p.returncode == 0, p.stderr
    # sieve-connect writes local files with LF line ends
    assert back.read_text() == SCRIPT.replace("\r\n", "\n")
    bad = tmp_path / "bad.sieve"
    bad.write_text(BROKEN)
    p = sieve_connect(tem, "--checkscript", "--localsieve", str(bad))
    assert p.returncode != 0
    assert b"line 3" in p.stdout + p.stderr, (p.stdout, p.stderr)
    p = sieve_connect(tem, "--deactivate")
    assert p.returncode == 0, p.stderr
    p = sieve_connect(tem, "--delete", "--remotesieve", "sc")
    assert p.returncode == 0, p.stderr
    with session(tem) as c:
        assert c.list() == {}


def test_pipelining_and_bad_commands(tem):
    with session(tem) as c:
        # several commands in one write, literals included
        c.send(b'PUTSCRIPT "p" {6+}\r\nkeep;\n NOOP\r\n'
               b'PUTSCRIPT "p" {6+}\r\nkeep;\n\r\nLISTSCRIPTS\r\n'
               b'DELETESCRIPT "p"\r\nNOOP "end"\r\n')
        r = c.response()
        assert r.status == "NO", r          # a third argument: refused
        assert c.response().status == "OK"
        r = c.response()
        assert r.status == "OK" and r.lines == [b'"p"'], r
        assert c.response().status == "OK"
        assert c.response().code == 'TAG "end"'
        # the 20th refused command (one above) ends the session with BYE
        c.send(b"BOGUS\r\n" * 19)
        for _ in range(18):
            assert c.response().status == "NO"
        assert c.response().status == "BYE"
        with pytest.raises(ConnClosed):
            c.readline()


def test_starttls_drops_pipelined_input(tem):
    with SieveConn(tem.ports["managesieve"]) as c:
        c.send(b"STARTTLS\r\nLISTSCRIPTS\r\n")   # the second: injected
        assert c.response().status == "OK"
        c.sock = insecure_tls_context().wrap_socket(c.sock)
        r = c.response()
        assert r.text == "TLS negotiation successful.", r
        r = c.cmd("NOOP", q("after"))
        assert r.status == "OK" and r.code == 'TAG "after"', r


def test_cleartext_allowed_by_config():
    with TemServer(services=("smtp", "managesieve"),
                   extra_conf={"auth_allow_cleartext": "yes"}) as t:
        with SieveConn(t.ports["managesieve"]) as c:
            assert c.caps["SASL"] == "PLAIN"
            c.login(ALICE, PASSWORDS[ALICE])
            assert c.list() == {}
