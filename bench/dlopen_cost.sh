#!/bin/bash
# make bench-dlopen: what the agent's loader hook costs a program that
# dlopens and dlcloses a library in a loop, in CPU time per round (all
# threads), without the agent, with it but XSPLICE_AUTOLOAD=0 (no hook),
# with the hook and nothing installed, and with one unrelated payload
# installed. Usage: dlopen_cost.sh BUILD_DIR [ROUNDS] [REPEATS]
set -eu
B=$(cd "$1" && pwd)
N=${2:-20000}
R=${3:-3}
AGENT=$B/src/agent/libxsplice.so
LIB=$B/tests/e2e/libxse2e_dlb.so
BIN=$B/bench/bench-dlopen-cost
W=$(mktemp -d /tmp/xsplice-bench-dlopen.XXXXXX)
trap 'rm -rf "$W"' EXIT
export XSPLICE_SOCKET_DIR=$W/agents
mkdir -m 755 "$W/pd"
install -m 644 "$B/examples/demo/hello.livepatch" "$W/pd/"
printf '%-40s' "configuration"; for ((i = 1; i <= R; i++)); do printf '%10s' "run $i"; done; echo
run() { # LABEL ENV...
	local label=$1
	shift
	printf '%-40s' "$label"
	for ((i = 1; i <= R; i++)); do printf '%8s us' "$(env "$@" "$BIN" "$LIB" "$N")"; done
	echo
}
run "no agent" XSPLICE_PATCH_DIR="$W/none"
run "agent, no hook (XSPLICE_AUTOLOAD=0)" XSPLICE_AUTOLOAD=0 LD_PRELOAD="$AGENT" XSPLICE_PATCH_DIR="$W/none"
run "agent, hook, nothing installed" LD_PRELOAD="$AGENT" XSPLICE_PATCH_DIR="$W/none"
run "agent, hook, 1 unrelated installed" LD_PRELOAD="$AGENT" XSPLICE_PATCH_DIR="$W/pd"
echo "($N dlopen+dlclose rounds per run; load: $(cut -d' ' -f1-3 /proc/loadavg))"
