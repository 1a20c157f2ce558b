"""/metrics: Prometheus text format on http_listen, parsed by the real
prometheus_client parser, each counter checked after real traffic; only
addresses in metrics_allow may read it."""
import imaplib
import os
import poplib
import smtplib
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import (TemServer, free_port, insecure_tls_context,  # noqa
                        tem_bin, wait_for)  # noqa: E402

ALICE = ("alice@a.test", "alice-Secret-1")
MSG = "From: <x@remote.test>\r\nTo: <alice@a.test>\r\nSubject: m\r\n\r\nhi\r\n"


def scrape(tem, source=None):
    """(families by name, raw text); source binds the client's address."""
    url = "http://127.0.0.1:%d/metrics" % tem.ports["http"]
    if source is None:
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200
            ctype = r.headers["Content-Type"]
            assert ctype.startswith("text/plain; version=0.0.4"), ctype
            text = r.read().decode("utf-8")
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        return fams, text
    s = socket.create_connection(("127.0.0.1", tem.ports["http"]),
                                 timeout=10, source_address=(source, 0))
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    finally:
        s.close()
    return None, data.decode("utf-8", "replace")


def value(fams, family, name=None, **labels):
    """A sample's value (0 when the series is absent)."""
    for s in fams[family].samples:
        if (name is None or s.name == name) and all(
                s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


def total(fams, family):
    return sum(s.value for s in fams[family].samples)


@pytest.fixture(scope="module")
def tem():
    dead = free_port()              # nothing listens: remote mail defers
    with TemServer(services=("smtp", "submission", "imap", "imaps", "pop3", "http"),
                   extra_conf={"relay_host": "127.0.0.1:%d" % dead,
                               "auth_allow_cleartext": "yes",
                               "metrics_allow": "127.0.0.1, ::1"}) as t:
        yield t


def test_format_and_process_metrics(tem):
    fams, text = scrape(tem)
    # one HELP and one TYPE per family, no series twice
    series = [l.split(" ")[0] for l in text.splitlines()
              if l and not l.startswith("#")]
    assert len(series) == len(set(series))
    assert value(fams, "tem_build_info") == 1
    assert value(fams, "process_resident_memory_bytes") > 1 << 20
    assert value(fams, "process_open_fds") > 5
    assert value(fams, "process_start_time_seconds") > 1.7e9
    assert fams["tem_commit_seconds"].type == "histogram"
    assert fams["tem_messages_received"].type == "counter"


def test_counters_follow_traffic(tem):
    before, _ = scrape(tem)
    # SMTP: one message accepted, one refused (over message_size_limit
    # announced with SIZE=) on the MX port
    with smtplib.SMTP("127.0.0.1", tem.ports["smtp"], timeout=30) as c:
        c.ehlo("client.remote.test")
        c.sendmail("x@remote.test", [ALICE[0]], MSG)
        code, _ = c.mail("x@remote.test", ["SIZE=999999999999"])
        assert code == 552
    # TLS: a STARTTLS that works, an implicit-TLS port fed garbage
    with smtplib.SMTP("127.0.0.1", tem.ports["smtp"], timeout=30) as c:
        c.starttls(context=insecure_tls_context())
        c.ehlo("client.remote.test")
    g = socket.create_connection(("127.0.0.1", tem.ports["imaps"]),
                                 timeout=10)
    g.sendall(b"this is not a TLS ClientHello\r\n" * 8)
    try:
        g.recv(4096)                # an alert, or a reset
    except OSError:
        pass
    g.close()
    wait_for(lambda: "imap tls-failed" in tem.log_text(),
             what="the failed handshake")
    # submission: one message for a remote address (queued, deferred)
    with smtplib.SMTP("127.0.0.1", tem.ports["submission"], timeout=30) as c:
        c.ehlo("client")
        c.login(*ALICE)
        c.sendmail(ALICE[0], ["far@remote.test"], "Subject: r\r\n\r\nr\r\n")
    # IMAP: a failed then a good login
    with imaplib.IMAP4("127.0.0.1", tem.ports["imap"]) as m:
        with pytest.raises(imaplib.IMAP4.error):
            m.login(ALICE[0], "wrong")
    with imaplib.IMAP4("127.0.0.1", tem.ports["imap"]) as m:
        m.login(*ALICE)
        m.logout()
    # POP3: one session with a login
    p = poplib.POP3("127.0.0.1", tem.ports["pop3"], timeout=30)
    p.user(ALICE[0])
    p.pass_(ALICE[1])
    p.quit()
    wait_for(lambda: "status=deferred" in tem.log_text(),
             what="the remote message deferred")
    after, _ = scrape(tem)

    def moved(family, name=None, **labels):
        return (value(after, family, name, **labels) -
                value(before, family, name, **labels))

    assert moved("tem_messages_received") == 2      # MX + submission
    assert moved("tem_messages_rejected", reason="size") == 1
    assert moved("tem_messages_delivered", where="local") == 1
    assert moved("tem_messages_deferred") >= 1
    assert moved("tem_sessions", "tem_sessions_total",
                 protocol="smtp") >= 2
    assert moved("tem_sessions", "tem_sessions_total",
                 protocol="submission") == 1
    assert moved("tem_sessions", "tem_sessions_total", protocol="imap") == 3
    assert moved("tem_sessions", "tem_sessions_total", protocol="pop3") == 1
    assert moved("tem_sessions", "tem_sessions_total", protocol="http") >= 1
    assert moved("tem_tls_handshakes", service="smtp") == 1
    assert moved("tem_tls_handshake_failures", service="imaps") == 1
    assert moved("tem_auth_failures", protocol="imap") == 1
    assert moved("tem_auth_successes", protocol="imap") == 1
    assert moved("tem_auth_successes", protocol="pop3") == 1
    assert moved("tem_auth_successes", protocol="submission") == 1
    # the MX message had an SPF result and an (absent) DKIM signature
    assert total(after, "tem_spf_results") - total(before,
                                                   "tem_spf_results") == 1
    assert moved("tem_dkim_results", result="none") == 1
    assert total(after, "tem_dmarc_results") - total(
        before, "tem_dmarc_results") == 1
    # the deferred message waits in the queue
    assert value(after, "tem_queue_messages") == 1
    assert value(after, "tem_queue_oldest_seconds") >= 0
    # both committers made something durable, timed in the histogram
    assert moved("tem_commit_seconds", "tem_commit_seconds_count",
                 committer="maildir") >= 1
    assert moved("tem_commit_seconds", "tem_commit_seconds_count",
                 committer="queue") >= 1
    # the sessions are over (the scraping one is open)
    assert wait_for(lambda: value(scrape(tem)[0], "tem_sessions_open",
                                  protocol="imap") == 0, what="imap gauge")


def test_bounce_counted():
    """A remote message that outlives queue_lifetime: deferred, then one
    DSN made."""
    dead = free_port()
    with TemServer(services=("submission", "http"),
                   extra_conf={"relay_host": "127.0.0.1:%d" % dead,
                               "auth_allow_cleartext": "yes",
                               "queue_lifetime": "2s"}) as t:
        with smtplib.SMTP("127.0.0.1", t.ports["submission"],
                          timeout=30) as c:
            c.login(*ALICE)
            c.sendmail(ALICE[0], ["far@remote.test"], "Subject: b\r\n\r\nb\r\n")
        wait_for(lambda: t.maildir_messages(ALICE[0]), timeout=60,
                 what="the bounce")
        fams, _ = scrape(t)
        assert value(fams, "tem_messages_bounced") == 1
        assert value(fams, "tem_messages_deferred") >= 1
        assert value(fams, "tem_messages_delivered", where="local") == 1


def test_not_allowed_gets_403():
    with TemServer(services=("smtp", "http"),
                   extra_conf={"metrics_allow": "127.0.0.1"}) as t:
        _, raw = scrape(t, source="127.0.0.2")
        assert raw.startswith("HTTP/1.1 403"), raw[:200]
        assert "tem_" not in raw
        wait_for(lambda: "metrics-denied addr=127.0.0.2" in t.log_text(),
                 what="the 403 log line")
        fams, _ = scrape(t)             # 127.0.0.1 is allowed
        assert "tem_sessions_open" in fams


def test_bad_metrics_allow_is_refused_with_line(tmp_path):
    conf = tmp_path / "tem.conf"
    conf.write_text("data_dir = %s\nmetrics_allow = 127.0.0.1, "
                    "10.0.0.0/33\n" % tmp_path)
    r = subprocess.run([tem_bin(), "-c", str(conf), "check"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "%s:2:" % conf in r.stderr + r.stdout, r.stderr
