#!/bin/sh
# debinstall.sh PKG... - install the Debian packages PKG that are missing,
# without starting or enabling their services: the benchmarks run private
# instances of the daemons they install (Postfix, rspamd, redis-server) on
# loopback ports. Run as root on Debian 12 (postfix.sh install and
# rspamd.py use it). Debconf answers, if any, are the caller's to set first.
set -eu

die() {
	echo "debinstall.sh: $*" >&2
	exit 1
}

[ $# -gt 0 ] || die "usage: debinstall.sh PKG..."
[ "$(id -u)" = 0 ] || die "must run as root"
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -n "$missing" ] || exit 0
echo "debinstall.sh: installing$missing (no autostart)"
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
# No boot-time start either (sysv links, and systemd units if present).
for p in $missing; do
	update-rc.d "$p" disable >/dev/null 2>&1 || true
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable "$p" >/dev/null 2>&1 || true
	fi
done
