#!/bin/bash
# Signed payloads under enforcement (docs/security.md): payloads signed by
# `xsplice sign` and by the kernel's own scripts/sign-file load; unsigned,
# tampered (code, signature, trailer), untrusted and revoked ones are
# refused, each with its own errno and reason, and the target is unchanged.
# `xsplice verify` gives the same verdicts offline, with its exit codes.
# The audit trail of it all is asserted in `xsplice info` and in syslog
# (a listener on $XSPLICE_SYSLOG_SOCKET). A target using the system's
# OpenSSL itself still computes correctly after verified uploads.
source "$(dirname "$0")/lib.sh" "$1"

SIGN_FILE=${SIGN_FILE:-/usr/lib/linux-kbuild-6.1/scripts/sign-file}
[ -x "$SIGN_FILE" ] || { echo "Bail out! $SIGN_FILE missing (scripts/install-deps.sh check installs linux-kbuild-6.1)"; exit 1; }
command -v openssl >/dev/null || { echo "Bail out! openssl missing"; exit 1; }

K=$WORK/keys
mkdir -p "$K" "$WORK/trust"
for who in good other revoked; do
	openssl req -new -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=xsplice $who signer" \
		-keyout "$K/$who.key" -out "$K/$who.pem" 2>/dev/null
done
# Trusted: "good" as PEM, "revoked" as DER (both forms are read); the
# revoked one is also on the denylist by its SHA-256 fingerprint.
cp "$K/good.pem" "$WORK/trust/good.pem"
openssl x509 -in "$K/revoked.pem" -outform DER -out "$WORK/trust/revoked.der"
FP=$(openssl x509 -in "$K/revoked.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
printf '# revoked signers\n%s\n' "$FP" >"$WORK/trust/revoked"
diag "revoked: $FP"

S=$WORK/signed
mkdir -p "$S"
cp "$P_HELLO" "$S/kernel.livepatch"
"$SIGN_FILE" sha256 "$K/good.key" "$K/good.pem" "$S/kernel.livepatch"
check "sign-file signed the payload" [ "$(tail -c 28 "$S/kernel.livepatch")" = "~Module signature appended~" ]
xs sign --key "$K/good.key" --cert "$K/good.pem" -o "$S/ours.livepatch" "$P_REPLACE"
expect_rc 0 "xsplice sign signs"
xs sign --key "$K/other.key" --cert "$K/other.pem" -o "$S/untrusted.livepatch" "$P_HELLO"
xs sign --key "$K/revoked.key" --cert "$K/revoked.pem" -o "$S/revoked.livepatch" "$P_HELLO"
xs sign --key "$K/good.key" --cert "$K/good.pem" -o "$S/bye.livepatch" "$P_BYE"
# Tampering: one byte of code, of the signature, of the trailer's magic;
# sig_len past the start of the file; the trailer cut short.
"$PYTHON" - "$S" <<'PY'
import sys
d = sys.argv[1]
src = open(d + "/kernel.livepatch", "rb").read()
def put(name, b): open(d + "/" + name, "wb").write(bytes(b))
b = bytearray(src); b[0x40 + 8] ^= 0x01; put("tamper-code.livepatch", b)   # first section header
b = bytearray(src); b[len(b) - 28 - 12 - 40] ^= 0x01; put("tamper-sig.livepatch", b)
b = bytearray(src); b[-2] ^= 0x20; put("tamper-magic.livepatch", b)
b = bytearray(src); b[-28 - 4:-28] = (len(src)).to_bytes(4, "big"); put("tamper-siglen.livepatch", b)
put("tamper-cut.livepatch", src[:0] + src[-28 - 6:])
PY

# ---- offline: xsplice verify ----
verify() { xs verify --trust "$WORK/trust" "$1"; }
verify "$S/kernel.livepatch"
expect_rc 0 "verify: sign-file's signature is good (exit 0)"
expect_out "good signature by /CN=xsplice good signer" "verify names the signer"
verify "$S/ours.livepatch"
expect_rc 0 "verify: xsplice sign's signature is good"
verify "$P_HELLO"
expect_rc 6 "verify: unsigned is exit 6"
verify "$S/tamper-code.livepatch"
expect_rc 7 "verify: a flipped code byte is a bad signature (exit 7)"
verify "$S/tamper-sig.livepatch"
expect_rc 7 "verify: a flipped signature byte is exit 7"
verify "$S/tamper-magic.livepatch"
expect_rc 7 "verify: a damaged trailer magic is exit 7"
verify "$S/untrusted.livepatch"
expect_rc 8 "verify: an untrusted signer is exit 8"
verify "$S/revoked.livepatch"
expect_rc 9 "verify: a revoked signer is exit 9"
xs --json verify --trust "$WORK/trust" "$S/revoked.livepatch"
check "verify --json says revoked" [ "$(json_field verdict <<<"$OUT")" = revoked ]
XSPLICE_TRUST_DIR=$WORK/trust xs verify "$S/kernel.livepatch"
expect_rc 0 "verify takes XSPLICE_TRUST_DIR"
xs verify --trust "$WORK/trust" "$WORK/nonexistent"
expect_rc 3 "verify: a missing file is exit 3"
xs verify
expect_rc 2 "verify without FILE is a usage error"

# ---- in the agent, under enforcement ----
export XSPLICE_SYSLOG_SOCKET=$WORK/log.sock
spawn "$PYTHON" "$E2E_SRC/syslog_listener.py" "$XSPLICE_SYSLOG_SOCKET" "$WORK/syslog" 120
wait_for 10 sock_ready "$XSPLICE_SYSLOG_SOCKET" || { echo "Bail out! syslog listener"; exit 1; }
XSPLICE_ENFORCE=1 XSPLICE_TRUST_DIR=$WORK/trust start_target 2
expect_extra "-unstable" "target runs unpatched"

# refused FILE NAME ERRNO TEXT DESC
refused() {
	xsp upload "$2" "$1"
	expect_rc 4 "$5: refused (exit 4)"
	expect_err "($3)" "$5: $3"
	expect_err "$4" "$5: the reason says '$4'"
	expect_list "" "$5: nothing kept"
}
refused "$P_HELLO" unsigned ENODATA "refused by signature enforcement: the payload is not signed" "unsigned"
refused "$S/tamper-code.livepatch" t-code EKEYREJECTED "bad signature by /CN=xsplice good signer" "code byte flipped"
refused "$S/tamper-sig.livepatch" t-sig EKEYREJECTED "bad signature" "signature byte flipped"
refused "$S/tamper-magic.livepatch" t-magic EBADMSG "magic" "trailer magic damaged"
refused "$S/tamper-siglen.livepatch" t-len EBADMSG "sig_len" "sig_len larger than the file"
refused "$S/tamper-cut.livepatch" t-cut EBADMSG "truncated" "trailer cut short"
refused "$S/untrusted.livepatch" untrusted ENOKEY "untrusted signer" "untrusted signer"
refused "$S/revoked.livepatch" revoked EKEYREVOKED "is revoked" "revoked signer"
expect_extra "-unstable" "after the refusals the target is unchanged"

xsp load "$S/kernel.livepatch"
expect_rc 0 "a payload signed by the kernel's sign-file loads and applies"
expect_extra "Hello World" "and runs"
xsp upload ours "$S/ours.livepatch"
expect_rc 0 "a payload signed by xsplice sign uploads"
xsp revert kernel
expect_rc 0 "revert the sign-file one"
expect_extra "-unstable" "reverted"

# ---- audit: INFO and syslog ----
xsp --json info
"$PYTHON" - "$OUT" "$(id -u)" >"$WORK/audit.txt" <<'PY'
import json, sys
a = json.loads(sys.argv[1])["audit"]
for r in a:
    print(r["op"], r["name"], r["result"], r["client_uid"], r["client_pid"] > 0, r["signer"], r["build_id"] != "", r["time_ns"] > 0)
PY
diag "$(cat "$WORK/audit.txt")"
uid=$(id -u)
check "audit: the unsigned upload refused (-61, ENODATA)" grep -q "^upload unsigned -61 $uid True  False True" "$WORK/audit.txt"
check "audit: the revoked upload refused (-128)" grep -q "^upload revoked -128 $uid True" "$WORK/audit.txt"
check "audit: the load, with its signer and build-id" grep -q "^upload kernel 0 $uid True /CN=xsplice good signer True True" "$WORK/audit.txt"
check "audit: apply requested" grep -q "^apply kernel 0 $uid True /CN=xsplice good signer True" "$WORK/audit.txt"
check "audit: apply done" grep -q "^apply-done kernel 0 $uid True /CN=xsplice good signer True" "$WORK/audit.txt"
check "audit: revert requested and done" grep -q "^revert-done kernel 0 $uid" "$WORK/audit.txt"
# The end of an action is recorded by the action thread after the threads
# run again, so the next request may be recorded before it: each request
# before its end, the upload first, the apply before the revert.
order=$(grep ' kernel ' "$WORK/audit.txt" | cut -d' ' -f1 | tr '\n' ' ')
diag "order: $order"
check "audit: in order (upload, apply before apply-done and revert, revert before revert-done)" \
	"$PYTHON" -c '
import sys
o = sys.argv[1].split()
i = {k: o.index(k) for k in o}
sys.exit(0 if len(o) == 5 and o[0] == "upload" and i["apply"] < i["apply-done"] and
         i["apply"] < i["revert"] < i["revert-done"] else 1)' "$order"
xsp info
expect_out "audit (last " "text info shows the audit records"
expect_out "signer: /CN=xsplice good signer" "with the signer"
wait_for 5 grep -q "op=revert-done" "$WORK/syslog"
diag "$(tail -3 "$WORK/syslog")"
check "syslog: the load, facility authpriv, severity notice (<85>)" \
	grep -q "^<85>.*xsplice\[$TPID\]: op=upload payload=kernel build_id=[0-9a-f]* signer=\"/CN=xsplice good signer\" client_pid=[0-9]* client_uid=$uid result=0" "$WORK/syslog"
check "syslog: a refusal, severity warning (<84>), with its reason" \
	grep -q "^<84>.*op=upload payload=revoked .*result=-128 reason=refused by signature enforcement" "$WORK/syslog"
check "syslog: apply-done and revert-done" grep -q "op=apply-done payload=kernel" "$WORK/syslog"

# No request turns enforcement off: there is none, and the environment of
# a client does not reach the agent.
XSPLICE_ENFORCE=0 xsp upload again "$P_HELLO"
expect_rc 4 "a client's XSPLICE_ENFORCE=0 changes nothing"

# ---- without enforcement: unsigned loads, a signer is still recorded ----
stop_pid "$TPID"
start_target 2
xsp upload plain "$P_HELLO"
expect_rc 0 "without enforcement an unsigned payload uploads"
XSPLICE_TRUST_DIR=$WORK/trust start_target 2
xsp upload untrusted "$S/untrusted.livepatch"
expect_rc 0 "without enforcement an untrusted signature does not refuse"
xsp --json info
check "but the audit says unverified, and why" grep -q '"signer":"unverified: signature: untrusted signer' <<<"$OUT"
xsp upload broken "$S/tamper-magic.livepatch"
expect_rc 4 "a damaged trailer is refused even without enforcement"

# ---- an agent attached at run time enforces too ----
# (loaded from a memfd: the verifier is found in the build tree's agent
# directory, as it would be in the installed library directory)
XSPLICE_ENFORCE=1 XSPLICE_TRUST_DIR=$WORK/trust spawn "$TARGET" serve "$WORK/plain.sock" 2 \
	2>"$WORK/plain.log"
TPID=$LAST_PID
wait_for 10 sock_ready "$WORK/plain.sock"
xsp upload unsigned "$P_HELLO"
expect_rc 4 "attached (by the first command): an unsigned payload is refused"
expect_err "(ENODATA)" "ENODATA"
diag "$(cat "$WORK/plain.log")"
xsp load "$S/kernel.livepatch"
expect_rc 0 "attached: the sign-file signed payload loads"
check "and runs" [ "$(query info "$WORK/plain.sock" | sed -n 's/^xen_extra *: //p')" = "Hello World" ]
stop_pid "$TPID"

# ---- fail closed: a trust setup that cannot be used refuses everything ----
mkdir -p "$WORK/trust-bad"
cp "$K/good.pem" "$WORK/trust-bad/"
printf 'not a fingerprint\n' >"$WORK/trust-bad/revoked"
XSPLICE_ENFORCE=1 XSPLICE_TRUST_DIR=$WORK/trust-bad start_target 2
xsp upload kernel "$S/kernel.livepatch"
expect_rc 4 "a malformed denylist: even a good signature is refused"
expect_err "revoked line 1: not a SHA-256 certificate fingerprint" "the reason names the line"
check "and the agent said so at start" grep -q "signature enforcement is on but" "$TLOG"
XSPLICE_ENFORCE=1 XSPLICE_TRUST_DIR=$WORK/no-such-dir start_target 2
xsp upload kernel "$S/kernel.livepatch"
expect_rc 4 "a missing trust directory trusts nobody"
expect_err "(ENOKEY)" "ENOKEY (untrusted signer)"

# ---- a target using OpenSSL itself ----
CSOCK=$WORK/crypto.sock
XSPLICE_ENFORCE=1 XSPLICE_TRUST_DIR=$WORK/trust LD_PRELOAD=$AGENT_PRELOAD \
	spawn "$E2E_BUILD/crypto_target" "$CSOCK" 2>"$WORK/crypto.log"
TPID=$LAST_PID
wait_for 10 sock_ready "$CSOCK" && wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$TPID.sock" ||
	{ echo "Bail out! crypto_target did not start: $(cat "$WORK/crypto.log")"; exit 1; }
cq() { query info "$CSOCK"; }
check "the OpenSSL target computes before" grep -q "^crypto ok OpenSSL" <<<"$(cq)"
cp "$E2E_BUILD/crypto-hello.livepatch" "$S/crypto.livepatch"
"$SIGN_FILE" sha256 "$K/good.key" "$K/good.pem" "$S/crypto.livepatch"
xsp load "$S/crypto.livepatch"
expect_rc 0 "a signed payload loads into the OpenSSL target"
xsp upload bad "$S/untrusted.livepatch"
expect_rc 4 "and an untrusted one is refused there"
got=$(cq)
diag "$got"
check "the OpenSSL target is patched" grep -q "Hello World" <<<"$got"
check "its own OpenSSL (SHA-256, HMAC, its pthread keys) still works" grep -q "^crypto ok OpenSSL" <<<"$got"
check "the verifier is mapped (libxsplice-verify.so)" grep -q libxsplice-verify.so "/proc/$TPID/maps"
check "and the only libcrypto.so is the program's own" \
	[ "$(grep -o '/[^ ]*libcrypto\.so[^ ]*' "/proc/$TPID/maps" | sort -u | wc -l)" = 1 ]
expect_alive
done_testing
