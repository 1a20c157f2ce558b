"""ACME (RFC 8555) against Debian's pebble: certificates issued with
http-01 and tls-alpn-01, a failed challenge retried, renewal, and the new
certificate served on 993 and 465 without a restart (openssl s_client)."""

import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from pebble import Pebble  # noqa: E402
from temserver import DATA, TemServer, free_port, wait_for  # noqa: E402

NAMES = ("mx.a.test", "mail.a.test")


def served_cert(port, name="mx.a.test"):
    """(serial, issuer, subjectAltName) of the leaf tem serves on PORT."""
    s = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-servername", name], input=b"", stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, timeout=30)
    x = subprocess.run(
        ["openssl", "x509", "-noout", "-serial", "-issuer", "-ext",
         "subjectAltName"], input=s.stdout, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, timeout=30).stdout.decode()
    serial = re.search(r"serial=(\S+)", x)
    issuer = re.search(r"issuer=(.*)", x)
    return (serial.group(1) if serial else None,
            issuer.group(1).strip() if issuer else None, x)


def subject_of(pem):
    return subprocess.run(["openssl", "x509", "-noout", "-subject"],
                          input=pem.encode(), stdout=subprocess.PIPE,
                          check=True).stdout.decode().split("=", 1)[1].strip()


def acme_tem(pebble, http_port, tls_port, challenge, env=None):
    srv = TemServer(services=("smtp", "imaps", "submissions"), extra_conf={
        "http_listen": "127.0.0.1:%d" % http_port,
        "https_listen": "127.0.0.1:%d" % tls_port,
        "acme_directory": pebble.directory,
        "acme_ca_file": pebble.ca_file,
        "acme_email": "postmaster@a.test",
        "acme_names": ", ".join(NAMES),
        "acme_challenge": challenge})
    srv.env.update(env or {})
    return srv


def issued(tem, n=1):
    return tem.log_text().count("acme issued") >= n


def check_served(tem, pebble):
    """The ACME leaf, issued by pebble's intermediate, on 993 and 465."""
    inter = subject_of(pebble.intermediate_pem())
    serials = set()
    for svc in ("imaps", "submissions"):
        serial, issuer, text = served_cert(tem.ports[svc])
        assert issuer == inter, (svc, issuer, inter)
        for n in NAMES:
            assert "DNS:" + n in text, (svc, text)
        serials.add(serial)
    assert len(serials) == 1, serials
    return serials.pop()


def files_ok(tem):
    acme = os.path.join(tem.data_dir, "acme")
    assert os.stat(os.path.join(acme, "account.key")).st_mode & 0o077 == 0
    with open(os.path.join(acme, "current")) as f:
        cur = os.path.join(acme, f.read().strip())
    assert os.stat(os.path.join(cur, "key.pem")).st_mode & 0o077 == 0
    with open(os.path.join(cur, "fullchain.pem")) as f:
        chain = f.read()
    # the full chain: the leaf and pebble's intermediate
    assert chain.count("BEGIN CERTIFICATE") >= 2, chain


def run_issue(challenge):
    http_port, tls_port = free_port(), free_port()
    with Pebble(http_port, tls_port) as pebble:
        with acme_tem(pebble, http_port, tls_port, challenge) as tem:
            wait_for(lambda: issued(tem), 120, "a certificate")
            serial = check_served(tem, pebble)
            fixture = subprocess.run(
                ["openssl", "x509", "-noout", "-serial", "-in",
                 os.path.join(DATA, "mx.a.test.crt")],
                stdout=subprocess.PIPE, check=True).stdout.decode()
            assert serial not in fixture   # tls_cert_file replaced
            files_ok(tem)
            answered = ("acme-challenge/.* status=200" if challenge == "http-01"
                        else "tls-alpn-01-answered")
            assert re.search(answered, tem.log_text()), answered
            # the https listener serves it too
            assert served_cert(tls_port)[0] == serial
            # a reload keeps it and orders nothing (the names are covered)
            tem.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "server reloaded" in tem.log_text(), 30,
                     "the reload")
            assert check_served(tem, pebble) == serial
            # a restart keeps the certificate and orders nothing
            tem.restart()
            assert check_served(tem, pebble) == serial
            assert tem.log_text().count("acme issued") == 1


def test_issue_http01():
    run_issue("http-01")


def test_issue_tls_alpn01():
    run_issue("tls-alpn-01")


def test_failed_challenge_retried():
    http_port, tls_port = free_port(), free_port()
    with Pebble(http_port, tls_port) as pebble:
        # the CA first finds the names at an address tem is not on
        pebble.set_default_ipv4("127.0.0.2")
        with acme_tem(pebble, http_port, tls_port, "http-01",
                      {"TEM_ACME_RETRY_SECONDS": "1"}) as tem:
            wait_for(lambda: "acme order-failed" in tem.log_text(), 120,
                     "a failed order")
            line = [l for l in tem.log_text().splitlines()
                    if "acme order-failed" in l][0]
            assert "retry=1s" in line and "invalid" in line, line
            assert not issued(tem)
            pebble.set_default_ipv4("127.0.0.1")
            wait_for(lambda: issued(tem), 120, "a certificate after retry")
            check_served(tem, pebble)


def test_renewal_served_without_restart():
    # pebble 2.4's certificates live 5 years: the test knob makes every
    # check (each 2 s) find the certificate due
    http_port, tls_port = free_port(), free_port()
    with Pebble(http_port, tls_port) as pebble:
        with acme_tem(pebble, http_port, tls_port, "http-01", {
                "TEM_ACME_CHECK_SECONDS": "2",
                "TEM_ACME_RENEW_BEFORE_SECONDS": str(100 * 365 * 86400)}) \
                as tem:
            wait_for(lambda: issued(tem), 120, "a certificate")
            first = check_served(tem, pebble)
            pid = tem.proc.pid
            wait_for(lambda: issued(tem, 3), 180, "two renewals")
            second = check_served(tem, pebble)
            assert second != first
            # only the folder in use and the one it replaced are kept
            acme = os.path.join(tem.data_dir, "acme")
            assert len([d for d in os.listdir(acme)
                        if d.startswith("cert-")]) <= 2
            assert tem.proc.pid == pid and tem.alive()


def test_stop_during_order():
    # a CA that accepts the connection and never answers: SIGTERM still
    # ends tem within 10 s (TemServer.stop checks) with the order abandoned
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        port = mute.getsockname()[1]
        srv = TemServer(services=("smtp",), extra_conf={
            "acme_directory": "https://127.0.0.1:%d/dir" % port,
            "acme_names": "mx.a.test"})
        with srv as tem:
            wait_for(lambda: "acme started" in tem.log_text(), 30,
                     "the ACME thread")
