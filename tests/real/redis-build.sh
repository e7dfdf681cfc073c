#!/bin/bash
# Build Redis in the current directory (a Debian redis source tree) the way
# the Debian package does (debian/rules: dpkg-buildflags with hardening=+all,
# system jemalloc, systemd, TLS; upstream Makefile defaults otherwise:
# -O2, no LTO), plus -ffunction-sections -fdata-sections so that
# xsplice-build can diff per function.
#
# Used both by tests/real/redis-cve.sh for the running baseline and as
# xsplice-build's --build-cmd for its original and patched builds, so all of
# them get the same flags.  Honours $CC (a compiler wrapper) and $MAKE_JOBS.
# If $XSPLICE_REAL_BUILD_TIMES names a file, the build's wall time in seconds
# is appended to it (the test uses that to tell xsplice-build's own time from
# the time its builds took).
set -euo pipefail

# dpkg-buildpackage exports these; replicate them (debian/rules).
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
export DEB_CFLAGS_MAINT_APPEND=-I/usr/include/liblzf
export DEB_LDFLAGS_MAINT_APPEND="-Wl,-no-as-needed -ldl -latomic -llzf"
CFLAGS="$(dpkg-buildflags --get CFLAGS) -ffunction-sections -fdata-sections"
CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
export CFLAGS CPPFLAGS LDFLAGS BUILD_TLS=yes

# Reproducible release.h: dpkg-buildpackage takes SOURCE_DATE_EPOCH from
# debian/changelog, so REDIS_BUILD_ID carries no build host or time; and no
# git sha/dirty count may leak in from an enclosing repository (the work dir
# may live inside the xsplice checkout, whose state changes between builds).
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH="$(dpkg-parsechangelog -STimestamp 2>/dev/null || echo 0)"
fi
export SOURCE_DATE_EPOCH
export GIT_DIR=/nonexistent GIT_CEILING_DIRECTORIES=/

start=$(date +%s.%N)
make -j"${MAKE_JOBS:-$(nproc)}" V=1 USE_SYSTEM_JEMALLOC=yes USE_SYSTEMD=yes \
    USE_JEMALLOC=yes "$@"
end=$(date +%s.%N)
if [ -n "${XSPLICE_REAL_BUILD_TIMES:-}" ]; then
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }' \
        >> "$XSPLICE_REAL_BUILD_TIMES"
fi
