#!/bin/bash
# UPLOAD refusals: each bad payload is refused with a precise message and
# exit code 4 (3 for a missing file, 2 for a name the CLI cannot send), and
# nothing is kept: the list is unchanged and the target runs as before.
source "$(dirname "$0")/lib.sh" "$1"

start_target 2
xsp load "$P_HELLO"
expect_rc 0 "load hello (so the list is not empty)"
BEFORE="hello:APPLIED"

# refused FILE NAME EXIT MESSAGE DESC: upload FILE as NAME must fail.
refused() {
	local file=$1 name=$2 code=$3 msg=$4 desc=$5
	xsp upload "$name" "$file"
	expect_rc "$code" "$desc: exit $code"
	[ -n "$msg" ] && expect_err "$msg" "$desc: the message says '$msg'"
	diag "$ERR"
	expect_list "$BEFORE" "$desc: nothing kept"
}

refused "$P_OTHER" other 4 "build-id mismatch" "payload for another build"

objcopy --remove-section .livepatch.depends "$P_HELLO" "$WORK/nodeps.livepatch"
refused "$WORK/nodeps.livepatch" nodeps 4 ".livepatch.depends" "no .livepatch.depends"

objcopy --remove-section .note.gnu.build-id "$P_HELLO" "$WORK/noid.livepatch"
refused "$WORK/noid.livepatch" noid 4 ".note.gnu.build-id" "no .note.gnu.build-id"

refused "$P_HELLO" hello 4 "hello" "duplicate name"
expect_err "already" "duplicate name: the message says it is already loaded"

refused "$P_HELLO" hello-again 4 "build-id" "duplicate build-id under another name"

long=$(printf 'n%.0s' $(seq 128))
refused "$P_HELLO" "$long" 2 "at most 127" "a 128-byte name (the CLI refuses to send it)"
long=$(printf 'n%.0s' $(seq 127))
xsp upload "$long" "$WORK/noid.livepatch"
expect_rc 4 "a 127-byte name is sent (then refused for the missing build-id)"
expect_err "build-id" "a 127-byte name reaches the agent"

echo "this is not an ELF file" >"$WORK/tiny.livepatch"
refused "$WORK/tiny.livepatch" tiny 4 "ELF" "a short text file"
for i in $(seq 20); do echo "line $i of a text file that is not an ELF payload"; done >"$WORK/text.livepatch"
refused "$WORK/text.livepatch" text 4 "not an ELF file" "a text file"

cp "$P_HELLO" "$WORK/arm.livepatch"
printf '\xb7\x00' | dd of="$WORK/arm.livepatch" bs=1 seek=18 conv=notrunc status=none
refused "$WORK/arm.livepatch" arm 4 "machine" "wrong machine (EM_AARCH64)"

size=$(stat -c %s "$P_HELLO")
head -c $((size / 2)) "$P_HELLO" >"$WORK/half.livepatch"
refused "$WORK/half.livepatch" half 4 "beyond end of file" "truncated ELF (half)"
head -c 40 "$P_HELLO" >"$WORK/short.livepatch"
refused "$WORK/short.livepatch" short 4 "too small for an ELF header" "truncated ELF (inside the header)"

: >"$WORK/empty.livepatch"
refused "$WORK/empty.livepatch" empty 4 "empty" "an empty file"

refused "$WORK/does-not-exist.livepatch" missing 3 "does-not-exist.livepatch" "a missing file"

refused "$WORK" dir 1 "not a regular file" "a directory"

# Uploads still work after all that.
xsp upload replace "$P_REPLACE"
expect_rc 0 "a good upload after the refusals works"
expect_list "hello:APPLIED replace:CHECKED" "and is listed"
expect_extra "Hello World" "the applied payload still runs"

expect_alive
done_testing
