#!/bin/bash
# Run-time attach (issue 9): targets started WITHOUT the agent get it with
# `xsplice attach PID` (or any -p command), then work like preloaded ones:
# the seed's demo transcript, attach twice a no-op, a read-blocked target
# still gets its data, busy threads keep computing right, a stopped target
# is refused and left stopped, 100 attaches to malloc/dlopen-churning
# targets without a hang, and the pause of a 10-thread target measured.
source "$(dirname "$0")/lib.sh" "$1"

if [ -n "$ASAN_RUNTIME" ]; then
	# The ASan agent needs libasan first in the initial library list:
	# it cannot be dlopened into a program started without it.
	echo "1..0 # SKIP the AddressSanitizer agent cannot be loaded into a running process"
	exit 0
fi
ATTACH_TARGET=$E2E_BUILD/attach_target
DLLIB=$E2E_BUILD/libxse2e_dla.so

# start_plain [THREADS]: the demo target without the agent.
start_plain() {
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	TSOCK=$WORK/demo$TARGET_N.sock
	TLOG=$WORK/target$TARGET_N.log
	spawn "$TARGET" serve "$TSOCK" "${1:-4}" 2>"$TLOG"
	TPID=$LAST_PID
	if ! wait_for 10 sock_ready "$TSOCK"; then
		echo "Bail out! the demo target (pid $TPID) did not start"
		exit 1
	fi
}

state_of() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }
# the system call a thread is blocked in (first field of /proc/PID/syscall)
in_syscall() { [ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = "$2" ]; }

# ---- the demo transcript on an attached target ----
start_plain 4
check "the target starts without an agent" \
	bash -c "! grep -Eq 'libxsplice|xsplice-agent' /proc/$TPID/maps"
xsp --no-attach list
expect_rc 3 "--no-attach: no agent, exit 3"
expect_err "no xsplice agent" "--no-attach says there is no agent"
xs attach "$TPID"
expect_rc 0 "xsplice attach PID"
expect_out "Attached to $TPID" "attach says it attached"
diag "$OUT"
check "the agent is mapped from a memfd" grep -q "memfd:xsplice-agent" "/proc/$TPID/maps"
check "the agent's socket exists" [ -S "$XSPLICE_SOCKET_DIR/$TPID.sock" ]
xs attach "$TPID"
expect_rc 0 "attach twice: exit 0"
expect_out "already has an agent" "attach twice is a no-op"
maps_agent=$(grep -c "memfd:xsplice-agent" "/proc/$TPID/maps")
xs --json attach "$TPID"
check "attach --json twice: already true" grep -q '"already": true' <<<"$OUT"
check "the agent is mapped once after three attaches" \
	[ "$(grep -c "memfd:xsplice-agent" "/proc/$TPID/maps")" = "$maps_agent" ]
check "no memfd is left open in the target" \
	bash -c "! ls -l /proc/$TPID/fd | grep -q memfd"
expect_extra "-unstable" "info shows the original version string"

xsp load "$P_HELLO"
expect_rc 0 "load hello"
expect_extra "Hello World" "hello applied: Hello World"
xsp revert hello
expect_rc 0 "revert hello"
expect_extra "-unstable" "hello reverted: -unstable again"
xsp unload hello
expect_rc 0 "unload hello"
expect_gone hello "hello is gone after unload"
xsp load "$P_HELLO"
expect_rc 0 "load hello again"
xsp load "$P_BYE"
expect_rc 0 "load bye (stacked on hello)"
expect_extra "Bye World" "bye applied: Bye World"
xsp upload replace "$P_REPLACE"
expect_rc 0 "upload replace"
xsp replace replace
expect_rc 0 "replace replace"
expect_extra "Hello Again World" "replace applied: Hello Again World"
expect_list "hello:CHECKED bye:CHECKED replace:APPLIED" \
	"list: hello and bye CHECKED, replace APPLIED"
xsp revert replace
expect_rc 0 "revert replace"
for p in replace bye hello; do
	xsp unload "$p"
	expect_rc 0 "unload $p"
done
expect_extra "-unstable" "everything unloaded: -unstable"
expect_alive

# ---- any -p command attaches by itself ----
start_plain 2
xsp list
expect_rc 0 "list on a target without an agent attaches and lists"
expect_err "Attached to $TPID" "the automatic attach is reported on stderr"
xsp load "$P_HELLO"
expect_rc 0 "load after the automatic attach"
expect_extra "Hello World" "hello applied after the automatic attach"

# ---- a target blocked in read gets its data after the attach ----
mkfifo "$WORK/rfifo"
exec 7<>"$WORK/rfifo"
# (not spawn: a background command without its own redirection reads /dev/null)
"$ATTACH_TARGET" read <&7 >"$WORK/read.out" 2>"$WORK/read.log" &
RPID=$!
STARTED_PIDS+=("$RPID")
check "the read target blocks in read" wait_for 5 in_syscall "$RPID" 0
xs attach "$RPID"
expect_rc 0 "attach to the read-blocked target"
diag "$OUT"
check "it is still blocked in read after the attach" wait_for 5 in_syscall "$RPID" 0
printf 'data-written-after-attach\n' >&7
exec 7>&-
wait "$RPID" 2>/dev/null
check "it read exactly the data written after the attach" \
	[ "$(cat "$WORK/read.out")" = "got: data-written-after-attach" ]
