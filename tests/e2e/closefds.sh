#!/bin/bash
# The program closes every fd >= 3 after start (daemon(3) style), and then
# reuses the numbers: the agent notices its socket is gone, never touches
# the program's new fds, makes a new socket, keeps serving, and does not
# spin (its control thread's CPU time stays low). Issue 8, item 2.
source "$(dirname "$0")/lib.sh" "$1"
HELPER=$E2E_BUILD/libtest_preload.so
[ -e "$HELPER" ] || HELPER=$E2E_BUILD/test_preload.so

# ctl_ticks PID: utime+stime of the thread named xsplice-ctl.
ctl_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = xsplice-ctl ]; then
			awk '{ print $14 + $15 }' "$t/stat"
			return
		fi
	done
	echo -1
}

rc0() { [ "$RC" = 0 ]; }

for reuse in 0 1; do
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	TSOCK=$WORK/demo$TARGET_N.sock
	TLOG=$WORK/target$TARGET_N.log
	DONE=$WORK/closed$TARGET_N
	XS_TEST_CLOSEFDS=$DONE XS_TEST_KEEP=$TSOCK XS_TEST_REUSE=$reuse \
		LD_PRELOAD="$AGENT_PRELOAD $HELPER" spawn "$TARGET" serve "$TSOCK" 3 2>"$TLOG"
	TPID=$LAST_PID
	what="closed fds$([ $reuse = 1 ] && echo ', numbers reused')"
	check "$what: the program closed its fds" wait_for 10 test -e "$DONE"
	# The agent notices within a second (its poll bound) and makes a new socket.
	for i in $(seq 15); do xsp info; [ "$RC" = 0 ] && break; sleep 0.2; done
	expect_rc 0 "$what: xsplice info answers (after $i tries)"
	if [ $reuse = 1 ]; then
		# The program's /dev/null fds are still open and untouched.
		n=$(find "/proc/$TPID/fd" -lname /dev/null 2>/dev/null | wc -l)
		check "$what: the program's 32 reused fds are still open ($n)" [ "$n" -ge 32 ]
	fi
	xsp load "$P_HELLO"
	check "$what: load hello" rc0
	check "$what: hello applied" [ "$(extra)" = "Hello World" ]
	xsp revert hello
	check "$what: revert hello" rc0
	check "$what: reverted" [ "$(extra)" = "-unstable" ]
	t0=$(ctl_ticks "$TPID")
	sleep 2
	t1=$(ctl_ticks "$TPID")
	check "$what: the control thread used $((t1 - t0)) ticks in 2 s (< 20: no spin)" \
		test "$t0" -ge 0 -a $((t1 - t0)) -lt 20
	if [ $reuse = 1 ]; then
		n=$(find "/proc/$TPID/fd" -lname /dev/null | wc -l)
		check "$what: after load and revert the program's 32 fds are all still open ($n)" [ "$n" -ge 32 ]
	fi
	expect_alive "$what: the target still answers"
done
done_testing
