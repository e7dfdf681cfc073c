#!/bin/bash
# Every process on the host (issue 9): `xsplice ps` and `--all` over 50
# running demo targets, some preloaded and some started without the agent
# (attached by load --all), one stopped (cannot be patched: skipped), one
# killed during the run (gone). Then idempotence (already), a stacked
# payload, revert/unload --all, --dry-run, --json. Every command is narrowed
# with --tree $$ to the processes this test started: the machine may run
# other demo targets.
source "$(dirname "$0")/lib.sh" "$1"

if [ -n "$ASAN_RUNTIME" ]; then
	# The ASan agent cannot be attached to a running process (attach.sh):
	# every target is preloaded, and fewer of them (ASan's memory).
	N_PRE=20
	N_PLAIN=0
else
	N_PRE=30
	N_PLAIN=20
fi
N=$((N_PRE + N_PLAIN))

# ---- the targets ----
PIDS=()
declare -A KIND=()
start_one() { # start_one pre|plain
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	local sock=$WORK/demo$TARGET_N.sock
	if [ "$1" = pre ]; then
		LD_PRELOAD=$AGENT_PRELOAD spawn "$TARGET" serve "$sock" 1 2>"$WORK/target$TARGET_N.log"
	else
		spawn "$TARGET" serve "$sock" 1 2>"$WORK/target$TARGET_N.log"
	fi
	PIDS+=("$LAST_PID")
	KIND[$LAST_PID]=$1
	SOCK_OF[$LAST_PID]=$sock
}
declare -A SOCK_OF=()
for ((i = 0; i < N_PRE; i++)); do start_one pre; done
for ((i = 0; i < N_PLAIN; i++)); do start_one plain; done
for p in "${PIDS[@]}"; do
	if ! wait_for 10 sock_ready "${SOCK_OF[$p]}" ||
		{ [ "${KIND[$p]}" = pre ] && ! wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$p.sock"; }; then
		echo "Bail out! demo target $p (${KIND[$p]}) did not start"
		exit 1
	fi
done
# One more, stopped: it maps the object but cannot be patched.
start_one plain
STOPPED=$LAST_PID
unset 'PIDS[-1]'
wait_for 10 sock_ready "${SOCK_OF[$STOPPED]}" || { echo "Bail out! no stopped target"; exit 1; }
kill -STOP "$STOPPED"
wait_for 5 test "$(awk '{ print $3 }' "/proc/$STOPPED/stat")" = T || true
# A zombie: a child that its parent (sleep) never reaps.
spawn bash -c 'sleep 0.2 & exec sleep 60'
ZPARENT=$LAST_PID
wait_for 5 bash -c "grep -q ' Z ' /proc/\$(pgrep -P $ZPARENT)/stat 2>/dev/null" || true
ZOMBIE=$(pgrep -P "$ZPARENT")
pass "started $N_PRE preloaded and $N_PLAIN plain demo targets, one stopped ($STOPPED), a zombie (${ZOMBIE:-none})"

PRE_PIDS=$(for p in "${PIDS[@]}"; do [ "${KIND[$p]}" = pre ] && echo "$p"; done | sort -n)
ALL_PIDS=$( (printf '%s\n' "${PIDS[@]}"; echo "$STOPPED") | sort -n)

# json_pids: the pids of a `ps --json` or `--all --json` output (sorted)
json_pids() {
	"$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
rows = v["processes"] if "processes" in v else v["results"]
print("\n".join(str(r["pid"]) for r in sorted(rows, key=lambda r: r["pid"])))' <<<"$OUT"
}
# summary_of: the last-but-one line (the summary) of a --all run
summary_of() { grep -E '^(dry run: )?[0-9]+ [a-z ]+, [0-9]+ already' <<<"$OUT"; }
expect_summary() {
	local got
	got=$(summary_of)
	if [ "$got" = "$1" ]; then pass "$2"; else fail "$2"; diag "expected summary: $1"; show_last; fi
}
# result_of PID: the word after "PID COMM " in a --all run
result_of() { awk -v p="$1" '$1 == p { $1 = ""; $2 = ""; sub(/^  /, ""); print; exit }' <<<"$OUT"; }
# every_extra TEXT PIDS...: every target answers "info" with xen_extra TEXT
every_extra() {
	local want=$1 p got bad=0
	shift
	for p in "$@"; do
		got=$(query info "${SOCK_OF[$p]}" | sed -n 's/^xen_extra *: //p')
		if [ "$got" != "$want" ]; then
			bad=$((bad + 1))
			[ $bad -le 3 ] && diag "target $p: xen_extra '$got', expected '$want'"
		fi
	done
	[ $bad = 0 ]
}
no_agent_in_plain() {
	local p
	for p in "${PIDS[@]}"; do
		[ "${KIND[$p]}" = plain ] && grep -Eq 'libxsplice|xsplice-agent' "/proc/$p/maps" && return 1
	done
	return 0
}

# ---- ps ----
xs ps --tree $$
expect_rc 0 "ps: exit 0"
got=$(awk 'NR > 1 { print $1 }' <<<"$OUT" | sort -n)
check "ps lists exactly the $N_PRE processes with an agent" [ "$got" = "$PRE_PIDS" ]
expect_out "no payloads" "ps: no payloads yet"
xs --json ps --tree $$
check "ps --json parses and lists the agents" [ "$(json_pids)" = "$PRE_PIDS" ]

xs ps --object "$TARGET" --tree $$
expect_rc 0 "ps --object: exit 0"
got=$(awk 'NR > 1 { print $1 }' <<<"$OUT" | sort -n)
check "ps --object lists every process that maps the demo target ($((N + 1)))" [ "$got" = "$ALL_PIDS" ]
check "ps --object: the stopped one cannot be patched, and says why" \
	grep -qE "^$STOPPED .*cannot patch: stopped by a signal" <<<"$OUT"
if [ "$N_PLAIN" -gt 0 ]; then
	check "ps --object: a plain target is listed without an agent" \
		grep -qE "^${PIDS[-1]} .* no +no agent: it is attached when patched" <<<"$OUT"
fi
BID=$(build_id_of "$TARGET")
xs --json ps --build-id "$BID" --tree $$
check "ps --build-id --json lists the same processes" [ "$(json_pids)" = "$ALL_PIDS" ]
check "ps --json: the stopped one is not patchable, with its reason" "$PYTHON" -c '
import json, sys
v = {r["pid"]: r for r in json.load(sys.stdin)["processes"]}
r = v[int(sys.argv[1])]
sys.exit(0 if not r["patchable"] and "stopped" in r["reason"] and r["object"] else 1)' "$STOPPED" <<<"$OUT"
xs ps --build-id 00112233445566778899aabbccddeeff00112233 --tree $$
check "ps --build-id of an object nobody maps lists nobody" [ "$(echo "$OUT" | wc -l)" = 1 ]
xs ps --build-id xyz
expect_rc 2 "ps --build-id with a bad id: usage error"
xs ps --all --tree $$
check "ps --all lists the zombie with its reason" \
	grep -qE "^${ZOMBIE:-no-zombie} .*cannot patch: zombie" <<<"$OUT"

# Without root: other users' processes cannot be patched, and say so.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	LAST_CMD="(uid 65534) xsplice ps --all --tree $$"
	OUT=$(timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$XSPLICE" ps --all --tree $$ 2>&1)
	RC=$?
	check "ps --all as another user: root's targets cannot be patched, and say why" \
		grep -qE "^${PIDS[0]} .*cannot patch: another user's \(uid 0\): run as root" <<<"$OUT"
	OUT=$(timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$XSPLICE" load --all --tree $$ "$P_HELLO" 2>&1)
	RC=$?
	check "load --all as another user changes nothing of root's (exit 0, 0 patched)" \
		test "$RC" = 0 -a -z "$(grep -E ' patched' <<<"$OUT" | grep -v '^0 patched')"
fi

# ---- --dry-run ----
xs load --all --dry-run --tree $$ "$P_HELLO"
expect_rc 0 "load --all --dry-run: exit 0"
expect_summary "dry run: $N would change, 0 already, 1 skipped, 0 failed" "dry run: the summary says what would happen"
check "dry run: the stopped one is skipped with its reason" \
	grep -q "^skipped: stopped by a signal" <<<"$(result_of "$STOPPED")"
xs ps --tree $$
check "dry run changed nothing: no payload anywhere" bash -c "! grep -q hello <<<\"\$1\"" _ "$OUT"
check "dry run attached nothing" no_agent_in_plain

# ---- load --all, one killed during the run ----
VICTIM=$(printf '%s\n' "${PIDS[@]}" | sort -n | tail -n 1)
LAST_CMD="xsplice load --all --jobs 1 --tree $$ hello.livepatch (victim $VICTIM)"
"$XSPLICE" load --all --jobs 1 --tree $$ "$P_HELLO" >"$WORK/run1.out" 2>"$WORK/run1.err" &
RUN=$!
# The processes are handled in pid order, the victim (highest pid) last.
wait_for 10 grep -q . "$WORK/run1.out"
disown "$VICTIM" # no "Killed" job notice in the TAP
kill -KILL "$VICTIM"
wait "$RUN"
RC=$?
OUT=$(cat "$WORK/run1.out")
ERR=$(cat "$WORK/run1.err")
expect_rc 0 "load --all: exit 0 (a process gone is not a failure)"
expect_summary "$((N - 1)) patched, 0 already, 1 skipped, 0 failed, 1 gone" \
	"load --all: $((N - 1)) patched, 1 skipped, 1 gone"
check "load --all: the killed process is reported as gone" [ "$(result_of "$VICTIM")" = gone ]
check "load --all: one line per process" \
	[ "$(grep -cE '^[0-9]+ [^ ]+ (patched|already|skipped|failed|gone)' <<<"$OUT")" = "$((N + 1))" ]
if [ "$N_PLAIN" -gt 0 ]; then
	check "load --all: the plain targets were attached" \
		[ "$(grep -c 'patched (agent attached)' <<<"$OUT")" = "$((N_PLAIN - 1))" ]
fi
diag "$(tail -n 1 <<<"$OUT")"
LIVE=()
for p in "${PIDS[@]}"; do [ "$p" != "$VICTIM" ] && LIVE+=("$p"); done
check "every live target answers Hello World" every_extra "Hello World" "${LIVE[@]}"
check "the stopped target is still stopped" [ "$(awk '{ print $3 }' "/proc/$STOPPED/stat")" = T ]

# ---- idempotence ----
xs load --all --tree $$ "$P_HELLO"
expect_rc 0 "load --all again: exit 0"
expect_summary "0 patched, $((N - 1)) already, 1 skipped, 0 failed" "load --all again: all already"
xs --json load --all --tree $$ "$P_HELLO"
check "load --all --json parses, with the contract's keys" "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
n = int(sys.argv[1])
assert v["command"] == "load" and v["payload"] == "hello" and v["dry_run"] is False
assert v["summary"] == {"patched": 0, "already": n - 1, "skipped": 1, "failed": 0, "gone": 0}, v["summary"]
assert len(v["results"]) == n
for r in v["results"]:
    assert set(["pid", "comm", "result", "reason"]) <= set(r), r
    assert r["result"] in ("patched", "already", "skipped", "failed", "gone"), r
' "$N" <<<"$OUT"

# ---- another payload under the same name ----
mkdir -p "$WORK/variant"
hello_variant "$WORK/variant/hello.livepatch" 00112233445566778899aabbccddeeff00112233
xs load --all --tree $$ "$WORK/variant/hello.livepatch"
expect_rc 1 "load --all of another payload named hello: exit 1"
expect_summary "0 patched, 0 already, 1 skipped, $((N - 1)) failed" "load --all of another hello: failed, not already"
expect_out "another payload named hello" "it says another payload of that name is loaded"

# ---- a stacked payload: bye sits on hello, found through the agents ----
xs load --all --tree $$ "$P_BYE"
expect_rc 0 "load --all bye (stacked on hello): exit 0"
expect_summary "$((N - 1)) patched, 0 already, 0 skipped, 0 failed" "load --all bye: every process holding hello"
check "every target answers Bye World" every_extra "Bye World" "${LIVE[@]}"
xs revert --all --tree $$ bye
expect_summary "$((N - 1)) reverted, 0 already, 0 skipped, 0 failed" "revert --all bye"
xs unload --all --tree $$ bye
expect_summary "$((N - 1)) unloaded, 0 already, 0 skipped, 0 failed" "unload --all bye"

# ---- unload of an applied payload fails ----
xs unload --all --tree $$ hello
expect_rc 1 "unload --all of an APPLIED payload: exit 1"
expect_summary "0 unloaded, 0 already, 0 skipped, $((N - 1)) failed" "unload --all APPLIED: every one failed"
expect_out "revert it first" "unload --all APPLIED says to revert first"

# ---- revert, unload ----
xs --json revert --all --tree $$ hello
check "revert --all --json: every one changed" "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
assert v["summary"]["patched"] == int(sys.argv[1]) - 1, v["summary"]
assert all(r["result"] == "patched" and r["changed"] for r in v["results"])' "$N" <<<"$OUT"
check "every target answers -unstable again" every_extra "-unstable" "${LIVE[@]}"
xs revert --all --tree $$ hello
expect_summary "0 reverted, $((N - 1)) already, 0 skipped, 0 failed" "revert --all again: all already"
xs apply --all --dry-run --tree $$ hello
expect_summary "dry run: $((N - 1)) would change, 0 already, 0 skipped, 0 failed" "apply --all --dry-run"
check "apply --dry-run changed nothing" every_extra "-unstable" "${LIVE[@]}"
xs unload --all --tree $$ hello
expect_rc 0 "unload --all hello: exit 0"
expect_summary "$((N - 1)) unloaded, 0 already, 0 skipped, 0 failed" "unload --all hello"
xs ps --tree $$
check "ps: no payload left anywhere" bash -c "! grep -q hello <<<\"\$1\"" _ "$OUT"
check "ps: the attached targets now have an agent" \
	[ "$(awk 'NR > 1' <<<"$OUT" | wc -l)" = "$((N - 1))" ]
xs unload --all --tree $$ hello
expect_rc 0 "unload --all of a payload nobody holds: exit 0"
expect_err "no process holds a payload hello" "it says nobody holds it"

# ---- usage ----
xs load --all -p "${PIDS[0]}" "$P_HELLO"
expect_rc 2 "--all with -p: usage error"
xs list --all
expect_rc 2 "list --all: usage error"
xs --dry-run -p "${PIDS[0]}" load "$P_HELLO"
expect_rc 2 "--dry-run without --all: usage error"

kill -CONT "$STOPPED"
done_testing
