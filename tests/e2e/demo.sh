#!/bin/bash
# The seed's demo, end to end: original version string, hello, bye stacked
# on hello, replace swapping everything at once, revert and unload back to
# the original, and a payload built for another build refused.
source "$(dirname "$0")/lib.sh" "$1"

start_target 4
expect_extra "-unstable" "info shows the original version string"

xsp load "$P_HELLO"
expect_rc 0 "load hello"
expect_out "Performing apply:" "load prints the apply progress"
expect_extra "Hello World" "hello applied: Hello World"
expect_state hello APPLIED 0 "hello is APPLIED with rc 0"

xsp revert hello
expect_rc 0 "revert hello"
expect_extra "-unstable" "hello reverted: -unstable again"
expect_state hello CHECKED 0 "hello is CHECKED after revert"
xsp unload hello
expect_rc 0 "unload hello"
expect_gone hello "hello is gone after unload"
expect_extra "-unstable" "after unload: -unstable"

xsp load "$P_HELLO"
expect_rc 0 "load hello again"
xsp load "$P_BYE"
expect_rc 0 "load bye (stacked on hello)"
expect_extra "Bye World" "bye applied: Bye World"
expect_list "hello:APPLIED bye:APPLIED" "list: hello and bye APPLIED"

xsp upload replace "$P_REPLACE"
expect_rc 0 "upload replace"
expect_state replace CHECKED 0 "replace is CHECKED after upload"
xsp replace replace
expect_rc 0 "replace replace"
expect_extra "Hello Again World" "replace applied: Hello Again World"
expect_list "hello:CHECKED bye:CHECKED replace:APPLIED" \
	"list: hello and bye CHECKED, replace APPLIED"
xsp list
expect_rc 0 "plain list works"
if grep -Eq '^hello +\| CHECKED$' <<<"$OUT" && grep -Eq '^bye +\| CHECKED$' <<<"$OUT" &&
	grep -Eq '^replace +\| APPLIED$' <<<"$OUT"; then
	pass "text list shows hello/bye CHECKED, replace APPLIED"
else
	fail "text list shows hello/bye CHECKED, replace APPLIED"
	show_last
fi

xsp revert replace
expect_rc 0 "revert replace"
expect_extra "-unstable" "replace reverted: -unstable (hello/bye stay reverted)"
for p in replace bye hello; do
	xsp unload "$p"
	expect_rc 0 "unload $p"
done
expect_list "" "nothing loaded any more"
expect_extra "-unstable" "everything unloaded: -unstable"

xsp load "$P_OTHER"
expect_rc 4 "hello-other-build is refused with exit code 4"
expect_err "build-id" "the refusal names the build-id"
expect_list "" "nothing kept after the refusal"
expect_extra "-unstable" "the refused payload changed nothing"

expect_alive
done_testing
