# shellcheck shell=bash
# Shared helpers of the end-to-end tests. Each test is a bash script that
# sources this file with the build directory as its first argument:
#
#   source "$(dirname "$0")/lib.sh" "$1"
#
# and prints TAP: one "ok N - ..." / "not ok N - ..." per check, "# ..."
# diagnostics, and the plan "1..N" at the end (done_testing), so a script
# that dies half-way has no plan and counts as failed.
#
# What it gives:
#   start_target [THREADS]   the demo target with the agent preloaded, in a
#                            private XSPLICE_SOCKET_DIR; sets TPID, TSOCK
#                            (the demo's own query socket), ASOCK (agent)
#   xs ARGS... / xsp ARGS... run xsplice (xsp adds -p $TPID), bounded by
#                            timeout(1); sets RC, OUT, ERR
#   expect_rc N DESC, expect_out TEXT DESC, expect_err TEXT DESC
#   expect_state NAME STATE RC DESC   via `xsplice --json get NAME`
#   expect_extra TEXT DESC   the target's answer to "info"
#   expect_alive DESC        the target still runs and answers
#   cleanup (EXIT trap)      kills everything started, removes $WORK
#
# AddressSanitizer builds (meson setup -Db_sanitize=address,undefined
# -Db_lundef=false): the agent .so then depends on libasan, and ASan insists
# that its runtime is the first object in the initial library list. With
# LD_PRELOAD=libxsplice.so alone the agent comes first, the target prints
# "ASan runtime does not come first in initial library list" and exits (even
# though the demo target links libasan itself). The fix is to preload the
# runtime first: LD_PRELOAD="/path/to/libasan.so.N /path/to/libxsplice.so"
# (gcc -print-file-name=libasan.so gives the same library). We take the path
# from the agent's own dependencies (ldd), so it is exactly the runtime the
# build linked against. The normal build preloads the agent alone.

set -u
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "Bail out! usage: $0 BUILD_DIR"
	exit 1
fi
BUILD=$(cd "$1" && pwd)
E2E_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AGENT=$BUILD/src/agent/libxsplice.so
XSPLICE=$BUILD/src/cli/xsplice
TARGET=$BUILD/examples/demo/xsplice-demo-target
TARGET_OTHER=$BUILD/examples/demo/xsplice-demo-target-other
PAYLOADS=$BUILD/examples/demo
E2E_BUILD=$BUILD/tests/e2e
for f in "$AGENT" "$XSPLICE" "$TARGET" "$PAYLOADS/hello.livepatch"; do
	if [ ! -e "$f" ]; then
		echo "Bail out! missing $f (build first)"
		exit 1
	fi
done

# A client bound: no test may hang on a command.
XS_TIMEOUT=${XS_TIMEOUT:-30}

WORK=$(mktemp -d /tmp/xsplice-e2e.XXXXXX)
export XSPLICE_SOCKET_DIR=$WORK/agents
# Sanitizer settings that make the ASan build fail loudly; harmless otherwise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

ASAN_RUNTIME=$(ldd "$AGENT" 2>/dev/null | awk '/libasan\.so/ { print $3; exit }')
if [ -n "$ASAN_RUNTIME" ]; then
	AGENT_PRELOAD="$ASAN_RUNTIME $AGENT"
else
	AGENT_PRELOAD=$AGENT
fi
export AGENT_PRELOAD

# The real interpreter: a version-manager shim (pyenv) costs ~0.4 s a call.
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
[ -x "${PYTHON:-}" ] || PYTHON=python3
export PYTHON

TAP_N=0
TAP_FAILED=0
STARTED_PIDS=()

# ---- TAP ----

diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

pass() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

# ok CONDITION-COMMAND... -- DESC is clumsy in bash; use: check DESC CMD...
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# Show the last command's output when a check fails.
show_last() {
	diag "command: ${LAST_CMD:-?}"
	diag "exit code: ${RC:-?}"
	[ -n "${OUT:-}" ] && diag "stdout: $OUT"
	[ -n "${ERR:-}" ] && diag "stderr: $ERR"
	return 0
}

