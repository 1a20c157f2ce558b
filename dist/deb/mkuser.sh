#!/bin/sh
# mkuser.sh [CONFDIR [DATADIR]] - the tem system user and group, data_dir
# owned by it (0750), the config readable by its group. Idempotent: run by
# `make install` (not into a DESTDIR) and by the package's postinst.
set -e
confdir=${1:-/etc/tem}
datadir=${2:-/var/lib/tem}
if ! getent group tem >/dev/null; then
	if command -v addgroup >/dev/null; then
		addgroup --quiet --system tem
	else
		groupadd --system tem
	fi
fi
if ! getent passwd tem >/dev/null; then
	if command -v adduser >/dev/null; then
		adduser --quiet --system --ingroup tem --home "$datadir" \
			--no-create-home --gecos "tem mail server" \
			--shell /usr/sbin/nologin tem
	else
		useradd --system --gid tem --home-dir "$datadir" \
			--no-create-home --comment "tem mail server" \
			--shell /usr/sbin/nologin tem
	fi
fi
mkdir -p "$datadir"
chown tem:tem "$datadir"
chmod 0750 "$datadir"
# the config may hold secrets (rspamd_password): root writes, tem reads
if [ -e "$confdir/tem.conf" ]; then
	chown root:tem "$confdir/tem.conf"
	chmod 0640 "$confdir/tem.conf"
fi
