#!/bin/bash
# The xsplice command: exit codes, --help, --json output, info/build-id
# against readelf, --socket, and a stale socket left by a killed target.
source "$(dirname "$0")/lib.sh" "$1"

# jsonok DESC: stdout parses as JSON.
jsonok() {
	if "$PYTHON" -m json.tool <<<"$OUT" >/dev/null 2>"$WORK/json.err"; then
		pass "$1"
	else
		fail "$1"
		diag "$(cat "$WORK/json.err")"
		show_last
	fi
}

# ---- help and usage (no target needed) ----
xs --help
expect_rc 0 "--help exits 0"
expect_out "Exit codes:" "--help lists the exit codes"
xs help
expect_rc 0 "help exits 0"
xs -V
expect_rc 0 "-V exits 0"
expect_out "xsplice " "-V prints the version"
for c in list get upload apply revert replace unload load info build-id; do
	xs "$c" --help
	if [ "$RC" = 0 ] && [[ "$OUT" == "Usage: xsplice"*" $c"* ]]; then
		pass "'xsplice $c --help' exits 0 with its usage"
	else
		fail "'xsplice $c --help' exits 0 with its usage"
		show_last
	fi
	xs help "$c"
	expect_rc 0 "'xsplice help $c' exits 0"
done

usage() {
	local desc=$1
	shift
	xs "$@"
	expect_rc 2 "usage error: $desc"
}
usage "no command"
usage "unknown command" -p 1 frobnicate
usage "unknown option" --frob list
usage "help for an unknown command" help frobnicate
usage "get without a name" -p 1 get
usage "get with two names" -p 1 get a b
usage "upload with one argument" -p 1 upload a
usage "list without a target" list
usage "apply without a target" apply hello
usage "-p not a number" -p abc list
usage "-p 0" -p 0 list
usage "-p negative" -p -5 list
usage "-p without its argument" -p
usage "--timeout not a number" -p 1 --timeout soon list
usage "both -p and --socket" -p 1 --socket /nonexistent list
usage "an empty payload name" -p 1 apply ""
usage "a 128-byte payload name" -p 1 get "$(printf 'x%.0s' $(seq 128))"
usage "build-id without a file or a process" build-id
check "a usage error explains itself on stderr" [ -n "$ERR" ]

# ---- not found: no such process, no agent ----
sleep 30 &
NOAGENT=$!
STARTED_PIDS+=("$NOAGENT")
sleep 0.1 &
GONE=$!
wait "$GONE"
xs -p "$GONE" list
expect_rc 3 "no such process: exit 3"
expect_err "$GONE" "the message names the pid"
xs --no-attach -p "$NOAGENT" list
expect_rc 3 "a process without an agent: exit 3"
expect_err "LD_PRELOAD" "the message says how to start one"
xs --socket "$WORK/nonexistent.sock" list
expect_rc 3 "--socket to a missing path: exit 3"
xs build-id "$WORK/nonexistent"
expect_rc 3 "build-id of a missing file: exit 3"
xs build-id "$WORK"
expect_rc 1 "build-id of a directory: exit 1"
xs -p "$NOAGENT" upload x "$WORK/nonexistent.livepatch"
expect_rc 3 "upload of a missing file: exit 3"

# ---- against a running target ----
start_target 2
xsp list
expect_rc 0 "list of an empty target"
expect_out " ID " "list prints its header"
xsp get nosuch
expect_rc 3 "get of an unknown payload: exit 3"
expect_err "no payload named 'nosuch'" "the message names it"
xsp unload nosuch
expect_rc 3 "unload of an unknown payload: exit 3"
xsp revert nosuch
expect_rc 3 "revert of an unknown payload: exit 3"
xsp upload hello "$P_HELLO"
xsp revert hello
expect_rc 4 "a refused action: exit 4"
expect_err "hint:" "the refusal comes with a hint"
xsp --timeout 5000 apply hello
expect_rc 0 "apply with --timeout 5000"
xs --socket "$ASOCK" get hello
expect_rc 0 "get through --socket PATH"
expect_out "APPLIED" "--socket reaches the same agent"

