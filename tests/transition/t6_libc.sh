#!/usr/bin/env bash
# Case 6: the agent's critical section calls nothing a payload may patch.
#  Static: in libxsplice.so, xs_plan_critical (the work of the stop,
#  src/agent/plan.c), xs_code_write, xs_bytes_copy and
#  xs_bytes_equal (and every local function they reach) make no call
#  through the PLT; park_handler makes none after its recording part.
#  Dynamic: a payload makes libc's pwrite64 (= pwrite) and syscall fail
#  with EPERM; with it applied the target's own hello-style payload applies
#  and reverts again and again (the agent writes code through raw system
#  calls), the stack check still sees a thread inside a patched function,
#  and the libc payload reverts. A second libc payload makes getuid take
#  20 ms: the pause of an action must not grow (getuid is not called while
#  threads are parked).
source "$(dirname "$0")/lib.sh" "$1"
HERE=$(cd "$(dirname "$0")" && pwd)

# ---- static ----
static=$("$PYTHON" "$HERE/plt_check.py" "$AGENT" xs_plan_critical xs_code_write xs_bytes_copy \
	xs_bytes_equal park_handler:after=record_stack park_handler xs_rendezvous_run)
diag "$static"
for fn in xs_plan_critical xs_code_write xs_bytes_copy xs_bytes_equal; do
	line=$(grep "^$fn " <<<"$static")
	ok_if "static: $fn reaches no PLT entry (memcpy, memset, pwrite, syscall, ...)" \
		'[[ "$line" == "$fn plt= "* ]]'
done
line=$(awk '$1 == "park_handler" { print; exit }' <<<"$static")
ok_if "static: park_handler calls no PLT entry after recording the stack" \
	'[[ "$line" == "park_handler plt= "* ]]'
ok_if "static: no memcpy/memset/memmove/pwrite/syscall anywhere in park_handler" \
	'! grep "^park_handler " <<<"$static" | grep -qE "[=,](memcpy|memset|memmove|pwrite|pwrite64|syscall)(,| )"'

# ---- dynamic: pwrite64 and syscall patched ----
start_tt plain
upload libc "$TP/tr-libc.livepatch"
upload hello "$TP/tr-answer.livepatch"
upload slow "$TP/tr-slow.livepatch"
expect_tq libc "pwrite 1 errno 0 syscall pid errno 0" "libc's pwrite and syscall work before"
xsp --timeout 1000 apply libc
expect_rc 0 "apply the libc payload (pwrite64, syscall -> -1 EPERM)"
expect_tq libc "pwrite -1 errno 1 syscall -1 errno 1" "the target's pwrite() and syscall() now fail with EPERM"
ok=0 bad=0
for i in $(seq 20); do
	xsp --timeout 1000 apply hello
	a=$RC; g=$(tq answer)
	xsp --timeout 1000 revert hello
	r=$RC; h=$(tq answer)
	if [ "$a" = 0 ] && [ "$g" = 2 ] && [ "$r" = 0 ] && [ "$h" = 1 ]; then
		ok=$((ok + 1))
	else
		bad=$((bad + 1))
		[ $bad = 1 ] && diag "cycle $i: apply exit $a answer $g, revert exit $r answer $h" && show_last
	fi
done
ok_if "with pwrite64/syscall patched: 20 apply/revert cycles of hello all work ($ok ok, $bad bad)" \
	'[ "$ok" = 20 ]'
tid=$(tq "slow 3000" | sed -n 's/^tid //p')
xsp --timeout 300 apply slow
expect_rc 5 "with syscall patched the stack check still sees thread $tid inside slow_function (EBUSY)"
expect_tq slow 1 "slow_function unchanged"
xsp --timeout 1000 revert libc
expect_rc 0 "revert the libc payload"
expect_tq libc "pwrite 1 errno 0 syscall pid errno 0" "pwrite and syscall work again"
wait_for 10 bash -c "[ \"\$('$TT' query '$TSOCK' slowdone)\" = 1 ]" || diag "slow worker still inside"

# ---- dynamic: getuid takes 20 ms ----
pause_of_apply() {
	xsp --timeout 2000 apply hello
	local p t
	p=$(last_action pause_ns); t=$(last_action threads)
	xsp --timeout 2000 revert hello
	echo "$p $t"
}
read -r base threads < <(pause_of_apply)
upload getuid "$TP/tr-getuid.livepatch"
xsp --timeout 2000 apply getuid
expect_rc 0 "apply the getuid payload (20 ms per call)"
read -r slowp threads2 < <(pause_of_apply)
diag "pause of apply hello: $((base / 1000)) us with $threads threads; $((slowp / 1000)) us with getuid patched ($threads2 threads)"
if ! ok_if "the pause does not grow when getuid is slow (< base + 15 ms)" \
	'[ -n "$slowp" ] && [ "$slowp" -lt $((base + 15000000)) ]'; then
	diag "the rendezvous calls libc getuid() for every thread it signals (send_park in"
	diag "src/agent/rendezvous.c) while the threads signalled before are parked"
fi
xsp --timeout 5000 revert getuid
expect_rc 0 "revert the getuid payload"
expect_tq answer 1 "answer_function old again"
expect_tt_alive
done_testing
