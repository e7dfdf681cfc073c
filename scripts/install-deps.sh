#!/bin/sh
# Install the Debian packages xsplice needs to build and test, if missing.
# Idempotent and quiet when everything is there. Usage: install-deps.sh [build|check|real|bench|corpus]
set -eu
want="gcc make meson ninja-build pkg-config libelf-dev libdw-dev libunwind-dev libcmocka-dev libssl-dev elfutils binutils"
# The real daemons of tests/daemons/ and their clients (their services are
# not started: policy-rc.d / no systemd; the tests use their own loopback
# ports and configurations). A daemon whose package cannot be installed is
# skipped by its test.
daemons="redis-server redis-tools nginx-light haproxy memcached dnsmasq rsyslog lighttpd apache2-utils curl bind9-dnsutils python3-minimal"
# systemd: only systemd-analyze, to verify contrib/systemd/ (nothing is started).
# openssl (test keys and certificates), linux-kbuild-6.1 (the kernel's
# scripts/sign-file, whose signatures the agent must accept), clang and
# libclang-rt-14-dev (libFuzzer, for the fuzz smoke run).
case "${1:-build}" in
  check) want="$want libc6-dev redis-server redis-tools patch systemd ansible-core python3-voluptuous python3-pycodestyle openssl linux-kbuild-6.1 clang libclang-rt-14-dev gdb linux-perf g++ dpkg-dev cmake $daemons" ;;
  real)  want="$want redis-server redis-tools patch dpkg-dev" ;;
  # bench-redis: redis; bench-fleet: /usr/bin/time for the command's own CPU time
  bench) want="$want redis-server redis-tools time" ;;
  # tests/corpus: Debian source packages built as their debian/rules do
  # libarchive (its Build-Depends, dh_autoreconf), expat (buildconf.sh, docbook2x for xmlwf.1)
  corpus) want="$want patch dpkg-dev cmake dh-autoreconf pkg-config libbz2-dev liblz4-dev liblzma-dev libxml2-dev libzstd-dev zlib1g-dev libacl1-dev libext2fs-dev nettle-dev sharutils docbook-to-man docbook2x" ;;
esac
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
