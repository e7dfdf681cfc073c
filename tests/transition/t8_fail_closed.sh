#!/usr/bin/env bash
# Case 8: the stack check fails closed. A thread sleeps 100 frames below
# slow_function: its unwind is cut short (64 frames) before it reaches
# slow_function, so only a word-by-word scan of its stack finds the return
# address, and the scan needs the stack's extent from the process's maps.
#  - maps of ~400 KiB (more than the agent once read): the scan still
#    finds the thread, apply is refused naming slow_function;
#  - maps larger than the agent's snapshot buffer: the stack cannot be
#    checked, apply is refused saying so; never a silent pass.
# Once the thread has left, the same apply goes through.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload slow "$TP/tr-slow.livepatch"
expect_tq "slowdeep 0 100" 100 "slow workers now sleep 100 frames deep"
tid=$(tq "slow 10000" | sed -n 's/^tid //p')
diag "worker $tid sleeps 10 s, 100 frames below slow_function"
# Mappings made after the worker's stack lie below it: the stack comes
# late in /proc/PID/maps.
expect_tq "maps 7000" 7000 "7000 more mappings"
maps_kib=$(($(wc -c <"/proc/$TPID/maps") / 1024))
diag "maps: $maps_kib KiB, $(wc -l <"/proc/$TPID/maps") lines"
ok_if "the maps are larger than 256 KiB (the test is meaningful)" '[ "$maps_kib" -gt 256 ]'

xsp --timeout 300 apply slow
expect_rc 5 "deep thread, maps > 256 KiB: apply exits 5"
get_json slow
diag "reason: $G_REASON"
ok_if "rc -EBUSY, state CHECKED" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -16 ]'
ok_if "the reason names slow_function and thread $tid" \
	'[[ "$G_REASON" == *"function slow_function"* && "$G_REASON" == *"thread $tid "* ]]'
expect_tq slow 1 "slow_function unchanged"

expect_tq "maps 20000" 20000 "20000 more mappings"
maps_kib=$(($(wc -c <"/proc/$TPID/maps") / 1024))
diag "maps: $maps_kib KiB"
ok_if "the maps are larger than 1 MiB (beyond the agent's snapshot)" '[ "$maps_kib" -gt 1024 ]'
xsp --timeout 300 apply slow
expect_rc 5 "deep thread, maps beyond the snapshot: apply exits 5"
get_json slow
diag "reason: $G_REASON"
ok_if "the reason says thread $tid's stack could not be checked" \
	'[[ "$G_REASON" == *"stack of thread $tid could not be checked"* ]]'
expect_tq slow 1 "slow_function unchanged"
expect_tq slowdone 0 "the worker is still inside (the test is meaningful)"

expect_tq "slowdeep 0 0" 0 "back to shallow workers"
wait_for 30 bash -c "[ \"\$('$TT' query '$TSOCK' slowdone)\" = 1 ]" ||
	diag "the deep worker did not leave within 30 s"
xsp --timeout 1000 apply slow
expect_rc 0 "after the thread left, apply succeeds (huge maps alone are no reason to refuse)"
expect_tq slow 2 "slow_function gives the new answer"
xsp revert slow
expect_rc 0 "revert succeeds"
expect_tt_alive
done_testing
