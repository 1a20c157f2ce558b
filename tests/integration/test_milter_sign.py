"""tem's DKIM signature of submitted mail and submission_milters: the
signature is made after the filters (the checks' final phase), so it
covers the header section and the body as they left them, whether the
body stayed in memory or in a spool file, was kept (the body hash made
while spooling is reused) or replaced (hashed again from the new spool on
a worker); the stored and the queued copies verify with dkimpy.

Also the transaction's id as the filters see it: macro i from MAIL on,
one per transaction (a new one after RSET), the id of "queued as" and
of tem's Received line.
"""

import os
import re
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from milterharness import (ALICE, BOB, SENDER, body_of,  # noqa: E402,F401
                           inbox, milter, milter_tem, one_message, submit,
                           transaction, values)
from temserver import (SMTPConn, free_port, simple_message,  # noqa: E402
                       wait_for)
from test_milter_session import dkim_verifies, signing_tem  # noqa: E402
from test_spool import queue_contents  # noqa: E402
from testmilter import replacement_body  # noqa: E402

FAR = "far@remote.test"
LINE = 76               # the test milter's body lines, CRLF included
BIG = 4000 * LINE       # more than a spool buffer: the body is a file


def signer(make_tem, milters, **conf):
    """signing_tem with remote mail kept in the queue (its relay refuses
    connections)."""
    return signing_tem(make_tem, milters,
                       relay_host="127.0.0.1:%d" % free_port(), **conf)


def body_lines(size):
    """SIZE octets of CRLF lines (the test milter's own generator; SIZE a
    multiple of LINE, so the last line is whole)."""
    assert size % LINE == 0
    return replacement_body(size)


def field_names(stored):
    """The names of STORED's header fields, in order."""
    return [line.split(b":", 1)[0] for line in
            stored.split(b"\n\n", 1)[0].split(b"\n")
            if line[:1] not in (b" ", b"\t")]


def lf(data):
    return data.replace(b"\r\n", b"\n")


SIZES = {"small": LINE, "big": BIG + 17 * LINE}


@pytest.mark.parametrize("sent,replaced", [("small", "big"),
                                           ("big", "small"),
                                           ("big", "big")])
def test_signature_covers_edited_header_and_replaced_body(make_tem, milter,
                                                          sent, replaced):
    """A disclaimer-like filter: Subject changed, a field added, the body
    replaced; the copy in the mailbox and the queued copy for a remote
    recipient both carry a valid signature of the final message."""
    new = body_lines(SIZES[replaced])
    m = milter(eom={"replace_body": {"size": SIZES[replaced]},
                    "edits": [{"op": "change", "index": 1, "name": "Subject",
                               "value": "[ext] signed after"},
                              {"op": "add", "name": "X-Disclaimer",
                               "value": "yes"}]})
    tem, records = signer(make_tem, [m])
    submit(tem, [BOB, FAR], simple_message(
        mail_from=ALICE, to=BOB, body=body_lines(SIZES[sent])))
    stored = one_message(tem, BOB)
    queued = wait_for(lambda: list(queue_contents(tem).values()), 10,
                      "the queued copy")[0]
    for copy in (stored, queued):
        assert body_of(copy) == lf(new), len(body_of(copy))
        assert values(copy, "Subject") == ["[ext] signed after"]
        assert values(copy, "X-Disclaimer") == ["yes"]
        assert len(values(copy, "DKIM-Signature")) == 1, copy[:800]
        assert dkim_verifies(records, copy)
    # the signature went on top of the message as the filter left it
    names = field_names(stored)
    assert names.index(b"DKIM-Signature") < names.index(b"Received"), names
    assert re.search(r"dkim-signed msgid=\S+ domain=a.test signatures=1 "
                     r"after=milters", tem.log_text())


def test_big_body_kept_header_edited(make_tem, milter):
    """The body is not replaced: the body hash made as it was spooled
    still holds, only the header section is signed after the filter."""
    m = milter(eom={"edits": [{"op": "change", "index": 1, "name": "Subject",
                               "value": "changed"}]})
    tem, records = signer(make_tem, [m])
    body = body_lines(BIG)
    submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB, body=body))
    stored = one_message(tem, BOB)
    assert body_of(stored) == lf(body)
    assert values(stored, "Subject") == ["changed"]
    assert dkim_verifies(records, stored)


def test_filter_that_accepts_at_mail_still_signed(make_tem, milter):
    """A filter that accepts the transaction at MAIL sees no message: the
    final phase runs straight after the checks and still signs."""
    m = milter(at={"mail": {"do": "accept"}})
    tem, records = signer(make_tem, [m])
    submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB))
    stored = one_message(tem, BOB)
    assert m.events("eom") == []
    assert dkim_verifies(records, stored)


def test_no_milters_signature_below_received(make_tem):
    """Without filters nothing changed: signed at the end of the data,
    the signature right below tem's Received line."""
    tem, records = signer(make_tem, [])
    submit(tem, [BOB], simple_message(mail_from=ALICE, to=BOB,
                                      body=body_lines(BIG)))
    stored = one_message(tem, BOB)
    assert dkim_verifies(records, stored)
    names = field_names(stored)
    assert names.index(b"DKIM-Signature") == names.index(b"Received") + 1
    assert "after=milters" not in tem.log_text()


# --- macro i: the transaction's id from MAIL on ---------------------------

def test_queue_id_macro_from_mail_on(make_tem, milter):
    """Postfix sends i with MAIL: the same id at MAIL, RCPT's stages, EOM,
    in "queued as" and in tem's Received line; a new one per transaction,
    and a transaction ended by RSET does not lend its id to the next."""
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        assert c.cmd("MAIL FROM:<%s>" % SENDER).code == 250
        assert c.cmd("RSET").code == 250
        queued = []
        for _ in range(2):
            out = transaction(c, msg=simple_message(to=ALICE))
            assert out.step is None, out.replies
            queued.append(out.reply.text.split()[-1])
        c.cmd("QUIT")
    ids = [e["macros"].get("i") for e in m.events("mail")]
    assert len(ids) == 3 and all(ids), ids
    assert len(set(ids)) == 3, ids
    eoms = [e["macros"].get("i") for e in m.events("eom")]
    assert eoms == ids[1:] == queued, (eoms, ids, queued)
    stored = wait_for(lambda: len(inbox(tem)) == 2 and inbox(tem), 10,
                      "two messages")
    received = sorted(re.search(r"\bid ([0-9a-f]{16})\b",
                                values(x, "Received")[0]).group(1)
                      for x in stored)
    assert received == sorted(queued), (received, queued)


def test_client_name_unknown_as_postfix(make_tem, milter):
    """tem looks up no PTR: the client's name is what Postfix sends when
    it has none ({client_name} unknown, _ "unknown [ADDR]", the CONNECT
    host "[ADDR]")."""
    m = milter()
    tem = milter_tem(make_tem, smtp=[m])
    with SMTPConn(tem.smtp_port, timeout=30) as c:
        c.ehlo()
        c.cmd("QUIT")
    conn = m.events("connect")[-1]     # recorded before tem's 220
    assert conn["macros"].get("{client_name}") == "unknown", conn
    assert conn["macros"].get("_") == "unknown [127.0.0.1]", conn
    assert conn["args"][0] == "[127.0.0.1]", conn
