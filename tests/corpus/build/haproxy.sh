#!/bin/sh
# haproxy as debian/rules builds it (override_dh_auto_build-arch, first
# step: `make $(MAKEARGS)`, the binary only: not the systemd wrapper, nor the
# Lua API man pages): DEB_BUILD_MAINT_OPTIONS=hardening=+all,
# DEB_LDFLAGS_MAINT_APPEND=-Wl,--as-needed, dpkg-buildflags' CFLAGS and
# CPPFLAGS as DEBUG_CFLAGS, and the rules' MAKEARGS for linux.
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_LDFLAGS_MAINT_APPEND=-Wl,--as-needed
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
ver=$(dpkg-parsechangelog -SVersion)
epoch=$(dpkg-parsechangelog -STimestamp)
make -j"${MAKE_JOBS:-2}" V=1 DESTDIR=debian/haproxy PREFIX=/usr IGNOREGIT=true \
	MANDIR=/usr/share/man DOCDIR=/usr/share/doc/haproxy \
	USE_PCRE2=1 USE_PCRE2_JIT=1 USE_OPENSSL=1 USE_SLZ=1 USE_LUA=1 USE_PROMEX=1 \
	USE_OT=1 LUA_INC=/usr/include/lua5.3 EXTRA=admin/halog/halog \
	TARGET=linux-glibc USE_SYSTEMD=1 \
	DEBUG_CFLAGS="$CFLAGS $CPPFLAGS" LDFLAGS="$LDFLAGS" \
	VERSION="${ver%%-*}" SUBVERS="-${ver##*-}" \
	VERDATE="$(TZ=UTC date -d "@$epoch" "+%Y/%m/%d")"
