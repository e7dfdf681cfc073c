#!/bin/bash
# The socket directory and the socket's identity (issue 8, items 5 and 14):
# a symlinked socket directory is refused; a live socket at the agent's name
# (another process with the same pid number) is never removed; the client
# checks who serves a socket (SO_PEERCRED); stale sockets of dead processes
# are removed by `xsplice processes`, never one that answers.
source "$(dirname "$0")/lib.sh" "$1"

# answer_of SOCKET: what a foreign listener says ("PY"), or "agent"/"none".
answer_of() {
	"$PYTHON" - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect(sys.argv[1])
except OSError:
    print("none"); sys.exit(0)
try:
    d = s.recv(2)
except socket.timeout:
    d = b""
print(d.decode() if d == b"PY" else "agent")
PY
}

# ---- a symlinked socket directory ----
mkdir -p "$WORK/elsewhere"
ln -s "$WORK/elsewhere" "$WORK/linkdir"
XSPLICE_SOCKET_DIR=$WORK/linkdir LD_PRELOAD=$AGENT_PRELOAD spawn "$TARGET" serve "$WORK/l.sock" 2 \
	2>"$WORK/link.log"
LPID=$LAST_PID
wait_for 10 test -S "$WORK/l.sock"
sleep 0.3
check "no socket was created through the symlink" [ -z "$(ls -A "$WORK/elsewhere")" ]
check "the agent says the directory is a symbolic link" grep -q 'is a symbolic link' "$WORK/link.log"
diag "$(cat "$WORK/link.log")"
stop_pid "$LPID"

# ---- a live socket holds <pid>.sock: it stays, the agent picks another name ----
mkdir -p "$XSPLICE_SOCKET_DIR"
chmod 700 "$XSPLICE_SOCKET_DIR"
spawn bash -c '"$1" "$2" "$3/$$.sock" 20 & while [ ! -S "$3/$$.sock" ]; do sleep 0.02; done; exec env LD_PRELOAD="$4" "$5" serve "$6" 2' \
	sh "$PYTHON" "$E2E_SRC/listener.py" "$XSPLICE_SOCKET_DIR" "$AGENT_PRELOAD" "$TARGET" "$WORK/n.sock"
TPID=$LAST_PID
TSOCK=$WORK/n.sock
wait_for 10 test -S "$TSOCK"
check "the agent made its socket under a distinct name" wait_for 10 test -S "$XSPLICE_SOCKET_DIR/$TPID.1.sock"
check "the live socket at $TPID.sock still answers as itself" [ "$(answer_of "$XSPLICE_SOCKET_DIR/$TPID.sock")" = PY ]
xsp info
expect_rc 0 "xsplice -p finds the agent under its distinct name"

# ---- the client checks who serves the socket ----
sleep 30 &
SPID=$!
STARTED_PIDS+=("$SPID")
spawn "$PYTHON" "$E2E_SRC/listener.py" "$XSPLICE_SOCKET_DIR/$SPID.sock" 20
wait_for 10 test -S "$XSPLICE_SOCKET_DIR/$SPID.sock"
xs -p "$SPID" info
check "a socket named for pid $SPID but served by another process is refused (exit $RC)" [ "$RC" != 0 ]
expect_err "not by process $SPID" "and the error says who serves it"

# ---- stale sockets ----
start_target 2
KPID=$TPID
{ kill -KILL "$KPID"; wait "$KPID"; } 2>/dev/null
check "a killed target leaves its socket" [ -S "$XSPLICE_SOCKET_DIR/$KPID.sock" ]
# A dead pid whose socket still answers (another namespace): never removed.
DEAD=$("$PYTHON" -c 'import os
p = 4000000
while True:
    try: os.kill(p, 0); p -= 1
    except ProcessLookupError: print(p); break
    except PermissionError: p -= 1')
spawn "$PYTHON" "$E2E_SRC/listener.py" "$XSPLICE_SOCKET_DIR/$DEAD.sock" 20
wait_for 10 test -S "$XSPLICE_SOCKET_DIR/$DEAD.sock"
start_target 2
xs processes
expect_rc 0 "xsplice processes"
expect_out "$TPID" "lists the live target"
expect_err "removed 1 stale socket" "and says it removed the stale one"
check "the killed target's socket is gone" [ ! -e "$XSPLICE_SOCKET_DIR/$KPID.sock" ]
check "the live target's socket stays" [ -S "$XSPLICE_SOCKET_DIR/$TPID.sock" ]
check "a socket that answers is never removed, whatever its name" [ -S "$XSPLICE_SOCKET_DIR/$DEAD.sock" ]
expect_alive
done_testing
