"""Refusals over a per-address limit cost a few log lines, never one per
connection: a flood from one address must not fill the disk with log
(issue 9, item 8). The first 10 of each reason in a 10 s window are
logged one by one; the rest are counted and said in one
`refuse-suppressed` line when the next window opens."""

import socket

from temserver import IO_TIMEOUT, SMTPConn, wait_for


def refused_once(port):
    """Opens one connection that must be refused with 421."""
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=IO_TIMEOUT) as s:
        data = s.recv(512)
    assert data.startswith(b"421"), data


def test_refusal_flood_is_logged_in_a_few_lines(make_tem):
    tem = make_tem(extra_conf={"max_sessions_per_ip": "1"})
    # The start-up probe's session holds the address's one slot until it
    # is freed, a moment after the probe saw its 221.
    wait_for(lambda: tem.log_text().count(" smtp disconnect ") >=
             tem.log_text().count(" smtp connect "),
             what="the start-up probe's session to end")
    with SMTPConn(tem.smtp_port) as held:
        held.ehlo()
        for _ in range(60):
            refused_once(tem.smtp_port)
        lines = [l for l in tem.log_text().splitlines()
                 if "reason=max_sessions_per_ip" in l]
        assert 1 <= len(lines) <= 10, lines
        # the next window says how many were left out (an event the
        # server logs once the window has passed: retried until then)
        def summary():
            refused_once(tem.smtp_port)
            return "refuse-suppressed reason=max_sessions_per_ip" in \
                tem.log_text()
        wait_for(summary, timeout=30, what="refuse-suppressed line",
                 interval=0.5)
        said = [l for l in tem.log_text().splitlines()
                if "refuse-suppressed reason=max_sessions_per_ip" in l]
        # 60 refused, 10 logged: at least 50 counted (more if the
        # retries above fell in the same window)
        count = int(said[0].split("count=")[1].split()[0])
        assert count >= 50, said
