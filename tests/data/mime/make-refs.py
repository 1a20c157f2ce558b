#!/usr/bin/env python3
"""make-refs.py - capture Dovecot's FETCH answers for the fixtures here.

Usage: make-refs.py DOVECOT_CONF MAILDIR [NAME.eml ...]
Runs Dovecot's imap binary in PREAUTH mode (no daemon, no network) on a
Maildir holding one fixture at a time and writes NAME.ref: one record per
FETCH item, "ITEM LEN\\n" + LEN bytes of the answer's value + "\\n", or
"ITEM NO\\n" + the tagged NO text when Dovecot refused the item.
src/mail/test-imap-msgstruct.c compares tem's output with these records.
Needs the dovecot-imapd package; run as root; the Maildir must belong to
the mail_uid of the config (see the test's header comment).
"""
import os, re, shutil, subprocess, sys

ITEMS = [
    "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE",
    "BODY[HEADER]", "BODY[TEXT]", "BODY[1]", "BODY[1.MIME]", "BODY[2]",
    "BODY[2.MIME]", "BODY[1.1]", "BODY[1.2]", "BODY[2.1]",
    "BODY[2.HEADER]", "BODY[2.TEXT]", "BODY[3]",
    "BODY[HEADER.FIELDS (FROM SUBJECT)]",
    "BODY[HEADER.FIELDS.NOT (FROM SUBJECT)]",
    "BODY[1]<3.7>", "BODY[]<20.30>",
    "BINARY[1]", "BINARY.SIZE[1]", "BINARY[1.1]", "BINARY[2]",
    "BINARY.SIZE[2]",
]

def peek(item):
    return item.replace("BODY[", "BODY.PEEK[", 1).replace(
        "BINARY[", "BINARY.PEEK[", 1)

def setup(maildir, eml):
    shutil.rmtree(maildir, ignore_errors=True)
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, d))
    shutil.copy(eml, os.path.join(maildir, "cur", "1000.M1P1.ref:2,S"))
    subprocess.run(["chown", "-R", "nobody:nogroup", maildir], check=True)

def fetch(conf, maildir, item):
    """One imap process per item: Dovecot pipelines otherwise."""
    cmds = b"s select INBOX\r\nt fetch 1 (%s)\r\nz logout\r\n" % (
        peek(item).encode())
    env = dict(os.environ, HOME=maildir, USER="test")
    out = subprocess.run(["/usr/lib/dovecot/imap", "-c", conf],
                         input=cmds, env=env, capture_output=True,
                         timeout=30).stdout
    m = re.compile(rb"\r\nt (OK|NO|BAD) ([^\r]*)\r\n").search(out)
    if m.group(1) != b"OK":
        return None, m.group(2)
    seg = out[:m.start() + 2]
    start = seg.find(b"* 1 FETCH (")
    body = seg[start + len(b"* 1 FETCH ("):]
    assert body.endswith(b")\r\n"), body
    body = body[:-3]
    # Drop the item name: up to the first space after any [...] and <n>.
    mm = re.match(rb"[A-Z0-9.]+(\[[^\]]*\])?(<\d+>)? ", body)
    return body[mm.end():], None

def main():
    conf, maildir = sys.argv[1], sys.argv[2]
    for eml in sys.argv[3:]:
        setup(maildir, eml)
        recs = b""
        for it in ITEMS:
            val, err = fetch(conf, maildir, it)
            if val is None:
                recs += b"%s NO\n%s\n" % (it.encode(), err)
            else:
                recs += b"%s %d\n%s\n" % (it.encode(), len(val), val)
        open(eml[:-4] + ".ref", "wb").write(recs)

main()
