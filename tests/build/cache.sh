#!/bin/bash
# The build cache (--cache DIR): a second payload for the same tree reuses
# the original build; a changed tree, build command or environment does not.
#   cache.sh XSPLICE_BUILD CASEDIR   (prints TAP)
set -u
XB=$(readlink -f "$1")
CASE=$(readlink -f "$2")
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
nok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
T=$(mktemp -d "${TMPDIR:-/tmp}/xb-cache.XXXXXX")
trap 'rm -rf "$T"' EXIT
cp -a "$CASE/src" "$T/src"
(cd "$T/src" && "$XB" --wrap -- make -s) >/dev/null 2>&1 || { nok "build the program"; echo "1..$N"; exit 1; }
run() { # run N [extra options]: payload T/N.livepatch, output T/N.txt
	local n=$1
	shift
	"$XB" --srcdir "$T/src" --patch "$CASE/fix.patch" --target "$T/src/prog" \
		-o "$T/$n.livepatch" --cache "$T/cache" "$@" >"$T/$n.txt" 2>&1
}
funcs() { grep '^func:' "$T/$1.txt"; }
if run 1 && grep -q 'build cache .*: new entry' "$T/1.txt" &&
	grep -q 'building original tree' "$T/1.txt"; then
	ok "first run: new cache entry, original tree built"
else
	nok "first run"; sed 's/^/# /' "$T/1.txt"
fi
if run 2 && grep -q 'the original build is reused' "$T/2.txt" &&
	! grep -q 'building original tree' "$T/2.txt"; then
	ok "second run: the original build is reused"
else
	nok "second run reuses the build"; sed 's/^/# /' "$T/2.txt"
fi
if [ -n "$(funcs 1)" ] && [ "$(funcs 1)" = "$(funcs 2)" ]; then
	ok "same functions, addresses and sizes from the cached build"
else
	nok "same payload entries"; diff <(funcs 1) <(funcs 2) | sed 's/^/# /'
fi
if run 3 && cmp -s <(grep -v '^payload:' "$T/2.txt" | grep -E '^(func|changed):') \
	<(grep -v '^payload:' "$T/3.txt" | grep -E '^(func|changed):') &&
	grep -q 'reused' "$T/3.txt"; then
	ok "third run from the cache: the restored tree is the original build, not the last patched one"
else
	nok "third run"; sed 's/^/# /' "$T/3.txt"
fi
echo "/* changed */" >>"$T/src/main.c"
if run 4 && grep -q 'new entry' "$T/4.txt"; then
	ok "a changed source tree is a new entry"
else
	nok "changed tree"; sed 's/^/# /' "$T/4.txt"
fi
if run 5 --build-cmd "make -s" && grep -q 'new entry' "$T/5.txt"; then
	ok "another build command is a new entry"
else
	nok "other build command"; sed 's/^/# /' "$T/5.txt"
fi
if CFLAGS="-O1 -g" run 6 --allow-compiler-mismatch && grep -q 'new entry' "$T/6.txt"; then
	ok "other CFLAGS in the environment: a new entry"
else
	nok "other CFLAGS"; sed 's/^/# /' "$T/6.txt"
fi
echo "1..$N"
[ "$FAILED" = 0 ]
