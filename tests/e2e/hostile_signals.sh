#!/bin/bash
# What daemons do to their process after start-up (issue 8): reset every
# signal to SIG_DFL or SIG_IGN (the agent takes its park signal back), put
# their own handlers on every real-time signal (the agent sends nothing and
# says why), exit the main thread while workers serve (a zombie leader is
# not parked; maps are read through a live thread), drop root (the
# process is then not dumpable and its /proc files belong to root). The process survives
# each with its state intact.
source "$(dirname "$0")/lib.sh" "$1"
BT=$E2E_BUILD/behave_target
HELLO=$E2E_BUILD/behave-hello.livepatch

# start_behave HOW: sets TPID, TSOCK (the target's own socket).
start_behave() {
	TSOCK=$WORK/$1.sock
	LD_PRELOAD=$AGENT_PRELOAD spawn "$BT" "$TSOCK" "$1" 2>"$WORK/$1.log"
	TPID=$LAST_PID
	if ! wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$TPID.sock" || ! wait_for 10 sock_ready "$TSOCK"; then
		echo "Bail out! behave_target $1 did not start with its agent"
		diag "$(cat "$WORK/$1.log")"
		exit 1
	fi
}

answer() { "$TARGET" query "$TSOCK" info 2>/dev/null | head -n 1; }
# Alive: it answers (a main thread that exited leaves a zombie leader, so
# the process state alone says nothing).
alive() { kill -0 "$TPID" 2>/dev/null && [ -n "$(answer)" ]; }

modes="none sig-dfl sig-ign exit-main"
# Dropping root needs root (CI runs as root).
[ "$(id -u)" = 0 ] && modes="$modes drop-root"
for how in $modes; do
	start_behave "$how"
	xsp load "$HELLO"
	expect_rc 0 "$how: xsplice load succeeds"
	check "$how: the process is alive after the load" alive
	check "$how: the patched function answers" [ "$(answer)" = "xen_extra              : Hello World" ]
	xsp revert behave-hello
	expect_rc 0 "$how: revert succeeds"
	check "$how: the original answer is back" [ "$(answer)" = "xen_extra              : -unstable" ]
	xsp unload behave-hello
	expect_rc 0 "$how: unload succeeds"
	# A second round: the handler stays the agent's once taken back.
	xsp load "$HELLO"
	expect_rc 0 "$how: a second load succeeds"
	check "$how: still alive" alive
	stop_pid "$TPID"
done

# Drops root, then forks (memcached -d): the child's agent cannot write
# root's socket directory any more and listens on its abstract name.
if [ "$(id -u)" = 0 ]; then
	TSOCK=$WORK/drop-fork.sock
	LD_PRELOAD=$AGENT_PRELOAD "$BT" "$TSOCK" drop-fork </dev/null >/dev/null 2>"$WORK/drop-fork.log"
	child_pid() { TPID=$(pgrep -f "behave_target $TSOCK drop-fork" | head -n 1); [ -n "$TPID" ]; }
	if wait_for 10 child_pid; then
		echo "$TPID" >>"$WORK/extra-pids"
		wait_for 10 sock_ready "$TSOCK"
		agent_up() { "$XSPLICE" --no-attach -p "$TPID" list >/dev/null 2>&1; }
		check "drop-fork: the child's agent answers" wait_for 10 agent_up
		xsp load "$HELLO"
		expect_rc 0 "drop-fork: the forked child (uid 65534) is reachable and the load succeeds"
		check "drop-fork: the patched function answers" [ "$(answer)" = "xen_extra              : Hello World" ]
		xsp revert behave-hello
		expect_rc 0 "drop-fork: revert succeeds"
		check "drop-fork: the original answer is back" [ "$(answer)" = "xen_extra              : -unstable" ]
		kill "$TPID" 2>/dev/null
	else
		fail "drop-fork: the forked child runs"
	fi
fi

start_behave rt-handlers
xsp load "$HELLO"
check "rt-handlers: the apply is refused (exit code not 0)" [ "$RC" != 0 ]
expect_err "installed its own handler for signal" "rt-handlers: the reason names the taken signal"
expect_err "XSPLICE_SIGNAL" "rt-handlers: and says how to choose another"
check "rt-handlers: the process is alive" alive
out=$("$TARGET" query "$TSOCK" info 2>/dev/null)
check "rt-handlers: the program's own handler never got a signal from the agent" \
	[ "$(sed -n 's/^rt_seen //p' <<<"$out")" = 0 ]
check "rt-handlers: the function is unchanged" [ "$(head -n 1 <<<"$out")" = "xen_extra              : -unstable" ]
xsp list
check "rt-handlers: nothing is APPLIED" eval "[ \"\$RC\" = 0 ] && ! grep -q APPLIED <<<\"\$OUT\""
stop_pid "$TPID"

done_testing
