#!/bin/sh
# dnsmasq as debian/rules builds the dnsmasq-base flavour (the
# /usr/sbin/dnsmasq of package dnsmasq-base; not the -lua one):
# DEB_BUILD_MAINT_OPTIONS=hardening=+all, CFLAGS += CPPFLAGS (upstream
# ignores CPPFLAGS), the rules' COPTS for linux without DEB_BUILD_OPTIONS,
# and dh_auto_build --no-parallel -- install-i18n BUILDDIR=... DESTDIR=...
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
make -j1 install-i18n BUILDDIR=debian/auto-build/dnsmasq-base \
	DESTDIR="$(pwd)/debian/dnsmasq-base" PREFIX=/usr CFLAGS="$CFLAGS" LDFLAGS="$LDFLAGS" \
	COPTS=" -DHAVE_DBUS -DHAVE_LIBIDN2 -DHAVE_NFTSET -DHAVE_CONNTRACK -DHAVE_DNSSEC"
