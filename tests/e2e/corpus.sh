#!/bin/bash
# The malformed-payload corpus (tests/corpus-malformed/): every file that
# make-corpus.py makes from this build's hello.livepatch is uploaded and
# must be refused with exactly the reason and errno its MANIFEST line
# gives ({ADDR} stands for a run-time address, {TARGET} for the demo
# target's path); nothing is kept, and the target still answers correctly
# after each. The committed copy of the corpus (made from a build of the
# demo here) is refused too, file by file.
source "$(dirname "$0")/lib.sh" "$1"
CORPUS_SRC=$E2E_SRC/../corpus-malformed

start_target 2
out=$("$PYTHON" "$CORPUS_SRC/make-corpus.py" "$P_HELLO" "$WORK/corpus")
diag "make-corpus.py: $out"
n=$(grep -c . "$WORK/corpus/MANIFEST")
check "at least 50 malformed payloads" [ "$n" -ge 50 ]

# matches GOT EXPECTED: EXPECTED with {ADDR}/{TARGET} as wildcards.
matches() {
	"$PYTHON" -c '
import re, sys
got, want, target = sys.argv[1:4]
pat = re.escape(want).replace(re.escape("{ADDR}"), "0x[0-9a-f]+").replace(re.escape("{TARGET}"), re.escape(target))
sys.exit(0 if re.fullmatch(pat, got) else 1)' "$1" "$2" "$TARGET"
}

k=0
while IFS=$'\t' read -r file errno reason; do
	k=$((k + 1))
	xsp upload "c$k" "$WORK/corpus/$file"
	got=$(sed -n "s/^xsplice: upload of .* as c$k failed: //p" <<<"$ERR" | head -1)
	if [ "$RC" = 4 ] && matches "$got" "$reason ($errno)"; then
		pass "$file: $reason ($errno)"
	else
		fail "$file: refused with exactly '$reason ($errno)'"
		show_last
	fi
	# Still right afterwards: nothing kept, the program answers unpatched.
	if [ "$(extra)" != "-unstable" ]; then
		fail "$file: the target still answers correctly"
		diag "target log: $(cat "$TLOG")"
	fi
done <"$WORK/corpus/MANIFEST"
expect_list "" "after the whole corpus nothing is loaded"
expect_alive "after the whole corpus the target answers"

# The committed corpus: each file refused (exit 4), none kept.
bad=0 total=0
for f in "$CORPUS_SRC"/files/*.livepatch; do
	total=$((total + 1))
	xsp upload committed "$f"
	if [ "$RC" != 4 ]; then
		bad=$((bad + 1))
		diag "$(basename "$f"): exit $RC: $ERR"
		xsp unload committed
	fi
done
check "the $total committed corpus files are all refused (exit 4)" [ "$bad" = 0 ] && [ "$total" -ge 50 ]
expect_list "" "and none is kept"

xsp load "$P_HELLO"
expect_rc 0 "a good payload loads after the corpus"
expect_extra "Hello World" "and runs"
expect_alive
done_testing