# Sanitizer reports from any process we started (their stderr goes to
# *.log files under $WORK): the ASan build must stay clean.
check_sanitizer_logs() {
	local hits
	hits=$(grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|ASan runtime does not come first' \
		--include='*.log' "$WORK" 2>/dev/null)
	if [ -z "$hits" ]; then
		pass "no sanitizer reports from the processes started"
	else
		fail "no sanitizer reports from the processes started"
		local f
		for f in $hits; do diag "$f:"; diag "$(head -n 40 "$f")"; done
	fi
}

done_testing() {
	check_sanitizer_logs
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}

# ---- processes ----

# Run a command in the background and remember it for cleanup.
spawn() {
	"$@" &
	STARTED_PIDS+=("$!")
	LAST_PID=$!
}

# wait_for TIMEOUT_S TEST-COMMAND...: poll every 20 ms.
wait_for() {
	local limit=$(($1 * 50)) i=0
	shift
	while ! "$@"; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.02
	done
	return 0
}

sock_ready() { [ -S "$1" ]; }

# gone PID: the process has exited (no longer exists, or is a zombie).
gone() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}

# start_target [THREADS] [BINARY]: demo target with the agent preloaded.
# Sets TPID, TSOCK, ASOCK. Fails the test (Bail out) if the agent does not
# come up within 30 s (a loaded CI runner can take seconds).
start_target() {
	local threads=${1:-4} bin=${2:-$TARGET}
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	TSOCK=$WORK/demo$TARGET_N.sock
	TLOG=$WORK/target$TARGET_N.log
	LD_PRELOAD=$AGENT_PRELOAD spawn "$bin" serve "$TSOCK" "$threads" 2>"$TLOG"
	TPID=$LAST_PID
	ASOCK=$XSPLICE_SOCKET_DIR/$TPID.sock
	if ! wait_for 30 sock_ready "$ASOCK" || ! wait_for 30 sock_ready "$TSOCK"; then
		echo "Bail out! the demo target (pid $TPID) did not start with its agent"
		diag "$(cat "$TLOG")"
		exit 1
	fi
}

