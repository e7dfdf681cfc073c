#!/bin/bash
# Reach: functions that start with endbr64 (-fcf-protection) keep it, the
# trampoline follows it; far placement (XSPLICE_TEST_FAR=1: the payload more
# than 2 GB from the target) calls the target through stubs and enters the
# new code by a 14-byte absolute jump, and a function too short for one is
# refused with a clear reason.
source "$(dirname "$0")/lib.sh" "$1"

# mem PID ADDR N: N bytes of the process's memory at ADDR, as hex
mem() {
	"$PYTHON" - "$@" <<'PY'
import sys
pid, addr, n = int(sys.argv[1]), int(sys.argv[2], 0), int(sys.argv[3])
with open(f"/proc/{pid}/mem", "rb") as f:
    f.seek(addr)
    print(f.read(n).hex())
PY
}
# func_field PID PAYLOAD FUNC FIELD (from info --json)
func_field() {
	xs -p "$1" --json info
	"$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
p = [p for p in d["payloads"] if p["name"] == sys.argv[1]][0]
print([f for f in p["funcs"] if f["name"] == sys.argv[2]][0][sys.argv[3]])' "$2" "$3" "$4" <<<"$OUT"
}
# lines in LOG after mark; the last one
last_after() { local n=$1 log=$2; [ "$(wc -l <"$log")" -gt "$n" ]; }
fresh_last() { local log=$1 n; n=$(wc -l <"$log"); wait_for 5 last_after "$n" "$log"; tail -n 1 "$log"; }

# ---- endbr64 ----
CLOG=$WORK/cet.log
LD_PRELOAD=$AGENT_PRELOAD spawn "$E2E_BUILD/cet_target" 0 >"$CLOG" 2>"$WORK/cet.err"
CPID=$LAST_PID
wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$CPID.sock" || { echo "Bail out! cet_target has no agent"; exit 1; }
check "cet_target: greet starts with endbr64 in the binary" \
	bash -c "objdump -d '$E2E_BUILD/cet_target' | grep -A1 '<greet>:' | grep -q endbr64"
check "before: direct=plain indirect=plain" [ "$(fresh_last "$CLOG")" = "direct=plain indirect=plain" ]
xs -p "$CPID" load "$E2E_BUILD/cet.livepatch"
expect_rc 0 "load the payload (its expectation includes the endbr64)"
check "after: direct and indirect calls run the new code" \
	[ "$(fresh_last "$CLOG")" = "direct=patched indirect=patched" ]
old=$(func_field "$CPID" cet greet old_addr)
orig=$(mem "$CPID" "$old" 12)
bytes=$(mem "$CPID" "$old" 9)
diag "greet at $old: $bytes"
check "greet keeps its endbr64 (f30f1efa), the jmp rel32 (e9) follows it" \
	[ "${bytes:0:10}" = "f30f1efae9" ]
xs -p "$CPID" revert cet
expect_rc 0 "revert"
check "reverted: plain again" [ "$(fresh_last "$CLOG")" = "direct=plain indirect=plain" ]
want=$(objdump -d "$E2E_BUILD/cet_target" | awk '/<greet>:/ { f = 1; next } f && /^$/ { exit } f { for (i = 2; i <= NF && $i ~ /^[0-9a-f][0-9a-f]$/; i++) printf "%s", $i }')
check "revert restored the original bytes" [ "$(mem "$CPID" "$old" 12)" = "${want:0:24}" ]
xs -p "$CPID" unload cet
expect_rc 0 "unload"

# ---- far placement ----
ST=$BUILD/examples/shadow/xsplice-shadow-target
SLOG=$WORK/far.log
XSPLICE_TEST_FAR=1 LD_PRELOAD=$AGENT_PRELOAD spawn "$ST" 0 >"$SLOG" 2>"$WORK/far.err"
SPID=$LAST_PID
wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$SPID.sock" || { echo "Bail out! shadow target has no agent"; exit 1; }
xs -p "$SPID" load "$BUILD/examples/shadow/lockout.livepatch"
expect_rc 0 "far: the lockout payload loads and applies"
xs -p "$SPID" --json info
dist=$("$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
base = [o for o in d["objects"] if o["path"].endswith("xsplice-shadow-target")][0]["base"]
p = [p for p in d["payloads"] if p["name"] == "lockout"][0]
print(abs(int(p["load_addr"], 16) - int(base, 16)) >> 30)' <<<"$OUT")
diag "payload placed $dist GB from the target"
check "far: the payload is more than 2 GB from the target" [ "${dist:-0}" -gt 2 ]
old=$(func_field "$SPID" lockout check_login old_addr)
bytes=$(mem "$SPID" "$old" 6)
check "far: check_login starts with an absolute jump (ff25 00000000)" [ "$bytes" = "ff2500000000" ]
wait_for 10 grep -q "conn 2: locked" "$SLOG"
check "far: the patched code runs (its calls into libc and the agent through stubs)" \
	grep -q "conn 2: locked" "$SLOG"
xs -p "$SPID" revert lockout
expect_rc 0 "far: revert"
xs -p "$SPID" unload lockout
expect_rc 0 "far: unload"
check "far: the target is alive" kill -0 "$SPID"

# A function shorter than the 14-byte absolute jump: refused at upload.
XSPLICE_TEST_FAR=1 start_target 2
xsp upload hello "$P_HELLO"
expect_rc 4 "far: hello (extra_version is 8 bytes) is refused"
expect_err "beyond +-2 GB for jmp rel32 and only 8 bytes of room for a 14-byte absolute jump" \
	"far: the reason says why"
expect_alive
done_testing
