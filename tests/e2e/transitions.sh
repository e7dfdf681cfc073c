#!/bin/bash
# Every cell of the seed's state transition table (docs/protocol.md):
#   CHECKED: UNLOAD ok, APPLY ok, REPLACE ok, REVERT refused
#   APPLIED: REVERT ok, APPLY, REPLACE, UNLOAD refused
# A refused action exits 4, leaves the state (and the running code) as it
# was, and GET reports rc -EINVAL (-22) with a reason.
source "$(dirname "$0")/lib.sh" "$1"
EINVAL=-22

start_target 4

# ---- from CHECKED ----
xsp upload hello "$P_HELLO"
expect_rc 0 "upload hello: CHECKED"
expect_state hello CHECKED 0 "hello starts CHECKED with rc 0"

xsp revert hello
expect_rc 4 "CHECKED + REVERT is refused (exit 4)"
expect_err "not APPLIED" "the refusal says why"
expect_state hello CHECKED $EINVAL "CHECKED + REVERT: still CHECKED, rc -EINVAL with a reason" nonempty
expect_extra "-unstable" "CHECKED + REVERT changed no code"

xsp unload hello
expect_rc 0 "CHECKED + UNLOAD works"
expect_gone hello "CHECKED + UNLOAD: the payload is gone"

xsp upload hello "$P_HELLO"
xsp apply hello
expect_rc 0 "CHECKED + APPLY works"
expect_state hello APPLIED 0 "CHECKED + APPLY: APPLIED, rc 0 (a refusal's rc is cleared)"
expect_extra "Hello World" "CHECKED + APPLY: the new code runs"

# ---- from APPLIED ----
xsp apply hello
expect_rc 4 "APPLIED + APPLY is refused (exit 4)"
expect_err "already APPLIED" "the refusal says it is already APPLIED"
expect_state hello APPLIED $EINVAL "APPLIED + APPLY: still APPLIED, rc -EINVAL with a reason" nonempty
expect_extra "Hello World" "APPLIED + APPLY changed no code"

xsp replace hello
expect_rc 4 "APPLIED + REPLACE is refused (exit 4)"
expect_state hello APPLIED $EINVAL "APPLIED + REPLACE: still APPLIED, rc -EINVAL with a reason" nonempty
expect_extra "Hello World" "APPLIED + REPLACE changed no code"

xsp unload hello
expect_rc 4 "APPLIED + UNLOAD is refused (exit 4)"
expect_err "revert it first" "the refusal says to revert first"
expect_state hello APPLIED $EINVAL "APPLIED + UNLOAD: still APPLIED, rc -EINVAL with a reason" nonempty
expect_extra "Hello World" "APPLIED + UNLOAD changed no code"

xsp revert hello
expect_rc 0 "APPLIED + REVERT works"
expect_state hello CHECKED 0 "APPLIED + REVERT: CHECKED, rc 0"
expect_extra "-unstable" "APPLIED + REVERT: the old code runs again"

# ---- REPLACE from CHECKED, with nothing applied and with something applied ----
xsp replace hello
expect_rc 0 "CHECKED + REPLACE works with nothing else applied"
expect_state hello APPLIED 0 "CHECKED + REPLACE: APPLIED"
expect_extra "Hello World" "CHECKED + REPLACE: the new code runs"

xsp upload replace "$P_REPLACE"
xsp replace replace
expect_rc 0 "CHECKED + REPLACE works with another payload applied"
expect_state replace APPLIED 0 "the replacement is APPLIED"
expect_state hello CHECKED 0 "the payload it replaced is CHECKED"
expect_extra "Hello Again World" "the replacement's code runs"

# Refusals from CHECKED once more, for a payload that was APPLIED before.
xsp revert hello
expect_rc 4 "REVERT of the replaced (CHECKED) payload is refused"
expect_state hello CHECKED $EINVAL "it stays CHECKED with rc -EINVAL" nonempty

# ---- an unknown payload ----
xsp apply nosuch
expect_rc 3 "APPLY of an unknown payload: exit 3"
xsp revert nosuch
expect_rc 3 "REVERT of an unknown payload: exit 3"

# Back to the start.
xsp revert replace
expect_rc 0 "revert replace"
xsp unload replace
expect_rc 0 "unload replace"
xsp unload hello
expect_rc 0 "unload hello (CHECKED with a refusal's rc: unload still works)"
expect_list "" "nothing loaded"
expect_extra "-unstable" "the original code runs"

expect_alive
done_testing
