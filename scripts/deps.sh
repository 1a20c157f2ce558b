#!/bin/sh
# deps.sh build|test - install the Debian packages tem needs, if missing.
#
# Runs as root on Debian 12. Checks with dpkg first, so a machine that has
# everything installs nothing and needs no network. `apt-get update` runs
# once, only when something is missing.
set -e
BUILD="dns-root-data gcc make pkg-config libsystemd-dev libevent-dev libssl-dev libsqlite3-dev libunbound-dev libcrypt-dev zlib1g-dev openssl publicsuffix libcurl4-openssl-dev libjansson-dev libpq-dev"
TEST="$BUILD dpkg-dev systemd adduser clang python3 python3-pytest swaks libio-socket-ssl-perl libnet-ssleay-perl strace unbound postfix python3-spf python3-dnspython python3-dkim python3-nacl fetchmail curl isync python3-pytest-xdist python3-pytest-timeout mutt neomutt offlineimap python3-milter rspamd redis-server dovecot-sieve dovecot-managesieved sieve-connect groff man-db mandoc libxml2-utils python3-jsonschema pebble python3-prometheus-client ldnsutils nsd postgresql"
case "$1" in
build) want="$BUILD" ;;
test)  want="$TEST" ;;
*) echo "usage: deps.sh build|test" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Daemon packages (unbound, postfix) must not start a system service on a
# standard port: tests run their own instances on loopback ports.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	made_policy=1
fi
trap 'if [ -n "$made_policy" ]; then rm -f "$policy"; fi' EXIT
# Postfix is a test peer only: no system mail configuration, no boot start.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections 2>/dev/null || true
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
case " $missing " in
*" postfix "*) update-rc.d postfix disable >/dev/null 2>&1 || true ;;
esac
case " $missing " in
*" unbound "*) update-rc.d unbound disable >/dev/null 2>&1 || true ;;
esac
# rspamd and redis are test peers too: the tests run their own on free
# loopback ports (tests/lib/rspamd.py), never the packaged services.
for svc in rspamd redis-server; do
	case " $missing " in
	*" $svc "*) update-rc.d "$svc" disable >/dev/null 2>&1 || true ;;
	esac
done
# dovecot-sieve brings dovecot-core for Pigeonhole's sieve-test, a test
# oracle only: no IMAP/POP3 daemon on the standard ports.
case " $missing " in
*" dovecot-sieve "*|*" dovecot-managesieved "*)
	update-rc.d dovecot disable >/dev/null 2>&1 || true ;;
esac
