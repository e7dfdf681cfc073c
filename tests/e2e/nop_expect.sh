#!/bin/bash
# NOP patching and expectations (docs/nop-and-expectations.md), matching and
# failing: a version-2 entry applies only when the old function starts with
# the expected bytes; otherwise APPLY writes nothing and says why. A NOP
# entry (new_addr 0) removes the first new_size bytes of a function.
source "$(dirname "$0")/lib.sh" "$1"
P_EXPECT=$E2E_BUILD/expect.livepatch
P_EXPECT_BAD=$E2E_BUILD/expect-bad.livepatch

start_target 4
# --- expectations on the demo target ---
xsp load "$P_EXPECT"
expect_rc 0 "a payload whose expectation matches applies"
expect_extra "Expected World" "its function is live"
xsp revert expect
expect_rc 0 "revert it"

xsp upload expect-bad "$P_EXPECT_BAD"
expect_rc 0 "upload a payload with a wrong expectation (checked at apply)"
xsp apply expect-bad
expect_rc 4 "applying it fails"
expect_err "does not start with the bytes the payload expects: nothing changed" \
	"the reason says the bytes differ and nothing changed"
expect_err "hint: the function's code is not what the payload was built against" \
	"the hint is about the code, not the payload's state"
expect_state expect-bad CHECKED -22 "it stays CHECKED with rc -EINVAL" nonempty
expect_extra "-unstable" "the original still runs"

# The function already patched by another payload: its first bytes are a
# jump now, so a payload built against the original refuses to apply.
xsp load "$P_HELLO"
expect_rc 0 "load hello"
xsp apply expect
expect_rc 4 "an expectation fails on a function another payload patched"
expect_extra "Hello World" "hello's function still runs"
xsp revert hello
expect_rc 0 "revert hello"
xsp apply expect
expect_rc 0 "with hello reverted the expectation matches again"
expect_extra "Expected World" "Expected World"
xsp revert expect
for p in expect expect-bad hello; do
	xsp unload "$p"
	expect_rc 0 "unload $p"
done
expect_alive

# --- NOP patching on nop_target ---
NLOG=$WORK/nop.log
LD_PRELOAD=$AGENT_PRELOAD spawn "$E2E_BUILD/nop_target" 0 >"$NLOG" 2>"$WORK/nop.err"
NPID=$LAST_PID
wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$NPID.sock" || { echo "Bail out! nop_target has no agent"; exit 1; }
last_is() { [ "$(tail -n 1 "$NLOG")" = "$1" ]; }
lines_after() { [ "$(wc -l <"$NLOG")" -gt "$1" ]; }
# fresh: a line printed after now says $1
fresh_line_is() { local n; n=$(wc -l <"$NLOG"); wait_for 5 lines_after "$n" && last_is "$1"; }
check "before: feature=0" fresh_line_is "feature=0"
xs -p "$NPID" upload nop-bad "$E2E_BUILD/nop-bad.livepatch"
expect_rc 0 "upload a NOP payload expecting other bytes"
xs -p "$NPID" apply nop-bad
expect_rc 4 "its apply fails"
expect_err "feature_enabled does not start with the bytes the payload expects" "the reason names the function"
check "still feature=0" fresh_line_is "feature=0"
xs -p "$NPID" load "$E2E_BUILD/nop.livepatch"
expect_rc 0 "load the NOP payload (expectation eb 06 matches)"
check "after the NOP: feature=1" fresh_line_is "feature=1"
xs -p "$NPID" --json info
nop=$("$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
f = [p for p in d["payloads"] if p["name"] == "nop"][0]["funcs"][0]
print(f["new_addr"], f["new_size"], f["applied"])' <<<"$OUT")
check "info shows a NOP entry (new_addr 0, 2 bytes, applied)" [ "$nop" = "0x0 2 True" ]
xs -p "$NPID" info
expect_out "NOP (2 bytes) [applied]" "info text says NOP"
xs -p "$NPID" revert nop
expect_rc 0 "revert the NOP"
check "reverted: feature=0 again" fresh_line_is "feature=0"
check "nop_target is alive" kill -0 "$NPID"
done_testing
