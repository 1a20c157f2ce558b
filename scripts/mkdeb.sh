#!/bin/sh
# mkdeb.sh - `make deb`: build/tem_VERSION_ARCH.deb with dpkg-deb alone
# (no debhelper): a staging tree from `make install DESTDIR=... PREFIX=/usr`,
# DEBIAN/control with Depends from the linked libraries (dpkg-shlibdeps),
# the config as a conffile, and the maintainer scripts from dist/deb/.
# Run from the top of the tree after build/tem exists.
set -e
version=$(sed -n 's/^#define TEM_VERSION "\(.*\)"/\1/p' src/version.h)
arch=$(dpkg --print-architecture)
stage=build/deb/root
out=build/tem_${version}_${arch}.deb
rm -rf build/deb
make --no-print-directory install DESTDIR="$PWD/$stage" PREFIX=/usr >/dev/null
mkdir -p "$stage/DEBIAN"
# data_dir is made by postinst, owned by tem: a directory in the package
# would be dpkg's, root's, on every upgrade
rm -rf "$stage/var"
strip --strip-unneeded --remove-section=.comment "$stage/usr/sbin/tem"

# Depends: what the binary links, as dpkg-shlibdeps computes it (it wants
# a debian/control beside it), else the Debian 12 names by hand.
shlibs=
if command -v dpkg-shlibdeps >/dev/null; then
	mkdir -p build/deb/src/debian
	printf 'Source: tem\n\nPackage: tem\nArchitecture: any\n' \
		>build/deb/src/debian/control
	shlibs=$(cd build/deb/src && dpkg-shlibdeps -O \
		"$OLDPWD/$stage/usr/sbin/tem" 2>/dev/null |
		sed -n 's/^shlibs:Depends=//p')
fi
if [ -z "$shlibs" ]; then
	shlibs="libc6, libevent-2.1-7, libevent-openssl-2.1-7, libevent-pthreads-2.1-7, libssl3, libsqlite3-0, libunbound8, libcrypt1, zlib1g, libsystemd0"
fi
size=$(du -sk "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CTL
Package: tem
Version: $version
Architecture: $arch
Maintainer: tem developers <postmaster@localhost>
Installed-Size: $size
Depends: $shlibs, adduser
Recommends: publicsuffix
Section: mail
Priority: optional
Homepage: https://localhost/tem
Description: mail server: SMTP, submission, IMAP, POP3, ManageSieve
 tem is one program that receives mail by SMTP (with SPF, DKIM, DMARC
 checks and Sieve filtering), queues and delivers it, and serves it to
 clients by IMAP and POP3. Run "tem setup DOMAIN" to configure it.
CTL
echo /etc/tem/tem.conf >"$stage/DEBIAN/conffiles"
# postinst: mkuser.sh as a function (its $1 $2 are not dpkg's), then the
# service part
{
	echo '#!/bin/sh'
	echo 'set -e'
	echo 'mkuser() {'
	sed -e '1,/^set -e$/d' dist/deb/mkuser.sh
	echo '}'
	echo 'if [ "$1" = configure ]; then mkuser /etc/tem /var/lib/tem; fi'
	cat dist/deb/postinst.tail
} >"$stage/DEBIAN/postinst"
cp dist/deb/prerm dist/deb/postrm "$stage/DEBIAN/"
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
dpkg-deb --root-owner-group -Zxz -b "$stage" "$out" >/dev/null
echo "$out"
