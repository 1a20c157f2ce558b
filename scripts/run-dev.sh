#!/bin/sh
# run-dev.sh - `make run`: a development server in ./run/ on 127.0.0.1.
#
# Makes ./run/tem.conf (once), the domain example.test and the account
# demo@example.test with a fresh random password (printed), a self-signed
# certificate (made by tem at first start), then runs build/tem serve in
# the foreground. Ports: SMTP 2525, submission 2587, submissions 2465,
# IMAP 2143, IMAPS 2993, POP3 2110, POP3S 2995, ManageSieve 2419, HTTP 2080 (autoconfig, /metrics).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
tem="$top/build/tem"
conf="$run/tem.conf"
mkdir -p "$run"
if [ ! -f "$conf" ]; then
	cat >"$conf" <<CONF
# tem development config, made by \`make run\`.
hostname = mx.example.test
data_dir = data
run_as =
smtp_listen = 127.0.0.1:2525
submission_listen = 127.0.0.1:2587
submissions_listen = 127.0.0.1:2465
imap_listen = 127.0.0.1:2143
imaps_listen = 127.0.0.1:2993
pop3_listen = 127.0.0.1:2110
pop3s_listen = 127.0.0.1:2995
managesieve_listen = 127.0.0.1:2419
http_listen = 127.0.0.1:2080
log_level = info
CONF
fi
"$tem" -c "$conf" domain list | grep -qx example.test ||
	"$tem" -c "$conf" domain add example.test
pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
if "$tem" -c "$conf" user list | grep -qx demo@example.test; then
	echo "$pw" | "$tem" -c "$conf" user passwd demo@example.test
else
	echo "$pw" | "$tem" -c "$conf" user add demo@example.test
fi
cat <<MSG

tem development server (config: $conf)
  account   demo@example.test   password: $pw
  SMTP        127.0.0.1:2525   swaks --server 127.0.0.1:2525 --to demo@example.test
  submission  127.0.0.1:2587   (STARTTLS, then AUTH)
  submissions 127.0.0.1:2465   (implicit TLS)
  IMAP        127.0.0.1:2143   IMAPS 127.0.0.1:2993
  POP3        127.0.0.1:2110   POP3S 127.0.0.1:2995
  ManageSieve 127.0.0.1:2419   sieve-connect -s 127.0.0.1 -p 2419 --notlsverify -u demo@example.test
  HTTP        127.0.0.1:2080   curl http://127.0.0.1:2080/metrics
  Maildir     $run/data/mail/example.test/demo/
Stop with Ctrl-C.

MSG
exec "$tem" -c "$conf" serve
