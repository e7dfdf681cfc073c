#!/bin/bash
# A client cannot wedge the agent (issue 8, item 6): a client that sends
# requests and never reads the replies does not hold up the others (replies
# are queued and written without blocking), and 16 idle connections are
# closed after the idle timeout ($XSPLICE_IDLE_TIMEOUT_MS, here 3 s), the
# 17th client being told when a slot frees; a client whose connection was
# closed as idle is still served on its next request.
source "$(dirname "$0")/lib.sh" "$1"
export XSPLICE_IDLE_TIMEOUT_MS=3000
start_target 2

# ---- a client that never reads ----
spawn "$PYTHON" "$E2E_SRC/clients.py" "$ASOCK" hog 12
HOG=$LAST_PID
sleep 1
t0=$(date +%s%N)
XS_TIMEOUT=8 xsp info
ms=$((($(date +%s%N) - t0) / 1000000))
expect_rc 0 "info is served while another client does not read its replies"
check "and at once ($ms ms < 3000)" [ "$ms" -lt 3000 ]
XS_TIMEOUT=8 xsp load "$P_HELLO"
expect_rc 0 "load is served meanwhile too"
expect_extra "Hello World" "hello applied"
stop_pid "$HOG"

# ---- 16 idle clients ----
READY=$WORK/idle-ready
"$PYTHON" "$E2E_SRC/clients.py" "$ASOCK" idle 16 8 "$READY" >"$WORK/idle.out" &
IDLE=$!
STARTED_PIDS+=("$IDLE")
wait_for 10 test -e "$READY"
XS_TIMEOUT=8 xsp list
expect_rc 5 "the 17th client is refused (EBUSY) while 16 connections are idle"
expect_err "a slot frees within" "and told when a slot frees"
sleep 3.5
XS_TIMEOUT=8 xsp list
expect_rc 0 "after the idle timeout the agent serves again"
expect_out "hello" "and lists hello"
wait "$IDLE"
check "the agent closed the 16 idle connections ($(cat "$WORK/idle.out"))" \
	grep -q 'closed 16' "$WORK/idle.out"

# ---- one client kept connected past the idle timeout ----
# The agent closes its connection after 3 s idle; the next request on the
# same libxsplice-ctl handle is served (the agent never read it, so the
# library connects again and sends it once more) instead of failing with
# "connection idle ... closed by the agent". 3500: well past the timeout;
# 2990..3010: the request races the agent's idle close.
"$E2E_BUILD/idle_client" "$ASOCK" 3500 2990 3000 3010 >"$WORK/idle_client.out" 2>&1
icrc=$?
diag "$(tr '\n' ';' <"$WORK/idle_client.out")"
check "a request after the agent closed the idle connection is served (exit $icrc)" [ "$icrc" = 0 ]
check "every one of the 5 requests was answered" [ "$(grep -c ': ok$' "$WORK/idle_client.out")" = 5 ]
expect_alive
done_testing
