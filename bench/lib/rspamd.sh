#!/bin/sh
# rspamd.sh install - install Debian's rspamd and redis-server if missing,
# for bench/smtp --milter rspamd (bench/lib/rspamd.py starts private
# instances of both on loopback ports; no system instance is started or
# enabled). Run as root on Debian 12, like bench/lib/postfix.sh install.
set -eu

die() {
	echo "rspamd.sh: $*" >&2
	exit 1
}

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

do_install() {
	[ "$(id -u)" = 0 ] || die "must run as root"
	missing=""
	for p in rspamd redis-server; do
		installed "$p" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "rspamd.sh: installing$missing (no autostart)"
		made_policy=""
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			# invoke-rc.d asks this: 101 = do not start any service now.
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
			chmod 755 /usr/sbin/policy-rc.d
			made_policy=1
		fi
		rc=0
		# shellcheck disable=SC2086 # one word per package
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $missing >/dev/null || rc=$?
		[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
		[ "$rc" = 0 ] || die "apt-get install$missing failed"
		# No boot-time start either (sysv links, and systemd if present).
		for s in rspamd redis-server; do
			update-rc.d "$s" disable >/dev/null 2>&1 || true
			if command -v systemctl >/dev/null 2>&1; then
				systemctl disable "$s" >/dev/null 2>&1 || true
			fi
		done
	fi
	for b in rspamd redis-server; do
		command -v "$b" >/dev/null 2>&1 || die "$b missing after install"
	done
	id _rspamd >/dev/null 2>&1 || die "no user _rspamd (the package makes it)"
	id redis >/dev/null 2>&1 || die "no user redis (the package makes it)"
}

case "${1:-}" in
install) do_install ;;
*) die "usage: rspamd.sh install" ;;
esac
