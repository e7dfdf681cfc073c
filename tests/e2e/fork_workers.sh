#!/bin/bash
# fork children that keep running get their own agent (issue 8, item 4):
# pre-fork workers (the parent forks N children that serve) and a daemon
# (fork, setsid, fork, the middle one exits). Each child answers
# `xsplice -p CHILD info`; a payload applied in one worker changes that
# worker only; a payload applied in the parent before the fork is APPLIED
# in the child and can be reverted there. The children are forked from a
# program thread of the demo target by tests/e2e/test_preload.c.
source "$(dirname "$0")/lib.sh" "$1"
HELPER=$E2E_BUILD/libtest_preload.so
[ -e "$HELPER" ] || HELPER=$E2E_BUILD/test_preload.so
export XS_TEST_FN_OFFSET=$(nm "$TARGET" | awk '$3 == "extra_version" { print $1; exit }')

# start_forking MODE: the demo target with the helper; sets FDIR, TPID...
start_forking() {
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	FDIR=$WORK/fork$TARGET_N
	mkdir -p "$FDIR"
	TSOCK=$FDIR/demo.sock
	TLOG=$FDIR/target.log
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	XS_TEST_FORK=$FDIR XS_TEST_FORK_MODE=$1 LD_PRELOAD="$AGENT_PRELOAD $HELPER" \
		spawn "$TARGET" serve "$TSOCK" 2 2>"$TLOG"
	TPID=$LAST_PID
	wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$TPID.sock" && wait_for 10 sock_ready "$TSOCK" ||
		{ echo "Bail out! the forking target did not start"; exit 1; }
}

child_extra() { query info "$FDIR/$1.sock" | sed -n 's/^xen_extra *: //p'; }

# child_ready NAME: its pid file, its agent socket; sets CPID.
child_ready() {
	wait_for 10 test -s "$FDIR/$1.pid" || return 1
	CPID=$(cat "$FDIR/$1.pid")
	echo "$CPID" >>"$WORK/extra-pids"
	wait_for 10 test -S "$XSPLICE_SOCKET_DIR/$CPID.sock"
}

# ---- pre-fork workers; hello applied in the parent first ----
start_forking "workers 2"
xsp load "$P_HELLO"
expect_rc 0 "load hello into the parent before it forks"
touch "$FDIR/fork-now"
check "worker 0 has its own agent socket" child_ready worker0
W0=$CPID
check "worker 1 has its own agent socket" child_ready worker1
W1=$CPID
xs -p "$W0" --json info
expect_rc 0 "xsplice -p WORKER0 info"
check "the worker's agent reports the worker's pid" [ "$(json_field pid <<<"$OUT" 2>/dev/null)" = "$W0" ]
TPID=$W0 expect_state hello APPLIED 0 "hello, applied in the parent before the fork, is APPLIED in worker 0"
check "worker 0 runs the patched code" [ "$(child_extra worker0)" = "Hello World" ]
xs -p "$W0" revert hello
expect_rc 0 "revert hello in worker 0"
check "worker 0 runs the original code again" [ "$(child_extra worker0)" = "-unstable" ]
check "worker 1 still runs hello" [ "$(child_extra worker1)" = "Hello World" ]
expect_extra "Hello World" "the parent still runs hello"
xs -p "$W1" load "$P_BYE"
expect_rc 0 "load bye (stacked on hello) in worker 1"
check "worker 1 changed" [ "$(child_extra worker1)" != "Hello World" ]
check "worker 0 did not" [ "$(child_extra worker0)" = "-unstable" ]
expect_extra "Hello World" "nor the parent"
xs -p "$TPID" list
expect_no_out "bye" "the parent's agent knows nothing of bye"
xs -p "$W0" list
expect_rc 0 "the parent's agent still answers"

# ---- daemonize: fork, setsid, fork, the middle one exits ----
start_forking daemon
touch "$FDIR/fork-now"
check "the daemon has its own agent socket" child_ready daemon
D=$CPID
xs -p "$D" --json info
expect_rc 0 "xsplice -p DAEMON info"
check "the daemon's agent reports its pid" [ "$(json_field pid <<<"$OUT" 2>/dev/null)" = "$D" ]
xs -p "$D" load "$P_HELLO"
expect_rc 0 "load hello into the daemon"
check "the daemon runs hello" [ "$(child_extra daemon)" = "Hello World" ]
expect_extra "-unstable" "the original process does not"
n=$(ls "$XSPLICE_SOCKET_DIR" | grep -vc -e "^$D\.sock$" -e "^$TPID\.sock$" -e "^$W0\.sock$" -e "^$W1\.sock$" -e '^[0-9]*\.sock$' || true)
check "no socket left by the middle child that exited" \
	[ "$(ls "$XSPLICE_SOCKET_DIR" | wc -l)" -le 5 ]
done_testing
