#!/bin/bash
# MemoryDenyWriteExecute: under the seccomp filter systemd installs for
# MemoryDenyWriteExecute=yes (mdwe_exec), mmap(W|X) and mprotect(+X) are
# refused. The agent must still load, apply, revert and unload a payload,
# and no mapping of the process may ever be writable and executable.
source "$(dirname "$0")/lib.sh" "$1"

MDWE=$E2E_BUILD/mdwe_exec
TARGET_N=1
TSOCK=$WORK/demo1.sock
TLOG=$WORK/target1.log
XS_MDWE_PRELOAD=$AGENT_PRELOAD spawn "$MDWE" "$TARGET" serve "$TSOCK" 2 2>"$TLOG"
TPID=$LAST_PID
ASOCK=$XSPLICE_SOCKET_DIR/$TPID.sock
if ! wait_for 10 sock_ready "$ASOCK" || ! wait_for 10 sock_ready "$TSOCK"; then
	echo "Bail out! the demo target under mdwe_exec (pid $TPID) did not start with its agent"
	diag "$(cat "$TLOG")"
	exit 1
fi
if grep -q '^Seccomp:[[:space:]]*2' "/proc/$TPID/status"; then
	pass "the target runs under a seccomp filter"
else
	fail "the target runs under a seccomp filter"
fi
expect_extra "-unstable" "before: the original version string"

xsp load "$P_HELLO"
expect_rc 0 "load (upload + apply) hello under MemoryDenyWriteExecute"
diag "$ERR"
expect_extra "Hello World" "applied: xen_extra is Hello World"

wx=$(awk '$2 ~ /w/ && $2 ~ /x/' "/proc/$TPID/maps")
if [ -z "$wx" ]; then pass "no mapping is writable and executable"; else fail "no mapping is writable and executable"; diag "$wx"; fi

xsp revert hello
expect_rc 0 "revert hello"
expect_extra "-unstable" "reverted: the original version string again"
xsp unload hello
expect_rc 0 "unload hello"
xsp load "$P_HELLO"
expect_rc 0 "load hello a second time"
expect_extra "Hello World" "applied again"

expect_alive
done_testing
