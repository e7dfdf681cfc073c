#!/bin/bash
# make bench-redis: redis-server (Debian's package) with the agent preloaded,
# under redis-benchmark (SET and GET, 50 clients), alternately unpatched and
# while one client process (bench-cycler, libxsplice-ctl) applies and reverts
# a libc payload every 100 ms (a function redis never calls: the figure is
# the cost of the stops). Prints both throughputs, p50 and p99 per round and
# the medians over the rounds. A benchmark, not a test.
#
#   bench/bench-redis.sh BUILD_DIR [ROUNDS] [REQUESTS]
set -u
BUILD=$(cd "${1:?usage: bench-redis.sh BUILD_DIR [ROUNDS] [REQUESTS]}" && pwd)
ROUNDS=${2:-3}
REQUESTS=${3:-200000}
AGENT=$BUILD/src/agent/libxsplice.so
CYCLER=$BUILD/bench/bench-cycler
PAYLOAD=$BUILD/bench/bench-redis.livepatch
for f in /usr/bin/redis-server /usr/bin/redis-benchmark "$AGENT" "$CYCLER" "$PAYLOAD"; do
	[ -e "$f" ] || { echo "bench-redis: missing $f (scripts/install-deps.sh bench; ninja -C $BUILD)" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/xsplice-bench-redis.XXXXXX)
export XSPLICE_SOCKET_DIR=$WORK
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LD_PRELOAD=$AGENT /usr/bin/redis-server --port "$PORT" --bind 127.0.0.1 --save "" \
	--appendonly no --daemonize no --dir "$WORK" --logfile "$WORK/redis.log" &
RPID=$!
CPID=
trap 'kill $CPID $RPID 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for i in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
echo "bench-redis: redis-server pid $RPID port $PORT, $ROUNDS rounds of $REQUESTS requests per test"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# run MODE: one redis-benchmark; prints "MODE TEST rps p50 p99" lines.
run() {
	redis-benchmark -h 127.0.0.1 -p "$PORT" -t set,get -n "$REQUESTS" -c 50 --csv 2>/dev/null |
		awk -F, -v m="$1" 'NR > 1 { for (i = 1; i <= NF; i++) gsub(/"/, "", $i); print m, $1, $2, $5, $7 }'
}

: >"$WORK/results"
for r in $(seq "$ROUNDS"); do
	run unpatched | tee -a "$WORK/results"
	"$CYCLER" "$RPID" "$PAYLOAD" 100 3600 >"$WORK/cycler.out" 2>&1 &
	CPID=$!
	sleep 0.3
	run patching | tee -a "$WORK/results"
	kill -TERM "$CPID"; wait "$CPID"; CPID=
	echo "  cycler: $(cat "$WORK/cycler.out")"
done
echo
echo "medians over $ROUNDS rounds (requests/s, latency ms), load average $(cut -d' ' -f1-3 /proc/loadavg):"
for t in SET GET; do
	awk -v t="$t" '$2 == t' "$WORK/results" | python3 -c '
import sys, statistics as st
rows = [l.split() for l in sys.stdin]
u = [r for r in rows if r[0] == "unpatched"]; p = [r for r in rows if r[0] == "patching"]
med = lambda rs, i: st.median(float(r[i]) for r in rs)
t = sys.argv[1]
print("%-4s unpatched %10.0f rps p50 %.3f p99 %.3f | patching every 100 ms %10.0f rps p50 %.3f p99 %.3f | ratio %.3f, p99 %+.3f ms" % (
    t, med(u, 2), med(u, 3), med(u, 4), med(p, 2), med(p, 3), med(p, 4), med(p, 2) / med(u, 2), med(p, 4) - med(u, 4)))
' "$t"
done
