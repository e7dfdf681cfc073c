#!/bin/bash
# REPLACE: with hello and bye applied, replace reverts both and applies
# itself in one step (no moment where the original runs); reverting the
# replacement brings back the original, and the others can be applied again.
source "$(dirname "$0")/lib.sh" "$1"

start_target 4
xsp load "$P_HELLO"
expect_rc 0 "load hello"
xsp load "$P_BYE"
expect_rc 0 "load bye"
xsp upload replace "$P_REPLACE"
expect_rc 0 "upload replace"
expect_extra "Bye World" "Bye World before the replace"

# Watch the answers while the replace runs: every answer must be the old
# one or the new one, never the original "-unstable" in between.
watch_answers() {
	local end=$((SECONDS + 20))
	while [ ! -e "$WORK/stop-watch" ] && [ $SECONDS -lt $end ]; do
		extra
	done >"$WORK/answers"
}
watch_answers &
WATCH=$!
STARTED_PIDS+=("$WATCH")
wait_for 5 test -s "$WORK/answers"
xsp replace replace
expect_rc 0 "replace replace"
expect_out "completed" "replace reports completion"
sleep 0.2
touch "$WORK/stop-watch"
wait "$WATCH"
sort "$WORK/answers" | uniq -c | diag "$(cat)"
if ! grep -qv -e '^Bye World$' -e '^Hello Again World$' "$WORK/answers"; then
	pass "during the replace the target answered only Bye World or Hello Again World"
else
	fail "during the replace the target answered only Bye World or Hello Again World"
fi

expect_extra "Hello Again World" "Hello Again World after the replace"
expect_list "hello:CHECKED bye:CHECKED replace:APPLIED" "hello and bye CHECKED, replace APPLIED"
expect_state hello CHECKED 0 "hello: CHECKED rc 0"
expect_state bye CHECKED 0 "bye: CHECKED rc 0"
expect_state replace APPLIED 0 "replace: APPLIED rc 0"

xs -p "$TPID" --json info
expect_rc 0 "info --json"
applied=$("$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
print(" ".join(p["name"] + "=" + ",".join(str(f["applied"]) for f in p["funcs"]) for p in d["payloads"]))' <<<"$OUT")
diag "functions applied: $applied"
check "info: only replace's functions are applied" \
	[ "$applied" = "hello=False bye=False replace=True" ]

xsp revert replace
expect_rc 0 "revert replace"
expect_extra "-unstable" "the original is back after reverting the replacement"
expect_state replace CHECKED 0 "replace: CHECKED"

xsp apply hello
expect_rc 0 "hello can be applied again"
xsp apply bye
expect_rc 0 "bye can be applied again"
expect_extra "Bye World" "Bye World again"

# A second replace straight away, then back.
xsp replace replace
expect_rc 0 "replace again"
expect_extra "Hello Again World" "Hello Again World again"
xsp revert replace
expect_rc 0 "revert replace again"
for p in replace bye hello; do
	xsp unload "$p"
	expect_rc 0 "unload $p"
done
expect_list "" "nothing loaded"
expect_extra "-unstable" "-unstable at the end"
expect_alive
done_testing
