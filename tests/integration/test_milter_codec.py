"""test_milter_codec - tem's milter codec (src/milter/milter_proto.c)
against sendmail's libmilter, the implementation most filters are built
on, through pymilter (Debian package python3-milter).

build/asan/tests/milter/test-milter-talk (src/milter/test-milter-talk.c)
plays one SMTP session's events as the codec encodes them to a filter
(tests/lib/milter_codec_peer.py) and prints each reply as the codec
decodes it. The filter reports what libmilter decoded from tem's packets
(connect family, address and port, HELO, MAIL/RCPT with ESMTP arguments,
headers, body, macros) as added headers, and answers with every reply
libmilter can send: so both directions are checked against an
independent implementation, octet for octet.
"""

import os
import subprocess
import sys
import tempfile

import pytest

from temserver import SANITIZER_MARKS, sanitizer_env, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "build", "asan", "tests", "milter",
                    "test-milter-talk")
PEER = os.path.join(REPO, "tests", "lib", "milter_codec_peer.py")


@pytest.fixture(scope="module")
def peer():
    """The pymilter filter on a unix socket (a short path: sun_path)."""
    d = tempfile.mkdtemp(prefix="tem-milter-")
    sock = os.path.join(d, "peer.sock")
    log = open(os.path.join(d, "peer.log"), "w+b")
    p = subprocess.Popen([sys.executable, PEER, sock], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
                 what="the pymilter peer's socket")
        if p.poll() is not None:
            log.seek(0)
            raise AssertionError("peer exited: %s" % log.read().decode())
        yield sock
    finally:
        p.terminate()
        p.wait(timeout=10)
        log.close()
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


def talk(sock, *client):
    assert os.access(TOOL, os.X_OK), "%s not built (make unit)" % TOOL
    p = subprocess.run([TOOL, "talk", sock] + list(client),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=sanitizer_env(), timeout=60)
    err = p.stderr.decode(errors="replace")
    for mark in SANITIZER_MARKS:
        assert mark not in err, err
    out = p.stdout.decode()
    assert p.returncode == 0, (out, err)
    return out.splitlines()


def test_session_both_directions(peer):
    lines = talk(peer)
    # libmilter's answer to tem's offer (version 6, every action and
    # protocol flag): its flags depend on the libmilter build
    assert lines[0].startswith("optneg optneg version=6 actions=0x1ff "), \
        lines[0]
    assert lines[1:] == [
        "connect continue",
        "helo continue",
        "mail continue",
        "rcpt continue",
        # a multi-line reply (smfi_setmlreply), "%%" read as "%"
        "rcpt replycode 550 5.7.1 no spam\\r\\n100% sure",
        "data continue",
        "header continue",
        "header continue",
        "eoh continue",
        "body continue",
        # what libmilter decoded from tem's packets, and the macros
        "eom addheader X-Connect [127.0.0.1] 2 ('127.0.0.1', 4567) "
        "j=mx.a.test d=tem",
        "eom addheader X-Helo client.b.test",
        "eom addheader X-From <a@b.test> SIZE=100 BODY=8BITMIME i=Q123",
        "eom addheader X-Rcpt <c@d.test> NOTIFY=NEVER",
        "eom addheader X-Header Subject:hello",
        "eom addheader X-Header X-Gone:bye",
        "eom addheader X-Body b'line 1\\\\r\\\\nline 2\\\\r\\\\n'",
        # every modification libmilter can ask for, then the decision
        "eom insheader 0 X-First top",
        "eom chgheader 1 Subject changed",
        "eom chgheader 1 X-Gone ",
        "eom addrcpt <new@d.test>",
        "eom addrcpt_par <par@d.test> NOTIFY=NEVER",
        "eom delrcpt <c@d.test>",
        "eom chgfrom <x@b.test> SIZE=5",
        "eom replbody new body\\r\\n",
        "eom quarantine held for review",
        "eom progress",
        "eom accept",
    ]


@pytest.mark.parametrize("client,seen", [
    ("192.0.2.7:25", "[192.0.2.7] 2 ('192.0.2.7', 25)"),
    ("[::1]:65535", "[::1] 10 ('::1', 65535, 0, 0)"),
    # an IPv4 client on a dual-stack socket is named as IPv4
    ("[::ffff:10.1.2.3]:587", "[::ffff:10.1.2.3] 2 ('10.1.2.3', 587)"),
    ("unix:/run/tem.sock", "localhost 1 '/run/tem.sock'"),
    ("unknown", "unknown 0 None"),
])
def test_connect_families(peer, client, seen):
    lines = talk(peer, client)
    want = "eom addheader X-Connect %s j=mx.a.test d=tem" % seen
    assert want in lines, lines
