#!/bin/bash
# The operator workflow on running processes (issue 9): `xsplice watch`
# applies a payload newly installed in the patch directory to targets
# already running (preloaded, and one attached), `xsplice status` says what
# is applied where and why not, `xsplice mark-bad` removes it from every
# running target and keeps it from being applied again (by watch, and, when
# the agent applies installed payloads at start, by a fresh start), SIGTERM
# stops watch cleanly, and the systemd unit is valid.
source "$(dirname "$0")/lib.sh" "$1"

PD=$WORK/patches
mkdir -m 0755 "$PD"
export XSPLICE_PATCH_DIR=$PD
# The agent applies installed payloads at start (issue 9, the patch
# directory helper's autoload) when it knows the variable.
AUTOLOAD=false
grep -q XSPLICE_PATCH_DIR "$AGENT" && AUTOLOAD=true

# install FILE NAME: what `xsplice install` does (a complete file renamed in)
install_payload() {
	cp "$1" "$PD/.$2.tmp" && chmod 0644 "$PD/.$2.tmp" && mv "$PD/.$2.tmp" "$PD/$2.livepatch"
}
WLOG=$WORK/watch.log
wlog_has() { grep -qF -- "$1" "$WLOG"; }
expect_wlog() {
	if wait_for 10 wlog_has "$1"; then pass "$2"; else fail "$2"; diag "expected in the watch log: $1"; diag "$(cat "$WLOG")"; fi
}

# ---- targets: two preloaded, one without the agent ----
# (the ASan agent cannot be attached: attach.sh; then all are preloaded)
declare -A SOCK_OF=()
start_plain() {
	TARGET_N=$((TARGET_N + 1))
	spawn "$TARGET" serve "$WORK/demo$TARGET_N.sock" 2 2>"$WORK/target$TARGET_N.log"
	TPID=$LAST_PID
	TSOCK=$WORK/demo$TARGET_N.sock
	wait_for 10 sock_ready "$TSOCK" || { echo "Bail out! plain target did not start"; exit 1; }
}
start_target 2
T1=$TPID; SOCK_OF[$T1]=$TSOCK
start_target 2
T2=$TPID; SOCK_OF[$T2]=$TSOCK
if [ -n "$ASAN_RUNTIME" ]; then start_target 2; else start_plain; fi
T3=$TPID; SOCK_OF[$T3]=$TSOCK
RUNNING=("$T1" "$T2" "$T3")
extra_of() { query info "${SOCK_OF[$1]}" | sed -n 's/^xen_extra *: //p'; }
all_extra() {
	local p
	for p in "${RUNNING[@]}"; do [ "$(extra_of "$p")" = "$1" ] || return 1; done
}

xs status --tree $$
expect_rc 0 "status with an empty patch directory: exit 0"
expect_out "0 payloads installed" "status: nothing installed"

# ---- watch ----
"$XSPLICE" watch --tree $$ >"$WLOG" 2>&1 &
WATCH=$!
STARTED_PIDS+=("$WATCH")
expect_wlog "watching $PD" "watch starts and says what it watches"
expect_wlog "0 payloads installed" "watch: the catch-up pass finds nothing"

install_payload "$P_HELLO" hello
expect_wlog "watch: hello: 3 patched, 0 already, 0 skipped, 0 failed" \
	"watch applies a newly installed payload to the 3 running targets"
[ -z "$ASAN_RUNTIME" ] &&
	expect_wlog "$T3 xsplice-demo-ta patched (agent attached)" "watch attached the agent to the plain target"
check "every running target answers Hello World" all_extra "Hello World"

xs status --tree $$
expect_rc 0 "status: exit 0"
expect_out "hello: depends on $(build_id_of "$TARGET"); applied in 3 of 3 processes" \
	"status: hello applied in the 3 processes"
xs --json status --tree $$
check "status --json: hello applied in each, with the pids" "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
p = [x for x in v["payloads"] if x["name"] == "hello"][0]
assert not p["bad"] and p["applied"] == 3, p
assert sorted(x["pid"] for x in p["processes"] if x["applied"]) == sorted(map(int, sys.argv[1:])), p
' "${RUNNING[@]}" <<<"$OUT"

# A target started now (without the agent: watch does not see it) is
# listed as not applied, with the reason.
if [ -z "$ASAN_RUNTIME" ]; then
start_plain
LATE=$TPID
SOCK_OF[$LATE]=$TSOCK
xs status --tree $$
expect_out "applied in 3 of 4 processes" "status: a target started later without the agent is counted"
check "status says why it is not applied there: no agent" \
	grep -qE "^  $LATE +xsplice-demo-ta +no agent" <<<"$OUT"