# Stop one process we started (TERM, then KILL after 2 s) and reap it.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie of ours still answers kill -0: reap it
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		sleep 0.02
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		stop_pid "$pid"
		# the agent's perf map of payload code (perfmap.c)
		rm -f "/tmp/perf-$pid.map"
	done
	# Processes we did not start as children (fork children, exec'd
	# helpers) are recorded by pid in $WORK/extra-pids by the tests.
	if [ -f "$WORK/extra-pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		done <"$WORK/extra-pids"
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- running xsplice ----

# xs ARGS...: run xsplice; RC, OUT, ERR hold its exit code and output.
xs() {
	LAST_CMD="xsplice $*"
	timeout -k 5 "$XS_TIMEOUT" "$XSPLICE" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
	return 0
}
xsp() { xs -p "$TPID" "$@"; }

expect_rc() {
	local want=$1 desc=$2
	if [ "$RC" = "$want" ]; then
		pass "$desc"
	else
		fail "$desc"
		diag "expected exit code $want"
		show_last
	fi
}

# expect_out TEXT DESC: TEXT is a substring of stdout.
expect_out() {
	if [[ "$OUT" == *"$1"* ]]; then
		pass "$2"
	else
		fail "$2"
		diag "expected in stdout: $1"
		show_last
	fi
}

expect_err() {
	if [[ "$ERR" == *"$1"* ]]; then
		pass "$2"
	else
		fail "$2"
		diag "expected in stderr: $1"
		show_last
	fi
}

# expect_no_out TEXT DESC: TEXT must not be in stdout.
expect_no_out() {
	if [[ "$OUT" != *"$1"* ]]; then
		pass "$2"
	else
		fail "$2"
		diag "unexpected in stdout: $1"
		show_last
	fi
}

# json_field FIELD < json: print one top-level field of a JSON object.
json_field() {
	"$PYTHON" -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print(v)' "$1"
}

# expect_state NAME STATE RC DESC [REASON]: GET via --json. RC is a number
# (e.g. -22); with REASON "nonempty" the reason must be non-empty (rc != 0).
expect_state() {
	local name=$1 state=$2 rc=$3 desc=$4 reason=${5:-}
	local got_state got_rc got_reason
	xsp --json get "$name"
	if [ "$RC" != 0 ]; then
		fail "$desc"
		diag "get $name failed"
		show_last
		return
	fi
	{ read -r got_state; read -r got_rc; IFS= read -r got_reason; } < <("$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
print(v["state"]); print(v["rc"]); print(v["reason"].replace("\n", " "))' <<<"$OUT")
	if [ "$got_state" = "$state" ] && [ "$got_rc" = "$rc" ] &&
		{ [ "$reason" != nonempty ] || [ -n "$got_reason" ]; }; then
		pass "$desc"
		[ -n "$got_reason" ] && diag "reason: $got_reason"
	else
		fail "$desc"
		diag "expected state $state rc $rc${reason:+ (reason $reason)}"
		show_last
	fi
}

# expect_gone NAME DESC: GET says not found (exit 3).
expect_gone() {
	xsp get "$1"
	if [ "$RC" = 3 ]; then pass "$2"; else fail "$2"; show_last; fi
}

# list_names: "name:STATE name:STATE ..." in list order.
list_names() {
	xsp --json list
	[ "$RC" = 0 ] || { echo "LIST-FAILED($RC)"; return; }
	"$PYTHON" -c 'import json, sys
print(" ".join(p["name"] + ":" + p["state"] for p in json.load(sys.stdin)["payloads"]))' <<<"$OUT"
}

# expect_list "a:CHECKED b:APPLIED" DESC
expect_list() {
	local got
	got=$(list_names)
	if [ "$got" = "$1" ]; then
		pass "$2"
	else
		fail "$2"
		diag "expected list: '$1'"
		diag "got list:      '$got'"
	fi
}

# ---- the target ----

query() { timeout 10 "$TARGET" query "${2:-$TSOCK}" "$1" 2>&1; }

extra() { query info | sed -n 's/^xen_extra *: //p'; }

expect_extra() {
	local got
	got=$(extra)
	if [ "$got" = "$1" ]; then
		pass "$2"
	else
		fail "$2"
		diag "expected xen_extra '$1', got '$got'"
		diag "target log: $(cat "$TLOG" 2>/dev/null)"
	fi
}

expect_alive() {
	local desc=${1:-the target is still alive and answering}
	local got
	got=$(query info)
	if kill -0 "$TPID" 2>/dev/null && [[ "$got" == "xen_extra"*":"* ]]; then
		pass "$desc"
	else
		fail "$desc"
		diag "query info: $got"
		diag "target log: $(cat "$TLOG" 2>/dev/null)"
	fi
}

# Payload helpers.
P_HELLO=$PAYLOADS/hello.livepatch
P_BYE=$PAYLOADS/bye.livepatch
P_REPLACE=$PAYLOADS/replace.livepatch
P_OTHER=$PAYLOADS/hello-other-build.livepatch

# write_note FILE HEX: an ELF note "GNU", NT_GNU_BUILD_ID, the id HEX
# (namesz 4, descsz len, type 3, little-endian u32s).
write_note() {
	"$PYTHON" - "$1" "$2" <<'PY'
import struct, sys
bid = bytes.fromhex(sys.argv[2])
open(sys.argv[1], "wb").write(struct.pack("<III", 4, len(bid), 3) + b"GNU\0" + bid)
PY
}

# variant OUT HEX40: hello.livepatch with its own build-id replaced.
hello_variant() {
	write_note "$WORK/note.$2" "$2"
	objcopy --update-section .note.gnu.build-id="$WORK/note.$2" "$P_HELLO" "$1"
	rm -f "$WORK/note.$2"
}

build_id_of() { readelf -n "$1" | awk '/Build ID:/ { print $3; exit }'; }
