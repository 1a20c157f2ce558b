#!/bin/sh
# postfix.sh - a private Postfix instance, the peer of tem's SMTP benchmarks
# (bench/smtp, bench/submission).
#
#   postfix.sh install         install postfix if missing, no system instance,
#                              and the local user `bench` (Maildir delivery)
#   postfix.sh start DIR PORT [SETTING...]
#                              write DIR/etc/{main,master}.cf, queue and data
#                              directories below DIR, start on 127.0.0.1:PORT;
#                              each SETTING ("key = value") is appended to
#                              main.cf (e.g. transport_maps for pass-through)
#   postfix.sh stop DIR        stop the instance started from DIR
#   postfix.sh master-pid DIR  print the pid of that instance's master
#
# Set up exactly as /work/shared/PEERS.md says (the figures in the issues came
# from that set-up): no DNS, loopback only, chroot off, durability left at the
# defaults, logging to a file (there is no syslog daemon). Never touches
# /etc/postfix: every command passes `-c DIR/etc`. Run as root on Debian 12.
set -eu

BENCH_USER=bench
BENCH_HOME=/home/bench

die() {
	echo "postfix.sh: $*" >&2
	exit 1
}

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

# listening_on PORT: true when some socket listens on TCP PORT (IPv4 or IPv6).
listening_on() {
	hex=$(printf '%04X' "$1")
	# /proc/net/tcp*: local_address is ADDR:PORT in hex, state 0A = LISTEN.
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p=":$hex" 'substr($2, length($2) - 4) == p && $4 == "0A" { f = 1 } END { exit !f }'
}

do_install() {
	[ "$(id -u)" = 0 ] || die "must run as root"
	if ! installed postfix; then
		echo "postfix.sh: installing postfix (No configuration, no autostart)"
		echo "postfix postfix/main_mailer_type select No configuration" |
			debconf-set-selections
		# No service started during the install, none enabled at boot.
		sh "$(dirname "$0")/debinstall.sh" postfix ||
			die "installing postfix failed"
	fi
	command -v smtp-source >/dev/null 2>&1 ||
		[ -x /usr/sbin/smtp-source ] || die "smtp-source missing"
	if listening_on 25; then
		die "something listens on port 25; the bench wants it free (a system postfix? stop it)"
	fi
	if ! id "$BENCH_USER" >/dev/null 2>&1; then
		useradd --system --create-home --home-dir "$BENCH_HOME" \
			--shell /usr/sbin/nologin "$BENCH_USER"
	fi
	home=$(getent passwd "$BENCH_USER" | cut -d: -f6)
	[ -d "$home" ] || { mkdir -p "$home" && chown "$BENCH_USER:" "$home"; }
}

# write_conf DIR PORT [SETTING...]: the private main.cf and master.cf in
# DIR/etc.
write_conf() {
	dir=$1
	port=$2
	shift 2
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
	chmod 755 "$dir"
	chown postfix: "$dir/data"
	cat >"$dir/etc/main.cf" <<EOF
# Private instance for tem's benchmarks (see /work/shared/PEERS.md).
compatibility_level = 3.6
myhostname = mx.bench.test
mydomain = bench.test
myorigin = \$myhostname
mydestination = bench.test, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
home_mailbox = Maildir/
alias_maps =
alias_database =
smtputf8_enable = no
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
biff = no
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
EOF
	if [ $# -gt 0 ]; then
		echo "# Benchmark-specific settings." >>"$dir/etc/main.cf"
		for setting in "$@"; do
			printf '%s\n' "$setting" >>"$dir/etc/main.cf"
		done
	fi
	dist=/usr/share/postfix/master.cf.dist
	[ -r "$dist" ] || die "$dist missing"
	# smtp inet -> 127.0.0.1:PORT; column 5 (chroot) -> n on every service line.
	awk -v listen="127.0.0.1:$port" '
	/^[ \t]*#/ || /^[ \t]*$/ || /^[ \t]/ { print; next }
	{
		if ($1 == "smtp" && $2 == "inet")
			$1 = listen
		if (NF >= 8)
			$5 = "n"
		print
	}' "$dist" >"$dir/etc/master.cf"
	grep -q "^127.0.0.1:$port[ 	]" "$dir/etc/master.cf" ||
		die "no smtp inet service in $dist"
}

do_start() {
	dir=$1
	port=$2
	shift 2
	[ "$(id -u)" = 0 ] || die "must run as root"
	case $dir in /*) ;; *) die "DIR must be absolute" ;; esac
	if listening_on "$port"; then
		die "port $port already in use"
	fi
	write_conf "$dir" "$port" "$@"
	# create-missing: queue and data directories with Postfix's owners.
	postfix -c "$dir/etc" check >"$dir/check.log" 2>&1 ||
		{ cat "$dir/check.log" >&2; die "postfix check failed"; }
	postfix -c "$dir/etc" start >>"$dir/check.log" 2>&1 ||
		{ cat "$dir/check.log" >&2; die "postfix start failed"; }
	# Wait (bounded) for the listener.
	i=0
	while ! listening_on "$port"; do
		i=$((i + 1))
		[ $i -le 100 ] || die "postfix did not listen on $port within 10 s"
		sleep 0.1
	done
}

do_stop() {
	dir=$1
	[ -f "$dir/etc/main.cf" ] || exit 0
	postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
	# postfix stop returns before master exits: wait (bounded).
	pidfile="$dir/spool/pid/master.pid"
	i=0
	while [ -f "$pidfile" ] && pid=$(tr -d ' ' <"$pidfile") &&
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			postfix -c "$dir/etc" abort >/dev/null 2>&1 || true
			break
		fi
		sleep 0.1
	done
}

do_master_pid() {
	pidfile="$1/spool/pid/master.pid"
	[ -f "$pidfile" ] || die "no $pidfile"
	tr -d ' \n' <"$pidfile"
	echo
}

case "${1:-}" in
install) do_install ;;
start)
	[ $# -ge 3 ] || die "usage: postfix.sh start DIR PORT [SETTING...]"
	shift
	do_start "$@"
	;;
stop) [ $# = 2 ] || die "usage: postfix.sh stop DIR"; do_stop "$2" ;;
master-pid) [ $# = 2 ] || die "usage: postfix.sh master-pid DIR"; do_master_pid "$2" ;;
*) die "usage: postfix.sh install | start DIR PORT [SETTING...] | stop DIR | master-pid DIR" ;;
esac
