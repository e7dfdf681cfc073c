#!/usr/bin/env bash
# Case 10: a thread dlopens and dlcloses a library in a loop while payloads
# are applied and reverted. A thread parked while it holds the loader's
# lock must not stall the stop until the time bound (the other threads'
# handlers unwind, and unwinding may need that lock): every action of the
# loop succeeds within its default bound. Before the agent kept its own
# copy of the object list for the handlers, two handlers (one interrupting
# dlclose) deadlocked the whole process within a few hundred actions.
XS_TIMEOUT=10 # a deadlocked agent fails the check, not the suite's time bound
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload answer "$TP/tr-answer.livepatch"
expect_tq dlchurn on "a dlopen/dlclose loop runs"
expect_tq dlchurn on "a second one runs"
ok=0 bad=0 worst=0 first_err=
for i in $(seq 100); do
	for verb in apply revert; do
		t0=$(now_ms)
		xsp "$verb" answer
		t=$(($(now_ms) - t0))
		[ "$t" -gt "$worst" ] && worst=$t
		if [ "$RC" = 0 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); first_err=${first_err:-$ERR}; fi
	done
	[ "$bad" = 0 ] || break # a deadlock would make every later command wait too
done
rounds=$(tq dlrounds)
diag "100 apply/revert cycles: $ok ok, $bad failed, slowest command ${worst} ms; $rounds dlopen/dlclose rounds"
[ -n "$first_err" ] && diag "first failure: $first_err"
ok_if "every apply and revert succeeds while the loader is busy" '[ "$bad" = 0 ]'
ok_if "the loop really ran (> 1000 rounds)" '[ "$rounds" -gt 1000 ]'
ok_if "no command took near the 1 s time bound (slowest < 900 ms)" '[ "$worst" -lt 900 ]'
expect_tq answer 1 "answer_function is the old one after the last revert"
expect_tt_alive
done_testing