# ---- --json ----
xsp --json list
expect_rc 0 "list --json"
jsonok "list --json parses"
xsp --json get hello
expect_rc 0 "get --json"
jsonok "get --json parses"
xsp revert hello
xsp revert hello
xsp --json get hello
jsonok "get --json with an error reason parses"
check "get --json carries rc -22 and EINVAL" \
	[ "$(json_field rc <<<"$OUT") $(json_field error <<<"$OUT")" = "-22 EINVAL" ]
xsp --json info
expect_rc 0 "info --json"
jsonok "info --json parses"
# Names that need escaping in JSON: quote, backslash, tab, newline, UTF-8.
weird=$(printf 'we"ird\\na\tme\nwith-\xc3\xa9')
hello_variant "$WORK/weird.livepatch" "$(printf 'e2e%037d' 1)"
xsp upload "$weird" "$WORK/weird.livepatch"
expect_rc 0 "upload under a name with quote, backslash, tab, newline and UTF-8"
xsp --json list
jsonok "list --json with that name parses"
got=$("$PYTHON" -c 'import json, sys; print([p["name"] for p in json.load(sys.stdin)["payloads"]][1], end="")' <<<"$OUT" 2>&1)
check "list --json gives the name back exactly" [ "$got" = "$weird" ]
xsp --json get "$weird"
jsonok "get --json of that name parses"
xsp --json info
jsonok "info --json with that name parses"
xsp unload "$weird"
expect_rc 0 "unload it"

# ---- info and build-id against readelf ----
want=$(build_id_of "$TARGET")
xsp --json info
objs=$("$PYTHON" -c 'import json, sys
d = json.load(sys.stdin)
print(d["pid"])
for o in d["objects"]:
    print(o["path"], o["build_id"])' <<<"$OUT")
check "info --json reports the target's pid" [ "$(head -n1 <<<"$objs")" = "$TPID" ]
check "info lists the target binary with readelf's build-id ($want)" \
	grep -qx "$(readlink -f "$TARGET") $want" <<<"$objs"
diag "$(tail -n +2 <<<"$objs" | head -n 4)"
agent_bid=$(build_id_of "$AGENT")
check "info lists the agent library with its build-id" \
	grep -qx "$(readlink -f "$AGENT") $agent_bid" <<<"$objs"
xsp info
expect_rc 0 "info (text)"
expect_out "build-id $want" "text info shows the target's build-id"
expect_out "hello: CHECKED" "text info shows the payload"
xsp build-id
expect_rc 0 "build-id of the process"
check "build-id of the process equals readelf -n" [ "$OUT" = "$want" ]
xs build-id "$TARGET"
check "build-id FILE equals readelf -n" [ "$OUT" = "$want" ]
xs build-id "$P_HELLO"
check "build-id of a payload equals readelf -n" [ "$OUT" = "$(build_id_of "$P_HELLO")" ]

expect_alive

# ---- a stale socket: the target killed with SIGKILL ----
OLD=$TPID
OLDSOCK=$ASOCK
start_target 1
{ kill -KILL "$OLD"; wait "$OLD"; } 2>/dev/null
check "a killed target leaves its socket file behind" [ -S "$OLDSOCK" ]
xs -p "$OLD" list
expect_rc 3 "list of a dead target with a stale socket: exit 3"
expect_err "stale socket" "the message says the socket was stale"
check "the stale socket file was removed" [ ! -e "$OLDSOCK" ]
xs -p "$OLD" list
expect_rc 3 "and again: still exit 3"
xsp list
expect_rc 0 "the other target is unaffected"

expect_alive

# A process that exits normally removes its socket (the agent's destructor);
# any program can carry the agent, here sleep(1).
LD_PRELOAD=$AGENT_PRELOAD spawn sleep 1
SLEEPER=$LAST_PID
check "sleep(1) with the agent preloaded gets a socket" \
	wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$SLEEPER.sock"
xs -p "$SLEEPER" list
expect_rc 0 "xsplice list works on it"
wait "$SLEEPER"
check "sleep(1) exited 0" [ $? = 0 ]
check "its normal exit removed the socket file" [ ! -e "$XSPLICE_SOCKET_DIR/$SLEEPER.sock" ]
xs -p "$SLEEPER" list
expect_rc 3 "list of the exited process: exit 3"
done_testing
