#!/bin/bash
# Permissions: only root or the target's own user may control it. A client
# of another uid is refused (by the socket directory's mode, and, when the
# path is made reachable, by the agent's SO_PEERCRED check before a byte is
# read), exit 4, and the target is unharmed. Root may control a target of
# another user.
source "$(dirname "$0")/lib.sh" "$1"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "1..0 # SKIP needs root and setpriv(1) to run a client as another uid"
	exit 0
fi
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# as_nobody ARGS...: xsplice as uid 65534; sets RC OUT ERR.
as_nobody() {
	LAST_CMD="(uid 65534) xsplice $*"
	timeout -k 5 "$XS_TIMEOUT" "${NOBODY[@]}" "$XSPLICE" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

start_target 2
xsp load "$P_HELLO"
expect_rc 0 "load hello as the owner (root)"
check "the socket directory is private (0700)" \
	[ "$(stat -c %a "$XSPLICE_SOCKET_DIR")" = 700 ]
check "the socket is 0600" [ "$(stat -c %a "$ASOCK")" = 600 ]

# 1. The socket cannot even be reached.
as_nobody -p "$TPID" list
expect_rc 4 "uid 65534: list refused (exit 4)"
expect_err "permission denied" "the message says permission denied"
as_nobody -p "$TPID" revert hello
expect_rc 4 "uid 65534: revert refused (exit 4)"
as_nobody --socket "$ASOCK" list
expect_rc 4 "uid 65534 with --socket: refused (exit 4)"

# 2. Make the path reachable: the agent itself must refuse the peer.
chmod 0711 "$WORK" "$XSPLICE_SOCKET_DIR"
chmod 0666 "$ASOCK"
as_nobody -p "$TPID" list
expect_rc 4 "uid 65534, socket reachable: list refused by the agent (exit 4)"
expect_err "only root or uid 0" "the message says who may control it"
as_nobody -p "$TPID" revert hello
expect_rc 4 "uid 65534, socket reachable: revert refused"
hello_variant "$WORK/evil.livepatch" "$(printf 'e2e%037d' 9)"
chmod 0644 "$WORK/evil.livepatch"
as_nobody -p "$TPID" load "$WORK/evil.livepatch"
expect_rc 4 "uid 65534, socket reachable: load refused"
# Raw bytes from the other uid are not read either.
if timeout 20 "${NOBODY[@]}" "$PYTHON" "$E2E_SRC/badproto.py" "$ASOCK" valid-get \
	>"$WORK/raw" 2>&1 && grep -qx closed "$WORK/raw"; then
	pass "uid 65534: a raw GET is closed without a reply"
else
	fail "uid 65534: a raw GET is closed without a reply"
	diag "$(cat "$WORK/raw")"
fi
chmod 0700 "$WORK" "$XSPLICE_SOCKET_DIR"

xsp list
expect_rc 0 "the owner still lists"
expect_list "hello:APPLIED" "hello is still the only payload, APPLIED"
expect_extra "Hello World" "the target still runs the patched code"
expect_alive

# 3. Root controls a target that runs as another user.
NBDIR=$WORK/nobody
mkdir -m 0755 "$NBDIR"
chown 65534:65534 "$NBDIR"
chmod 0711 "$WORK"
OWNER_TARGET=$TPID
# LD_PRELOAD goes after setpriv (through env): preloaded into setpriv itself
# the agent's threads make setpriv abort (it changes credentials with
# per-thread capability tricks that glibc's setxid broadcast rejects).
XSPLICE_SOCKET_DIR=$NBDIR/agents spawn "${NOBODY[@]}" \
	env LD_PRELOAD="$AGENT_PRELOAD" "$TARGET" serve "$NBDIR/demo.sock" 2 2>"$WORK/nobody.log"
NBPID=$LAST_PID
check "a target as uid 65534 starts its agent" wait_for 10 sock_ready "$NBDIR/agents/$NBPID.sock"
wait_for 10 sock_ready "$NBDIR/demo.sock"
check "its socket belongs to uid 65534" [ "$(stat -c %u "$NBDIR/agents/$NBPID.sock")" = 65534 ]
# root finds the socket through /proc/PID, whatever XSPLICE_SOCKET_DIR says.
xs -p "$NBPID" load "$P_HELLO"
expect_rc 0 "root loads hello into uid 65534's target"
check "uid 65534's target answers Hello World" \
	[ "$(query info "$NBDIR/demo.sock" | sed -n 's/^xen_extra *: //p')" = "Hello World" ]
xs -p "$NBPID" revert hello
expect_rc 0 "root reverts it"
# The target's own user controls it too.
XSPLICE_SOCKET_DIR=$NBDIR/agents as_nobody -p "$NBPID" list
expect_rc 0 "uid 65534 lists its own target"
expect_out "hello" "and sees the payload root loaded"
stop_pid "$NBPID"

TPID=$OWNER_TARGET
expect_alive
done_testing
