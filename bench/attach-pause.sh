#!/bin/bash
# The pause of a run-time attach (issue 9): N attaches (default 20), each to
# a fresh 10-thread demo target (main, ticker, 8 workers) started without
# the agent; prints the median, minimum and maximum time the hijacked
# thread was stopped (xsplice --json attach: pause_us).
#
# usage: bench/attach-pause.sh BUILD_DIR [N]
set -u
B=$(cd "${1:?usage: $0 BUILD_DIR [N]}" && pwd)
N=${2:-20}
XSPLICE_SOCKET_DIR=$(mktemp -d)
export XSPLICE_SOCKET_DIR
trap 'rm -rf "$XSPLICE_SOCKET_DIR"' EXIT
pauses=()
for i in $(seq "$N"); do
	s=$XSPLICE_SOCKET_DIR/demo$i.sock
	env -u LD_PRELOAD "$B/examples/demo/xsplice-demo-target" serve "$s" 8 2>/dev/null &
	p=$!
	for _ in $(seq 250); do [ -S "$s" ] && break; sleep 0.02; done
	out=$("$B/src/cli/xsplice" --json attach "$p")
	pauses+=("$(sed -n 's/.*"pause_us": \([0-9.]*\).*/\1/p' <<<"$out")")
	kill "$p"
	wait "$p" 2>/dev/null
done
printf '%s\n' "${pauses[@]}" | sort -n | awk -v n="$N" '
	{ a[NR] = $1 }
	END { printf "attach pause, 10-thread target, %d attaches: median %.0f us, min %.0f, max %.0f\n",
	      NR, a[int((NR + 1) / 2)], a[1], a[NR] }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
