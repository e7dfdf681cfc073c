#!/bin/sh
# expat as debian/rules' build target builds it: dpkg-buildflags (no
# DEB_BUILD_MAINT_OPTIONS) with CFLAGS += -Wall and LDFLAGS =
# -Wl,-Bsymbolic-functions + dpkg-buildflags; config-common-stamp: expat/
# copied by tar into src/ and srcw/ (srcw's Makefile.am renamed to
# libexpatw), buildconf.sh in each; build/ configured from ../src, buildw/
# from ../srcw with -DXML_UNICODE; make in build/ and in buildw/lib. The
# stamps are the package's own: the copy, buildconf and configure run once
# (so a patched expat/ is not copied again; xsplice-build follows the
# copies, docs/build.md). Not replicated: build-stamp, which would make an
# incremental rebuild do nothing at all.
set -eu
CFLAGS="$(dpkg-buildflags --get CFLAGS) -Wall"
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS="-Wl,-Bsymbolic-functions $(dpkg-buildflags --get LDFLAGS)"
conf="--build=x86_64-linux-gnu --prefix=/usr --mandir=\${prefix}/share/man --libdir=\${prefix}/lib/x86_64-linux-gnu"
if [ ! -f config-common-stamp ]; then
	rm -rf src srcw
	mkdir -p src srcw
	tar cf - expat/* | tar --strip-components=1 -C src -xf -
	tar cf - expat/* | tar --strip-components=1 -C srcw -xf -
	# shellcheck disable=SC2046
	sed -i -e "s,libexpat\.la,libexpatw.la," -e "s,libexpat_la,libexpatw_la," \
		$(find srcw -name Makefile.am)
	(cd src && ./buildconf.sh) >buildconf.log 2>&1 || { tail -20 buildconf.log; exit 1; }
	(cd srcw && ./buildconf.sh) >>buildconf.log 2>&1 || { tail -20 buildconf.log; exit 1; }
	touch config-common-stamp
fi
if [ ! -f build/config.status ]; then
	mkdir -p build
	# shellcheck disable=SC2086
	(cd build && CFLAGS="$CFLAGS" CPPFLAGS="$CPPFLAGS" LDFLAGS="$LDFLAGS" ../src/configure $conf) \
		>configure.log 2>&1 || { tail -30 configure.log; exit 1; }
fi
if [ ! -f buildw/config.status ]; then
	mkdir -p buildw
	# shellcheck disable=SC2086
	(cd buildw && CFLAGS="$CFLAGS -DXML_UNICODE" CPPFLAGS="$CPPFLAGS" LDFLAGS="$LDFLAGS" \
		../srcw/configure $conf) >configure-w.log 2>&1 || { tail -30 configure-w.log; exit 1; }
fi
make -j"${MAKE_JOBS:-2}" -C build/
make -j"${MAKE_JOBS:-2}" -C buildw/lib all
