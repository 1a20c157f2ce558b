"""dsnreader - read a delivery status notification with Python's `email`
package, independently of tem's own DSN code (src/mail/dsn.c).

Trust: test code only. parse_dsn(raw) checks the RFC 3461-3464 / RFC 6533
shape and returns what it found; any deviation raises AssertionError:
  - top level multipart/report with report-type delivery-status (or
    global-delivery-status for SMTPUTF8), a boundary, MIME-Version;
  - first part text/* (the human-readable notice);
  - second part message/delivery-status (message/global-delivery-status):
    one per-message block with Reporting-MTA, then one block per recipient
    with Final-Recipient, Action, Status (class 5 for failed, 4 for
    delayed, 2 for delivered/relayed/expanded);
  - an optional third part: message/rfc822 (message/global) or
    text/rfc822-headers, the returned original.
"""

import email
import email.policy
import re

ACTIONS = {"failed": "5", "delayed": "4", "delivered": "2", "relayed": "2",
           "expanded": "2"}
STATUS = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}$")


class DSN:
    def __init__(self, msg, notice, per_message, recipients, original,
                 original_type):
        self.msg = msg                  # the whole email.message.Message
        self.notice = notice            # text of the human-readable part
        self.per_message = per_message  # {field-lowercase: value}
        self.recipients = recipients    # [{field-lowercase: value}]
        self.original = original        # Message, header bytes, or None
        self.original_type = original_type

    def recipient(self, address):
        """The per-recipient block whose Final-Recipient is ADDRESS."""
        for r in self.recipients:
            if r["final-recipient"].split(";", 1)[1].strip().lower() == \
                    address.lower():
                return r
        raise AssertionError("no Final-Recipient %s in %r" % (
            address, [r.get("final-recipient") for r in self.recipients]))


def _fields(block):
    """email Message (headers only) -> {name-lowercase: unfolded value}."""
    out = {}
    for name, value in block.items():
        key = name.lower()
        assert key not in out, "field %s twice in a status block" % name
        out[key] = re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()
    return out


def _blocks(part):
    """The status blocks of a (global-)delivery-status part."""
    payload = part.get_payload()
    if part.get_content_type() == "message/delivery-status":
        return [_fields(b) for b in payload]
    # message/global-delivery-status: email reads the first block as the
    # header of a message and the other blocks as its body
    if isinstance(payload, list):
        first, body = [_fields(payload[0])], payload[0]
    else:
        first, body = [], part
    # decode=True: the raw bytes (without it, raw UTF-8 becomes U+FFFD)
    rest = body.get_payload(decode=True).decode("utf-8")
    rest = rest.replace("\r\n", "\n").strip("\n")
    return first + [_fields(email.message_from_string(
        b + "\n\n", policy=email.policy.compat32))
        for b in re.split(r"\n\n+", rest) if b.strip()]


def parse_dsn(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert msg.get("MIME-Version", "").strip() == "1.0", msg.get(
        "MIME-Version")
    assert msg.get_content_type() == "multipart/report", \
        msg.get_content_type()
    rtype = msg.get_param("report-type")
    assert rtype in ("delivery-status", "global-delivery-status"), rtype
    assert msg.get_boundary(), "multipart/report without a boundary"
    assert not msg.defects, msg.defects
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) in (2, 3), \
        "want 2 or 3 parts, got %r" % [p.get_content_type() for p in parts]
    notice, status = parts[0], parts[1]
    assert notice.get_content_maintype() == "text", \
        notice.get_content_type()
    want = "message/" + rtype
    assert status.get_content_type() == want, (status.get_content_type(),
                                              want)
    blocks = _blocks(status)
    assert len(blocks) >= 2, "no per-recipient block: %r" % blocks
    per_message, recipients = blocks[0], blocks[1:]
    assert per_message.get("reporting-mta", "").startswith("dns;"), \
        per_message
    for r in recipients:
        for f in ("final-recipient", "action", "status"):
            assert f in r, "recipient block without %s: %r" % (f, r)
        assert ";" in r["final-recipient"], r
        action = r["action"].lower()
        assert action in ACTIONS, r
        m = STATUS.match(r["status"])
        assert m, "bad Status %r" % r["status"]
        assert m.group(1) == ACTIONS[action], \
            "Action %s with Status %s" % (action, r["status"])
    original, otype = None, None
    if len(parts) == 3:
        otype = parts[2].get_content_type()
        assert otype in ("message/rfc822", "message/global",
                         "text/rfc822-headers"), otype
        if otype == "message/rfc822":
            (original,) = parts[2].get_payload()
        else:
            original = parts[2].get_payload(decode=True)
    text = notice.get_payload(decode=True).decode(
        notice.get_content_charset() or "us-ascii", "replace")
    return DSN(msg, text, per_message, recipients, original, otype)
