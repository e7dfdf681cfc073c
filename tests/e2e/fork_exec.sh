#!/bin/bash
# Process life cycle (DESIGN.md section 5): a fork child gets its own agent
# and socket (docs/decisions.md) and must not keep the parent's control
# socket alive, so once the parent is
# gone the client reports it (exit 3) instead of hanging; a child's exit
# does not remove the parent's socket; LD_PRELOAD passes to exec'd programs,
# each of which gets its own agent and socket (and can be patched).
source "$(dirname "$0")/lib.sh" "$1"
FT=$E2E_BUILD/fork_target

# run_ft NAME ARGS...: fork_target in $WORK/NAME with the agent preloaded;
# sets FT_DIR, PARENT, CHILD (when there is one).
run_ft() {
	FT_DIR=$WORK/$1
	shift
	mkdir -p "$FT_DIR"
	# Under ASan, LeakSanitizer's exit-time check in a child forked from a
	# threaded parent can deadlock on the sanitizer allocator's lock (a
	# libsanitizer limitation, not the agent's): no leak check here.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	LD_PRELOAD=$AGENT_PRELOAD spawn "$FT" "$FT_DIR" "$@" 2>>"$FT_DIR/log"
	wait_for 10 test -s "$FT_DIR/parent.pid" || { echo "Bail out! fork_target did not start"; exit 1; }
	PARENT=$(cat "$FT_DIR/parent.pid")
	CHILD=
	if [ "$1" != execself ]; then
		wait_for 10 test -s "$FT_DIR/child.pid" || { echo "Bail out! no child"; exit 1; }
		CHILD=$(cat "$FT_DIR/child.pid")
		echo "$CHILD" >>"$WORK/extra-pids"
	fi
}

# timed_list PID: xsplice -p PID list; sets RC/OUT/ERR and MS.
timed_list() {
	local t0 t1
	t0=$(date +%s%N)
	xs -p "$1" list
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
}

listening_sockets() {
	# listening Unix sockets among the fds of $1
	local ino n=0
	for ino in $(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n'); do
		awk -v i="$ino" '$7 == i && $4 == "00010000" { f = 1 } END { exit !f }' /proc/net/unix && n=$((n + 1))
	done
	echo $n
}

# ---- 1. fork: the child has its own agent; its exit leaves the parent's socket ----
run_ft a fork
check "the parent has its agent socket" wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$PARENT.sock"
xs -p "$PARENT" list
expect_rc 0 "xsplice list on the parent works after the fork"
check "the fork child has a socket of its own" wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$CHILD.sock"
check "the fork child holds one listening socket, its own (the parent's was closed in it)" \
	[ "$(listening_sockets "$CHILD")" = 1 ]
check "the parent still holds its listening socket" [ "$(listening_sockets "$PARENT")" = 1 ]
xs -p "$CHILD" --json info
expect_rc 0 "xsplice info on the fork child works"
check "the child's agent reports the child's pid" [ "$(json_field pid <<<"$OUT")" = "$CHILD" ]
touch "$FT_DIR/child-exit"
check "the fork child exits" wait_for 10 gone "$CHILD"
check "the child's normal exit left the parent's socket file" [ -S "$XSPLICE_SOCKET_DIR/$PARENT.sock" ]
xs -p "$PARENT" list
expect_rc 0 "the parent's agent still answers after the child exited"
touch "$FT_DIR/parent-exit"
check "the parent exits" wait_for 10 gone "$PARENT"
wait "$PARENT" 2>/dev/null
check "the parent's normal exit removed its socket" [ ! -e "$XSPLICE_SOCKET_DIR/$PARENT.sock" ]

# ---- 2. the parent exits, the child lives on ----
run_ft b fork
wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$PARENT.sock"
touch "$FT_DIR/parent-exit"
wait "$PARENT" 2>/dev/null
check "the child outlives its parent" kill -0 "$CHILD"
timed_list "$PARENT"
expect_rc 3 "list of the exited parent (child alive): exit 3"
check "answered at once, not hanging on a socket kept by the child ($MS ms)" [ "$MS" -lt 3000 ]
check "no socket file left for the parent" [ ! -e "$XSPLICE_SOCKET_DIR/$PARENT.sock" ]
touch "$FT_DIR/child-exit"

# ---- 3. the parent is killed (socket file stays), the child lives on ----
run_ft c fork
wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$PARENT.sock"
{ kill -KILL "$PARENT"; wait "$PARENT"; } 2>/dev/null
check "the child outlives its killed parent" kill -0 "$CHILD"
check "the killed parent left its socket file" [ -S "$XSPLICE_SOCKET_DIR/$PARENT.sock" ]
timed_list "$PARENT"
expect_rc 3 "list of the killed parent (child alive): exit 3"
check "answered at once, not hanging ($MS ms)" [ "$MS" -lt 3000 ]
expect_err "stale socket" "the client says it removed a stale socket"
check "the stale socket file is gone" [ ! -e "$XSPLICE_SOCKET_DIR/$PARENT.sock" ]
touch "$FT_DIR/child-exit"

# ---- 4. fork + exec: the exec'd demo target gets its own agent ----
run_ft d exec "$TARGET" serve "$WORK/d/demo.sock" 2
check "the exec'd program has its own agent socket" \
	wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$CHILD.sock"
wait_for 10 sock_ready "$WORK/d/demo.sock"
check "the parent keeps its own socket" [ -S "$XSPLICE_SOCKET_DIR/$PARENT.sock" ]
xs -p "$CHILD" load "$P_HELLO"
expect_rc 0 "load hello into the exec'd demo target"
check "the exec'd demo target answers Hello World" \
	[ "$(query info "$WORK/d/demo.sock" | sed -n 's/^xen_extra *: //p')" = "Hello World" ]
xs -p "$PARENT" list
expect_rc 0 "the parent's agent is separate"
expect_no_out "hello" "and has no payloads"
xs -p "$CHILD" --json info
check "the exec'd program's agent reports its own pid" [ "$(json_field pid <<<"$OUT")" = "$CHILD" ]
touch "$FT_DIR/parent-exit"
wait "$PARENT" 2>/dev/null
xs -p "$CHILD" list
expect_rc 0 "the exec'd child's agent works after the parent exited"
TPID=$CHILD TSOCK=$WORK/d/demo.sock expect_alive "the exec'd demo target still answers"
kill -TERM "$CHILD"

# ---- 5. exec in place (same pid): the new image starts a fresh agent ----
run_ft e execself "$TARGET" serve "$WORK/e/demo.sock" 2
wait_for 10 sock_ready "$WORK/e/demo.sock"
check "after exec the same pid has an agent socket" sock_ready "$XSPLICE_SOCKET_DIR/$PARENT.sock"
xs -p "$PARENT" load "$P_HELLO"
expect_rc 0 "load hello into the program that replaced fork_target"
check "it answers Hello World" \
	[ "$(query info "$WORK/e/demo.sock" | sed -n 's/^xen_extra *: //p')" = "Hello World" ]
TPID=$PARENT TSOCK=$WORK/e/demo.sock expect_alive
done_testing
