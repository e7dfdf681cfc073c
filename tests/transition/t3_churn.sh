#!/usr/bin/env bash
# Case 3: threads born during the stop are parked too. A spawner thread
# creates short-lived threads without pause (4 at a time), each calling
# churn_function 64 times and checking every answer is the old or the new
# one. 200 apply/revert cycles through the CLI: no crash, no wrong answer
# (the target counts them and reports on SIGTERM).
source "$(dirname "$0")/lib.sh" "$1"

CYCLES=${TRANSITION_CYCLES:-200}
start_tt churn
upload churn "$TP/tr-churn.livepatch"
before=$(tq churn)
diag "before: $before"
applied=0 reverted=0 busy=0 other=0 maxthreads=0 maxattempts=0
t0=$(now_ms)
for i in $(seq "$CYCLES"); do
	xsp --timeout 2000 apply churn
	case $RC in 0) applied=$((applied + 1)) ;; 5) busy=$((busy + 1)) ;; *) other=$((other + 1)); show_last ;; esac
	if [ $((i % 50)) = 0 ]; then
		th=$(last_action threads); at=$(last_action attempts)
		diag "cycle $i: last apply parked $th threads in $at attempt(s); $(tq churn)"
	fi
	xsp --timeout 2000 revert churn
	case $RC in 0) reverted=$((reverted + 1)) ;; 5) busy=$((busy + 1)) ;; *) other=$((other + 1)); show_last ;; esac
	kill -0 "$TPID" 2>/dev/null || break
done
t1=$(now_ms)
diag "$CYCLES cycles in $((t1 - t0)) ms: $applied applied, $reverted reverted, $busy EBUSY, $other other"
ok_if "all $CYCLES applies succeeded ($applied)" '[ "$applied" = "$CYCLES" ]'
ok_if "all $CYCLES reverts succeeded ($reverted)" '[ "$reverted" = "$CYCLES" ]'
after=$(tq churn)
diag "after: $after"
b=$(sed -n 's/^threads=\([0-9]*\).*/\1/p' <<<"$before"); a=$(sed -n 's/^threads=\([0-9]*\).*/\1/p' <<<"$after")
ok_if "threads kept being created during the cycles ($((a - b)) threads)" '[ -n "$a" ] && [ "$((a - b))" -ge "$CYCLES" ]'
ok_if "no wrong answer so far" '[[ "$after" == *" wrong=0" ]]'
expect_tt_alive
expect_tq "slow" 1 "the target answers correctly"
stop_tt
diag "target exit: $TT_RC; $(cat "$TOUT")"
ok_if "SIGTERM: target reports no wrong answer and exits 0" \
	'[ "$TT_RC" = 0 ] && grep -q " wrong=0$" "$TOUT"'
done_testing
