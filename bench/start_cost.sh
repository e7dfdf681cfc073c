#!/bin/bash
# make bench-start: the start-up cost of the agent's installed-payload scan
# (docs/performance.md, "Start-up with a patch directory"). Starts the demo
# target's `version` mode (it prints extra_version() and exits) N times in
# each setting, interleaved in rounds so machine load drifts alike for all:
#
#   none      no agent
#   missing   agent preloaded, no patch directory
#   empty     agent, empty patch directory
#   other20   agent, 20 installed payloads, all for another program
#   match1    agent, the 20 above + hello for this program (applied each start)
#
# Prints the median microseconds per start of each setting per round and
# the median over rounds (wall time of the whole run, so it includes the
# agent's own start), then the time the installed-payload step itself
# takes inside the process (XSPLICE_AUTOLOAD=verbose reports it). Usage: bench/start_cost.sh [BUILD_DIR] [N] [ROUNDS]
set -eu
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-200}
ROUNDS=${3:-5}
AGENT=$BUILD/src/agent/libxsplice.so
TARGET=$BUILD/examples/demo/xsplice-demo-target
RUN=$BUILD/bench/bench-start-cost
OTHER=$BUILD/examples/demo/hello-other-build.livepatch
HELLO=$BUILD/examples/demo/hello.livepatch
WORK=$(mktemp -d /tmp/xsplice-bench-start.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export XSPLICE_SOCKET_DIR=$WORK/agents

mkdir -p "$WORK/empty" "$WORK/other20" "$WORK/match1"
# 20 distinct payloads (own build-ids differ) for xsplice-demo-target-other.
for i in $(seq -w 1 20); do
	python3 - "$WORK/note" "$i" <<'PY'
import struct, sys
bid = bytes([int(sys.argv[2])] * 20)
open(sys.argv[1], "wb").write(struct.pack("<III", 4, len(bid), 3) + b"GNU\0" + bid)
PY
	objcopy --update-section .note.gnu.build-id="$WORK/note" "$OTHER" "$WORK/other20/other$i.livepatch"
done
cp "$WORK"/other20/*.livepatch "$WORK/match1/"
cp "$HELLO" "$WORK/match1/hello.livepatch"
chmod 755 "$WORK"/empty "$WORK"/other20 "$WORK"/match1
chmod 644 "$WORK"/other20/* "$WORK"/match1/*

run() { # SETTING -> "median p10 p90"
	case $1 in
	none) env -u LD_PRELOAD "$RUN" "$N" "$TARGET" version ;;
	missing) XSPLICE_PATCH_DIR=$WORK/missing LD_PRELOAD=$AGENT "$RUN" "$N" "$TARGET" version ;;
	*) XSPLICE_PATCH_DIR=$WORK/$1 LD_PRELOAD=$AGENT "$RUN" "$N" "$TARGET" version ;;
	esac
}

# Check the settings do what they say before timing them.
[ "$(XSPLICE_PATCH_DIR=$WORK/match1 LD_PRELOAD=$AGENT "$TARGET" version 2>/dev/null)" = "xen_extra : Hello World" ] ||
	{ echo "match1 does not patch the target" >&2; exit 1; }
[ "$(XSPLICE_PATCH_DIR=$WORK/other20 LD_PRELOAD=$AGENT "$TARGET" version 2>&1)" = "xen_extra : -unstable" ] ||
	{ echo "other20 is not silent and unpatched" >&2; exit 1; }

SETTINGS="none missing empty other20 match1"
declare -A med
for r in $(seq "$ROUNDS"); do
	line="round $r:"
	for s in $SETTINGS; do
		read -r m lo hi < <(run "$s")
		med[$s]="${med[$s]:-} $m"
		line="$line $s ${m}us"
	done
	echo "$line"
done
echo "median over $ROUNDS rounds of the per-round median of $N starts (us per start):"
for s in $SETTINGS; do
	m=$(tr ' ' '\n' <<<"${med[$s]}" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	printf '  %-8s %6s\n' "$s" "$m"
done

echo "inside the process: the installed-payload step alone (median of $N starts, us):"
for s in missing empty other20 match1; do
	for i in $(seq "$N"); do
		XSPLICE_AUTOLOAD=verbose XSPLICE_PATCH_DIR=$WORK/$s LD_PRELOAD=$AGENT "$TARGET" version 2>&1 >/dev/null |
			sed -n 's/.*applied, \([0-9]*\) us$/\1/p'
	done | sort -n | awk -v s="$s" '{ v[NR] = $1 } END { printf "  %-8s %6s  (p10 %s, p90 %s)\n", s, v[int((NR + 1) / 2)], v[int(NR / 10) + 1], v[int(NR * 9 / 10)] }'
done
