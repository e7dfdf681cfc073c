#!/bin/sh
# libarchive as debian/rules builds it: DEB_BUILD_MAINT_OPTIONS=hardening=+all,
# `dh_autoreconf build/autogen.sh`, then dh_auto_configure (debhelper 13,
# bookworm, in-source) with --without-openssl --with-nettle
# --enable-bsdtar=shared --enable-bsdcpio=shared --enable-bsdcat=shared,
# and dh_auto_build's make. The autoreconf and configure steps run once
# (a rebuild of the patched tree is make alone, as for an incremental
# dpkg-buildpackage -nc); configure's --disable-maintainer-mode keeps
# make from re-running automake for a patched Makefile.am.
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CPPFLAGS LDFLAGS
if [ ! -f Makefile ]; then
	sh build/autogen.sh >autogen.log 2>&1 || { tail -30 autogen.log; exit 1; }
	./configure --build=x86_64-linux-gnu --prefix=/usr \
		'--includedir=${prefix}/include' '--mandir=${prefix}/share/man' \
		'--infodir=${prefix}/share/info' --sysconfdir=/etc --localstatedir=/var \
		--disable-option-checking --disable-silent-rules \
		'--libdir=${prefix}/lib/x86_64-linux-gnu' --runstatedir=/run \
		--disable-maintainer-mode --disable-dependency-tracking \
		--without-openssl --with-nettle \
		--enable-bsdtar=shared --enable-bsdcpio=shared --enable-bsdcat=shared \
		>configure.log 2>&1 || { tail -30 configure.log; exit 1; }
fi
make -j"${MAKE_JOBS:-2}" INSTALL="install --strip-program=true"
