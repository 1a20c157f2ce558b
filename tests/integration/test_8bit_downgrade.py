"""8-bit mail to a peer that does not offer 8BITMIME (RFC 6152): sent
converted to 7-bit (quoted-printable text, base64 for 8-bit non-text
parts, the MIME structure kept) instead of bounced; only 8-bit headers
still bounce (5.6.3).

Peer: the scripted SMTP server of fakesmtp.py on 127.0.0.7, with an EHLO
that lists no 8BITMIME; DNS as in test_delivery.py.
"""

import email
import email.policy
import os
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from dsnreader import parse_dsn  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402
from temserver import insecure_tls_context, shared_port, wait_for  # noqa: E402
from test_delivery import ALICE, sender_tem, zones  # noqa: E402

TEXT = "Grüße aus Köln — naïve café = ok\n" * 3 + "x" * 90 + "é\n"
HTML = "<p>Grüße</p>\n"

MSG = ("From: Alice <alice@a.test>\r\nTo: u@fake.test\r\n"
       "Subject: hello\r\nMessage-ID: <e1@a.test>\r\nMIME-Version: 1.0\r\n"
       "Content-Type: multipart/mixed; boundary=\"OUT\"\r\n\r\n"
       "preamble\r\n"
       "--OUT\r\n"
       "Content-Type: multipart/alternative; boundary=\"IN\"\r\n\r\n"
       "--IN\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: 8bit\r\n\r\n"
       + TEXT.replace("\n", "\r\n") +
       "--IN\r\n"
       "Content-Type: text/html; charset=utf-8\r\n"
       "Content-Transfer-Encoding: 8bit\r\n\r\n"
       + HTML.replace("\n", "\r\n") +
       "--IN--\r\n"
       "--OUT\r\n"
       "Content-Type: application/octet-stream\r\n"
       "Content-Transfer-Encoding: base64\r\n\r\n"
       "AAECAwQFBgcICQ==\r\n"
       "--OUT--\r\n").encode()


def send(tem, msg, mail_options=("BODY=8BITMIME",)):
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=20) as s:
        s.starttls(context=insecure_tls_context())
        s.login(*ALICE)
        s.sendmail(ALICE[0], ["u@fake.test"], msg,
                   mail_options=list(mail_options))


def seven_bit_peer(port):
    return FakeSMTP("127.0.0.7", port, ehlo=("PIPELINING", "SIZE 10485760"))


def test_8bit_multipart_arrives_as_7bit_and_decodes_back():
    port = shared_port()
    with DnsServer(zones()) as dns, seven_bit_peer(port) as peer, \
            sender_tem(dns, port) as a:
        send(a, MSG)
        wait_for(lambda: peer.messages, what="the converted message")
        mail_from, rcpts, data = peer.messages[0]
        assert "BODY=8BITMIME" not in mail_from, mail_from
        assert all(b < 128 for b in data), "8-bit octets were sent"
        assert max(len(l) for l in data.split(b"\r\n")) <= 998
        m = email.message_from_bytes(data, policy=email.policy.default)
        assert m["Subject"] == "hello"
        parts = [p for p in m.walk() if not p.is_multipart()]
        assert [p.get_content_type() for p in parts] == \
            ["text/plain", "text/html", "application/octet-stream"]
        assert parts[0]["Content-Transfer-Encoding"] == "quoted-printable"
        # (the last line end of a part belongs to the next delimiter)
        assert parts[0].get_content().replace("\r\n", "\n") == TEXT[:-1]
        assert parts[1].get_content().replace("\r\n", "\n") == HTML[:-1]
        # the base64 part is sent as it was
        assert parts[2].get_payload(decode=True) == bytes(range(10))
        assert b"preamble\r\n--OUT\r\n" in data
        assert "status=sent" in a.log_text()
        a.wait_queue_empty()
        assert a.maildir_messages(ALICE[0]) == []


def test_8bit_header_still_bounces():
    port = shared_port()
    msg = ("From: Alice <alice@a.test>\r\nTo: u@fake.test\r\n"
           "Subject: café\r\n\r\nbody\r\n").encode()
    with DnsServer(zones()) as dns, seven_bit_peer(port) as peer, \
            sender_tem(dns, port) as a:
        send(a, msg)
        dsn = wait_for(lambda: a.maildir_messages(ALICE[0]), what="bounce")
        r = parse_dsn(dsn[0]).recipient("u@fake.test")
        assert (r["action"], r["status"]) == ("failed", "5.6.3"), r
        assert peer.messages == []


def test_undeclared_8bit_is_declared_or_converted():
    """8-bit octets sent without BODY=8BITMIME: declared to a peer that
    offers 8BITMIME, converted for one that does not."""
    port = shared_port()
    msg = ("From: Alice <alice@a.test>\r\nTo: u@fake.test\r\n"
           "Subject: plain\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "\r\ncafé\r\n").encode()
    with DnsServer(zones()) as dns, seven_bit_peer(port) as peer, \
            sender_tem(dns, port) as a:
        send(a, msg, mail_options=())
        wait_for(lambda: peer.messages, what="the converted message")
        data = peer.messages[0][2]
        assert b"Content-Transfer-Encoding: quoted-printable\r\n" in data
        assert data.endswith(b"\r\n\r\ncaf=C3=A9\r\n"), data
    with DnsServer(zones()) as dns, FakeSMTP("127.0.0.7", port) as peer, \
            sender_tem(dns, port) as a:
        send(a, msg, mail_options=())
        wait_for(lambda: peer.messages, what="the message")
        assert "BODY=8BITMIME" in peer.messages[0][0]
        assert peer.messages[0][2].endswith("café\r\n".encode())
