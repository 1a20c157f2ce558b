"""FETCH PREVIEW (RFC 8970) against the real server, with imaplib: the
capability, plain, quoted-printable, base64 and charset-converted text,
HTML stripped, attachments skipped, the 256-character cut, PREVIEW (LAZY),
no \\Seen set, bad modifiers refused.

One server for the module; each test logs in as a user of its own."""

import imaplib
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import imapclient  # noqa: E402

USERS = {"p%d@a.test" % i: "pw-p%d-Secret" % i for i in range(1, 11)}
srv, user, login = imapclient.imap_fixtures(USERS)


def lib(srv, user):
    m = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
    m.login(*user)
    return m


def previews(m, items="PREVIEW"):
    """{seq: preview bytes} from FETCH 1:* (items)."""
    typ, dat = m.fetch("1:*", "(%s)" % items)
    assert typ == "OK", dat
    out = {}
    i = 0
    while i < len(dat):
        d = dat[i]
        if isinstance(d, tuple):	# a literal
            seq = int(d[0].split()[0])
            out[seq] = d[1]
        elif d and d != b")":
            mm = re.match(rb'(\d+) \(PREVIEW "((?:[^"\\]|\\.)*)"\)', d)
            assert mm, d
            out[int(mm.group(1))] = re.sub(rb"\\(.)", rb"\1",
                                           mm.group(2))
        i += 1
    return out


MSGS = [
    b"Subject: plain\r\n\r\n  Hello,\r\n\r\n   this is   the body.\r\n",
    b"Subject: qp\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Caf=E9 =3D cr=\r\n=E8me\r\n",
    b"Subject: b64\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nSGVsbG8gYmFzZTY0IQ==\r\n",
    b"Subject: html\r\nContent-Type: text/html\r\n\r\n<html><head><style>"
    b"p {}</style></head><body><p>Hi <b>you</b> &amp; me</p>"
    b"<div>bye</div></body></html>\r\n",
    b"Subject: mixed\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64"
    b"\r\n\r\niVBORw0K\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
    b"Text after the image.\r\n--b--\r\n",
    b"Subject: none\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n",
]


def test_preview(srv, user):
    m = lib(srv, user)
    typ, dat = m.capability()
    assert b"PREVIEW" in dat[0].split()
    for data in MSGS:
        m.append("INBOX", None, None, data)
    m.select("INBOX")
    p = previews(m)
    assert p[1] == b"Hello, this is the body."
    assert p[2] == "Café = crème".encode()
    assert p[3] == b"Hello base64!"
    assert p[4] == b"Hi you & me bye"
    assert p[5] == b"Text after the image."
    assert p[6] == b""
    # PREVIEW (LAZY) gives the same; neither sets \Seen
    assert previews(m, "PREVIEW (LAZY)") == p
    typ, dat = m.search(None, "SEEN")
    assert dat == [b""]
    m.logout()


def test_preview_cut_and_utf8(srv, user, login):
    m = lib(srv, user)
    body = ("é" * 300).encode()
    m.append("INBOX", None, None, b"Subject: long\r\nContent-Type: "
             b"text/plain; charset=utf-8\r\n\r\n" + body + b"\r\n")
    m.select("INBOX")
    p = previews(m)
    assert p[1].decode() == "é" * 256
    m.logout()
    # an IMAP4rev2 client may get UTF-8 in a quoted string
    c = login(rev2=True)
    c.cmd("SELECT INBOX")
    r = c.cmd("FETCH 1 (UID PREVIEW)")
    assert r.fetches()[1]["PREVIEW"].decode() == "é" * 256


def test_preview_bad_modifier(srv, user, login):
    c = login()
    c.append("INBOX", b"Subject: x\r\n\r\nbody\r\n")
    c.cmd("SELECT INBOX")
    c.cmd("FETCH 1 (PREVIEW (FUZZY))", expect="BAD")
    c.cmd("FETCH 1 (PREVIEW ())", expect="BAD")
    r = c.cmd("FETCH 1 (PREVIEW (LAZY) FLAGS)")
    assert r.fetches()[1]["PREVIEW"] == b"body"
