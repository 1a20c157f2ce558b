"""Outbound connection reuse: a healthy connection is kept idle for a
few seconds after its batch, and the next batch to the same host goes
over it (RSET first as a probe, "mta reuse" in the log); a peer that
closes the idle connection, or answers the probe with 421, costs a new
connection and nothing else: every message arrives exactly once.

Peer: fakesmtp.py on 127.0.0.7 (fake.test), DNS as in test_delivery.py.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dnsserver import DnsServer  # noqa: E402
from fakesmtp import FakeSMTP  # noqa: E402
from temserver import shared_port, wait_for  # noqa: E402
from test_delivery import sender_tem, submit, zones  # noqa: E402

RCPT = "u@fake.test"


def send_two(a, peer):
    """Two messages a moment apart: the second once the first arrived."""
    submit(a, [RCPT], "first\r\n")
    wait_for(lambda: len(peer.messages) == 1, what="the first message")
    submit(a, [RCPT], "second\r\n")
    wait_for(lambda: len(peer.messages) == 2, what="the second message")
    a.wait_queue_empty()
    bodies = [m[2].split(b"\r\n\r\n", 1)[1] for m in peer.messages]
    assert bodies == [b"first\r\n", b"second\r\n"], bodies


def test_second_batch_reuses_the_connection():
    port = shared_port()
    with DnsServer(zones()) as dns, FakeSMTP("127.0.0.7", port) as peer, \
            sender_tem(dns, port) as a:
        send_two(a, peer)
        assert peer.sessions == 1
        log = a.log_text()
        assert "mta reuse host=mx.fake.test[127.0.0.7] messages=1 sent=1" \
            in log, log


def test_peer_closing_the_idle_connection_loses_nothing():
    port = shared_port()
    with DnsServer(zones()) as dns, \
            FakeSMTP("127.0.0.7", port, close_after_data=True) as peer, \
            sender_tem(dns, port) as a:
        send_two(a, peer)
        assert peer.sessions == 2
        assert "mta idle-closed host=mx.fake.test[127.0.0.7]" in a.log_text()


def test_probe_refused_falls_back_to_a_new_connection():
    port = shared_port()
    with DnsServer(zones()) as dns, \
            FakeSMTP("127.0.0.7", port, rset=["421 4.4.2 idle too long"]) \
            as peer, sender_tem(dns, port) as a:
        send_two(a, peer)
        assert peer.sessions == 2
        log = a.log_text()
        assert "mta reuse host=mx.fake.test[127.0.0.7]" in log
        assert "421 4.4.2 idle too long (in reply to RSET command)" in log
        assert "status=deferred" not in log
