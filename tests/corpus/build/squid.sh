#!/bin/sh
# squid's GnuTLS flavour (package "squid") as debian/rules builds it:
# hardening=+all, DEB_C(XX)FLAGS_MAINT_APPEND=-Wno-error=deprecated-declarations,
# dh_auto_configure (debhelper 13, bookworm: in the source tree) with
# DEB_CONFIGURE_EXTRA_FLAGS, --disable-esi, --enable-linux-netfilter
# --with-systemd and --with-gnutls, then make (dh_auto_build). Differences:
# the second flavour (debian/build-openssl, --with-openssl
# --enable-ssl-crtd, package squid-openssl) is not built, and the
# `dh_auto_*` install/test steps are not run. No configure option is dropped.
set -eu
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_CFLAGS_MAINT_APPEND=-Wno-error=deprecated-declarations
export DEB_CXXFLAGS_MAINT_APPEND=-Wno-error=deprecated-declarations
CFLAGS=$(dpkg-buildflags --get CFLAGS)
CXXFLAGS=$(dpkg-buildflags --get CXXFLAGS)
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS)
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
[ -f Makefile ] || ./configure --build=x86_64-linux-gnu --prefix=/usr \
	'--includedir=${prefix}/include' '--mandir=${prefix}/share/man' \
	'--infodir=${prefix}/share/info' --sysconfdir=/etc --localstatedir=/var \
	--disable-option-checking --disable-silent-rules \
	'--libdir=${prefix}/lib/x86_64-linux-gnu' --runstatedir=/run \
	--disable-maintainer-mode --disable-dependency-tracking \
	BUILDCXXFLAGS="$CXXFLAGS $CPPFLAGS $LDFLAGS" BUILDCXX="${CXX:-g++}" \
	--with-build-environment=default \
	--enable-build-info="Debian linux" \
	--datadir=/usr/share/squid \
	--sysconfdir=/etc/squid \
	--libexecdir=/usr/lib/squid \
	--mandir=/usr/share/man \
	--enable-inline \
	--disable-arch-native \
	--enable-async-io=8 \
	--enable-storeio="ufs,aufs,diskd,rock" \
	--enable-removal-policies="lru,heap" \
	--enable-delay-pools \
	--enable-cache-digests \
	--enable-icap-client \
	--enable-follow-x-forwarded-for \
	--enable-auth-basic="DB,fake,getpwnam,LDAP,NCSA,PAM,POP3,RADIUS,SASL,SMB" \
	--enable-auth-digest="file,LDAP" \
	--enable-auth-negotiate="kerberos,wrapper" \
	--enable-auth-ntlm="fake,SMB_LM" \
	--enable-external-acl-helpers="file_userip,kerberos_ldap_group,LDAP_group,session,SQL_session,time_quota,unix_group,wbinfo_group" \
	--enable-security-cert-validators="fake" \
	--enable-storeid-rewrite-helpers="file" \
	--enable-url-rewrite-helpers="fake" \
	--enable-eui \
	--enable-icmp \
	--enable-zph-qos \
	--enable-ecap \
	--disable-translation \
	--with-swapdir=/var/spool/squid \
	--with-logdir=/var/log/squid \
	--with-pidfile=/run/squid.pid \
	--with-filedescriptors=65536 \
	--with-large-files \
	--with-default-user=proxy \
	--disable-esi \
	--enable-linux-netfilter --with-systemd \
	--with-gnutls \
	>configure.log 2>&1 || { tail -30 configure.log; exit 1; }
make -j"${MAKE_JOBS:-2}"
