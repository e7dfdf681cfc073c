#!/bin/bash
# Targets that moved: old_addr is fixed at UPLOAD. If the library a payload
# patches is dlclosed (and maybe another library mapped at the same place)
# before APPLY or REVERT, the action is refused with a reason naming the
# object, nothing is written, and the process keeps running.
source "$(dirname "$0")/lib.sh" "$1"

DLT=$E2E_BUILD/dl_target
LIBA=$E2E_BUILD/libxse2e_dla.so
LIBB=$E2E_BUILD/libxse2e_dlb.so
P_DL=$E2E_BUILD/dl.livepatch

# start_dl: the dl target with the agent preloaded; sets TPID, TLOG.
start_dl() {
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	TLOG=$WORK/dl$TARGET_N.log
	LD_PRELOAD=$AGENT_PRELOAD spawn "$DLT" "$LIBA" "$LIBB" >"$TLOG" 2>"$WORK/dl$TARGET_N.err.log"
	TPID=$LAST_PID
	if ! wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$TPID.sock" ||
		! wait_for 10 grep -q '^ready' "$TLOG"; then
		echo "Bail out! dl_target (pid $TPID) did not start with its agent"
		diag "$(cat "$TLOG" "$WORK/dl$TARGET_N.err.log")"
		exit 1
	fi
}

# signal_and_wait SIG PATTERN: send SIG, wait for a new log line matching PATTERN.
signal_and_wait() {
	local before
	before=$(grep -c -- "$2" "$TLOG")
	kill -"$1" "$TPID"
	wait_for 10 bash -c '[ "$(grep -c -- "$1" "$2")" -gt "$3" ]' _ "$2" "$TLOG" "$before"
}

greet() {
	signal_and_wait HUP '^greet:' || { echo "greet: (no answer)"; return; }
	grep '^greet:' "$TLOG" | tail -n 1
}

dl_alive() {
	local desc=$1
	if ! gone "$TPID" && [[ "$(greet)" == "greet: "* ]]; then
		pass "$desc"
	else
		fail "$desc"
		diag "log: $(cat "$TLOG")"
		diag "stderr: $(cat "$WORK"/dl*.err.log)"
	fi
}

# ---- APPLY after dlclose ----
start_dl
check "the library's function answers" [ "$(greet)" = "greet: greet from A" ]
xsp upload dl "$P_DL"
expect_rc 0 "upload a payload for the dlopened library"
diag "$ERR"
signal_and_wait USR1 '^closed' || diag "no 'closed' line"
xsp apply dl
check "apply after dlclose fails" [ "$RC" != 0 ]
expect_err "libxse2e_dla.so" "the reason names the object"
expect_err "no longer loaded" "the reason says it is gone"
diag "$ERR"
expect_state dl CHECKED -2 "the payload stays CHECKED with the error recorded" nonempty
dl_alive "the process keeps running (after APPLY refused)"

# ---- another library mapped where the first one was ----
signal_and_wait USR2 '^opened' || diag "no 'opened' line"
diag "$(grep -E '^(ready|opened)' "$TLOG")"
xsp apply dl
check "apply with another library in its place fails" [ "$RC" != 0 ]
expect_err "libxse2e_dla.so" "the reason names the object"
diag "$ERR"
dl_alive "the process keeps running (after the second APPLY refused)"
xsp unload dl
expect_rc 0 "the refused payload can be unloaded"

# ---- REVERT after dlclose ----
start_dl
xsp load "$P_DL"
expect_rc 0 "load (upload + apply) the payload"
check "the patched function answers" [ "$(greet)" = "greet: greet patched" ]
signal_and_wait USR1 '^closed' || diag "no 'closed' line"
xsp revert dl
check "revert after dlclose fails" [ "$RC" != 0 ]
expect_err "libxse2e_dla.so" "the reason names the object"
diag "$ERR"
expect_state dl APPLIED -2 "the payload stays APPLIED with the error recorded" nonempty
dl_alive "the process keeps running (after REVERT refused)"

done_testing
