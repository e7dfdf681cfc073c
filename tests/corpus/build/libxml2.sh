#!/bin/sh
# libxml2's "main" flavour as debian/rules builds it: hardening=+all,
# DEB_CFLAGS_MAINT_APPEND="-Wall -O3", dh_auto_configure (debhelper 13,
# bookworm) in builddir/main with --with-history --without-python
# --with-icu and the config cache, then make there. Difference: the
# package runs dh_autoreconf first; this uses the configure script of the
# source package (the same autoconf/libtool input, not regenerated).
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_CFLAGS_MAINT_APPEND="-Wall -O3"
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CPPFLAGS LDFLAGS
top=$(pwd)
mkdir -p builddir/main
cd builddir/main
[ -f Makefile ] || ../../configure --build=x86_64-linux-gnu --prefix=/usr \
	'--includedir=${prefix}/include' '--mandir=${prefix}/share/man' \
	'--infodir=${prefix}/share/info' --sysconfdir=/etc --localstatedir=/var \
	--disable-option-checking --disable-silent-rules \
	'--libdir=${prefix}/lib/x86_64-linux-gnu' --runstatedir=/run \
	--disable-maintainer-mode --disable-dependency-tracking \
	--with-history --cache-file="$top/builddir/config.cache" --without-python --with-icu \
	>configure.log 2>&1 || { tail -30 configure.log; exit 1; }
make -j"${MAKE_JOBS:-2}"