kill -HUP "$WATCH"
expect_wlog "SIGHUP: applying every installed payload again" "SIGHUP: watch applies everything again"
expect_wlog "watch: hello: 1 patched, 3 already, 0 skipped, 0 failed" \
	"SIGHUP: the late target is patched, the others already"
RUNNING+=("$LATE")
fi

if $AUTOLOAD; then
	start_target 2
	FRESH=$TPID; SOCK_OF[$FRESH]=$TSOCK
	check "a target started after the install has hello at start" [ "$(extra_of "$FRESH")" = "Hello World" ]
	RUNNING+=("$FRESH")
fi
NRUN=${#RUNNING[@]}

# ---- mark-bad ----
xs mark-bad --tree $$ hello "crashes under load"
expect_rc 0 "mark-bad hello: exit 0"
expect_out "hello is marked bad in $PD" "mark-bad says it marked it"
expect_out "$NRUN reverted, 0 already, 0 skipped, 0 failed" "mark-bad reverted hello in every running target"
expect_out "$NRUN unloaded, 0 already, 0 skipped, 0 failed" "mark-bad unloaded hello in every running target"
check "every running target answers -unstable again" all_extra "-unstable"
check "the bad mark is in the patch directory with its reason" grep -q "crashes under load" "$PD/hello.bad"
expect_wlog "watch: hello: marked bad (not applied from now on)" "watch logs the bad mark"
xs status --tree $$
expect_out "hello: MARKED BAD (crashes under load)" "status shows the bad mark and its reason"
expect_out "applied in 0 of $NRUN processes" "status: applied nowhere"
expect_out "not loaded: marked bad" "status says why: marked bad"

# watch does not apply it again: not on SIGHUP, not when reinstalled
kill -HUP "$WATCH"
expect_wlog "watch: hello: marked bad: not applied" "SIGHUP: watch leaves the bad payload alone"
install_payload "$P_HELLO" hello
sleep 0.3
check "reinstalled while marked bad: still not applied anywhere" all_extra "-unstable"
if $AUTOLOAD; then
	start_target 2; SOCK_OF[$TPID]=$TSOCK
	check "a target started after mark-bad does not get hello" [ "$(extra_of "$TPID")" = "-unstable" ]
	xsp list
	check "  ... and has no payload loaded" bash -c "! grep -q hello <<<\"\$1\"" _ "$OUT"
else
	pass "# SKIP a fresh start applies nothing: this agent does not apply installed payloads at start"
fi

# ---- mark-bad of a payload nobody holds ----
xs mark-bad --tree $$ never-installed
expect_rc 0 "mark-bad of a payload nobody holds: exit 0"
check "  ... and it is marked" [ -e "$PD/never-installed.bad" ]
xs mark-bad --tree $$ ../escape
expect_rc 2 "mark-bad refuses a name that is not a file name"

# ---- an untrusted patch directory ----
mkdir -m 0777 "$WORK/open"
XSPLICE_PATCH_DIR=$WORK/open xs watch --tree $$
expect_rc 4 "watch refuses a world-writable patch directory (exit 4)"
expect_err "cannot be trusted" "  ... saying it cannot be trusted"

# ---- SIGTERM ----
kill -TERM "$WATCH"
t0=$(date +%s%N)
wait "$WATCH"
wrc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "watch exits 0 on SIGTERM (in $ms ms)" test "$wrc" = 0 -a "$ms" -lt 5000
expect_wlog "watch: stopping (SIGTERM)" "watch logs that it stops"
check "every target is still alive" bash -c 'for p; do kill -0 "$p" || exit 1; done' _ "${RUNNING[@]}"

# ---- the systemd unit ----
UNIT=$E2E_SRC/../../contrib/systemd/xsplice-watch.service
check "the unit runs xsplice watch" grep -q '^ExecStart=.*xsplice watch$' "$UNIT"
if command -v systemd-analyze >/dev/null; then
	sed "s|^ExecStart=[^ ]*|ExecStart=$XSPLICE|" "$UNIT" >"$WORK/xsplice-watch.service"
	if out=$(systemd-analyze verify "$WORK/xsplice-watch.service" 2>&1); then
		pass "systemd-analyze verify accepts the unit"
	else
		fail "systemd-analyze verify accepts the unit"
		diag "$out"
	fi
fi

done_testing
