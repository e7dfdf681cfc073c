#!/bin/bash
# Run the libFuzzer harnesses (tests/fuzz/): fuzz_upload (the agent's whole
# UPLOAD path over a table with payloads in it) and fuzz_protocol (every
# request and reply of the protocol), in parallel, for SECONDS each, from
# the seed corpora kept in tests/fuzz/seeds/ (working copies in a
# temporary directory: the repository is not written). First each
# harness replays its regression inputs (tests/fuzz/regressions/), the
# inputs of crashes found and fixed. A crash leaves its input in
# BUILD_FUZZ/fuzz-artifacts/ and fails the run.
#
#   scripts/fuzz.sh [SECONDS] [BUILD_FUZZ]     (default 60, build-fuzz)
#
# Prints TAP (one check per harness and its regressions) and, with
# FUZZ_TAP=FILE, writes it there too. Needs clang with libFuzzer
# (scripts/install-deps.sh check installs clang and libclang-rt-14-dev).
set -uo pipefail
secs=${1:-${FUZZ_SECONDS:-60}}
bf=${2:-build-fuzz}
root=$(cd "$(dirname "$0")/.." && pwd)
tap=${FUZZ_TAP:-/dev/null}
: >"$tap"
say() { echo "$*"; echo "$*" >>"$tap"; }

if ! command -v clang >/dev/null; then
	say "1..0 # SKIP clang is not installed"
	exit 0
fi
if [ ! -f "$bf/build.ninja" ]; then
	CC=clang meson setup "$bf" "$root" -Db_lundef=false >/dev/null || {
		say "Bail out! meson setup of $bf with clang failed"; exit 1; }
fi
# fuzz_upload reads payload_state.lp (its two loaded payloads) at start.
ninja -C "$bf" -j2 tests/fuzz/fuzz_upload tests/fuzz/fuzz_protocol \
	tests/unit/agent/payload_state.lp >/dev/null || {
	say "Bail out! building the fuzz harnesses failed"; exit 1; }

work=$(mktemp -d /tmp/xsplice-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
art=$bf/fuzz-artifacts
mkdir -p "$art"
n=0 failed=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then say "ok $n - $2"; else say "not ok $n - $2"; failed=$((failed + 1)); fi
}

run() {
	local h=$1 seeds=$2
	mkdir -p "$work/$h"
	cp "$root/tests/fuzz/seeds/$seeds/"* "$work/$h/"
	# -close_fd_mask=1: the harness's own stdout (none) is not needed.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	"$bf/tests/fuzz/$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/$h-" "$work/$h" \
		>"$work/$h.log" 2>&1
	echo $? >"$work/$h.rc"
}

for h in upload protocol; do
	regs=("$root/tests/fuzz/regressions/$h/"*)
	if [ -e "${regs[0]}" ]; then
		"$bf/tests/fuzz/fuzz_$h" -runs=0 "${regs[@]}" >"$work/reg-$h.log" 2>&1
		rc=$?
		check $rc "fuzz_$h: ${#regs[@]} regression inputs replay without a crash"
		[ $rc = 0 ] || tail -20 "$work/reg-$h.log"
	fi
done

run fuzz_upload upload &
p1=$!
run fuzz_protocol protocol &
p2=$!
wait $p1 $p2
for h in fuzz_upload fuzz_protocol; do
	rc=$(cat "$work/$h.rc")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
	cov=$(grep -o 'cov: [0-9]*' "$work/$h.log" | tail -1)
	check "$rc" "$h: ${runs:-?} inputs in ${secs} s, $cov, no crash, leak or sanitizer report"
	if [ "$rc" != 0 ]; then
		grep -A30 -m1 'ERROR\|WARNING\|deadly\|SUMMARY' "$work/$h.log" | head -40
		ls "$art"
	fi
done
say "1..$n"
[ $failed = 0 ]
