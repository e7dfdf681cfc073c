#!/bin/bash
# Shadow variables, live: examples/shadow's login service gets a new field
# (consecutive failures) in its struct conn through shadow data. Existing
# connections are seeded by a postapply hook, new ones by the patched
# function; the lockout works, a reopened connection starts from zero, and
# revert/unload bring the old behaviour back and free the data.
source "$(dirname "$0")/lib.sh" "$1"
ST=$BUILD/examples/shadow/xsplice-shadow-target
PL=$BUILD/examples/shadow/lockout.livepatch
LOG=$WORK/shadow.log

LD_PRELOAD=$AGENT_PRELOAD spawn "$ST" 0 >"$LOG" 2>"$WORK/shadow.err"
TPID=$LAST_PID
TLOG=$WORK/shadow.err
wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$TPID.sock" || { echo "Bail out! no agent"; exit 1; }
# results after a mark: lines for conn ID
mark() { MARK=$(wc -l <"$LOG"); }
since() { tail -n +"$((MARK + 1))" "$LOG"; }
lines_at_least() { [ "$(wc -l <"$LOG")" -ge "$1" ]; }
wait_lines() { wait_for 10 lines_at_least $((MARK + $1)); }
count_at_least() { [ "$(grep -c "$1" "$LOG")" -ge "$2" ]; }

MARK=0
wait_lines 8
check "before the patch conn 2 is denied, never locked" \
	bash -c "grep -q 'conn 2: denied' '$LOG' && ! grep -q locked '$LOG'"

xsp load "$PL"
expect_rc 0 "upload and apply the lockout payload"
mark
wait_lines 8
since | head -8 | diag "$(cat)"
check "conn 2 (failed before the patch) is locked at once: seeded by the postapply hook" \
	bash -c "[ \"\$(tail -n +$((MARK + 1)) '$LOG' | grep -m1 'conn 2:' | sed 's/.*: //')\" = locked ]"
check "conn 1 (right password) is still allowed" \
	bash -c "tail -n +$((MARK + 1)) '$LOG' | grep -q 'conn 1: allowed'"

# The last connection is reopened every 40 ticks by the patched conn_reset:
# a new id >= 1000, denied 3 times, then locked.
wait_for 10 grep -q "conn 1000:" "$LOG"
wait_for 10 count_at_least 'conn 1000:' 5
got=$(grep 'conn 1000:' "$LOG" | head -5 | sed 's/.*: //' | paste -sd, -)
diag "new connection 1000: $got"
check "a new connection is denied 3 times, then locked (its shadow field starts at zero)" \
	[ "$got" = "denied,denied,denied,locked,locked" ]

xs -p "$TPID" --json list
desc=$("$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["payloads"][0]["description"])' <<<"$OUT")
check "list --json shows the payload's description" [ "$desc" = "lock a connection out after 3 failed logins" ]

xsp revert lockout
expect_rc 0 "revert"
mark
wait_lines 8
check "after the revert nobody is locked" bash -c "! tail -n +$((MARK + 1)) '$LOG' | grep -q locked"
xsp unload lockout
expect_rc 0 "unload (its hook frees the shadow data)"
check "the agent ran the unload hook" grep -q "running unload hook lockout:drop_all" "$TLOG"
check "the target is alive" kill -0 "$TPID"
done_testing
