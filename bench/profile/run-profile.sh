#!/bin/bash
# Profiling build of the agent (never installed, never committed to src/):
# copy the tree, apply transition-timing.patch (timestamps of each phase of
# the rendezvous, appended to $XS_PROF_LOG after the release), build it in
# its own dir and run bench-pause against it for a few configurations.
#
#   bench/profile/run-profile.sh BENCH_BUILD_DIR [CYCLES] [CONFIGS...]
#   e.g. bench/profile/run-profile.sh /tmp/build-bench 50 "busy 4" "busy 16" "idle 16"
# BENCH_PAUSE_ARGS adds bench-pause options (e.g. --agent-fifo).
#
# The patch is against src/agent/transition.c as of the commit that added
# it; if the file moved on, apply it by hand (four small hunks).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench_build=${1:?bench build dir}
cycles=${2:-50}
shift 2 || true
[ $# -gt 0 ] || set -- "busy 1" "busy 4" "busy 16" "idle 1" "idle 16"
work=$(mktemp -d /tmp/xsplice-prof.XXXXXX)
(cd "$root" && git ls-files | tar -cf - -T -) | tar -xf - -C "$work/"
patch -d "$work" -p1 < "$here/transition-timing.patch"
meson setup "$work/build" "$work" -Dbuildtype=debugoptimized -Dtests=false >/dev/null
ninja -C "$work/build" src/agent/libxsplice.so >/dev/null
for cfg in "$@"; do
  set -- $cfg
  log=$work/prof-$1-$2.log
  XS_PROF_LOG=$log "$bench_build/bench/bench-pause" --agent "$work/build/src/agent/libxsplice.so" \
    --cycles "$cycles" --warmup 0 --kinds "$1" --threads "$2" ${BENCH_PAUSE_ARGS:-} >/dev/null 2>&1
  echo "$cfg: $(python3 "$here/profsum.py" "$log")"
done
rm -rf "$work"
