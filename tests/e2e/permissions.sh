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
# By path the client knows the agent only from SO_PEERCRED: the same words,
# not a bare "connection closed" (was: ECONNRESET, exit 1).
as_nobody --socket "$ASOCK" list
expect_rc 4 "uid 65534 with --socket, socket reachable: refused by the agent (exit 4)"
expect_err "only root or uid 0 may control it, and we are uid 65534" "the message says who may control it"
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

# 4. A real user account (created here, as CI runs as root): it controls
# its own target, is refused by root's agent before a byte is read, cannot
# attach to root's processes, and another uid cannot control its target.
TUSER=xsplice-e2e
if ! id -u "$TUSER" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$TUSER" 2>"$WORK/useradd.log" ||
		diag "useradd: $(cat "$WORK/useradd.log")"
fi
if TUID=$(id -u "$TUSER" 2>/dev/null); then
	TGID=$(id -g "$TUSER")
	AS_T=(setpriv --reuid="$TUID" --regid="$TGID" --clear-groups)
	as_tuser() {
		LAST_CMD="(uid $TUID) xsplice $*"
		timeout -k 5 "$XS_TIMEOUT" "${AS_T[@]}" env XSPLICE_SOCKET_DIR="${SD:-$TDIR/agents}" \
			"$XSPLICE" "$@" >"$WORK/out" 2>"$WORK/err"
		RC=$?
		OUT=$(cat "$WORK/out")
		ERR=$(cat "$WORK/err")
	}
	TDIR=$WORK/tuser
	mkdir -m 0755 "$TDIR"
	chown "$TUID:$TGID" "$TDIR"
	cp "$P_HELLO" "$TDIR/hello.livepatch"
	chmod 0644 "$TDIR/hello.livepatch"
	XSPLICE_SOCKET_DIR=$TDIR/agents spawn "${AS_T[@]}" \
		env LD_PRELOAD="$AGENT_PRELOAD" "$TARGET" serve "$TDIR/demo.sock" 2 2>"$WORK/tuser.log"
	TUPID=$LAST_PID
	check "a target as user $TUSER (uid $TUID) starts its agent" \
		wait_for 10 sock_ready "$TDIR/agents/$TUPID.sock"
	wait_for 10 sock_ready "$TDIR/demo.sock"
	check "its socket directory is $TUSER's and private" \
		[ "$(stat -c '%u %a' "$TDIR/agents")" = "$TUID 700" ]
	check "its socket is $TUSER's, mode 0600" [ "$(stat -c '%u %a' "$TDIR/agents/$TUPID.sock")" = "$TUID 600" ]
	as_tuser -p "$TUPID" load "$TDIR/hello.livepatch"
	expect_rc 0 "$TUSER loads a payload into its own target"
	check "which runs it" [ "$(query info "$TDIR/demo.sock" | sed -n 's/^xen_extra *: //p')" = "Hello World" ]
	# Another uid (nobody), with the path made reachable: the agent refuses.
	chmod 0711 "$TDIR/agents"
	chmod 0666 "$TDIR/agents/$TUPID.sock"
	XSPLICE_SOCKET_DIR=$TDIR/agents as_nobody -p "$TUPID" revert hello
	expect_rc 4 "uid 65534 cannot revert $TUSER's payload"
	if timeout 20 "${NOBODY[@]}" "$PYTHON" "$E2E_SRC/badproto.py" "$TDIR/agents/$TUPID.sock" \
		valid-get >"$WORK/raw" 2>&1 && grep -qx closed "$WORK/raw"; then
		pass "uid 65534 at $TUSER's agent: closed before any request is read"
	else
		fail "uid 65534 at $TUSER's agent: closed before any request is read"
		diag "$(cat "$WORK/raw")"
	fi
	chmod 0700 "$TDIR/agents"
	# The user against root's target: socket reachable, agent refuses.
	chmod 0711 "$WORK" "$XSPLICE_SOCKET_DIR"
	chmod 0666 "$ASOCK"
	SD=$XSPLICE_SOCKET_DIR as_tuser -p "$OWNER_TARGET" list
	expect_rc 4 "$TUSER cannot control root's target (exit 4)"
	expect_err "only root or uid 0" "the message says who may control it"
	if timeout 20 "${AS_T[@]}" "$PYTHON" "$E2E_SRC/badproto.py" "$ASOCK" valid-get \
		>"$WORK/raw" 2>&1 && grep -qx closed "$WORK/raw"; then
		pass "$TUSER at root's agent: closed before any request is read"
	else
		fail "$TUSER at root's agent: closed before any request is read"
		diag "$(cat "$WORK/raw")"
	fi
	chmod 0700 "$WORK" "$XSPLICE_SOCKET_DIR"
	chmod 0600 "$ASOCK"
	# Nor attach the agent to a process of root's (ptrace is refused).
	spawn "$TARGET" serve "$WORK/plain.sock" 1 2>"$WORK/plain.log"
	PLAIN=$LAST_PID
	wait_for 10 sock_ready "$WORK/plain.sock"
	as_tuser attach "$PLAIN"
	check "$TUSER cannot attach the agent to root's process (exit 4, not 0)" [ "$RC" = 4 ]
	diag "$ERR"
	check "which has no agent afterwards" bash -c "! grep -q libxsplice.so /proc/$PLAIN/maps"
	# Root can: it controls the user's target (already shown for nobody) and
	# reverts the user's payload.
	xs -p "$TUPID" revert hello
	expect_rc 0 "root reverts $TUSER's payload"
	stop_pid "$PLAIN"
	stop_pid "$TUPID"
else
	fail "a test user $TUSER could be created"
fi

TPID=$OWNER_TARGET
expect_alive
done_testing
