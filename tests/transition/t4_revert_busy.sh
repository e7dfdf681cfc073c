#!/usr/bin/env bash
# Case 4: a revert is refused while a thread runs the payload's NEW code.
# The new nap_function sleeps; after apply a worker enters it; revert
# --timeout 300 -> exit 5, -EBUSY, the reason names the payload and the
# thread, the payload stays APPLIED; unload is impossible while APPLIED;
# once the worker has returned, revert and unload succeed.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload nap "$TP/tr-nap.livepatch"
expect_tq nap 10 "nap_function gives the old answer"
xsp --timeout 1000 apply nap
expect_rc 0 "apply nap"
expect_tq nap 20 "nap_function gives the new answer"

tid=$(tq "nap 4000" | sed -n 's/^tid //p')
diag "worker $tid sleeps 4 s inside the new nap_function (payload code)"
xsp --timeout 300 revert nap
expect_rc 5 "revert --timeout 300 with a thread inside the new code: exit 5"
get_json nap
diag "reason: $G_REASON"
ok_if "rc -EBUSY (-16), state stays APPLIED" '[ "$G_STATE" = APPLIED ] && [ "$G_RC" = -16 ]' ||
	show_last
ok_if "the reason names the payload code ('payload nap')" '[[ "$G_REASON" == *"payload nap"* ]]'
ok_if "the reason names thread $tid" '[[ "$G_REASON" == *"thread $tid "* ]]'
expect_tq nap 20 "nap_function still gives the new answer"
expect_tq napdone 0 "the worker is still inside (the test is meaningful)"

xsp unload nap
expect_rc 4 "unload while APPLIED is refused (exit 4)"
expect_state nap APPLIED -22 "still APPLIED after the refused unload (rc -EINVAL)" nonempty
xsp list
expect_out "nap" "the payload is still listed"

wait_for 10 bash -c "[ \"\$('$TT' query '$TSOCK' napdone)\" = 1 ]" ||
	diag "the worker did not return within 10 s"
xsp --timeout 1000 revert nap
expect_rc 0 "after the worker returned, revert succeeds"
expect_state nap CHECKED 0 "state CHECKED, rc 0"
expect_tq nap 10 "nap_function gives the old answer again"
xsp unload nap
expect_rc 0 "unload succeeds once CHECKED"
expect_gone nap "the payload is gone"
expect_tt_alive
done_testing
