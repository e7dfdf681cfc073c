#!/bin/bash
# An idle agent costs its program nothing: after a client has come and
# gone and an action has run, the agent's threads (xsplice-ctl,
# xsplice-action, xsplice-dl) make no context switch at all over 3 s, i.e. they never
# wake up on their own (no poll timeout, no timer). Issue 14, "idle cost".
source "$(dirname "$0")/lib.sh" "$1"

# switches PID NAME: voluntary + involuntary context switches of the
# thread named NAME (-1 when there is none).
switches() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			awk '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print s }' "$t/status"
			return
		fi
	done
	echo -1
}

start_target 4
xsp load "$PAYLOADS/hello.livepatch"
expect_rc 0 "load hello (an action ran)"
xsp revert hello
expect_rc 0 "revert hello"
xsp list
expect_rc 0 "a client came and went"
# Let the agent see the last client's close.
sleep 0.3
for name in xsplice-ctl xsplice-action xsplice-dl; do
	eval "before_${name//-/_}=$(switches "$TPID" $name)"
done
sleep 3
for name in xsplice-ctl xsplice-action xsplice-dl; do
	var="before_${name//-/_}"
	b=${!var}
	a=$(switches "$TPID" $name)
	check "$name: $((a - b)) context switches in 3 s of idleness (0 expected)" \
		test "$b" -ge 0 -a "$a" -eq "$b"
done
# Still serving after the quiet time: the next client wakes it.
xsp list
expect_rc 0 "the idle agent answers the next client"
expect_alive "the target still answers"
done_testing
