#!/bin/bash
# Run-time attach (issue 9), every state of the target: success, or a clear
# error with the process left as it was.
#   blocked in nanosleep / futex / epoll_wait: attached, and the blocked
#     call then completes as if nothing had happened (the sleeper wakes on
#     time, the futex waiter is woken by its waker, epoll delivers the event
#     written after the attach); every thread busy computing: attached,
#     results right; what is left (fds, tracer) after an attach;
#   a seccomp filter that would kill the process: refused, the process
#     lives and gets its data; systemd's MemoryDenyWriteExecute filter:
#     attached and patched;
#   not dumpable: attached as root; refused as its own (non-root) user,
#     naming it; another user's: refused; Yama ptrace_scope 1, 2, 3: the
#     message names the setting (the real sysctl if there is one to set,
#     else XSPLICE_YAMA_PATH on a file: this kernel may have no Yama);
#   a 32-bit process: refused; the command itself, pid 1, a kernel thread:
#     refused; a process exiting during the attach (50 races): success or
#     "exited", never a hang or a process left stopped or traced.
source "$(dirname "$0")/lib.sh" "$1"

if [ -n "$ASAN_RUNTIME" ]; then
	echo "1..0 # SKIP the AddressSanitizer agent cannot be loaded into a running process"
	exit 0
fi
AT=$E2E_BUILD/attach_target
MDWE=$E2E_BUILD/mdwe_exec
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

