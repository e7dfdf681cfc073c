#!/bin/bash
# "It applies and behaves": build a case's payload, run the case's program
# with the agent preloaded, `xsplice load` the payload, check the program's
# output changes as expected, `xsplice revert`, check it is back.
#   apply-case.sh BUILD_DIR CASEDIR
# Needs in CASEDIR/expect:  before REGEX  and  after REGEX  (the program's
# output line before/after the patch). Optional: `plain-build` (the running
# binary built by plain make, without xsplice-build's wrapper, as most
# programs are) and `env K=V` lines (the program's environment). Prints TAP.
set -u
BUILD=$(cd "$1" && pwd)
CASE=$(cd "$2" && pwd)
NAME=$(basename "$CASE")
source "$(dirname "$0")/case-lib.sh"
XB=$BUILD/src/build/xsplice-build
AGENT=$BUILD/src/agent/libxsplice.so
XSPLICE=$BUILD/src/cli/xsplice
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $NAME: $*"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $NAME: $*"; }
diag() { sed 's/^/# /' "$@"; }
finish() { echo "1..$N"; [ "$FAILED" = 0 ]; exit $?; }
for f in "$XB" "$AGENT" "$XSPLICE"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "1..0 # SKIP $f not built"; exit 0; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/xb-apply-$NAME.XXXXXX")
PID=
cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
		rm -f "/tmp/perf-$PID.map"
	fi
	rm -rf "$T"
}
trap cleanup EXIT

before= after= target=prog strip=no SRCDIR=$TREE/src WRAP=("$XB" --wrap --)
TENV=() LISTED=() OPTS=()
while read -r k v; do
	case "$k" in
	before) before=$v ;;
	after) after=$v ;;
	target) target=$v ;;
	strip) strip=yes ;;
	built-srcdir) SRCDIR=$T/run ;;
	plain-build) WRAP=() ;;
	env) TENV+=("$v") ;;
	listed) LISTED+=("$v") ;; # `xsplice list` after the load matches
	opts) read -ra OPTS <<<"$v" ;;
	esac
done <"$CASE/expect"

cp -a "$TREE/src" "$T/run"
"${WRAP[@]}" make -s -C "$T/run" >"$T/build.txt" 2>&1 || { nok "build the program"; diag "$T/build.txt"; finish; }
case_patch "$T" || true
BIN=$T/run/$target
if [ "$strip" = yes ]; then
	# Stripped as distributions ship it: the agent must not need its symbols.
	mkdir -p "$T/bin"
	cp "$BIN" "$T/bin/$target"
	strip "$T/bin/$target"
	BIN=$T/bin/$target
	[ "$SRCDIR" = "$T/run" ] || rm -f "$T/run/$target"
fi
if "$XB" --srcdir "$SRCDIR" --patch "$PATCH" --target "$BIN" \
	-o "$T/$NAME.livepatch" "${OPTS[@]}" >"$T/xb.txt" 2>&1; then
	ok "payload built"
else
	nok "payload built"; diag "$T/xb.txt"; finish
fi

# ASan builds: the sanitizer runtime must come first in the preload list.
ASAN_RUNTIME=$(ldd "$AGENT" 2>/dev/null | awk '/libasan\.so/ { print $3; exit }')
export XSPLICE_SOCKET_DIR=$T/agents
mkdir -p "$XSPLICE_SOCKET_DIR"
chmod 700 "$XSPLICE_SOCKET_DIR"
env "${TENV[@]}" LD_PRELOAD="${ASAN_RUNTIME:+$ASAN_RUNTIME }$AGENT" "$BIN" >"$T/out.txt" 2>"$T/err.txt" &
PID=$!
for _ in $(seq 250); do [ -S "$XSPLICE_SOCKET_DIR/$PID.sock" ] && break; sleep 0.02; done
[ -S "$XSPLICE_SOCKET_DIR/$PID.sock" ] || { nok "agent socket"; diag "$T/err.txt"; finish; }

# last_line_matches REGEX: a line printed after now matches.
wait_line() {
	local start n
	start=$(wc -l <"$T/out.txt")
	for _ in $(seq 50); do
		sleep 0.1
		n=$(wc -l <"$T/out.txt")
		if [ "$n" -gt "$start" ] && tail -n 1 "$T/out.txt" | grep -Eq -- "$1"; then
			return 0
		fi
	done
	return 1
}

if wait_line "$before"; then ok "before: $before"; else nok "before: $before"; tail -3 "$T/out.txt" | diag; fi
if timeout 30 "$XSPLICE" -p "$PID" load "$T/$NAME.livepatch" >"$T/load.txt" 2>&1; then
	ok "xsplice load"
else
	nok "xsplice load"; diag "$T/load.txt"
fi
if wait_line "$after"; then ok "after load: $after"; else nok "after load: $after"; tail -3 "$T/out.txt" | diag; fi
for re in "${LISTED[@]}"; do
	"$XSPLICE" -p "$PID" list >"$T/list.txt" 2>&1
	if grep -Eq -- "$re" "$T/list.txt"; then ok "listed: $re"; else nok "listed: $re"; diag "$T/list.txt"; fi
done
if timeout 30 "$XSPLICE" -p "$PID" revert "$NAME" >"$T/revert.txt" 2>&1; then
	ok "xsplice revert"
else
	nok "xsplice revert"; diag "$T/revert.txt"
fi
if wait_line "$before"; then ok "after revert: $before"; else nok "after revert: $before"; tail -3 "$T/out.txt" | diag; fi
kill -0 "$PID" 2>/dev/null && ok "program still running" || { nok "program still running"; diag "$T/err.txt"; }
finish
