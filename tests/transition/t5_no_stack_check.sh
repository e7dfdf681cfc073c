#!/usr/bin/env bash
# Case 5: the per-function opt-out. service_loop() never returns: a thread
# is always inside it (calling service_helper each iteration). A version-2
# entry for service_loop WITHOUT LIVEPATCH_FUNC_NO_STACK_CHECK -> -EBUSY;
# WITH it the apply succeeds, `xsplice info` shows the flag, new calls take
# the new code (tag 2) while the running loop keeps the old body (tag 1).
source "$(dirname "$0")/lib.sh" "$1"

start_tt service
upload check "$TP/tr-service_check.livepatch"
upload nocheck "$TP/tr-service_nocheck.livepatch"
expect_tq permtag 1 "the service thread runs the old loop body (tag 1)"
expect_tq "service 3" "ret 30 tag 1" "a new call of service_loop runs the old body"

xsp --timeout 300 apply check
expect_rc 5 "without the flag: apply --timeout 300 exits 5"
get_json check
diag "reason: $G_REASON"
ok_if "without the flag: rc -EBUSY, state CHECKED" '[ "$G_STATE" = CHECKED ] && [ "$G_RC" = -16 ]'
ok_if "the reason names service_loop" '[[ "$G_REASON" == *"function service_loop"* ]]'
expect_tq "service 3" "ret 30 tag 1" "service_loop unchanged"

xsp --timeout 1000 apply nocheck
expect_rc 0 "with LIVEPATCH_FUNC_NO_STACK_CHECK: apply succeeds"
expect_state nocheck APPLIED 0 "state APPLIED"
xsp info
expect_out "[no stack check]" "xsplice info shows the flag"
xsp --json info
check "xsplice --json info: no_stack_check true for nocheck, false for check" \
	"$PYTHON" -c 'import json, sys
ps = {p["name"]: p for p in json.load(sys.stdin)["payloads"]}
f1 = ps["nocheck"]["funcs"][0]; f2 = ps["check"]["funcs"][0]
sys.exit(not (f1["name"] == "service_loop" and f1["no_stack_check"] and f1["applied"]
              and not f2["no_stack_check"]))' <<<"$OUT"
expect_tq "service 3" "ret 30 tag 2" "a new call of service_loop (another thread) runs the new body"
expect_tq permtag 1 "the running loop keeps the old body (tag 1)"
expect_tq permtag 1 "... still, a moment later"

xsp --timeout 1000 revert nocheck
expect_rc 0 "revert succeeds (no thread in the payload's code)"
expect_tq "service 3" "ret 30 tag 1" "after revert new calls run the old body again"
expect_tq permtag 1 "the service thread still runs (tag 1)"
xsp unload nocheck
expect_rc 0 "unload nocheck"
xsp unload check
expect_rc 0 "unload check"
expect_tt_alive
done_testing
