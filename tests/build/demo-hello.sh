#!/bin/bash
# The seed's hello payload, made by xsplice-build from a source patch
# (demo/hello.patch: extra_version() returns "Hello World") against the demo
# target examples/demo/target.c, then loaded into the running target.
#   demo-hello.sh BUILD_DIR EXAMPLES_DEMO_DIR      (prints TAP)
set -u
BUILD=$(cd "$1" && pwd)
DEMO=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
XB=$BUILD/src/build/xsplice-build
AGENT=$BUILD/src/agent/libxsplice.so
XSPLICE=$BUILD/src/cli/xsplice
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
diag() { sed 's/^/# /' "$@"; }
finish() { echo "1..$N"; [ "$FAILED" = 0 ]; exit $?; }
T=$(mktemp -d "${TMPDIR:-/tmp}/xb-demo.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -f "/tmp/perf-$PID.map"; }
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/src"
cp "$DEMO/target.c" "$HERE/demo/Makefile" "$T/src/"
cp -a "$T/src" "$T/run"
"$XB" --wrap -- make -s -C "$T/run" >"$T/build.txt" 2>&1 || { nok "build the demo target"; diag "$T/build.txt"; finish; }
BIN=$T/run/xsplice-demo-target
if "$XB" --srcdir "$T/src" --patch "$HERE/demo/hello.patch" --target "$BIN" \
	-o "$T/hello.livepatch" >"$T/xb.txt" 2>&1; then
	ok "hello.livepatch built from hello.patch"
else
	nok "hello.livepatch built from hello.patch"; diag "$T/xb.txt"; finish
fi
"$XB" --dump "$T/hello.livepatch" >"$T/dump.txt"
if [ "$(grep -c '^func: ' "$T/dump.txt")" = 1 ] && grep -q '^func: extra_version ' "$T/dump.txt"; then
	ok "one function entry: extra_version"
else
	nok "one function entry: extra_version"; diag "$T/dump.txt"
fi
bid=$(readelf -n "$BIN" | sed -n 's/.*Build ID: *//p' | head -1)
if grep -q "^depends: $bid\$" "$T/dump.txt"; then ok "depends on the target's build-id"; else nok "depends on the target's build-id"; diag "$T/dump.txt"; fi

[ -f "$AGENT" ] && [ -x "$XSPLICE" ] || { echo "# agent or xsplice not built: apply checks skipped"; finish; }
ASAN_RUNTIME=$(ldd "$AGENT" 2>/dev/null | awk '/libasan\.so/ { print $3; exit }')
export XSPLICE_SOCKET_DIR=$T/agents
mkdir -p "$XSPLICE_SOCKET_DIR" && chmod 700 "$XSPLICE_SOCKET_DIR"
LD_PRELOAD="${ASAN_RUNTIME:+$ASAN_RUNTIME }$AGENT" "$BIN" serve "$T/demo.sock" 2 2>"$T/err.txt" &
PID=$!
for _ in $(seq 250); do [ -S "$XSPLICE_SOCKET_DIR/$PID.sock" ] && [ -S "$T/demo.sock" ] && break; sleep 0.02; done
info() { "$BIN" query "$T/demo.sock" info 2>&1; }
check_info() {
	local got
	got=$(info)
	if [[ "$got" == *"$1"* ]]; then ok "$2"; else nok "$2"; echo "# got: $got"; fi
}
check_info "-unstable" "info shows -unstable"
if timeout 30 "$XSPLICE" -p "$PID" load "$T/hello.livepatch" >"$T/load.txt" 2>&1; then ok "xsplice load hello"; else nok "xsplice load hello"; diag "$T/load.txt"; fi
check_info "Hello World" "info shows Hello World"
if timeout 30 "$XSPLICE" -p "$PID" revert hello >"$T/revert.txt" 2>&1; then ok "xsplice revert hello"; else nok "xsplice revert hello"; diag "$T/revert.txt"; fi
check_info "-unstable" "info shows -unstable again"

# bye stacks on hello: --depends with hello's build-id.
hid=$(sed -n 's/^build-id: //p' "$T/dump.txt")
if "$XB" --srcdir "$T/src" --patch "$HERE/demo/bye.patch" --target "$BIN" --depends "$hid" \
	-o "$T/bye.livepatch" >"$T/xb-bye.txt" 2>&1 &&
	"$XB" --dump "$T/bye.livepatch" | grep -q "^depends: $hid\$"; then
	ok "bye.livepatch built with --depends hello"
else
	nok "bye.livepatch built with --depends hello"; diag "$T/xb-bye.txt"
fi
timeout 30 "$XSPLICE" -p "$PID" apply hello >/dev/null 2>&1
if timeout 30 "$XSPLICE" -p "$PID" load "$T/bye.livepatch" >"$T/load.txt" 2>&1; then ok "xsplice load bye on hello"; else nok "xsplice load bye on hello"; diag "$T/load.txt"; fi
check_info "Bye World" "info shows Bye World"
timeout 30 "$XSPLICE" -p "$PID" revert bye >/dev/null 2>&1
check_info "Hello World" "revert bye: Hello World"
finish
