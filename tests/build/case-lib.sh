# Shared by run-case.sh and apply-case.sh (POSIX sh): where a case's trees
# are and its patch. Source it after setting CASE (the case directory).

# `sources OTHER` in expect: OTHER's trees (src/, patched/ or fix.patch)
# with this case's own checks.
TREE=$CASE
other=$(sed -n 's/^sources //p' "$CASE/expect")
[ -n "$other" ] && TREE=$(cd "$CASE/../$other" && pwd)

# Patches may include <xsplice/livepatch.h> and <xsplice/shadow.h>: from
# the source tree when they are not installed.
C_INCLUDE_PATH="$(cd "$CASE/../../../.." && pwd)/include${C_INCLUDE_PATH:+:$C_INCLUDE_PATH}"
export C_INCLUDE_PATH

# case_patch WORK: sets PATCH to TREE/fix.patch, or to WORK/fix.patch made
# with diff from src/ and patched/. Fails if patched/ changes nothing.
case_patch() {
	PATCH=$TREE/fix.patch
	[ -f "$PATCH" ] && return 0
	mkdir -p "$1/p"
	cp -a "$TREE/src" "$1/p/a"
	cp -a "$TREE/src" "$1/p/b"
	cp -a "$TREE/patched/." "$1/p/b/"
	PATCH=$1/fix.patch
	! (cd "$1/p" && diff -ruN a b >"$PATCH")
}
