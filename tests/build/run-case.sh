#!/bin/sh
# Build a payload for one crafted case and check it.
#   run-case.sh XSPLICE_BUILD CASEDIR
# CASEDIR/src        the program (Makefile + C), built as the "running" binary
#                    with `xsplice-build --wrap -- make` in a copy
# CASEDIR/fix.patch  the source patch (-p1), or
# CASEDIR/patched/   the files that differ; the test makes the patch with diff
# CASEDIR/expect     checks, one a line:
#   exit N           expected exit status of xsplice-build (default 0)
#   target NAME      binary name in src (default prog)
#   strip            strip the running binary first
#   built-srcdir     --srcdir is the tree the running binary was built in
#                    (an already built tree), not the clean CASEDIR/src
#   opts ...         extra xsplice-build options
#   has REGEX        --dump output (or, when refused, the tool output) matches
#   not REGEX        ... does not match
#   out REGEX        the tool's output matches
#   nfuncs N         number of .livepatch.funcs entries
#   sources OTHER    OTHER's src/, patched/ or fix.patch (case-lib.sh)
set -eu
XB=$(readlink -f "$1")
CASE=$(readlink -f "$2")
NAME=$(basename "$CASE")
. "$(dirname "$0")/case-lib.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/xb-test-$NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL $NAME: $*"; echo "--- tool output"; cat "$T/out.txt" 2>/dev/null || true; echo "--- dump"; cat "$T/dump.txt" 2>/dev/null || true; exit 1; }

want_exit=0 target=prog strip=no opts= stripsym= built=no
while read -r k v; do
	case "$k" in
	exit) want_exit=$v ;;
	target) target=$v ;;
	strip) strip=yes ;;
	built-srcdir) built=yes ;;
	opts) opts=$v ;;
	strip-symbol) stripsym="$stripsym $v" ;;
	esac
done < "$CASE/expect"

case_patch "$T" || fail "patched/ does not differ"

cp -a "$TREE/src" "$T/run"
"$XB" --wrap -- make -s -C "$T/run" >"$T/run-build.txt" 2>&1 || { cat "$T/run-build.txt"; fail "building the running binary"; }
BIN="$T/run/$target"
cp "$BIN" "$T/unstripped"
if [ "$strip" = yes ]; then
	# As distributions ship it: the symbols only in a copy elsewhere.
	strip "$BIN"
	[ "$built" = yes ] && { mkdir -p "$T/bin"; mv "$BIN" "$T/bin/"; BIN=$T/bin/$target; }
fi
for s in $stripsym; do objcopy --strip-symbol="$s" "$BIN"; done

set +e
# shellcheck disable=SC2086
SRCDIR=$TREE/src
[ "$built" = yes ] && SRCDIR=$T/run
"$XB" --srcdir "$SRCDIR" --patch "$PATCH" --target "$BIN" -o "$T/out.livepatch" $opts >"$T/out.txt" 2>&1
rc=$?
set -e
[ "$rc" = "$want_exit" ] || fail "exit $rc, want $want_exit"

if [ "$rc" = 0 ]; then
	"$XB" --dump "$T/out.livepatch" >"$T/dump.txt" || fail "dump"
	# Mandatory structure: ET_REL, own build-id, depends = target's build-id.
	grep -q '^type: ET_REL$' "$T/dump.txt" || fail "not ET_REL"
	grep -q '^build-id: ' "$T/dump.txt" || fail "no build-id"
	bid=$(readelf -n "$BIN" | sed -n 's/.*Build ID: *//p' | head -1)
	if ! grep -q "opts.*--depends" "$CASE/expect"; then
		grep -q "^depends: $bid\$" "$T/dump.txt" || fail "depends is not the target's build-id $bid"
	fi
	grep -q '^warning: .*old_addr has a relocation' "$T/dump.txt" && fail "old_addr relocated"
	# Every old_addr/old_size is the target's value and size for that name.
	if [ -z "$stripsym" ]; then
		grep '^func: ' "$T/dump.txt" | while read -r _ fname oa os _; do
			oa=$(printf '%016x' "${oa#old_addr=}"); os=${os#old_size=}
			readelf -sW "$T/unstripped" | awk -v n="$fname" -v a="$oa" -v s="$os" \
				'$8 == n && $2 == a && $3 == s { f = 1 } END { exit !f }' ||
				{ echo "FAIL $NAME: $fname $oa/$os is not in the target"; exit 1; }
		done || fail "func entry does not match the target"
	fi
else
	cp "$T/out.txt" "$T/dump.txt"
fi

while read -r k v; do
	case "$k" in
	has) grep -Eq -- "$v" "$T/dump.txt" || fail "missing: $v" ;;
	not) grep -Eq -- "$v" "$T/dump.txt" && fail "unexpected: $v" ;;
	out) grep -Eq -- "$v" "$T/out.txt" || fail "output lacks: $v" ;;
	nfuncs) n=$(grep -c '^func: ' "$T/dump.txt" || true); [ "$n" = "$v" ] || fail "$n funcs, want $v" ;;
	esac
done < "$CASE/expect"
echo "PASS $NAME"
