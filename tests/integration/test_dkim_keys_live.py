"""test_dkim_keys_live - `tem dkim keygen` while the server runs: every new
key is loaded within seconds, also a second key of a domain that has one
already (its folder exists, so only the key file is new: the server must
still notice), and the newest key of each type is the one that signs.
"""

import re
import smtplib

from temserver import TemServer, wait_for

ALICE = ("alice@a.test", "alice-secret-1")


def loads(tem):
    return len(re.findall(r"server dkim-keys domains=1", tem.log_text()))


def test_second_key_of_a_domain_is_loaded():
    with TemServer(users=dict([ALICE]),
                   services=("smtp", "submission")) as tem:
        tem.admin("dkim", "keygen", "a.test", "s1")
        wait_for(lambda: loads(tem) >= 1, 10, "the first key loaded")
        seen = loads(tem)
        tem.admin("dkim", "keygen", "a.test", "s2")
        wait_for(lambda: loads(tem) > seen, 10,
                 "the second key of a.test loaded")
        with smtplib.SMTP("127.0.0.1", tem.ports["submission"],
                          timeout=30) as c:
            c.starttls()
            c.login(*ALICE)
            c.sendmail(ALICE[0], [ALICE[0]],
                       b"From: alice@a.test\r\nTo: alice@a.test\r\n"
                       b"Subject: k\r\n\r\nhi\r\n")
        got = wait_for(lambda: tem.maildir_messages(ALICE[0]),
                       what="delivery")
        sig = re.search(rb"DKIM-Signature:.*?(?=\r?\n\S)", got[0], re.S)
        assert sig, got[0][:400]
        assert re.search(rb"s=s2;", sig.group(0)), sig.group(0)