[ "$(cat "$WORK/read.out")" = "got: data-written-after-attach" ] ||
	diag "read.out: $(cat "$WORK/read.out") log: $(cat "$WORK/read.log")"

# ---- 8 busy threads keep computing correct results ----
mkfifo "$WORK/bfifo"
exec 8<>"$WORK/bfifo"
"$ATTACH_TARGET" busy 8 <&8 >"$WORK/busy.out" 2>"$WORK/busy.log" &
BPID=$!
STARTED_PIDS+=("$BPID")
sleep 0.2
xs attach "$BPID"
expect_rc 0 "attach to a target with 8 busy threads"
diag "$OUT"
TPID=$BPID xsp list
expect_rc 0 "its agent answers"
sleep 0.3
printf 'x\n' >&8
exec 8>&-
wait "$BPID" 2>/dev/null
if grep -Eq '^rounds=[1-9][0-9]* bad=0$' "$WORK/busy.out"; then
	pass "the busy threads' checksums stayed correct ($(cat "$WORK/busy.out"))"
else
	fail "the busy threads' checksums stayed correct"
	diag "busy.out: $(cat "$WORK/busy.out")"
fi

# ---- a stopped target: refused, left stopped ----
start_plain 2
SPID=$TPID
kill -STOP "$SPID"
wait_for 5 bash -c "[ \"\$(awk '{ print \$3 }' /proc/$SPID/stat)\" = T ]"
xs attach "$SPID"
check "attach to a SIGSTOPped target fails" [ "$RC" != 0 ]
expect_err "stopped" "the refusal says the process is stopped"
check "the target is still stopped (state T)" [ "$(state_of "$SPID")" = T ]
check "it has no agent" bash -c "! grep -q xsplice-agent /proc/$SPID/maps"
kill -CONT "$SPID"
expect_alive "the stopped target runs again after SIGCONT"

# ---- refusals ----
xs attach 999999999
expect_rc 3 "attach to no process: exit 3"
spawn sleep 0.05
wait "$LAST_PID"
xs attach "$LAST_PID"
expect_rc 3 "attach to an exited process: exit 3"
printf '#include <unistd.h>\nint main(void) { sleep(30); return 0; }\n' >"$WORK/static.c"
if cc -static -o "$WORK/static" "$WORK/static.c" 2>/dev/null; then
	spawn "$WORK/static"
	xs attach "$LAST_PID"
	expect_rc 4 "a statically linked target is refused (exit 4)"
	expect_err "statically linked" "the refusal says it is statically linked"
else
	diag "no static libc to build a static target: not tested"
fi

# ---- 100 attaches to malloc/free + dlopen/dlclose churning targets ----
hangs=0 fails=0 t0=$(date +%s)
for i in $(seq 100); do
	rm -f "$WORK/churn.ready"
	spawn "$ATTACH_TARGET" churn "$DLLIB" "$WORK/churn.ready" 2>>"$WORK/churn.log"
	CPID=$LAST_PID
	wait_for 5 test -e "$WORK/churn.ready"
	XS_TIMEOUT=15 xs attach "$CPID"
	if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
		hangs=$((hangs + 1)); diag "attach $i hung"
	elif [ "$RC" != 0 ]; then
		fails=$((fails + 1)); diag "attach $i: rc $RC: $ERR"
	elif ! TPID=$CPID xsp --no-attach list || [ "$RC" != 0 ]; then
		fails=$((fails + 1)); diag "attach $i: agent does not answer: $ERR"
	fi
	stop_pid "$CPID"
done
diag "100 churn attaches in $(( $(date +%s) - t0 )) s: $hangs hangs, $fails failures"
check "100 attaches to churning targets: 0 hangs" [ "$hangs" = 0 ]
check "100 attaches to churning targets: 0 failures" [ "$fails" = 0 ]

# ---- the pause for a 10-thread target (main, ticker, 8 workers) ----
pauses=()
for i in $(seq 20); do
	start_plain 8
	xs --json attach "$TPID"
	p=$(json_field pause_us <<<"$OUT" 2>/dev/null)
	[ -n "$p" ] && pauses+=("$p")
	stop_pid "$TPID"
done
median=$(printf '%s\n' "${pauses[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
diag "pause of a 10-thread target over ${#pauses[@]} attaches: median $median µs" \
	"(all: $(printf '%s\n' "${pauses[@]}" | sort -n | tr '\n' ' '))"
check "20 attaches measured" [ "${#pauses[@]}" = 20 ]
# The goal is 5 ms (met on an idle machine: ~1 ms); the check allows for a
# loaded 2-core box (make check builds and tests in parallel) and still
# catches a pathological pause (a polling delay, a hang on a lock).
awk -v m="$median" 'BEGIN { exit !(m <= 5000) }' || diag "median above the 5 ms goal (loaded machine?)"
check "median pause of a 10-thread target <= 50 ms" \
	awk -v m="$median" 'BEGIN { exit !(m <= 50000) }'

done_testing
