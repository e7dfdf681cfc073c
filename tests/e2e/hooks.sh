#!/bin/bash
# Payload hooks (.livepatch.hooks.*): load/unload at upload/unload, pre/post
# around APPLY, REVERT and REPLACE, in order; a pre hook's veto leaves the
# state unchanged and the reason names the hook. Each hook of
# hooks_payload.c writes "HOOK <kind> <tag> <payload>" to the target's
# stderr; vetoes are files $XSE2E_HOOK_DIR/veto-<kind>-<tag>.
source "$(dirname "$0")/lib.sh" "$1"
PA=$E2E_BUILD/hooks-a.livepatch
PB=$E2E_BUILD/hooks-b.livepatch
export XSE2E_HOOK_DIR=$WORK

start_target 4
# hooks: the HOOK lines logged since the last mark
mark() { MARK=$(wc -l <"$TLOG"); }
hooks() { tail -n +"$((MARK + 1))" "$TLOG" | sed -n 's/^HOOK //p' | paste -sd, -; }
expect_hooks() {
	local got
	got=$(hooks)
	if [ "$got" = "$1" ]; then pass "$2"; else fail "$2"; diag "expected: $1"; diag "got:      $got"; fi
}

# A description with the 8-bit CSI (U+009B) would reach the terminal raw
# through list: refused at upload, its load hook never run.
printf 'description=red \xc2\x9b31m\0version=1\0' >"$WORK/csi.modinfo"
if objcopy --update-section .modinfo="$WORK/csi.modinfo" "$PA" "$WORK/csi.livepatch" 2>"$WORK/objcopy.err"; then
	mark
	xsp upload csi "$WORK/csi.livepatch"
	expect_rc 4 "a description that is not printable UTF-8 is refused (exit 4)"
	expect_err "is not printable UTF-8" "the reason says why"
	expect_hooks "" "no hook of the refused payload ran"
else
	fail "objcopy made the CSI payload"; diag "$(cat "$WORK/objcopy.err")"
fi
mark
xsp upload a "$PA"
expect_rc 0 "upload a"
expect_hooks "load a -" "the load hook ran at upload"
expect_state a CHECKED 0 "a is CHECKED"

# Metadata (.modinfo, LIVEPATCH_MODINFO) in list and info, text and JSON.
xsp list
expect_out "[1.a] hook order test payload a" "list shows the version and description"
xsp --json list
got=$("$PYTHON" -c 'import json, sys
p = json.load(sys.stdin)["payloads"][0]; print(p["description"] + "|" + p["version"])' <<<"$OUT")
check "list --json has description and version" [ "$got" = "hook order test payload a|1.a" ]
xsp --json info
got=$("$PYTHON" -c 'import json, sys
p = json.load(sys.stdin)["payloads"][0]; print(p["description"] + "|" + p["version"])' <<<"$OUT")
check "info --json has description and version" [ "$got" = "hook order test payload a|1.a" ]
xsp info
expect_out "description: hook order test payload a" "info shows the description"

mark
xsp apply a
expect_rc 0 "apply a"
expect_hooks "preapply a a,postapply a a" "apply: preapply then postapply, given the payload"
expect_extra "Hooked a" "a's function is live"
if grep -q "running preapply hook a:pre_apply" "$TLOG"; then
	pass "the agent names each hook on stderr before running it"
else
	fail "the agent names each hook on stderr before running it"
	diag "$(cat "$TLOG")"
fi

mark
xsp revert a
expect_rc 0 "revert a"
expect_hooks "prerevert a a,postrevert a a" "revert: prerevert then postrevert"
expect_extra "-unstable" "the original is back"

# A preapply veto: nothing written, state CHECKED, reason names the hook.
touch "$WORK/veto-preapply-a"
mark
xsp apply a
expect_rc 4 "apply a is vetoed"
expect_err "preapply hook a:pre_apply returned 7" "the reason names the hook and its value"
expect_hooks "preapply a a" "only the vetoing hook ran (no post hook)"
expect_state a CHECKED -125 "a stays CHECKED, rc -ECANCELED" nonempty
expect_extra "-unstable" "nothing was written"
rm -f "$WORK/veto-preapply-a"

xsp apply a
expect_rc 0 "apply a once the veto is gone"
# A prerevert veto (-EBUSY): a stays applied; its undo hook (postapply) runs.
touch "$WORK/veto-prerevert-a"
mark
xsp revert a
expect_rc 4 "revert a is vetoed"
expect_err "prerevert hook a:pre_revert returned -16" "the reason names the prerevert hook"
expect_state a APPLIED -125 "a stays APPLIED, rc -ECANCELED" nonempty
expect_extra "Hooked a" "a's function is still live"
rm -f "$WORK/veto-prerevert-a"

# REPLACE: the applied payload's prerevert, the new one's preapply, then
# postrevert and postapply.
xsp upload b "$PB"
expect_rc 0 "upload b"
mark
xsp replace b
expect_rc 0 "replace a with b"
expect_hooks "prerevert a a,preapply b b,postrevert a a,postapply b b" \
	"replace: prerevert(a), preapply(b), postrevert(a), postapply(b)"
expect_extra "Hooked b" "b's function is live"
expect_list "a:CHECKED b:APPLIED" "a CHECKED, b APPLIED"

# REPLACE vetoed by the new payload: a's prerevert had passed, so a gets its
# undo hook (postapply) and stays applied.
xsp revert b
expect_rc 0 "revert b"
xsp apply a
expect_rc 0 "apply a again"
touch "$WORK/veto-preapply-b"
mark
xsp replace b
expect_rc 4 "replace with b is vetoed by b's preapply"
expect_hooks "prerevert a a,preapply b b,postapply a a" \
	"vetoed replace: a's prerevert, b's veto, then a's undo hook"
expect_list "a:APPLIED b:CHECKED" "nothing changed: a APPLIED, b CHECKED"
expect_extra "Hooked a" "a's function is still live"
rm -f "$WORK/veto-preapply-b"

xsp revert a
expect_rc 0 "revert a"
mark
xsp unload a
expect_rc 0 "unload a"
xsp unload b
expect_rc 0 "unload b"
expect_hooks "unload a -,unload b -" "the unload hooks ran at unload"

# Hook sections the agent would not run are refused, not ignored.
objcopy --rename-section .livepatch.hooks.load=.livepatch.hooks.apply "$PA" "$WORK/xen-apply.livepatch"
xsp upload xen-apply "$WORK/xen-apply.livepatch"
expect_rc 4 "a payload with Xen's .livepatch.hooks.apply is refused"
expect_err "not a hook this agent runs" "the reason names the section"
objcopy --set-section-flags .livepatch.hooks.load=contents,readonly "$PA" "$WORK/noalloc.livepatch"
xsp upload noalloc "$WORK/noalloc.livepatch"
expect_rc 4 "a hook section that is not SHF_ALLOC is refused"
expect_err "is not SHF_ALLOC" "the reason says why"

expect_alive
done_testing
