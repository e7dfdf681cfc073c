#!/bin/bash
# make stress: the long form (XSPLICE_STRESS_CYCLES, default 10000 cycles,
# XSPLICE_STRESS_THREADS default 8).
set -euo pipefail
build=${1:-build}
b=$build/tests/stress
exec "$b/stress-driver" "$build/src/agent/libxsplice.so" "$b/stress-target" \
  "$b/stress-A.livepatch" "$b/stress-B.livepatch" "${XSPLICE_STRESS_CYCLES:-10000}" \
  "${XSPLICE_STRESS_THREADS:-8}"
