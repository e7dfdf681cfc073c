#!/bin/bash
# The xsplice command without a real agent: usage, exit codes, messages,
# build-id, and the seed's output against the fake agent.
# usage: test_cli.sh XSPLICE FAKE_AGENT
set -u
X=$1
FAKE=$2
pass=0
fail=0
tmp=$(mktemp -d /tmp/xs-cli-XXXXXX)
fake_pid=
cleanup() {
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# check NAME WANT_EXIT [PATTERN_IN_OUTPUT] -- command...
check() {
	local name=$1 want=$2 pat=$3
	shift 4
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL $name: exit $got, want $want"; cat "$tmp/out" "$tmp/err" | sed 's/^/    /'
		fail=$((fail + 1)); return
	fi
	if [ -n "$pat" ] && ! grep -qE -- "$pat" "$tmp/out" "$tmp/err"; then
		echo "FAIL $name: output lacks /$pat/"; cat "$tmp/out" "$tmp/err" | sed 's/^/    /'
		fail=$((fail + 1)); return
	fi
	echo "ok   $name"
	pass=$((pass + 1))
}

check "--help" 0 "Exit codes" -- "$X" --help
check "-h" 0 "Commands:" -- "$X" -h
check "help load" 0 "hello.livepatch -> hello" -- "$X" help load
check "load --help" 0 "Usage: xsplice .* load FILE" -- "$X" load --help
check "get -h" 0 "get NAME" -- "$X" get -h
check "--version" 0 "^xsplice [0-9]" -- "$X" --version
check "no command" 2 "no command" -- "$X"
check "unknown command" 2 "unknown command 'frobnicate'" -- "$X" -p 1 frobnicate
check "unknown option" 2 "unknown option" -- "$X" --bogus list
check "help unknown" 2 "unknown command" -- "$X" help frobnicate
check "get without NAME" 2 "missing arguments" -- "$X" -p 1 get
check "upload one arg" 2 "missing arguments" -- "$X" -p 1 upload hello
check "apply too many" 2 "too many" -- "$X" -p 1 apply a b
check "list without target" 2 "needs a target" -- "$X" list
check "bad pid" 2 "not a process id" -- "$X" -p abc list
check "pid 0" 2 "not a process id" -- "$X" -p 0 list
check "bad timeout" 2 "timeout" -- "$X" -p 1 --timeout -5 list
check "-p and --socket" 2 "not both" -- "$X" -p 1 --socket /x list
check "name too long" 2 "at most 127" -- "$X" -p 1 get "$(printf 'n%.0s' $(seq 128))"
check "-p missing value" 2 "needs an argument" -- "$X" list -p

# A pid that does not exist (above pid_max).
check "nonexistent pid" 3 "no such process 2147483000" -- "$X" -p 2147483000 list
check "nonexistent pid ESRCH" 3 "\(ESRCH\)" -- "$X" -p 2147483000 info
# A live process without an agent, attach refused.
sleep 30 & sleeper=$!
XSPLICE_SOCKET_DIR=$tmp check "no agent" 3 "has no xsplice agent.*LD_PRELOAD" -- "$X" --no-attach -p $sleeper list
kill $sleeper 2>/dev/null; wait $sleeper 2>/dev/null
check "load missing file" 3 "cannot open $tmp/nope.livepatch: No such file" -- "$X" -p $$ load "$tmp/nope.livepatch"

# build-id equals what readelf -n prints.
for f in "$X" /bin/sh "$(readlink -f /bin/ls)"; do
	want=$(readelf -n "$f" 2>/dev/null | sed -n 's/.*Build ID: *//p' | head -n1)
	[ -z "$want" ] && continue
	check "build-id $(basename "$f")" 0 "^$want\$" -- "$X" build-id "$f"
done
check "build-id missing file" 3 "ENOENT" -- "$X" build-id "$tmp/none"
check "build-id of a text file" 1 "not an ELF" -- "$X" build-id /etc/hostname
check "build-id without file or pid" 2 "give a FILE" -- "$X" build-id

# Against the fake agent: the seed's transcript and the JSON output.
sock="$tmp/agent.sock"
rm -f "$sock"; "$FAKE" "$sock" & fake_pid=$!
for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
printf '\177ELF hello payload' > "$tmp/hello.livepatch"
printf '\177ELF FAILAPPLY' > "$tmp/busy.livepatch"
printf 'MZ not elf' > "$tmp/bad.livepatch"
S=(--socket "$sock")
check "load" 0 "^Uploading $tmp/hello.livepatch \(18 bytes\)" -- "$X" "${S[@]}" load "$tmp/hello.livepatch"
grep -q "^Performing check: completed$" "$tmp/out" && grep -q "^Performing apply:\.* completed$" "$tmp/out" \
	&& { echo "ok   load transcript"; pass=$((pass + 1)); } \
	|| { echo "FAIL load transcript"; cat "$tmp/out"; fail=$((fail + 1)); }
check "list" 0 "^hello +\| APPLIED$" -- "$X" "${S[@]}" list
grep -q "^ ID                                     | status$" "$tmp/out" \
	&& { echo "ok   list header"; pass=$((pass + 1)); } || { echo "FAIL list header"; fail=$((fail + 1)); }
check "get --json" 0 '^\{"name":"hello","state":"APPLIED","rc":0' -- "$X" "${S[@]}" --json get hello
check "load again: exists" 4 "EEXIST" -- "$X" "${S[@]}" load "$tmp/hello.livepatch"
check "unload applied: refused" 4 "revert it first.*\(EINVAL\)" -- "$X" "${S[@]}" unload hello
check "revert" 0 "^Performing revert:\.+ completed$" -- "$X" "${S[@]}" revert hello
check "revert again: refused" 4 "\(EINVAL\)" -- "$X" "${S[@]}" revert hello
check "unload" 0 "^Performing unload: completed$" -- "$X" "${S[@]}" unload hello
check "get gone" 3 "no payload named hello.*\(ENOENT\)" -- "$X" "${S[@]}" get hello
check "upload bad payload" 4 "not an ELF file \(ENOEXEC\)" -- "$X" "${S[@]}" upload bad "$tmp/bad.livepatch"
check "load busy: EBUSY, unloaded" 5 "thread 4242.*\(EBUSY\)" -- "$X" "${S[@]}" load "$tmp/busy.livepatch"
grep -q "unloaded again" "$tmp/err" && ! "$X" "${S[@]}" get busy >/dev/null 2>&1 \
	&& { echo "ok   failed load left nothing"; pass=$((pass + 1)); } \
	|| { echo "FAIL failed load left nothing"; fail=$((fail + 1)); }
check "upload" 0 "^Performing check: completed$" -- "$X" "${S[@]}" upload one "$tmp/hello.livepatch"
"$X" "${S[@]}" apply one >/dev/null 2>&1
"$X" "${S[@]}" upload two "$tmp/hello.livepatch" >/dev/null 2>&1
check "replace" 0 "^Performing replace:\.+ completed$" -- "$X" "${S[@]}" replace two
check "list after replace" 0 "^one +\| CHECKED$" -- "$X" "${S[@]}" list
check "list --json" 0 '"name":"two","state":"APPLIED"' -- "$X" "${S[@]}" --json list
check "info" 0 "xen_extra_version: old 0x555555555000 \(32 bytes\) -> new 0x7f0000001000" -- "$X" "${S[@]}" info
check "info --json" 0 '"target":"/usr/bin/\\"quoted\\"\\tdemo"' -- "$X" "${S[@]}" --json info
if command -v python3 >/dev/null; then
	for c in list info "get two"; do
		"$X" "${S[@]}" --json $c | python3 -c 'import json,sys; json.load(sys.stdin)' \
			&& { echo "ok   json valid: $c"; pass=$((pass + 1)); } \
			|| { echo "FAIL json valid: $c"; fail=$((fail + 1)); }
	done
fi
check "build-id from the process" 0 "^00112233445566778899aabbccddeeff00112233$" -- "$X" "${S[@]}" build-id
kill "$fake_pid"; wait "$fake_pid" 2>/dev/null

# An agent that hangs up on us (what SO_PEERCRED refusal looks like).
rm -f "$sock"; "$FAKE" "$sock" refuse & fake_pid=$!
for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
check "agent closes the connection" 1 "closed the connection" -- "$X" "${S[@]}" list
kill "$fake_pid"; wait "$fake_pid" 2>/dev/null
rm -f "$sock"; "$FAKE" "$sock" garbage & fake_pid=$!
for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
check "garbage reply" 1 "bad reply.*\(EPROTO\)" -- "$X" "${S[@]}" list
kill "$fake_pid"; wait "$fake_pid" 2>/dev/null
fake_pid=
check "socket gone" 3 "no agent socket" -- "$X" --socket "$tmp/none.sock" list

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
