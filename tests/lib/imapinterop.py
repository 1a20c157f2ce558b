"""imapinterop - what the IMAP client interop tests (tests/interop:
mbsync, curl, offlineimap, neomutt) share: a certificate whose names
clients check, mail delivered over SMTP, tem's Maildir as files, and a
mailbox read back through imaplib.

Trust: test code; talks to 127.0.0.1 only.
"""

import imaplib
import os
import re
import shutil
import subprocess

import pytest

from temserver import insecure_tls_context, send_mail, simple_message

SENDER = "sender@b.test"
RUN_TIMEOUT = 60        # one client run


def need(tool, package):
    if shutil.which(tool) is None:
        pytest.fail("%s missing (Debian package %s; scripts/deps.sh TEST "
                    "list)" % (tool, package))


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """(cert, key) paths: self-signed, SANs mx.a.test, localhost, 127.0.0.1."""
    d = tmp_path_factory.mktemp("cert")
    crt, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=mx.a.test",
         "-addext", "subjectAltName=DNS:mx.a.test,DNS:localhost,"
         "IP:127.0.0.1", "-days", "2", "-keyout", key, "-out", crt],
        check=True, capture_output=True, timeout=RUN_TIMEOUT)
    return crt, key


def deliver(srv, rcpt, n, tag):
    """N messages to RCPT by SMTP; returns what was sent (CRLF bytes)."""
    sent = []
    for i in range(n):
        m = simple_message("%s %d" % (tag, i), b"Body %d of %s.\r\n" % (
            i, tag.encode()), mail_from=SENDER, to=rcpt)
        send_mail(srv.smtp_port, SENDER, [rcpt], m)
        sent.append(m)
    return sent


def read(path):
    with open(path, "rb") as f:
        return f.read()


def tem_files(srv, addr, folder=""):
    """{file name without flags: flags} of a folder of tem's Maildir."""
    out = {}
    base = srv.maildir(addr, folder)
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(base, sub))
        except FileNotFoundError:
            continue
        for n in names:
            if not n.startswith("."):
                stem, _, flags = n.partition(":2,")
                out[os.path.join(base, sub, n)] = (stem, flags)
    return out


def tem_contents(srv, addr, folder=""):
    return sorted(read(p) for p in tem_files(srv, addr, folder))


def imap_messages(srv, addr, password, box="INBOX"):
    """{uid: (flags set, BODY[] bytes)} of BOX, read through imaplib."""
    m = imaplib.IMAP4_SSL("127.0.0.1", srv.ports["imaps"],
                          ssl_context=insecure_tls_context())
    try:
        m.login(addr, password)
        typ, dat = m.select(box, readonly=True)
        assert typ == "OK", dat
        typ, dat = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert typ == "OK", dat
        out = {}
        for item in dat:
            if not isinstance(item, tuple):
                continue
            head = item[0].decode()
            uid = int(re.search(r"UID (\d+)", head).group(1))
            flags = re.search(r"FLAGS \(([^)]*)\)", head)
            if flags is None:       # FLAGS after the literal
                flags = re.search(r"FLAGS \(([^)]*)\)", "".join(
                    x.decode() for x in dat if isinstance(x, bytes)))
            out[uid] = (set(flags.group(1).split()), item[1])
        m.logout()
        return out
    finally:
        try:
            m.shutdown()
        except OSError:
            pass
