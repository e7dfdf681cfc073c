#!/bin/bash
# Long attach test (issue 9, suite stress-long; make check runs the 100 of
# tests/e2e/attach.sh): N attaches (default 1000), each to a fresh target
# whose threads malloc/free and dlopen/dlclose without pause, with 0 hangs
# and 0 failures; after each, the agent answers and the target is neither
# stopped nor traced.
#
# usage: attach_churn.sh BUILD_DIR [N]
source "$(dirname "$0")/../e2e/lib.sh" "$1"
N=${2:-1000}

if [ -n "$ASAN_RUNTIME" ]; then
	echo "1..0 # SKIP the AddressSanitizer agent cannot be loaded into a running process"
	exit 0
fi
ATTACH_TARGET=$E2E_BUILD/attach_target
DLLIB=$E2E_BUILD/libxse2e_dla.so

hangs=0 fails=0 left=0 t0=$(date +%s) pauses=()
for i in $(seq "$N"); do
	rm -f "$WORK/churn.ready"
	spawn "$ATTACH_TARGET" churn "$DLLIB" "$WORK/churn.ready" 2>>"$WORK/churn.log"
	CPID=$LAST_PID
	wait_for 5 test -e "$WORK/churn.ready"
	XS_TIMEOUT=15 xs --json attach "$CPID"
	if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
		hangs=$((hangs + 1)); diag "attach $i hung"
	elif [ "$RC" != 0 ]; then
		fails=$((fails + 1)); diag "attach $i: rc $RC: $ERR"
	else
		p=$(json_field pause_us <<<"$OUT" 2>/dev/null)
		[ -n "$p" ] && pauses+=("$p")
		TPID=$CPID xsp --no-attach list
		if [ "$RC" != 0 ]; then
			fails=$((fails + 1)); diag "attach $i: the agent does not answer: $ERR"
		fi
	fi
	st=$(awk '{ print $3 }' "/proc/$CPID/stat" 2>/dev/null)
	tr=$(awk '/^TracerPid:/ { print $2 }' "/proc/$CPID/status" 2>/dev/null)
	if [ "$st" = t ] || [ "$st" = T ] || { [ -n "$tr" ] && [ "$tr" != 0 ]; }; then
		left=$((left + 1)); diag "attach $i: left in state $st, tracer $tr"
	fi
	stop_pid "$CPID"
	STARTED_PIDS=()
	(( i % 100 == 0 )) && diag "$i attaches: $hangs hangs, $fails failures ($(( $(date +%s) - t0 )) s)"
done
sorted=$(printf '%s\n' "${pauses[@]}" | sort -n)
median=$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' <<<"$sorted")
p99=$(awk '{ a[NR] = $1 } END { print a[int(NR * 0.99)] }' <<<"$sorted")
diag "$N churn attaches in $(( $(date +%s) - t0 )) s: $hangs hangs, $fails failures;" \
	"pause median $median µs, 99th percentile $p99 µs"
check "$N attaches to churning targets: 0 hangs" [ "$hangs" = 0 ]
check "$N attaches to churning targets: 0 failures" [ "$fails" = 0 ]
check "$N attaches: no target left stopped or traced" [ "$left" = 0 ]
done_testing
