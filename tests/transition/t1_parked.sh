#!/usr/bin/env bash
# Case 1: a thread parked inside the old function for longer than the time
# bound keeps the payload out: exit 5, rc -EBUSY, the reason names the
# thread, the function and the frame; nothing changed (state CHECKED, calls
# give the old answer). Once the thread has left, the apply succeeds.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload slow "$TP/tr-slow.livepatch"
expect_tq slow 1 "slow_function gives the old answer before any apply"

tid=$(tq "slow 5000" | sed -n 's/^tid //p')
diag "worker $tid sleeps 5 s inside slow_function"
t0=$(now_ms)
xsp --timeout 300 apply slow
t1=$(now_ms)
expect_rc 5 "apply --timeout 300 with a thread inside slow_function: exit 5"
diag "apply returned after $((t1 - t0)) ms (CLI included)"
get_json slow
ok_if "rc -EBUSY (-16), state CHECKED" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -16 ]' || show_last
diag "reason: $G_REASON"
ok_if "the reason names the thread id $tid" '[[ "$G_REASON" == *"thread $tid "* ]]'
ok_if "the reason names the function slow_function" '[[ "$G_REASON" == *"function slow_function"* ]]'
ok_if "the reason names the frame" '[[ "$G_REASON" =~ frame\ [0-9]+ ]]'
expect_tq slow 1 "slow_function still gives the old answer"
expect_tq slowdone 0 "the worker is still inside (the test is meaningful)"

# The thread leaves: wait for it, then the same apply goes through.
wait_for 10 bash -c "[ \"\$('$TT' query '$TSOCK' slowdone)\" = 1 ]" ||
	diag "the worker did not leave slow_function within 10 s"
xsp --timeout 300 apply slow
expect_rc 0 "after the thread left, apply succeeds"
expect_state slow APPLIED 0 "state APPLIED, rc 0"
expect_tq slow 2 "slow_function gives the new answer"
xsp revert slow
expect_rc 0 "revert succeeds"
expect_tq slow 1 "old answer again after revert"

expect_tt_alive
done_testing
