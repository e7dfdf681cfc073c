#!/bin/sh
# cups as debian/rules builds it: hardening=+all,-pie, DSOFLAGS = the
# LDFLAGS of dpkg-buildflags (the build links some libraries with DSOFLAGS
# only), `aclocal; autoconf` (dh --without autoreconf), dh_auto_configure
# (debhelper 13, bookworm; in the source tree) with the package's
# configure options (a Debian, not Ubuntu, vendor; libusb on Linux), then
# make (dh_auto_build) in the tree.
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all,-pie
DSOFLAGS=$(dpkg-buildflags --get LDFLAGS)
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CXXFLAGS=$(dpkg-buildflags --get CXXFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export DSOFLAGS CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
if [ ! -f config.status ]; then
	{ aclocal && autoconf; } >autoconf.log 2>&1 || { tail -30 autoconf.log; exit 1; }
	./configure --build=x86_64-linux-gnu --prefix=/usr \
		'--includedir=${prefix}/include' '--mandir=${prefix}/share/man' \
		'--infodir=${prefix}/share/info' --sysconfdir=/etc --localstatedir=/var \
		--disable-option-checking --disable-silent-rules \
		'--libdir=${prefix}/lib/x86_64-linux-gnu' --runstatedir=/run \
		--disable-maintainer-mode --disable-dependency-tracking \
		--with-docdir=/usr/share/cups/doc-root --localedir=/usr/share/cups/locale \
		--enable-libpaper --enable-ssl --enable-gnutls --enable-threads \
		--enable-static --enable-debug --enable-dbus --with-dbusdir=/etc/dbus-1 \
		--enable-gssapi --enable-avahi --disable-launchd --with-cups-group=lp \
		--with-system-groups="root lpadmin" --with-rundir=/run/cups \
		--with-printcap=/run/cups/printcap --with-log-file-perm=0640 \
		--with-local_protocols='dnssd' --with-systemd=/lib/systemd/system \
		--with-error-policy=retry-job --enable-sync-on-close --with-max-log-size=0 \
		--enable-libusb \
		>configure.log 2>&1 || { tail -30 configure.log; exit 1; }
fi
make -j"${MAKE_JOBS:-2}"
