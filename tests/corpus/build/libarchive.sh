#!/bin/sh
# libarchive as debian/rules builds it: DEB_BUILD_MAINT_OPTIONS=hardening=+all,
# `dh_autoreconf build/autogen.sh`, then dh_auto_configure's configure line
# (debhelper 13 autoconf build system, bookworm) with the rules' own options
# (--without-openssl --with-nettle --enable-bsd{tar,cpio,cat}=shared) and
# dpkg-buildflags in the environment, in the source tree. Only the library
# is made (`make libarchive.la`: the harness links libarchive.so; the
# programs and tests are not used), with make's V=1 command lines.
# Build-Depends it needs: scripts/install-deps.sh (profile corpus).
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CPPFLAGS LDFLAGS
if [ ! -f Makefile ]; then
	sh build/autogen.sh >autogen.log 2>&1 || { cat autogen.log; exit 1; }
	./configure --build=x86_64-linux-gnu --prefix=/usr --includedir='${prefix}/include' \
		--mandir='${prefix}/share/man' --infodir='${prefix}/share/info' --sysconfdir=/etc \
		--localstatedir=/var --disable-option-checking --disable-silent-rules \
		--libdir='${prefix}/lib/x86_64-linux-gnu' --runstatedir=/run \
		--disable-maintainer-mode --disable-dependency-tracking \
		--without-openssl --with-nettle --enable-bsdtar=shared --enable-bsdcpio=shared \
		--enable-bsdcat=shared >configure.log 2>&1 || { tail -30 configure.log; exit 1; }
fi
make -j"${MAKE_JOBS:-2}" V=1 libarchive.la
