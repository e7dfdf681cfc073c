#!/bin/bash
# make bench-idle: what an idle agent costs its program. Runs idle-work
# (CPU-bound arithmetic, then one getppid system call per iteration) for
# SECONDS at a time, alternately without and with the agent preloaded, ROUNDS
# times each, and prints the median rates and their ratio; then the agent's
# resident memory (bench-target idle 1, with and without the agent) and the
# memory one small payload (bench-hook.livepatch, uploaded and applied)
# adds. A benchmark, not a test.
#
#   bench/bench-idle.sh BUILD_DIR [ROUNDS] [SECONDS]
set -u
BUILD=$(cd "${1:?usage: bench-idle.sh BUILD_DIR [ROUNDS] [SECONDS]}" && pwd)
ROUNDS=${2:-7}
SECS=${3:-1}
AGENT=$BUILD/src/agent/libxsplice.so
WORKER=$BUILD/bench/idle-work
WORK=$(mktemp -d /tmp/xsplice-bench-idle.XXXXXX)
export XSPLICE_SOCKET_DIR=$WORK
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
echo "bench-idle: $ROUNDS rounds of $SECS s per workload and mode, interleaved"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for w in cpu syscall; do
	: >"$WORK/none"; : >"$WORK/agent"
	for r in $(seq "$ROUNDS"); do
		"$WORKER" "$w" "$SECS" | awk '{ print $1 }' >>"$WORK/none"
		LD_PRELOAD=$AGENT "$WORKER" "$w" "$SECS" | awk '{ print $1 }' >>"$WORK/agent"
	done
	n=$(median <"$WORK/none"); a=$(median <"$WORK/agent")
	printf '%-8s without agent %12.0f /s | agent loaded, idle %12.0f /s | ratio %.4f\n' \
		"$w" "$n" "$a" "$(awk -v a="$a" -v n="$n" 'BEGIN { print a / n }')"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Resident memory (kB, /proc/PID/smaps_rollup Rss) of bench-target idle 1.
rss() { awk '/^Rss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
start() {
	"$@" >"$WORK/ready" &
	PIDS+=("$!")
	LAST=$!
	for i in $(seq 200); do grep -q ready "$WORK/ready" 2>/dev/null && break; sleep 0.02; done
}
start "$BUILD/bench/bench-target" idle 1
plain=$(rss "$LAST")
start env LD_PRELOAD="$AGENT" "$BUILD/bench/bench-target" idle 1
with=$(rss "$LAST")
"$BUILD/src/cli/xsplice" -p "$LAST" --no-attach load "$BUILD/bench/bench-hook.livepatch" >/dev/null
loaded=$(rss "$LAST")
echo "resident memory (bench-target idle 1): without agent ${plain} kB, agent loaded ${with} kB" \
	"(+$((with - plain)) kB), one payload uploaded and applied ${loaded} kB (+$((loaded - with)) kB)"
