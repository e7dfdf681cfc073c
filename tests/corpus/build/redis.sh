#!/bin/sh
# Redis as debian/rules builds it: the build command of tests/real (one
# script for both: dpkg-buildflags with hardening=+all, system jemalloc,
# systemd, TLS, the rules' CFLAGS/LDFLAGS appends; see redis-build.sh).
# corpus-uses: ../../real/redis-build.sh
exec bash "$(dirname "$0")/../../real/redis-build.sh" "$@"
