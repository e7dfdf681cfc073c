#!/usr/bin/env bash
# Case 2: threads that block the park signal.
#  - SPINNING in user space: the action ends in -EBUSY within the time bound
#    plus 50 ms (measured with action-timer: libxsplice-ctl ACTION, then GET
#    every 1 ms), and the reason names the thread and the signal.
#  - SLEEPING in a system call outside the patched functions: accepted (its
#    stack is checked conservatively from the SP in /proc/self/task/TID/
#    syscall), the apply succeeds.
#  - SLEEPING inside the patched function: the conservative scan must find
#    it, -EBUSY naming the thread and the function.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload answer "$TP/tr-answer.livepatch"
signo=$("$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["park_signal"])' \
	< <("$XSPLICE" -p "$TPID" --json info))

# ---- spinning with the signal blocked ----
tid=$(tq spinblock | sed -n 's/^tid //p')
diag "thread $tid blocks every signal and spins; park signal $signo"
# Three runs: the box may be loaded by other work; the bound is judged on
# the fastest run, every run is shown.
best=
for run in 1 2 3; do
	res=$("$ACTION_TIMER" "$TPID" answer apply 200)
	diag "action-timer run $run: $res"
	e=$(sed -n 's/^elapsed_ms=\([0-9.]*\) .*/\1/p' <<<"$res")
	[ -n "$e" ] && { [ -z "$best" ] || awk -v a="$e" -v b="$best" 'BEGIN { exit !(a < b) }'; } &&
		best=$e bres=$res
done
res=${bres:-$res}
elapsed=$best
arc=$(sed -n 's/.* rc=\(-\?[0-9]*\) .*/\1/p' <<<"$res")
reason=${res#*reason=}
ok_if "spinning blocker: rc -EBUSY" '[ "$arc" = -16 ]'
ok_if "spinning blocker: -EBUSY within 200 ms + 50 ms (took ${elapsed} ms)" \
	'[ -n "$elapsed" ] && awk -v e="$elapsed" "BEGIN { exit !(e >= 150 && e <= 250) }"'
ok_if "the reason names thread $tid" '[[ "$reason" == *"thread $tid "* ]]'
ok_if "the reason names the signal ($signo) or says it blocks the park signal" \
	'[[ "$reason" == *"signal $signo"* || "$reason" == *"blocks the park signal"* ]]'
expect_tq answer 1 "answer_function unchanged after the refused apply"
expect_state answer CHECKED -16 "state CHECKED, rc -16"

# The same through the CLI (it polls GET every 10 ms), minus the CLI's own
# cost on a no-op command; best of three.
net=
for run in 1 2 3; do
	t0=$(date +%s%N); xsp --json get answer; t1=$(date +%s%N)
	xsp --timeout 200 apply answer; t2=$(date +%s%N)
	cli_rc=$RC
	overhead=$(( (t1 - t0) / 1000000 )); cli=$(( (t2 - t1) / 1000000 ))
	diag "CLI run $run: apply took $cli ms (exit $cli_rc), a no-op CLI call $overhead ms"
	n=$((cli - overhead))
	{ [ -z "$net" ] || [ "$n" -lt "$net" ]; } && net=$n
done
expect_rc 5 "CLI: apply --timeout 200 exits 5"
ok_if "CLI: -EBUSY within 200 ms + 50 ms net of the CLI's overhead (best $net ms)" \
	'[ "$net" -le 250 ]'

expect_tq spinstop stopped "the spinning thread stops"
xsp --timeout 1000 apply answer
expect_rc 0 "without the blocker the apply succeeds"
expect_tq answer 2 "answer_function gives the new answer"
xsp revert answer
expect_rc 0 "revert"

# ---- sleeping with the signal blocked, outside the patched function ----
tid=$(tq sleepblock | sed -n 's/^tid //p')
diag "thread $tid blocks every signal and sleeps in nanosleep"
res=$("$ACTION_TIMER" "$TPID" answer apply 1000)
diag "action-timer: $res"
arc=$(sed -n 's/.* rc=\(-\?[0-9]*\) .*/\1/p' <<<"$res")
if ! ok_if "sleeping blocker outside the function: apply succeeds" '[ "$arc" = 0 ]'; then
	diag "Expected to fail with an agent that predates 79374ce (\"Rendezvous accepts a thread"
	diag "that blocks the park signal while it sleeps in a system call\"); with it, this is a bug."
fi
expect_tq answer 2 "answer_function gives the new answer"
xsp --timeout 1000 revert answer
expect_rc 0 "revert with the sleeping blocker still there"
expect_tq answer 1 "old answer again"
expect_tq sleepstop stopped "the sleeping thread stops"

# ---- sleeping with the signal blocked INSIDE the patched function ----
upload slow "$TP/tr-slow.livepatch"
tid=$(tq "slowblock 4000" | sed -n 's/^tid //p')
diag "thread $tid blocks every signal and sleeps 4 s inside slow_function"
res=$("$ACTION_TIMER" "$TPID" slow apply 300)
diag "action-timer: $res"
arc=$(sed -n 's/.* rc=\(-\?[0-9]*\) .*/\1/p' <<<"$res")
reason=${res#*reason=}
ok_if "blocked sleeper inside slow_function: rc -EBUSY" '[ "$arc" = -16 ]'
ok_if "the reason names thread $tid and slow_function" \
	'[[ "$reason" == *"thread $tid "* && "$reason" == *slow_function* ]]'
expect_tq slow 1 "slow_function unchanged"
wait_for 10 bash -c "[ \"\$('$TT' query '$TSOCK' slowdone)\" = 1 ]" || diag "worker still inside"
xsp --timeout 1000 apply slow
expect_rc 0 "after it left, apply succeeds"
expect_tq slow 2 "slow_function gives the new answer"
xsp revert slow
expect_rc 0 "revert"

expect_tt_alive
expect_tq answer 1 "the target answers correctly (answer_function old again)"
done_testing
