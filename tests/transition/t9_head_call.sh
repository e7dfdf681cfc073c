#!/usr/bin/env bash
# Case 9: LIVEPATCH_FUNC_NO_STACK_CHECK still keeps threads out of the bytes
# the trampoline overwrites. head_call's first instruction is a 2-byte
# call; a thread asleep in its callee has a return address 2 bytes into
# head_call. Apply must be refused (it would return into the middle of
# the new jump); once the thread has left, the apply goes through.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload head "$TP/tr-headcall.livepatch"
expect_tq head 1 "head_call gives the old answer"
tid=$(tq "headcall 4000" | sed -n 's/^tid //p')
diag "worker $tid sleeps 4 s in the function head_call calls first"
xsp --timeout 300 apply head
expect_rc 5 "a return address inside the overwritten bytes: apply exits 5"
get_json head
diag "reason: $G_REASON"
ok_if "rc -EBUSY, state CHECKED" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -16 ]'
ok_if "the reason names thread $tid and the overwritten bytes of head_call" \
	'[[ "$G_REASON" == *"thread $tid "* && "$G_REASON" == *"inside the first 5 bytes of function head_call"* ]]'
expect_tq head 1 "head_call unchanged"
wait_for 20 bash -c "[ \"\$('$TT' query '$TSOCK' headdone)\" = 1 ]" ||
	diag "the worker did not return within 20 s"
expect_tt_alive
xsp --timeout 1000 apply head
expect_rc 0 "after the worker returned, apply succeeds"
expect_tq head 2 "head_call gives the new answer"
xsp revert head
expect_rc 0 "revert succeeds"
expect_tq head 1 "old answer again"
expect_tt_alive
done_testing
