"""test_dsn_reader - every DSN golden (tests/data/dsn/NAME.ref, written by
tem's own builder through src/mail/test-dsn.c) read by an independent
parser: Python's `email` package (tests/lib/dsnreader.py), and compared
with the inputs (NAME.in): the recipients and their actions, the sender,
ENVID and ORCPT decoded from xtext, and the returned original (whole or
headers only, as RET asked)."""

import email
import glob
import os
import re

import pytest

from dsnreader import parse_dsn
from temserver import DATA

DSN_DIR = os.path.join(DATA, "dsn")
NAMES = sorted(os.path.basename(p)[:-4]
               for p in glob.glob(os.path.join(DSN_DIR, "*.ref"))
               if os.path.getsize(p) > 0)


def read_in(name):
    """NAME.in -> (settings {key: value}, [recipient dicts], message)."""
    with open(os.path.join(DSN_DIR, name + ".in"), "rb") as f:
        head, _, message = f.read().partition(b"\n---\n")
    settings, rcpts = {}, []
    for line in head.decode("utf-8", "replace").splitlines():
        if line.startswith("#") or ":" not in line:
            continue
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k == "rcpt":
            rcpts.append({"rcpt": v})
        elif rcpts:
            rcpts[-1][k] = v
        else:
            settings[k] = v
    return settings, rcpts, message


def xtext_decode(s):
    return re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), s)


def test_there_are_goldens():
    assert len(NAMES) >= 7, NAMES


def test_the_null_sender_gets_no_dsn():
    settings, _, _ = read_in("nullsender")
    assert settings["sender"] == ""
    assert os.path.getsize(os.path.join(DSN_DIR, "nullsender.ref")) == 0


@pytest.mark.parametrize("name", NAMES)
def test_golden_reads_as_a_dsn(name):
    settings, rcpts, message = read_in(name)
    with open(os.path.join(DSN_DIR, name + ".ref"), "rb") as f:
        raw = f.read()
    dsn = parse_dsn(raw)
    msg = dsn.msg
    assert "MAILER-DAEMON@%s" % settings["hostname"] in msg["From"]
    # the raw field: compat32 leaves raw UTF-8 (SMTPUTF8) undecoded
    head = raw.split(b"\n\n", 1)[0].decode("utf-8")
    to = re.search(r"^To: (.*)$", head, re.M).group(1)
    assert to.strip("<> ") == settings["sender"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Message-ID"] == "<%s>" % settings["message_id"]
    assert dsn.per_message["reporting-mta"] == "dns; " + settings["hostname"]
    if "envid" in settings:
        # control characters are never written back (hostile.in)
        want = xtext_decode(settings["envid"])
        got = dsn.per_message["original-envelope-id"]
        assert not any(ord(c) < 32 for c in got), got
        if not any(ord(c) < 32 for c in want):
            assert got == want
    else:
        assert "original-envelope-id" not in dsn.per_message
    assert len(dsn.recipients) == len(rcpts)
    for want in rcpts:
        r = dsn.recipient(want["rcpt"])
        assert r["action"] == want["action"], r
        if "status" in want:
            assert r["status"] == want["status"], r
        if "orcpt" in want:
            kind, _, addr = want["orcpt"].partition(";")
            got = r["original-recipient"]
            assert got.startswith(kind + "; "), got
            assert "\n" not in got and "\r" not in got
        if want["action"] == "delayed":
            assert "will-retry-until" in r, r
    # the returned original: RET=HDRS or over full_max -> the header only
    if settings.get("ret") == "hdrs" or "full_max" in settings:
        assert dsn.original_type == "text/rfc822-headers"
        assert b"\n\n" not in dsn.original.replace(b"\r\n", b"\n").rstrip(
            b"\n")
    else:
        assert dsn.original_type in ("message/rfc822", "message/global")
        sent = email.message_from_bytes(message) if message else None
        if sent is not None and dsn.original_type == "message/rfc822":
            assert dsn.original["Subject"] == sent["Subject"]
            # (a missing final newline may be added: RFC 2046 5.1.1)
            assert dsn.original.get_payload().replace("\r\n", "\n") \
                .rstrip("\n") == \
                sent.get_payload().replace("\r\n", "\n").rstrip("\n")

