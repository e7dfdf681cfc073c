#!/usr/bin/env bash
# Case 12: the park handler's stack scan (docs/decisions.md, "A stack scan
# before the unwinder") only clears threads; whenever a word matches, the
# unwinder decides as before.
# (a) A stale pointer into slow_function kept in a live local (a word the
#     scan matches, but no frame is in the function): the apply succeeds,
#     through the unwinder, while that thread still sleeps.
# (b) A thread sleeping inside slow_function: refused (exit 5, -EBUSY, the
#     reason names it) however many retries the bound allows; applies once
#     it has left.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload slow "$TP/tr-slow.livepatch"

tid=$(tq "stale 4000" | sed -n 's/^tid //p')
diag "worker $tid keeps a pointer into slow_function and sleeps 4 s elsewhere"
xsp --timeout 2000 apply slow
expect_rc 0 "apply with a stale pointer to slow_function on a stack: succeeds"
expect_state slow APPLIED 0 "state APPLIED, rc 0"
expect_tq staledone 0 "the stale-pointer worker still sleeps (the test is meaningful)"
expect_tq slow 2 "slow_function gives the new answer"
xsp revert slow
expect_rc 0 "revert with the stale pointer still on the stack: succeeds"
expect_tq slow 1 "old answer again"

tid=$(tq "slow 3000" | sed -n 's/^tid //p')
diag "worker $tid sleeps 3 s inside slow_function"
xsp --timeout 400 apply slow
expect_rc 5 "apply --timeout 400 with a thread inside slow_function: exit 5"
get_json slow
ok_if "rc -EBUSY (-16), state CHECKED" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -16 ]' || show_last
ok_if "the reason names the thread $tid and slow_function" \
	'[[ "$G_REASON" == *"thread $tid "* && "$G_REASON" == *"slow_function"* ]]'
expect_tq slowdone 0 "the worker is still inside"
wait_for 10 bash -c "[ \"\$('$TT' query '$TSOCK' slowdone)\" = 1 ]" ||
	diag "the worker did not leave slow_function within 10 s"
xsp --timeout 2000 apply slow
expect_rc 0 "after it left, apply succeeds"
expect_tq slow 2 "new answer"
xsp revert slow
expect_rc 0 "revert"

expect_tt_alive
done_testing
