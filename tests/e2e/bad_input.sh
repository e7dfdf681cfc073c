#!/bin/bash
# Bad input on the agent's socket (tests/e2e/badproto.py speaks the wire
# format from docs/protocol.md): each malformed request gets an error reply
# naming the problem (or the connection is closed), frame errors close the
# connection, body errors keep it usable, and afterwards a normal
# `xsplice list` works and the target still answers.
source "$(dirname "$0")/lib.sh" "$1"
BAD=$E2E_SRC/badproto.py

start_target 2
xsp load "$P_HELLO"
expect_rc 0 "load hello"

# bad CASE "EXPECTED OUTPUT (substring)" DESC
bad() {
	local case=$1 want=$2 desc=$3
	LAST_CMD="badproto.py $case"
	OUT=$(timeout 30 "$PYTHON" "$BAD" "$ASOCK" "$case" 2>&1)
	RC=$?
	ERR=
	if [ "$RC" = 0 ] && [[ "$OUT" == *"$want"* ]]; then
		pass "$desc"
	else
		fail "$desc"
		diag "expected: $want"
		show_last
	fi
	diag "$(tr '\n' '|' <<<"$OUT")"
	xsp list
	expect_rc 0 "$case: a normal list works afterwards"
}

EPROTO=-71 EMSGSIZE=-90 EBADMSG=-74 EINVAL=-22 ENAMETOOLONG=-36 E2BIG=-7 ENOENT=-2

bad garbage "ret=$EPROTO reason=header magic" "garbage bytes: -EPROTO (header magic)"
bad garbage $'closed' "garbage bytes: the connection is closed"
bad text "ret=$EPROTO reason=header magic" "an HTTP request: -EPROTO (header magic)"
bad bad-magic "ret=$EPROTO reason=header magic: 0xdeadbeef" "bad magic: -EPROTO naming it"
bad bad-version "ret=$EPROTO reason=header version: 2" "bad version: -EPROTO"
bad bad-flags "ret=$EPROTO reason=header flags" "non-zero flags: -EPROTO"
bad huge-length "ret=$EMSGSIZE reason=header length: 4294967295" "a 4 GiB length: -EMSGSIZE"
bad unknown-op "ret=$EPROTO reason=header op: unknown operation 99" "an unknown op: -EPROTO"
bad reply-op "ret=$EPROTO reason=header op: 0x8001 is a reply" "a reply op as a request: -EPROTO"
bad truncated-body "closed" "a truncated body, then close: the agent closes too"
bad truncated-header "closed" "a truncated header, then close: the agent closes too"
bad malformed-body "ret=$ENAMETOOLONG reason=name: 500 bytes" "a name longer than its frame: refused"
bad malformed-body "ret=$ENOENT reason=no payload named 'nosuch'"$'\n'"open" \
	"after a malformed body the same connection answers the next request"
bad trailing-bytes "ret=$EBADMSG reason=body: 2 trailing bytes" "trailing bytes: -EBADMSG"
bad empty-name "ret=$EINVAL reason=name: empty" "an empty name: -EINVAL"
bad nul-in-name "ret=$EINVAL reason=name: NUL byte" "a NUL inside a name: -EINVAL"
bad long-name "ret=$ENAMETOOLONG reason=name: 128 bytes" "a 128-byte name: -ENAMETOOLONG"
bad list-e2big "ret=$E2BIG reason=nr: 65 entries" "LIST nr 65: -E2BIG"
bad unknown-action "ret=$EINVAL reason=cmd: unknown action 9" "ACTION cmd 9: -EINVAL"
bad blob-overrun "ret=$EBADMSG reason=payload: truncated" "a blob longer than the frame: -EBADMSG"
bad empty-upload "ret=$EINVAL reason=payload size: 0" "an empty upload: -EINVAL"
bad valid-get "ret=$ENOENT" "a valid GET over the raw socket works"

expect_list "hello:APPLIED" "the payload list is unchanged"
expect_extra "Hello World" "the applied payload still runs"

# A client that sends a header and then stalls must not hold the agent up:
# others are served meanwhile, and the staller is dropped within a bound.
"$PYTHON" "$BAD" "$ASOCK" stall-body >"$WORK/stall.out" 2>&1 &
STALL=$!
STARTED_PIDS+=("$STALL")
sleep 0.3
t0=$(date +%s%N)
xsp list
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
expect_rc 0 "list while another client stalls mid-frame"
diag "took $ms ms"
check "list while another client stalls mid-frame is answered within 1 s (took $ms ms)" \
	[ "$ms" -lt 1000 ]
wait "$STALL"
diag "staller: $(tr '\n' '|' <"$WORK/stall.out")"
check "the stalled client is dropped" grep -q '^closed' "$WORK/stall.out"

# Many idle connections: a further client must get an answer (served, or
# told the agent is busy), not a silent close.
mkfifo "$WORK/hold"
for i in $(seq 16); do
	"$PYTHON" "$BAD" "$ASOCK" hold <"$WORK/hold" >"$WORK/hold.$i" 2>&1 &
	STARTED_PIDS+=("$!")
	HOLDERS+=("$!")
done
exec 7>"$WORK/hold"
held() { [ "$(cat "$WORK"/hold.* 2>/dev/null | grep -c '^held')" = 16 ]; }
check "16 idle clients connected" wait_for 10 held
sleep 0.2
xsp list
diag "with 16 idle clients: exit $RC: $ERR"
if [ "$RC" = 0 ] || { [ "$RC" = 5 ] && [ -n "$ERR" ]; }; then
	pass "with 16 idle clients connected, list is served or told the agent is busy"
else
	fail "with 16 idle clients connected, list is served or told the agent is busy"
	show_last
fi
exec 7>&-
wait "${HOLDERS[@]}"
xsp list
expect_rc 0 "once the idle clients left, list works"

expect_alive
done_testing
