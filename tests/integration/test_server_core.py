"""Server core: IPv6 listeners, privilege drop to run_as, SIGHUP reload,
config errors with file:line, TLS 1.2 as the floor."""

import os
import pwd
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from temserver import TemServer, free_port, tem_bin  # noqa: E402


def ehlo_size(port, host="127.0.0.1"):
    with smtplib.SMTP(host, port, timeout=10) as s:
        s.ehlo("c.test")
        return int(s.esmtp_features["size"])


def test_ipv6_listener(make_tem):
    port = free_port()
    # the harness waits on the IMAP port; SMTP listens on v4 and v6
    tem = make_tem(services=("imap",),
                   extra_conf={"smtp_listen": "127.0.0.1:%d, [::1]:%d" %
                               (free_port(), port)})
    s = socket.create_connection(("::1", port), timeout=10)
    assert s.makefile("rb").readline().startswith(b"220 ")
    s.close()
    assert "addr=::1" in tem.log_text()


@pytest.mark.release
def test_sighup_reloads_config(make_tem):
    tem = make_tem(extra_conf={"message_size_limit": "1M"})
    assert ehlo_size(tem.smtp_port) == 1024 * 1024
    with open(tem.conf_path) as f:
        text = f.read().replace("message_size_limit = 1M",
                                "message_size_limit = 2M")
    with open(tem.conf_path, "w") as f:
        f.write(text)
    tem.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "server reloaded" not in tem.log_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ehlo_size(tem.smtp_port) == 2 * 1024 * 1024


def test_sighup_with_a_bad_config_keeps_the_old_one(make_tem):
    tem = make_tem(extra_conf={"message_size_limit": "1M"})
    with open(tem.conf_path, "a") as f:
        f.write("no_such_key = 1\n")
    tem.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reload-failed" not in tem.log_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ehlo_size(tem.smtp_port) == 1024 * 1024
    # put it back so the fixture's clean stop works
    with open(tem.conf_path) as f:
        lines = [l for l in f if not l.startswith("no_such_key")]
    with open(tem.conf_path, "w") as f:
        f.writelines(lines)


def test_check_names_file_and_line(tmp_path):
    conf = tmp_path / "tem.conf"
    conf.write_text("data_dir = %s\nbogus = 1\nmessage_size_limit = lots\n"
                    % tmp_path)
    p = subprocess.run([tem_bin(), "-c", str(conf), "check"],
                       capture_output=True, text=True)
    assert p.returncode != 0
    assert "%s:2: unknown key 'bogus'" % conf in p.stderr
    assert "%s:3: message_size_limit" % conf in p.stderr
    # serve refuses to start with the same errors
    p = subprocess.run([tem_bin(), "-c", str(conf), "serve"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and ":2: unknown key" in p.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to drop privileges")
def test_run_as_drops_privileges(make_tem):
    nobody = pwd.getpwnam("nobody")
    tem = make_tem(extra_conf={"run_as": "nobody"})
    os.chmod(tem.dir, 0o755)
    with open("/proc/%d/status" % tem.proc.pid) as f:
        status = f.read()
    uids = [l for l in status.splitlines() if l.startswith("Uid:")][0]
    assert uids.split()[1:] == [str(nobody.pw_uid)] * 4
    # it still delivers (the Maildir belongs to it now)
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=10) as s:
        s.sendmail("x@b.test", ["alice@a.test"], b"Subject: y\r\n\r\nz\r\n")
    assert len(tem.maildir_messages("alice@a.test")) == 1


@pytest.mark.release
def test_tls_1_1_is_refused(make_tem):
    tem = make_tem()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=10) as s:
        s.ehlo("c.test")
        # offered, so the failure below is the version, not a missing TLS
        assert s.has_extn("starttls"), s.esmtp_features
        with pytest.raises((ssl.SSLError, OSError, smtplib.SMTPException)):
            s.starttls(context=ctx)
    # the same server, port and certificate take TLS 1.2
    ok = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ok.check_hostname = False
    ok.verify_mode = ssl.CERT_NONE
    ok.minimum_version = ok.maximum_version = ssl.TLSVersion.TLSv1_2
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=10) as s:
        s.ehlo("c.test")
        s.starttls(context=ok)
        assert s.sock.version() == "TLSv1.2"
        assert s.ehlo("c.test")[0] == 250


def test_mail_loop_is_refused_with_5_4_6(make_tem):
    tem = make_tem()
    hops = b"".join(b"Received: from h%d by h%d; Sat, 28 Nov 2026 00:00:00 "
                    b"+0000\r\n" % (i, i + 1) for i in range(51))
    with smtplib.SMTP("127.0.0.1", tem.smtp_port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("x@b.test", ["alice@a.test"],
                       hops + b"Subject: loop\r\n\r\nround and round\r\n")
        assert e.value.smtp_code == 554
        assert e.value.smtp_error.startswith(b"5.4.6")
        # 50 hops are still fine
        s.sendmail("x@b.test", ["alice@a.test"],
                   hops.split(b"\r\n", 1)[1] + b"Subject: ok\r\n\r\nok\r\n")
    assert len(tem.maildir_messages("alice@a.test")) == 1


def test_client_that_never_reads_is_dropped(make_tem):
    """Output piling up unread counts as idle: the session ends."""
    tem = make_tem(extra_conf={"smtp_command_timeout": "2s",
                               "smtp_max_errors": "1000000"})
    s = socket.create_connection(("127.0.0.1", tem.smtp_port), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(0.5)
    sent = 0
    deadline = time.monotonic() + 25
    closed = False
    while time.monotonic() < deadline:
        try:
            sent += s.send(b"HELP\r\n" * 1000)
        except socket.timeout:
            time.sleep(0.2)       # our send buffer is full: keep waiting
        except OSError:
            closed = True
            break
        if "smtp timeout" in tem.log_text():
            closed = True
            break
    s.close()
    assert closed, "session still open after %d bytes" % sent
    assert "smtp timeout" in tem.log_text()
