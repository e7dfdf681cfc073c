#!/usr/bin/env bash
# Case 7: all or nothing. A payload patching three functions whose third
# entry expects old bytes that are not there (its code was "changed behind
# the agent's back") is refused as a whole: the reason names that function
# and the first two functions keep their old answers.
source "$(dirname "$0")/lib.sh" "$1"

start_tt plain
upload triple "$TP/tr-triple.livepatch"
expect_tq triple "11 12 13" "triple_a/b/c give the old answers"
xsp --timeout 1000 apply triple
ok_if "apply fails (non-zero exit)" '[ "$RC" != 0 ]' || show_last
diag "exit code $RC"
get_json triple
diag "reason: $G_REASON"
ok_if "state CHECKED, rc -EINVAL (-22)" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -22 ]'
ok_if "the reason names triple_c" '[[ "$G_REASON" == *"triple_c"* ]]'
ok_if "the reason does not blame triple_a or triple_b" \
	'[[ "$G_REASON" != *"triple_a"* && "$G_REASON" != *"triple_b"* ]]'
expect_tq triple "11 12 13" "triple_a and triple_b were not patched (old answers remain)"
xsp --json info
check "info: no function of triple is marked applied" \
	"$PYTHON" -c 'import json, sys
p = [p for p in json.load(sys.stdin)["payloads"] if p["name"] == "triple"][0]
sys.exit(any(f["applied"] for f in p["funcs"]))' <<<"$OUT"
# Repeat: a failed attempt must leave nothing behind that breaks a second.
xsp --timeout 1000 apply triple
get_json triple
ok_if "a second apply fails the same way" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -22 ]'
expect_tq triple "11 12 13" "still the old answers"
xsp unload triple
expect_rc 0 "the refused payload unloads"
expect_tt_alive
done_testing
