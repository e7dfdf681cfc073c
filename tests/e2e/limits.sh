#!/bin/bash
# The agent's limits (docs/security.md, "Limits"): payload count and size,
# request size, bytes being received at once and requests per second, each
# refused with a clear error naming the limit; the agent stays usable and
# its memory bounded. Interrupted clients (killed mid-upload, or while
# waiting for an action) leave it consistent.
source "$(dirname "$0")/lib.sh" "$1"
LIM=$E2E_SRC/limits.py

XSPLICE_MAX_PAYLOADS=2 XSPLICE_MAX_PAYLOAD_BYTES=3000 XSPLICE_MAX_INFLIGHT_BYTES=10000 \
	XSPLICE_MAX_REQUESTS_PER_S=20 start_target 2

# Payload count.
hello_variant "$WORK/v1.livepatch" "$(printf 'e2e%037d' 1)"
hello_variant "$WORK/v2.livepatch" "$(printf 'e2e%037d' 2)"
hello_variant "$WORK/v3.livepatch" "$(printf 'e2e%037d' 3)"
xsp upload v1 "$WORK/v1.livepatch"
expect_rc 0 "payload 1 of 2"
xsp upload v2 "$WORK/v2.livepatch"
expect_rc 0 "payload 2 of 2"
xsp upload v3 "$WORK/v3.livepatch"
expect_rc 4 "a third payload is refused (exit 4)"
expect_err "2 payloads are loaded, this agent's limit (XSPLICE_MAX_PAYLOADS); unload one first (ENOSPC)" \
	"the error names the limit"
xsp unload v2
xsp upload v3 "$WORK/v3.livepatch"
expect_rc 0 "after an unload there is room again"
xsp unload v3

# Payload size.
head -c 3001 /dev/zero >"$WORK/big.livepatch"
xsp upload big "$WORK/big.livepatch"
expect_rc 4 "a 3001-byte payload over a 3000-byte limit is refused"
expect_err "payload of 3001 bytes is over this agent's limit of 3000 bytes (XSPLICE_MAX_PAYLOAD_BYTES) (EFBIG)" \
	"the error names the limit"
head -c 9000 /dev/zero >"$WORK/huge.livepatch"
xsp upload huge "$WORK/huge.livepatch"
check "a 9000-byte upload (over the frame bound) is refused, not read (exit $RC)" [ "$RC" != 0 ]
diag "$ERR"
xsp list
expect_rc 0 "the agent still answers"

# Request size: a GET announcing 5000 bytes is refused before the body is read.
out=$(timeout 20 "$PYTHON" "$LIM" "$ASOCK" big-get 2>&1)
diag "$(tr '\n' '|' <<<"$out")"
check "a 5000-byte GET: -EMSGSIZE naming the bound, then closed" \
	grep -q "ret=-90 reason=request body of 5000 bytes is over the 4096 bytes" <<<"$out"
check "and the connection is closed" grep -qx closed <<<"$out"

# Bytes being received at once (10000): one upload holds 6000, a second
# of 6000 is told to come back.
out=$(timeout 20 "$PYTHON" "$LIM" "$ASOCK" inflight 6000 2>&1)
diag "$(tr '\n' '|' <<<"$out")"
check "a second 6 kB upload while one is held: -EBUSY naming the limit" \
	grep -q "ret=-16 reason=the agent is receiving 6010 bytes of other requests.*XSPLICE_MAX_INFLIGHT_BYTES" <<<"$out"
check "the first one is served when it completes" grep -q "ret=-" <<<"$(sed -n 2p <<<"$out")"

# Rate: 60 ACTIONs pipelined on one connection, at most 20 a second served.
out=$(timeout 20 "$PYTHON" "$LIM" "$ASOCK" rate 60 2>&1)
diag "$(tr '\n' '|' <<<"$out")"
check "20 served, 40 refused with -EAGAIN" grep -q "^ok=20 eagain=40 other=0" <<<"$out"
check "the reason names the limit" \
	grep -q "reason=more than 20 UPLOAD/ACTION/INFO requests in a second on this connection (XSPLICE_MAX_REQUESTS_PER_S)" <<<"$out"
check "a second later the same connection is served again" grep -q "ret=-2 reason=no payload" <<<"$out"

# Memory stays bounded: 200 refused uploads do not grow the target.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$TPID/status"; }
before=$(rss)
out=$(timeout 60 "$PYTHON" "$LIM" "$ASOCK" big-get-many 200 2>&1)
check "200 oversized requests on 200 connections are all refused" [ "$out" = refused=200 ]
for i in $(seq 20); do xsp upload big "$WORK/big.livepatch"; done
after=$(rss)
diag "VmRSS before $before kB, after $after kB"
check "VmRSS grew by less than 2 MB after 220 refused requests" [ $((after - before)) -lt 2048 ]

# Interrupted clients.
out=$(timeout 20 "$PYTHON" "$LIM" "$ASOCK" upload-killed "$WORK/v2.livepatch" 2>&1)
check "a client killed half way through an upload" grep -q sent-half <<<"$out"
expect_list "v1:CHECKED" "leaves the list as it was"
xsp upload v2 "$WORK/v2.livepatch"
expect_rc 0 "and the next upload works"
xsp unload v2
timeout -k 1 10 "$XSPLICE" -p "$TPID" apply v1 >/dev/null 2>&1 &
AP=$!
sleep 0.05
kill -KILL "$AP" 2>/dev/null
wait "$AP" 2>/dev/null
wait_for 10 bash -c "[ \"\$(timeout 5 '$XSPLICE' -p $TPID --json get v1 | '$PYTHON' -c 'import json,sys; print(json.load(sys.stdin)[\"rc\"])')\" != -11 ]"
st=$(list_names)
diag "after the killed apply: $st"
check "a client killed while waiting for its apply: the action ends (APPLIED or CHECKED, not running)" \
	[ "$st" = "v1:APPLIED" ] || [ "$st" = "v1:CHECKED" ]
xsp upload v3 "$WORK/v3.livepatch"
expect_rc 0 "the next upload works"
expect_list "$st v3:CHECKED" "and the list is right"
expect_alive
done_testing
