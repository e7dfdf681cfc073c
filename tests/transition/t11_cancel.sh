#!/usr/bin/env bash
# Case 11: bounds on an action. A timeout above 60 s is refused; an apply
# that keeps retrying (a thread sits in the function) can be cancelled by
# another client: it ends with ECANCELED, nothing changed, at once rather
# than at its time bound; cancel with nothing running says so.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload slow "$TP/tr-slow.livepatch"
xsp --timeout 70000 apply slow
ok_if "a timeout of 70000 ms is refused" '[ "$RC" != 0 ] && [[ "$ERR" == *"above the limit of 60000 ms"* ]]' || show_last
expect_state slow CHECKED 0 "the refusal changed nothing"

xsp cancel slow
ok_if "cancel with no action running is refused, saying so" \
	'[ "$RC" != 0 ] && [[ "$ERR" == *"no action is running on '"'"'slow'"'"'"* ]]' || show_last

tid=$(tq "slow 8000" | sed -n 's/^tid //p')
diag "worker $tid sleeps 8 s inside slow_function"
t0=$(now_ms)
timeout 30 "$XSPLICE" -p "$TPID" --timeout 20000 apply slow >"$WORK/apply.out" 2>"$WORK/apply.err" &
apid=$!
sleep 0.5
xsp cancel slow
expect_rc 0 "xsplice cancel succeeds while the apply retries"
expect_out "cancelled" "it says the action was cancelled"
wait "$apid"
arc=$?
t1=$(now_ms)
diag "apply: exit $arc after $((t1 - t0)) ms: $(cat "$WORK/apply.err")"
ok_if "the apply ends with ECANCELED" '[ "$arc" != 0 ] && grep -q ECANCELED "$WORK/apply.err"'
ok_if "well before its 20 s bound (< 5 s)" '[ $((t1 - t0)) -lt 5000 ]'
get_json slow
ok_if "state CHECKED, rc -ECANCELED (-125)" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -125 ]'
expect_tq slow 1 "slow_function unchanged"
wait_for 20 bash -c "[ \"\$('$TT' query '$TSOCK' slowdone)\" = 1 ]" || diag "worker still inside"
xsp apply slow
expect_rc 0 "the next apply succeeds"
xsp revert slow
expect_rc 0 "and reverts"
expect_tt_alive
done_testing
