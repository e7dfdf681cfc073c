#!/bin/bash
# Payload code visible to tools: gdb (JIT interface) names the payload
# function a stopped thread is in; perf (/tmp/perf-PID.map) names a hot
# payload function; backtrace() and a C++ exception cross a patched frame
# (the payload's .eh_frame registered with libgcc); all taken back at unload.
source "$(dirname "$0")/lib.sh" "$1"
VT=$E2E_BUILD/vis_target
PV=$E2E_BUILD/vis.livepatch
[ -x "$VT" ] || { echo "1..0 # SKIP no C++ compiler: vis_target not built"; exit 0; }
VLOG=$WORK/vis.log

LD_PRELOAD=$AGENT_PRELOAD spawn "$VT" 0 >"$VLOG" 2>"$WORK/vis.err"
VPID=$LAST_PID
TLOG=$WORK/vis.err
wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$VPID.sock" || { echo "Bail out! vis_target has no agent"; exit 1; }
wait_for 5 grep -q "work=ok" "$VLOG"
check "before: work returns" grep -q "work=ok" "$VLOG"
rm -f "/tmp/perf-$VPID.map"
xs -p "$VPID" load "$PV"
expect_rc 0 "load the payload"

# C++ exception and backtrace() through the payload's frame.
wait_for 10 grep -q "caught: negative" "$VLOG"
check "a C++ exception thrown below the payload function is caught above it" \
	grep -q "caught: negative" "$VLOG"
check "backtrace() from below the payload function reaches run_loop" \
	grep -q "backtrace reaches run_loop: 1" "$VLOG"
check "the target keeps running (no std::terminate)" kill -0 "$VPID"

# gdb: the thread sleeps inside nap_payload most of the time.
if command -v gdb >/dev/null; then
	got=
	for _ in 1 2 3 4 5; do
		timeout 60 gdb -p "$VPID" -batch -ex 'thread apply all bt' >"$WORK/gdb.txt" 2>&1
		grep -q "in nap_payload" "$WORK/gdb.txt" && { got=1; break; }
	done
	grep -E "^#" "$WORK/gdb.txt" | grep -v -e futex -e control_thread -e start_thread -e clone3 -e poll -e cond_wait | head -8 | diag "$(cat)"
	check "gdb's backtrace names the payload function (nap_payload)" [ -n "$got" ]
	check "and the patched function's replacement (work_payload)" grep -q "in work_payload" "$WORK/gdb.txt"
else
	pass "# SKIP gdb not installed"
fi

# perf: a hot payload function in the report.
PMAP=/tmp/perf-$VPID.map
check "the perf map names the payload functions" grep -Eq " busy_payload[^ ]* \[vis\]$" "$PMAP"
if command -v perf >/dev/null && timeout 20 perf record -q -e cpu-clock -p "$VPID" \
	-o "$WORK/perf.data" -- sleep 1 >"$WORK/perf-record.txt" 2>&1; then
	timeout 60 perf report -i "$WORK/perf.data" --stdio --sort sym 2>/dev/null >"$WORK/perf.txt"
	grep -v "^#" "$WORK/perf.txt" | grep . | head -5 | diag "$(cat)"
	check "perf report names the hot payload function (busy_payload)" \
		grep -q "busy_payload" "$WORK/perf.txt"
else
	pass "# SKIP perf cannot record here: $(tail -1 "$WORK/perf-record.txt" 2>/dev/null)"
fi

# The agent's own stack check unwinds through payload frames (the payload's
# .eh_frame as a libunwind table): run_loop, below nap_payload and
# work_payload on the main thread's stack, is found, so a payload replacing
# run_loop is refused.
xs -p "$VPID" load --timeout 300 "$E2E_BUILD/vis-loop.livepatch"
expect_rc 5 "a payload for run_loop (on the stack below payload frames) is refused"
expect_err "has a return address in function run_loop" \
	"the agent's unwinder crossed the payload frames to find run_loop"
# The same function with a wrong expectation: said at once, before any stop
# (was: EBUSY after the time bound, the bytes never compared).
xs -p "$VPID" unload vis-loop
xs -p "$VPID" load --timeout 3000 "$E2E_BUILD/vis-loop-bad.livepatch"
expect_rc 4 "a wrong expectation of a function always on a stack is refused (exit 4, not 5)"
expect_err "run_loop does not start with the bytes the payload expects: nothing changed" \
	"the reason is the expectation, not the busy stack"
xs -p "$VPID" unload vis-loop-bad

# The agent's own reasons name payload code as payload:function+off: a
# revert with a short time bound meets the thread inside the payload.
named=
for _ in 1 2 3 4 5; do
	xs -p "$VPID" revert --timeout 60 vis
	if [ "$RC" != 0 ]; then
		grep -Eq "pc vis:(nap_payload|busy_payload|work_payload)[^ ]*\+0x[0-9a-f]+" <<<"$ERR" && named=1
		break
	fi
	xs -p "$VPID" apply vis
done
diag "revert: rc $RC: $ERR"
check "a busy revert's reason names the payload function (pc vis:function+0xoff)" [ -n "$named" ]
xs -p "$VPID" revert vis
expect_rc 0 "revert"
xs -p "$VPID" unload vis
expect_rc 0 "unload (frames deregistered, JIT entry removed)"
n=$(wc -l <"$VLOG")
wait_for 5 bash -c "[ \$(wc -l <'$VLOG') -gt $n ]"
check "after unload work returns again" bash -c "tail -n 1 '$VLOG' | grep -q work=ok"
if command -v gdb >/dev/null; then
	timeout 60 gdb -p "$VPID" -batch -ex 'info functions nap_payload' >"$WORK/gdb2.txt" 2>&1
	check "after unload gdb no longer knows the payload function" \
		bash -c "! grep -q 'nap_payload' <(grep -v '^All functions' '$WORK/gdb2.txt')"
fi
check "the target is alive" kill -0 "$VPID"
rm -f "$PMAP"
done_testing
