#!/bin/sh
# curl's openssl flavour (libcurl.so.4) as debian/rules builds it:
# hardening=+all, DEB_CFLAGS_MAINT_APPEND with _DEB_HOST_ARCH and
# CURL_PATCHSTAMP, the source copied to debian/build (tar, without
# debian/build* and .pc), ./buildconf (autoreconf -fi) and ltmain.sh of
# the top directory there, dh_auto_configure (debhelper 13, bookworm) with
# CONFIGURE_ARGS and --with-openssl and the CA paths, then make there. The
# gnutls and nss flavours are not built (their patches are the last two of
# the series, never in a baseline).
# Run again (xsplice-build's patched build), the copy to debian/build only
# replaces files that are older there than at the top (a patched source),
# and configure is not run again (config.status is there; curl ships a
# Makefile of its own that would run a bare ./configure): the package's own build copies once, and
# the files buildconf regenerated in debian/build stay.
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
ver=$(dpkg-parsechangelog -SVersion)
export DEB_CFLAGS_MAINT_APPEND="-D_DEB_HOST_ARCH=\\\"x86_64-linux-gnu\\\" -DCURL_PATCHSTAMP=\\\"$ver\\\""
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CPPFLAGS LDFLAGS
mkdir -p debian/build
tar -cf - --exclude='debian/build*' --exclude=.pc . |
	tar -xf - --keep-newer-files --warning=no-ignore-newer -C debian/build
cd debian/build
if [ ! -f config.status ]; then
	./buildconf >buildconf.log 2>&1 || { tail -30 buildconf.log; exit 1; }
	cp ../../ltmain.sh .
	./configure --build=x86_64-linux-gnu --prefix=/usr \
		'--includedir=${prefix}/include' '--mandir=${prefix}/share/man' \
		'--infodir=${prefix}/share/info' --sysconfdir=/etc --localstatedir=/var \
		--disable-option-checking --disable-silent-rules \
		'--libdir=${prefix}/lib/x86_64-linux-gnu' --runstatedir=/run \
		--disable-maintainer-mode --disable-dependency-tracking \
		--disable-dependency-tracking --disable-symbol-hiding --enable-versioned-symbols \
		--enable-threaded-resolver --with-lber-lib=lber --with-gssapi=/usr --with-nghttp2 \
		--includedir=/usr/include/x86_64-linux-gnu \
		--with-zsh-functions-dir=/usr/share/zsh/vendor-completions \
		--without-libssh --with-libssh2 \
		--with-openssl --with-ca-path=/etc/ssl/certs \
		--with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
		>configure.log 2>&1 || { tail -30 configure.log; exit 1; }
fi
make -j"${MAKE_JOBS:-2}"
