#!/bin/sh
# Install the Debian packages xsplice needs to build and test, if missing.
# Idempotent and quiet when everything is there. Usage: install-deps.sh [build|check|real|bench|corpus]
set -eu
# libxml2-dev: a test program linking Debian's libxml2 (tests/e2e/libs.sh).
want="gcc make meson ninja-build pkg-config libelf-dev libdw-dev libunwind-dev libcmocka-dev libssl-dev libxml2-dev elfutils binutils"
# The real daemons of tests/daemons/ and their clients (their services are
# not started: policy-rc.d / no systemd; the tests use their own loopback
# ports and configurations). A daemon whose package cannot be installed is
# skipped by its test.
daemons="redis-server redis-tools nginx-light haproxy memcached dnsmasq rsyslog lighttpd apache2-utils curl bind9-dnsutils python3-minimal"
# systemd: only systemd-analyze, to verify contrib/systemd/ (nothing is started).
# openssl (test keys and certificates), linux-kbuild-6.1 (the kernel's
# scripts/sign-file, whose signatures the agent must accept), clang and
# libclang-rt-14-dev (libFuzzer, for the fuzz smoke run).
# Build-Depends of the corpus' real services (tests/corpus/build/*.sh) and
# their clients: haproxy (libpcre2, lua5.3, opentracing, systemd; ab and curl
# for the load and the reproducer), dnsmasq (conntrack, idn2, dbus, gmp,
# nettle, nftables, gettext; dig), Redis (jemalloc, lzf; redis-tools).
corpus_services="libpcre2-dev liblua5.3-dev libopentracing-c-wrapper-dev libsystemd-dev apache2-utils curl gettext libnetfilter-conntrack-dev libidn2-dev libdbus-1-dev libgmp-dev nettle-dev libnftables-dev bind9-dnsutils python3-minimal libjemalloc-dev liblzf-dev redis-tools perl"
# libebml (cmake only) and taglib (boost, utf8cpp, zlib; cppunit for
# BUILD_TESTING=ON as debian/rules sets it), the C++ library cases.
corpus_cxxlibs="g++ cmake libboost-dev libutfcpp-dev zlib1g-dev libcppunit-dev"
corpus_squid="g++ ed lsb-release libltdl-dev libcppunit-dev libcap-dev libecap3-dev libexpat1-dev libgnutls28-dev libkrb5-dev comerr-dev libldap2-dev libnetfilter-conntrack-dev libpam0g-dev libsasl2-dev libsystemd-dev libtdb-dev libxml2-dev nettle-dev python3 curl"
# libarchive's Build-Depends that its library build uses (tests/corpus/build/libarchive.sh).
libarchive_deps="autoconf automake libtool libbz2-dev liblz4-dev liblzma-dev libxml2-dev libzstd-dev zlib1g-dev libacl1-dev libext2fs-dev nettle-dev"
case "${1:-build}" in
  check) want="$want libc6-dev redis-server redis-tools patch systemd ansible-core python3-voluptuous python3-pycodestyle openssl linux-kbuild-6.1 clang libclang-rt-14-dev gdb linux-perf g++ dpkg-dev cmake libxml2-utils $libarchive_deps $daemons" ;;
  real)  want="$want redis-server redis-tools patch dpkg-dev" ;;
  # bench-redis: redis; bench-fleet: /usr/bin/time for the command's own CPU time
  bench) want="$want redis-server redis-tools time" ;;
  # tests/corpus: Debian source packages built as their debian/rules do
  # expat: buildconf.sh, docbook2x for xmlwf.1; libarchive: dh_autoreconf
  # squid (C++): its Build-Depends but debhelper/dh-apparmor (packaging
  # only); its harness uses python3 (the origin) and curl (digest auth)
  corpus) want="$want patch dpkg-dev cmake $corpus_services $corpus_squid $libarchive_deps $corpus_cxxlibs dh-autoreconf pkg-config sharutils docbook-to-man docbook2x" ;;
esac
# tests/corpus: the Build-Depends of curl's openssl flavour and of cups that
# their configure scripts use (the cases' build/PKG.sh replicas), and the
# public suffix list libcurl's cookie engine loads at run time.
if [ "${1:-build}" = corpus ]; then
  want="$want autoconf automake libtool libbrotli-dev libidn2-dev libkrb5-dev libldap2-dev libnghttp2-dev libpsl-dev librtmp-dev libssh2-1-dev libzstd-dev zlib1g-dev publicsuffix"
  want="$want libavahi-client-dev libavahi-common-dev libdbus-1-dev libgnutls28-dev libpam0g-dev libpaper-dev libsystemd-dev libusb-1.0-0-dev po4a"
fi
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "xsplice: installing missing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
  echo "xsplice: not root; install them with: sudo apt-get install$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