state_of() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }
tracer_of() { awk '/^TracerPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
in_syscall() { [ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = "$2" ]; }
has_agent() { grep -q "memfd:xsplice-agent" "/proc/$1/maps" 2>/dev/null; }
# the fds of PID as "N -> TARGET" lines
fds_of() { for f in /proc/"$1"/fd/*; do echo "${f##*/} -> $(readlink "$f")"; done | sort; }

# start_fifo MODE [PREFIX...]: the attach target in MODE reading from a new
# fifo on fd 7, output in $WORK/MODE.out; sets APID.
FIFO_N=0
start_fifo() {
	local mode=$1
	shift
	FIFO_N=$((FIFO_N + 1))
	mkfifo "$WORK/fifo$FIFO_N"
	exec 7<>"$WORK/fifo$FIFO_N"
	"$@" "$AT" "$mode" <&7 >"$WORK/$mode.out" 2>"$WORK/$mode.log" &
	APID=$!
	STARTED_PIDS+=("$APID")
}
# finish_fifo LINE: write LINE to the target, close the fifo, wait for it.
finish_fifo() {
	printf '%s\n' "$1" >&7
	exec 7>&-
	local i
	for i in $(seq 250); do gone "$APID" && break; sleep 0.02; done
	wait "$APID" 2>/dev/null
}

# ---- blocked in nanosleep: wakes on time ----
"$AT" sleep 1500 >"$WORK/sleep.out" &
SPID=$!
STARTED_PIDS+=("$SPID")
check "the sleeper is in clock_nanosleep" wait_for 5 in_syscall "$SPID" 230
xs attach "$SPID"
expect_rc 0 "attach to a target blocked in nanosleep"
expect_out "clock_nanosleep" "the hijacked thread was in clock_nanosleep"
diag "$OUT"
wait "$SPID" 2>/dev/null
read -r sl_rc sl_ms < <(sed -n 's/^rc=\(-*[0-9]*\) slept=\([0-9]*\)$/\1 \2/p' "$WORK/sleep.out")
diag "nanosleep(1500 ms) across the attach: rc $sl_rc, slept $sl_ms ms"
check "nanosleep returned 0 (not EINTR)" [ "${sl_rc:-x}" = 0 ]
check "the sleeper woke neither early nor more than 500 ms late" \
	awk -v s="${sl_ms:-0}" 'BEGIN { exit !(s >= 1500 && s <= 2000) }'

# ---- blocked in futex: the waits end by their wakers only ----
start_fifo futex
FPID=$APID
check "the futex target's main thread is in futex" wait_for 5 in_syscall "$FPID" 202
xs attach "$FPID"
expect_rc 0 "attach to a target blocked in futex (raw FUTEX_WAIT, pthread_cond_wait)"
expect_out "in futex" "the hijacked thread was in futex"
check "it is still in futex after the attach" wait_for 5 in_syscall "$FPID" 202
finish_fifo wake
check "FUTEX_WAIT returned 0 after its wake, the condition variable was signalled" \
	[ "$(cat "$WORK/futex.out")" = "futex rc=0 errno=0 word=1 cond=1" ]
diag "futex.out: $(cat "$WORK/futex.out")"

# ---- blocked in epoll_wait: the event written after the attach arrives ----
start_fifo epoll
EPID=$APID
check "the epoll target is in epoll_wait" wait_for 5 in_syscall "$EPID" 232
xs attach "$EPID"
expect_rc 0 "attach to a target blocked in epoll_wait"
expect_out "in epoll_wait" "the hijacked thread was in epoll_wait"
check "it is still in epoll_wait (no EINTR seen)" wait_for 5 in_syscall "$EPID" 232
finish_fifo event-after-attach
check "epoll_wait delivered the event written after the attach, without EINTR" \
	[ "$(cat "$WORK/epoll.out")" = "epoll n=1 errno=0 line=event-after-attach" ]
diag "epoll.out: $(cat "$WORK/epoll.out")"

# ---- every thread busy computing (main included) ----
"$AT" allbusy 3 >"$WORK/allbusy.out" 2>"$WORK/allbusy.log" &
BPID=$!
STARTED_PIDS+=("$BPID")
sleep 0.3
xs attach "$BPID"
expect_rc 0 "attach to a target whose 4 threads all compute"
expect_out "in user code" "the hijacked thread was in user code"
diag "$OUT"
wait "$BPID" 2>/dev/null
check "the 4 computing threads' results stayed right" \
	grep -Eq '^rounds=[1-9][0-9]* bad=0$' "$WORK/allbusy.out"
diag "allbusy.out: $(cat "$WORK/allbusy.out")"

# ---- what an attach leaves: the agent, no tracer, no fd but the agent's ----
start_fifo read
RPID=$APID
wait_for 5 in_syscall "$RPID" 0
fds_of "$RPID" >"$WORK/fds.before"
xs attach "$RPID"
expect_rc 0 "attach to a read-blocked target"
check "TracerPid is 0 after the attach" [ "$(tracer_of "$RPID")" = 0 ]
check "its state is S (sleeping in read) again, not stopped or traced" \
	wait_for 5 bash -c "[ \"\$(awk '{ print \$3 }' /proc/$RPID/stat)\" = S ]"
fds_of "$RPID" >"$WORK/fds.after"
new_fds=$(comm -13 "$WORK/fds.before" "$WORK/fds.after")
diag "fds added by the attach: ${new_fds:-none}"
check "its own fds are untouched" bash -c "[ -z \"\$(comm -23 $WORK/fds.before $WORK/fds.after)\" ]"
# (the agent's own: its socket, a /proc directory fd, its wake-up pipe)
check "no memfd and nothing of the attach's left open" \
	bash -c "! grep -Eq -- '-> (/memfd|/proc/[0-9])' <<<\"$new_fds\""
diag "xsplice mappings: $(grep -c 'memfd:xsplice-agent' /proc/$RPID/maps) agent," \
	"$(grep -c 'memfd:xsplice-lib-' /proc/$RPID/maps) carried libraries"
finish_fifo still-reading
check "it read its data afterwards" [ "$(cat "$WORK/read.out")" = "got: still-reading" ]

# ---- seccomp: a filter that kills on memfd_create / mmap(PROT_EXEC) ----
start_fifo seccomp-kill
KPID=$APID
wait_for 5 in_syscall "$KPID" 0
xs attach "$KPID"
check "attach under a killing seccomp filter is refused" [ "$RC" != 0 ]
expect_err "seccomp filter that would kill the process" "the refusal names the seccomp filter and its action"
diag "$ERR"
check "the target is alive, not stopped, not traced" \
	bash -c "[ \"\$(awk '{ print \$3 }' /proc/$KPID/stat)\" = S ] && grep -q 'TracerPid:.0' /proc/$KPID/status"
check "no agent, no scratch memfd in it" bash -c "! grep -q xsplice /proc/$KPID/maps && ! ls -l /proc/$KPID/fd | grep -q memfd"
finish_fifo after-refusal
check "it read its data after the refusal (state intact)" \
	[ "$(cat "$WORK/seccomp-kill.out")" = "got: after-refusal" ]

# ---- seccomp: systemd's MemoryDenyWriteExecute filter (errno, not kill) ----
TSOCK=$WORK/mdwe.sock
TLOG=$WORK/mdwe.log
spawn "$MDWE" "$TARGET" serve "$TSOCK" 2 2>"$TLOG"
TPID=$LAST_PID
wait_for 10 sock_ready "$TSOCK"
check "the MDWE target has a seccomp filter" grep -Eq '^Seccomp:.2' "/proc/$TPID/status"
xs attach "$TPID"
expect_rc 0 "attach under MemoryDenyWriteExecute"
diag "$OUT$ERR"
xsp load "$P_HELLO"
expect_rc 0 "load hello into the attached MDWE target"
expect_extra "Hello World" "hello applied under MDWE: Hello World"
stop_pid "$TPID"

# ---- not dumpable ----
start_fifo nondump
NPID=$APID
wait_for 5 in_syscall "$NPID" 0
xs attach "$NPID"
expect_rc 0 "attach to a non-dumpable target as root (CAP_SYS_PTRACE)"
TPID=$NPID xsp --no-attach list
expect_rc 0 "its agent answers"
finish_fifo nondump-data
check "the non-dumpable target read its data" [ "$(cat "$WORK/nondump.out")" = "got: nondump-data" ]

# as_nobody ARGS...: xsplice as uid 65534 (the agent file must be readable
# by it: it is under the build tree, world-readable here)
as_nobody() {
	timeout -k 5 "$XS_TIMEOUT" "${NOBODY[@]}" env XSPLICE_AGENT="$AGENT" "$@" \
		"$XSPLICE" attach "$PID_ARG" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}
untouched() { # PID: alive, no tracer, no agent
	[ "$(tracer_of "$1")" = 0 ] && ! has_agent "$1" && ! gone "$1"
}

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	start_fifo nondump "${NOBODY[@]}"
	NPID=$APID
	wait_for 5 in_syscall "$NPID" 0
	PID_ARG=$NPID as_nobody
	check "a non-root user's attach to its own non-dumpable process fails" [ "$RC" != 0 ]
	expect_err "not dumpable" "the refusal says it is not dumpable"
	diag "$ERR"
	check "the non-dumpable process is untouched" untouched "$NPID"

	start_fifo read
	OPID=$APID
	wait_for 5 in_syscall "$OPID" 0
	PID_ARG=$OPID as_nobody
	check "attach to another user's (root's) process fails" [ "$RC" != 0 ]
	expect_err "belongs to uid 0" "the refusal names the owner"
	diag "$ERR"
	check "root's process is untouched" untouched "$OPID"
	finish_fifo root-data
	check "root's process read its data" [ "$(cat "$WORK/read.out")" = "got: root-data" ]

	# ---- Yama ----
	chmod 0711 "$WORK"
	YAMA=/proc/sys/kernel/yama/ptrace_scope
	YENV=()
	if [ -w "$YAMA" ] && YAMA_SAVED=$(cat "$YAMA"); then
		diag "Yama present: setting $YAMA to 1, 2, 3 in turn (3 cannot be undone:" \
			"only 1 and 2 are set for real, 3 through XSPLICE_YAMA_PATH)"
		trap 'echo "$YAMA_SAVED" >"$YAMA"; cleanup' EXIT
		set_yama() {
			if [ "$1" = 3 ]; then
				echo 3 >"$WORK/yama"; chmod 0644 "$WORK/yama"; YENV=(XSPLICE_YAMA_PATH="$WORK/yama")
			else
				echo "$1" >"$YAMA"; YENV=()
			fi
		}
	else
		diag "no writable Yama sysctl on this kernel ($YAMA absent or read-only):" \
			"the messages are checked with XSPLICE_YAMA_PATH pointing to a file"
		set_yama() { echo "$1" >"$WORK/yama"; chmod 0644 "$WORK/yama"; YENV=(XSPLICE_YAMA_PATH="$WORK/yama"); }
	fi
	start_fifo read "${NOBODY[@]}"
	YPID=$APID
	start_fifo nondump "${NOBODY[@]}"
	YNPID=$APID
	wait_for 5 in_syscall "$YPID" 0
	wait_for 5 in_syscall "$YNPID" 0
	set_yama 3
	XS_TIMEOUT=$XS_TIMEOUT env "${YENV[@]}" "$XSPLICE" attach "$YPID" >"$WORK/out" 2>"$WORK/err"
	RC=$? ERR=$(cat "$WORK/err")
	check "ptrace_scope 3: root's attach is refused" [ "$RC" != 0 ]
	expect_err "ptrace_scope = 3" "the refusal names kernel.yama.ptrace_scope = 3"
	set_yama 2
	PID_ARG=$YPID as_nobody "${YENV[@]}"
	check "ptrace_scope 2: a non-root attach is refused" [ "$RC" != 0 ]
	expect_err "ptrace_scope = 2" "the refusal names kernel.yama.ptrace_scope = 2"
	set_yama 1
	# the kernel refuses here by Yama (for real) or by non-dumpability
	# (with the file): the message must name Yama's setting either way
	PID_ARG=$YNPID as_nobody "${YENV[@]}"
	check "ptrace_scope 1: a non-root attach to a non-child is refused" [ "$RC" != 0 ]
	expect_err "ptrace_scope = 1" "the refusal names kernel.yama.ptrace_scope = 1"
	diag "$ERR"
	[ -w "$YAMA" ] && echo "$YAMA_SAVED" >"$YAMA"
	check "the Yama targets are untouched" bash -c "$(declare -f untouched has_agent gone tracer_of); untouched $YPID && untouched $YNPID"
	stop_pid "$YPID"
	stop_pid "$YNPID"
	exec 7>&-
else
	diag "not root or no setpriv: the other-user, non-root and Yama cases are not run"
	fail "the other-user and Yama cases need root and setpriv(1)"
fi

# ---- not x86-64: a 32-bit i386 program (binutils only, no multilib) ----
printf '.globl _start\n_start:\n mov $162, %%eax\n lea ts, %%ebx\n xor %%ecx, %%ecx\n int $0x80\n mov $1, %%eax\n xor %%ebx, %%ebx\n int $0x80\n.data\nts: .long 30, 0\n' >"$WORK/i386.s"
if as --32 -o "$WORK/i386.o" "$WORK/i386.s" && ld -m elf_i386 -o "$WORK/i386" "$WORK/i386.o" &&
	spawn "$WORK/i386" && wait_for 5 bash -c "[ \"\$(awk '{ print \$3 }' /proc/$LAST_PID/stat)\" = S ]"; then
	IPID=$LAST_PID
	xs attach "$IPID"
	expect_rc 4 "a 32-bit (i386) process is refused (exit 4)"
	expect_err "not an x86-64 process" "the refusal says it is not x86-64"
	check "the i386 process is untouched" untouched "$IPID"
	stop_pid "$IPID"
else
	fail "a 32-bit test program could be built and run (as --32, ld -m elf_i386, IA32 emulation)"
fi

# ---- the command itself, pid 1, a kernel thread ----
timeout 10 bash -c 'exec "$0" attach $$' "$XSPLICE" >"$WORK/out" 2>"$WORK/err"
RC=$? ERR=$(cat "$WORK/err")
check "attach to the xsplice command's own pid is refused" [ "$RC" != 0 ]
expect_err "this xsplice command itself" "the refusal says it is the command itself"
xs attach 1
check "attach to pid 1 is refused" [ "$RC" != 0 ]
expect_err "process 1 is init" "the refusal says pid 1 is init"
KT=
for s in /proc/[0-9]*/stat; do
	p=${s#/proc/}; p=${p%/stat}
	[ "$p" -gt 1 ] || continue
	fl=$(sed 's/.*) //' "$s" 2>/dev/null | awk '{ print $7 }')
	if [ -n "$fl" ] && (( fl & 0x00200000 )); then KT=$p; break; fi
done
xs attach "${KT:-2}"
check "attach to a kernel thread ($KT) is refused" [ "$RC" != 0 ]
expect_err "kernel thread" "the refusal says it is a kernel thread"

# ---- a process exiting during the attach ----
ok=0 exited=0 bad=0 left=0
for i in $(seq 50); do
	"$AT" exit $((5 + (i % 40) * 5)) &
	XPID=$!
	XS_TIMEOUT=20 xs attach "$XPID"
	if [ "$RC" = 0 ]; then
		ok=$((ok + 1))
	elif grep -Eq "exited during the attach|no process [0-9]|is exiting" <<<"$ERR"; then
		exited=$((exited + 1))
	else
		bad=$((bad + 1)); diag "race $i: rc $RC: $ERR"
	fi
	st=$(state_of "$XPID")
	tr=$(tracer_of "$XPID"); if [ "$st" = t ] || [ "$st" = T ] || { [ -n "$tr" ] && [ "$tr" != 0 ]; }; then
		left=$((left + 1)); diag "race $i: left in state $st, tracer $(tracer_of "$XPID")"
	fi
	wait "$XPID" 2>/dev/null
done
diag "50 attaches racing exits: $ok attached, $exited 'exited during the attach', $bad other"
check "racing exits: every attach succeeded or said the process exited" [ "$bad" = 0 ]
check "racing exits: no process left stopped or traced" [ "$left" = 0 ]

done_testing
