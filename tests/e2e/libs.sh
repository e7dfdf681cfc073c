#!/bin/bash
# Libraries in every process (issue 10). One payload for libxse2e_shlib.so
# (by its build-id), whose code calls the library's static function, reads
# its static data, calls the executable's exe_name() and another library:
#   1. `load --all` patches every process mapping the library, whatever the
#      program (shlib_user_a, shlib_user_b), preloaded or attached; a
#      process that does not map it is not touched, and naming it says why;
#   2. installed in the patch directory, it reaches a library dlopened
#      later (shlib_dl), preloaded and attached, and again after dlclose +
#      dlopen; gdb still sees the loader's events with the hook in place;
#   3. in each process the references resolve to that process's own
#      addresses (its counter value, its executable's name).
source "$(dirname "$0")/lib.sh" "$1"

export XSPLICE_PATCH_DIR=$WORK/patches
LIB=$E2E_BUILD/libxse2e_shlib.so
P=$E2E_BUILD/shlib.livepatch
LIB_ID=$(build_id_of "$LIB")

declare -A LOG_OF=()
# start_prog PROG pre|plain BUMPS [ARGS...]: sets SPID (stdout in LOG_OF).
start_prog() {
	local prog=$1 kind=$2
	shift 2
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	local log=$WORK/prog$TARGET_N.out
	if [ "$kind" = pre ]; then
		LD_PRELOAD=$AGENT_PRELOAD spawn "$E2E_BUILD/$prog" "$@" >"$log" 2>"$WORK/prog$TARGET_N.log"
	else
		spawn "$E2E_BUILD/$prog" "$@" >"$log" 2>"$WORK/prog$TARGET_N.log"
	fi
	SPID=$LAST_PID
	LOG_OF[$SPID]=$log
	if ! wait_for 10 grep -q '^ready' "$log" ||
		{ [ "$kind" = pre ] && ! wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$SPID.sock"; }; then
		echo "Bail out! $prog ($kind, pid $SPID) did not start"
		diag "$(cat "$log" "$WORK/prog$TARGET_N.log")"
		exit 1
	fi
}
errlog_of() { echo "${LOG_OF[$1]%.out}.log"; }

# signal_and_wait PID SIG PATTERN: send SIG, wait for one more line matching PATTERN.
signal_and_wait() {
	local log=${LOG_OF[$1]} before
	before=$(grep -c -- "$3" "$log")
	kill -"$2" "$1"
	wait_for 10 bash -c '[ "$(grep -c -- "$1" "$2")" -gt "$3" ]' _ "$3" "$log" "$before"
}
# report PID: what shlib_report() answers in PID now.
report() {
	signal_and_wait "$1" HUP '^report:' || { echo "(no answer)"; return; }
	grep '^report:' "${LOG_OF[$1]}" | tail -n 1 | sed 's/^report: //'
}
patched_for() { echo "patched twice=41 counter=$((40 + $1)) exe=$2 other=other"; }
expect_report() { # PID WANT DESC
	local got
	got=$(report "$1")
	if [ "$got" = "$2" ]; then pass "$3"; else fail "$3"; diag "expected: $2"; diag "got: $got"; fi
}
# wait_report PID WANT S: poll until the report is WANT (at most S seconds).
wait_report() {
	local i got
	for ((i = 0; i < $3 * 10; i++)); do
		got=$(report "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	diag "last report of $1: $got"
	return 1
}

# ---- 1 and 3: load --all over two programs, preloaded and attached ----
start_prog shlib_user_a pre 1; A_PRE=$SPID
start_prog shlib_user_a plain 2; A_PLAIN=$SPID
start_prog shlib_user_b pre 3; B_PRE=$SPID
start_prog shlib_user_b plain 4; B_PLAIN=$SPID
start_target 2 # maps no libxse2e_shlib
DEMO=$TPID
for p in $A_PRE $A_PLAIN $B_PRE $B_PLAIN; do
	check "pid $p runs the library's own code before" [ "$(report "$p")" = original ]
done
check "shlib_user_a and shlib_user_b are different programs" \
	[ "$(build_id_of "$E2E_BUILD/shlib_user_a")" != "$(build_id_of "$E2E_BUILD/shlib_user_b")" ]

xs load --all "$P" --tree $$
expect_rc 0 "load --all of the library's payload"
diag "$OUT"
for p in $A_PRE $B_PRE; do
	check "pid $p (preloaded) patched" grep -qE "^$p [^ ]+ patched$" <<<"$OUT"
done
for p in $A_PLAIN $B_PLAIN; do
	check "pid $p (started without the agent) patched, agent attached" \
		grep -qE "^$p [^ ]+ patched \(agent attached\)$" <<<"$OUT"
done
check "the process (with an agent) that does not map the library is skipped, with the reason" \
	grep -qE "^$DEMO [^ ]+ skipped: does not map the object the payload is for \(build-id ${LIB_ID:0:16}" <<<"$OUT"
check "summary: 4 patched, 1 skipped" grep -q '^4 patched, 0 already, 1 skipped, 0 failed' <<<"$OUT"
expect_report $A_PRE "$(patched_for 1 shlib_user_a)" \
	"shlib_user_a (preloaded): static function, static data, executable and other library resolve"
expect_report $A_PLAIN "$(patched_for 2 shlib_user_a)" "shlib_user_a (attached): the same, its own counter"
expect_report $B_PRE "$(patched_for 3 shlib_user_b)" "shlib_user_b (preloaded): its own executable's function"
expect_report $B_PLAIN "$(patched_for 4 shlib_user_b)" "shlib_user_b (attached)"
xs load --all "$P" --tree $$
check "a second load --all: 4 already" grep -q '^0 patched, 4 already' <<<"$OUT"
xs load --all "$P"
check "not narrowed (no --tree or --comm): processes not mapping it are not listed" \
	bash -c "! grep -q '^$DEMO ' <<<\"\$1\"" _ "$OUT"
TPID=$DEMO
xsp load "$P"
check "loading it into a process that does not map the library fails" [ "$RC" != 0 ]
expect_err "$LIB_ID" "the reason names the library's build-id"
diag "$ERR"
expect_alive "the demo target is untouched"

# ---- 1: Debian's libxml2 in xmllint (a Debian program) and in ours ----
XLIB=$(readlink -f /usr/lib/x86_64-linux-gnu/libxml2.so.2)
PX=$E2E_BUILD/xml.livepatch
# start_xmllint pre|plain: `xmllint --shell` on a small document, its
# commands from a FIFO held open by this shell; sets XPID, XFD.
start_xmllint() {
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	local fifo=$WORK/xmllint$TARGET_N.in out=$WORK/xmllint$TARGET_N.out
	mkfifo "$fifo"
	# Read-write: opening it does not wait for the reader (xmllint).
	exec {XFD}<>"$fifo"
	echo '<r><a/></r>' >"$WORK/doc.xml"
	# Not spawn: a background command's stdin is /dev/null unless it is
	# redirected on the command itself.
	# xmllint is not built with ASan: the ASan agent cannot be attached
	# to it (its runtime must come first), so under ASan it is preloaded.
	local pre=
	[ "$1" = pre ] || [ -n "$ASAN_RUNTIME" ] && pre=$AGENT_PRELOAD
	LD_PRELOAD=$pre xmllint --shell "$WORK/doc.xml" <"$fifo" >"$out" 2>"$WORK/xmllint$TARGET_N.log" &
	XPID=$!
	STARTED_PIDS+=("$XPID")
	LOG_OF[$XPID]=$out
	FD_OF[$XPID]=$XFD
	echo "cd r/a" >&"$XFD"
	wait_for 10 grep -q "a > " "$out" || { echo "Bail out! xmllint did not start"; diag "$(cat "$out" "$WORK/xmllint$TARGET_N.log")"; exit 1; }
	[ -z "$pre" ] || wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$XPID.sock" ||
		{ echo "Bail out! xmllint did not start with its agent"; exit 1; }
}
declare -A FD_OF=()
# xml_pwd PID: what xmllint's shell says for pwd (xmlGetNodePath).
xml_pwd() {
	local out=${LOG_OF[$1]} before
	before=$(grep -o 'a > /[^ ]*' "$out" | wc -l)
	echo pwd >&"${FD_OF[$1]}"
	wait_for 10 bash -c '[ "$(grep -o "a > /[^ ]*" "$1" | wc -l)" -gt "$2" ]' _ "$out" "$before"
	grep -o 'a > /[^ ]*' "$out" | tail -n 1 | sed 's/^a > //'
}
xml_path() {
	signal_and_wait "$1" HUP '^path:' || { echo "(no answer)"; return; }
	grep '^path:' "${LOG_OF[$1]}" | tail -n 1 | sed 's/^path: //'
}
start_xmllint pre; XL_PRE=$XPID
start_xmllint plain; XL_PLAIN=$XPID
start_prog xml_user pre; XU_PRE=$SPID
start_prog xml_user plain; XU_PLAIN=$SPID
for p in $XL_PRE $XL_PLAIN; do
	check "xmllint $p: pwd is /r/a" [ "$(xml_pwd $p)" = /r/a ]
done
for p in $XU_PRE $XU_PLAIN; do
	check "xml_user $p: the path is /r/a" [ "$(xml_path $p)" = /r/a ]
done
xs load --all "$PX" --tree $$
expect_rc 0 "load --all of a payload for Debian's libxml2 ($XLIB)"
diag "$OUT"
for p in $XL_PRE $XL_PLAIN $XU_PRE $XU_PLAIN; do
	check "pid $p patched" grep -qE "^$p [^ ]+ patched" <<<"$OUT"
done
for p in $XL_PRE $XL_PLAIN; do
	check "xmllint $p (a Debian program) runs the patched libxml2" [ "$(xml_pwd $p)" = /patched ]
done
for p in $XU_PRE $XU_PLAIN; do
	check "xml_user $p runs the patched libxml2" [ "$(xml_path $p)" = /patched ]
done
xs revert --all xml --tree $$
check "revert --all: 4 reverted" grep -q '^4 reverted' <<<"$OUT"
check "xmllint: the library's own code again" [ "$(xml_pwd $XL_PLAIN)" = /r/a ]
check "xml_user: the library's own code again" [ "$(xml_path $XU_PRE)" = /r/a ]

# ---- 2: installed, then dlopened (preloaded) ----
xs install "$P"
expect_rc 0 "install the library's payload in the patch directory"
XSPLICE_AUTOLOAD=verbose start_prog shlib_dl pre 5 "$LIB"; DL_PRE=$SPID
check "shlib_dl has not loaded the library yet" [ "$(report $DL_PRE)" = closed ]
signal_and_wait $DL_PRE USR1 '^opened:' || diag "no 'opened:' line"
diag "right after dlopen returned: $(grep '^opened:' "${LOG_OF[$DL_PRE]}" | tail -n 1)"
check "preloaded: the dlopened library runs the installed payload (within 5 s)" \
	wait_report $DL_PRE "$(patched_for 5 shlib_dl)" 5
check "its log says it was applied" grep -q "applied installed payload shlib .* to .*libxse2e_shlib.so" \
	"$(errlog_of $DL_PRE)"
diag "$(grep 'after a dlopen' "$(errlog_of $DL_PRE)" | head -n 3)"
TPID=$DL_PRE
expect_state shlib APPLIED 0 "the agent lists shlib APPLIED"
# The hook costs nothing once the dlopen is handled: xsplice-dl sleeps.
dl_switches() {
	local t
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = xsplice-dl ] &&
			awk '/^(non)?voluntary_ctxt_switches/ { s += $2 } END { print s }' "$t/status" && return
	done
	echo -1
}
sleep 0.3
SW0=$(dl_switches $DL_PRE)
sleep 2
SW1=$(dl_switches $DL_PRE)
check "xsplice-dl: $((SW1 - SW0)) context switches in 2 s after the dlopen (0 expected)" \
	test "$SW0" -ge 0 -a "$SW1" -eq "$SW0"

# dlclose + dlopen: the new copy gets it again.
signal_and_wait $DL_PRE USR2 '^closed' || diag "no 'closed' line"
signal_and_wait $DL_PRE USR1 '^opened:' || diag "no second 'opened:' line"
check "dlclose + dlopen again: patched again" wait_report $DL_PRE "$(patched_for 5 shlib_dl)" 5
check "its log says why it was applied again" grep -q "which was unloaded: applying the installed payload again" \
	"$(errlog_of $DL_PRE)"
expect_state shlib APPLIED 0 "shlib is APPLIED (to the copy loaded now)"
xsp revert shlib
expect_rc 0 "revert works on the re-applied payload"
expect_report $DL_PRE original "reverted: the library's own code again"

# ---- 2: a payload stacked on it, installed too: applied after it, both again after a reload ----
xs install "$E2E_BUILD/shlib-stacked.livepatch"
expect_rc 0 "install a payload stacked on shlib"
start_prog shlib_dl pre 3 "$LIB" "$E2E_BUILD/libxse2e_dlb.so"; DL_STACK=$SPID
signal_and_wait $DL_STACK USR1 '^opened:' || diag "no 'opened:' line"
check "dlopen: the stacked payload is applied on top of shlib" \
	wait_report $DL_STACK "stacked (counter=43)" 5
TPID=$DL_STACK
expect_list "shlib:APPLIED shlib-stacked:APPLIED" "both APPLIED, the base first"
# Another dlopen: shlib's trampoline is covered by the stacked one's, which
# is not "shlib's object was reloaded" (once, shlib was applied again on top).
signal_and_wait $DL_STACK WINCH '^opened extra yes' || diag "no 'opened extra yes' line"
sleep 0.5
check "another dlopen changes nothing: still the stacked payload" \
	[ "$(report $DL_STACK)" = "stacked (counter=43)" ]
expect_list "shlib:APPLIED shlib-stacked:APPLIED" "the same two payloads, nothing retired"
signal_and_wait $DL_STACK USR2 '^closed' || diag "no 'closed' line"
signal_and_wait $DL_STACK USR1 '^opened:' || diag "no second 'opened:' line"
check "dlclose + dlopen: both applied again, in order" \
	wait_report $DL_STACK "stacked (counter=43)" 5
expect_list "shlib:APPLIED shlib-stacked:APPLIED" "both APPLIED again (the old entries retired)"
xs uninstall shlib-stacked
expect_rc 0 "uninstall the stacked payload"

# ---- 2: a fork child dlopens it (its agent, and the hook's thread, restarted) ----
SHLIB_CHILD_OUT=$WORK/child.out start_prog shlib_dl pre 7 "$LIB"; DL_PARENT=$SPID
signal_and_wait $DL_PARENT ALRM '^forked' || diag "no 'forked' line"
CHILD=$(sed -n 's/^forked //p' "${LOG_OF[$DL_PARENT]}" | tail -n 1)
echo "$CHILD" >>"$WORK/extra-pids"
LOG_OF[$CHILD]=$WORK/child.out
if wait_for 10 grep -q '^ready (child)' "$WORK/child.out" &&
	wait_for 10 sock_ready "$XSPLICE_SOCKET_DIR/$CHILD.sock"; then
	pass "the fork child $CHILD runs, with its agent"
else
	fail "the fork child $CHILD runs, with its agent"
fi
signal_and_wait $CHILD USR1 '^opened:' || diag "no 'opened:' line in the child"
check "fork child: the library it dlopens runs the installed payload (within 5 s)" \
	wait_report $CHILD "$(patched_for 7 shlib_dl)" 5
check "the parent, which has not dlopened it, is untouched" [ "$(report $DL_PARENT)" = closed ]

# ---- 2: attached, then dlopened ----
start_prog shlib_dl plain 6 "$LIB"; DL_PLAIN=$SPID
TPID=$DL_PLAIN
xsp list
expect_rc 0 "attach the agent (list)"
check "attaching applied nothing" [ "$(report $DL_PLAIN)" = closed ]
signal_and_wait $DL_PLAIN USR1 '^opened:' || diag "no 'opened:' line"
check "attached: the dlopened library runs the installed payload (within 5 s)" \
	wait_report $DL_PLAIN "$(patched_for 6 shlib_dl)" 5

# ---- a bad mark is respected after dlopen ----
xs mark-bad shlib "testing the bad mark"
start_prog shlib_dl pre 7 "$LIB"; DL_BAD=$SPID
signal_and_wait $DL_BAD USR1 '^opened:' || diag "no 'opened:' line"
sleep 0.5
check "marked bad: not applied after dlopen" [ "$(report $DL_BAD)" = original ]
check "the log says it is marked bad" grep -q "installed payload shlib .* marked bad" "$(errlog_of $DL_BAD)"
rm -f "$XSPLICE_PATCH_DIR/shlib.bad"

# ---- bytes that are not the expected ones: no hook, said so ----
start_prog shlib_dl_poisoned pre 9 "$LIB"; DL_POISON=$SPID
check "a library changed the loader's breakpoint function before the agent started" \
	grep -q "brk_poison: r_brk is rep ret now" "$(errlog_of $DL_POISON)"
check "the agent refuses to hook it, and says why" \
	grep -q "libraries dlopened later will not get their installed payloads: .*starts with 0xf3, not ret" \
	"$(errlog_of $DL_POISON)"
signal_and_wait $DL_POISON USR1 '^opened:' || diag "no 'opened:' line"
sleep 0.3
check "without the hook the program's dlopen works, nothing applied" [ "$(report $DL_POISON)" = original ]
TPID=$DL_POISON
xsp list
expect_rc 0 "its agent still serves"

# ---- gdb still sees the loader's events with the hook in place ----
if [ -z "$ASAN_RUNTIME" ]; then
	start_prog shlib_dl pre 8 "$LIB"; DL_GDB=$SPID
	timeout 60 gdb -nx -batch -p $DL_GDB -ex 'handle all nostop noprint pass' \
		-ex 'set stop-on-solib-events 1' -ex continue -ex 'info sharedlibrary' \
		>"$WORK/gdb.out" 2>&1 &
	GDB=$!
	wait_for 20 grep -q "TracerPid:[[:space:]]*[1-9]" "/proc/$DL_GDB/status" || diag "gdb did not attach"
	sleep 1
	kill -USR1 $DL_GDB
	wait $GDB
	diag "$(grep -iE 'shared library event|shlib' "$WORK/gdb.out" | head -n 5)"
	check "gdb stops on the shared library event of the dlopen" \
		grep -q "Stopped due to shared library event" "$WORK/gdb.out"
	check "the process goes on after gdb detached, patched" \
		wait_report $DL_GDB "$(patched_for 8 shlib_dl)" 10
fi

for p in $A_PRE $A_PLAIN $B_PRE $B_PLAIN $DL_PRE $DL_PLAIN $DL_POISON $XL_PRE $XL_PLAIN $XU_PRE $XU_PLAIN; do
	check "pid $p still alive" bash -c "! { [ -z \"\$(awk '{print \$3}' /proc/$p/stat 2>/dev/null)\" ]; }"
done
done_testing
