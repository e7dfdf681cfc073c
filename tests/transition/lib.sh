# shellcheck shell=bash
# Helpers of the transition tests, on top of tests/e2e/lib.sh (TAP, xs/xsp,
# expect_rc, expect_state, cleanup, the ASan preload handling). Source with
# the build directory as first argument:
#
#   source "$(dirname "$0")/lib.sh" "$1"
#
#   start_tt [MODE]          transition-target serve with the agent preloaded
#                            (MODE plain|churn|service); sets TPID, TSOCK,
#                            TLOG (stderr), TOUT (stdout)
#   tq REQUEST               the target's one-line answer
#   expect_tq REQUEST WANT DESC
#   expect_tt_alive          final check: still running and answering
#   stop_tt                  SIGTERM, wait; TT_RC and TOUT hold the result
#   get_json NAME            sets G_STATE, G_RC, G_REASON from --json get
#   upload NAME FILE         upload, failing the test (Bail out) if refused

# shellcheck source=../e2e/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../e2e/lib.sh" "$1"

TT=$BUILD/tests/transition/transition-target
TP=$BUILD/tests/transition
ACTION_TIMER=$BUILD/tests/transition/action-timer
for f in "$TT" "$ACTION_TIMER" "$TP/tr-answer.livepatch"; do
	if [ ! -e "$f" ]; then
		echo "Bail out! missing $f (build first)"
		exit 1
	fi
done

start_tt() {
	local mode=${1:-plain}
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	TSOCK=$WORK/tt$TARGET_N.sock
	TLOG=$WORK/tt$TARGET_N.log
	TOUT=$WORK/tt$TARGET_N.out
	LD_PRELOAD=$AGENT_PRELOAD spawn "$TT" serve "$TSOCK" "$mode" >"$TOUT" 2>"$TLOG"
	TPID=$LAST_PID
	ASOCK=$XSPLICE_SOCKET_DIR/$TPID.sock
	if ! wait_for 30 sock_ready "$ASOCK" || ! wait_for 30 sock_ready "$TSOCK"; then
		echo "Bail out! the transition target (pid $TPID) did not start with its agent"
		diag "$(cat "$TLOG")"
		exit 1
	fi
}

tq() { timeout 20 "$TT" query "$TSOCK" "$1" 2>&1; }

expect_tq() {
	local got
	got=$(tq "$1")
	if [ "$got" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		diag "request '$1': expected '$2', got '$got'"
		diag "target log: $(cat "$TLOG" 2>/dev/null)"
	fi
}

expect_tt_alive() {
	local desc=${1:-the target still runs and answers correctly} got
	got=$(tq ping)
	if kill -0 "$TPID" 2>/dev/null && ! gone "$TPID" && [ "$got" = pong ]; then
		pass "$desc"
	else
		fail "$desc"
		diag "ping: $got"
		diag "target log: $(cat "$TLOG" 2>/dev/null)"
	fi
}

stop_tt() {
	kill -TERM "$TPID" 2>/dev/null
	local i
	for i in $(seq 250); do
		gone "$TPID" && break
		sleep 0.02
	done
	if gone "$TPID"; then
		wait "$TPID" 2>/dev/null
		TT_RC=$?
	else
		kill -KILL "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
		TT_RC=killed
	fi
	rm -f "/tmp/perf-$TPID.map" # the agent's perf map of payload code
}

get_json() {
	xsp --json get "$1"
	G_STATE=? G_RC=? G_REASON=
	[ "$RC" = 0 ] || return 0
	{ read -r G_STATE; read -r G_RC; IFS= read -r G_REASON; } < <("$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
print(v["state"]); print(v["rc"]); print(v["reason"].replace("\n", " "))' <<<"$OUT")
}

upload() {
	xsp upload "$1" "$2"
	if [ "$RC" != 0 ]; then
		fail "upload $1"
		show_last
		echo "Bail out! cannot upload $2"
		exit 1
	fi
}

# last_action FIELD: a field of `xsplice --json info`'s last_action.
last_action() {
	xsp --json info
	"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["last_action"][sys.argv[1]])' \
		"$1" <<<"$OUT"
}

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ok_if DESC 'SHELL EXPRESSION': pass when the expression (eval'd, so [[ ]]
# and && work) is true.
ok_if() {
	local desc=$1
	shift
	if eval "$*"; then pass "$desc"; return 0; fi
	fail "$desc"
	return 1
}
