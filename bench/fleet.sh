#!/bin/bash
# make bench-fleet: `xsplice load --all` over N demo targets (default 200),
# once with the agent already present (preloaded) and once by attach
# (started without it), printing the milliseconds per process. A benchmark,
# not a test: it fails only if a run does not patch every process.
# Targets (issue 9): <= 1 ms per process with the agent, <= 5 ms by attach.
#
# usage: bench/fleet.sh BUILD_DIR [N] [JOBS...]
#   JOBS: the --jobs values to run (default: the CLI's default only)
set -u
BUILD=$(cd "${1:?usage: fleet.sh BUILD_DIR [N] [JOBS...]}" && pwd)
N=${2:-200}
shift $(( $# >= 2 ? 2 : 1 ))
JOBS=("$@")
[ ${#JOBS[@]} = 0 ] && JOBS=("")
XSPLICE=$BUILD/src/cli/xsplice
AGENT=$BUILD/src/agent/libxsplice.so
TARGET=$BUILD/examples/demo/xsplice-demo-target
PAYLOAD=$BUILD/examples/demo/hello.livepatch
for f in "$XSPLICE" "$AGENT" "$TARGET" "$PAYLOAD" /usr/bin/time; do
	[ -e "$f" ] || { echo "bench-fleet: missing $f (build first)" >&2; exit 1; }
done
if ldd "$AGENT" | grep -q libasan; then
	echo "bench-fleet: $BUILD is a sanitizer build; use a normal one" >&2
	exit 1
fi
WORK=$(mktemp -d /tmp/xsplice-bench-fleet.XXXXXX)
export XSPLICE_SOCKET_DIR=$WORK/agents
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start MODE: N demo targets (one worker thread each), preloaded or plain.
start() {
	local i
	PIDS=()
	for ((i = 0; i < N; i++)); do
		if [ "$1" = preloaded ]; then
			LD_PRELOAD=$AGENT "$TARGET" serve "$WORK/d$i.sock" 1 2>/dev/null &
		else
			"$TARGET" serve "$WORK/d$i.sock" 1 2>/dev/null &
		fi
		disown $! # no "Killed" notices
		PIDS+=("$!")
	done
	for ((i = 0; i < N; i++)); do
		local t=0
		while [ ! -S "$WORK/d$i.sock" ] ||
			{ [ "$1" = preloaded ] && [ ! -S "$XSPLICE_SOCKET_DIR/${PIDS[$i]}.sock" ]; }; do
			t=$((t + 1))
			[ $t -gt 500 ] && { echo "bench-fleet: target $i did not start" >&2; exit 1; }
			sleep 0.02
		done
	done
}

stop() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		while kill -0 "$p" 2>/dev/null; do sleep 0.01; done
	done
	PIDS=()
	rm -f "$WORK"/d*.sock # the next start waits for new ones
}

# run MODE JOBS: one load --all, then revert and unload for the next run.
run() {
	local mode=$1 jobs=$2 t0 t1 out
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	out=$(/usr/bin/time -f "cpu %U %S" -o "$WORK/cpu" "$XSPLICE" load --all --tree $$ \
		${jobs:+--jobs "$jobs"} "$PAYLOAD")
	local rc=$?
	t1=$(date +%s%N)
	local cpu
	cpu=$(awk '/^cpu/ { printf "%.3f", ($2 + $3) * 1000 }' "$WORK/cpu")
	local summary timing
	summary=$(grep -E '^[0-9]+ patched,' <<<"$out")
	timing=$(grep -E ' ms per process ' <<<"$out")
	if [ $rc != 0 ] || [[ "$summary" != "$N patched, 0 already, 0 skipped, 0 failed" ]]; then
		echo "bench-fleet: $mode: load --all did not patch all $N (exit $rc): $summary" >&2
		grep -vE ' patched' <<<"$out" | head -n 5 >&2
		exit 1
	fi
	awk -v m="$mode" -v n="$N" -v a="$t0" -v b="$t1" -v j="${jobs:-default}" -v t="$timing" \
		-v c="$cpu" 'BEGIN {
		ms = (b - a) / 1e6
		printf "%-10s %4d processes, --jobs %-7s %8.1f ms wall  %6.3f ms/process  " \
			"(xsplice CPU %.3f ms/process; xsplice: %s)\n", m, n, j, ms, ms / n, c / n, t }'
	"$XSPLICE" revert --all --tree $$ hello >/dev/null &&
		"$XSPLICE" unload --all --tree $$ hello >/dev/null ||
		{ echo "bench-fleet: revert/unload --all failed" >&2; exit 1; }
}

echo "xsplice load --all over $N demo targets ($(nproc) CPUs)"
start preloaded
for j in "${JOBS[@]}"; do run preloaded "$j"; done
stop
for j in "${JOBS[@]}"; do
	# every attach run needs fresh targets without the agent
	start attach
	run attach "$j"
	stop
done
echo "targets: <= 1 ms/process with the agent, <= 5 ms/process by attach"
