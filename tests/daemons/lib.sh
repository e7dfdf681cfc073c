# shellcheck shell=bash
# Shared helpers of the real-daemon tests (tests/daemons/*.sh). Each script
#
#   source "$(dirname "$0")/lib.sh" "$1"      # $1 = the meson build dir
#
# gets tests/e2e/lib.sh (TAP: pass/fail/diag/done_testing, xs, WORK,
# AGENT_PRELOAD, cleanup) plus:
#
#   need_pkg PKG BINARY...      skip the whole script ("ok 1 # SKIP package
#                               PKG not installable") unless PKG is installed
#   free_port                   an unused loopback TCP+UDP port
#   runtime_dir NAME USER MODE [AUSER]  $WORK/run/NAME owned by USER (like
#                               a unit's RuntimeDirectory=), with an agent
#                               socket dir $RUNDIR/xsplice (0700, owned by
#                               AUSER, default USER: the uid the process has
#                               when the agent starts, i.e. root for daemons
#                               that drop privileges themselves); sets RUNDIR,
#                               AGENT_DIR
#   agent_env DIR               "env LD_PRELOAD=... XSPLICE_SOCKET_DIR=DIR":
#                               put it after setpriv/mdwe_exec (the agent
#                               must not be preloaded into setpriv)
#   track_pid PID / track_pidfile FILE   killed (with descendants) on exit
#   serving_pids PID            PID and all its descendants
#   wait_pidfile FILE SECONDS   wait until FILE names a live process
#   check_process PID ROLE USER NNP SECCOMP   the unit's privilege settings
#                               really hold in PID (/proc/PID/status)
#   check_libc PID ROLE         PID maps the libc the payload was built for
#   check_agent PID ROLE        `xsplice -p PID info` answers
#   patch_cycles PID ROLE       upload the payload, CYCLES x apply+revert,
#                               unload; one TAP line per step
#   load_start NAME CMD...      run CMD again and again in the background
#                               until load_stop (bounded by LOAD_MAX_S; CMD
#                               may be a function, and bounds its own clients
#                               with timeout)
#   load_stop NAME DESC         stop it; pass if it ran and no run failed
#
# The payload (dm-clock_gettime.livepatch, built by meson from
# payloads/clock_gettime.c against the system libc) replaces libc's
# clock_gettime with an equivalent raw system call.
DM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/lib.sh
source "$DM_SRC/../e2e/lib.sh" "$1"

MDWE=$BUILD/tests/daemons/mdwe_exec
DM_PAYLOAD=$BUILD/tests/daemons/dm-clock_gettime.livepatch
DM_PNAME=dm-clock_gettime
CYCLES=${XSPLICE_DAEMON_CYCLES:-100}
# An EBUSY apply/revert (a thread sat in clock_gettime) is retried at most
# this many times per step; every retry is counted and printed.
BUSY_RETRIES=3
LOAD_MAX_S=${XSPLICE_DAEMON_LOAD_MAX_S:-120}
XS_TIMEOUT=20
for f in "$MDWE" "$DM_PAYLOAD"; do
	if [ ! -e "$f" ]; then
		echo "Bail out! missing $f (build first)"
		exit 1
	fi
done
# Debugging aid: XSPLICE_DAEMON_NO_MDWE=1 starts the daemons without the
# MemoryDenyWriteExecute= filter (to see the rest of a run while the agent
# cannot load payloads under it); such a run always ends with a failure.
if [ "${XSPLICE_DAEMON_NO_MDWE:-0}" = 1 ]; then
	MDWE=/usr/bin/env
fi
dm_done() {
	if [ "${XSPLICE_DAEMON_NO_MDWE:-0}" = 1 ]; then
		fail "XSPLICE_DAEMON_NO_MDWE=1: MemoryDenyWriteExecute= was not emulated"
	fi
	done_testing
}
# Daemons running as their own users must reach their files under $WORK.
chmod 0755 "$WORK"
mkdir -p "$WORK/run"
chmod 0755 "$WORK/run"

# The libc every daemon loads, and the one the payload depends on.
SYS_LIBC=$(ldd "$MDWE" | awk '$1 ~ /^libc\.so/ { print $3; exit }')
SYS_LIBC=$(readlink -f "$SYS_LIBC")
SYS_LIBC_BID=$(build_id_of "$SYS_LIBC")
objcopy -O binary -j .livepatch.depends "$DM_PAYLOAD" "$WORK/payload.dep"
PAYLOAD_DEP_BID=$(od -An -v -tx1 -j16 "$WORK/payload.dep" | tr -d ' \n')

DM_PIDS=()
DM_PIDFILES=()

# ---- skipping ----

need_pkg() {
	local pkg=$1 b
	shift
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
		echo "ok 1 # SKIP package $pkg not installable"
		echo "1..1"
		exit 0
	fi
	for b in "$@"; do
		if [ ! -x "$b" ]; then
			echo "Bail out! package $pkg is installed but $b is missing"
			exit 1
		fi
	done
}

# ---- processes ----

free_port() {
	"$PYTHON" - <<'PY'
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(type=socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p); break
PY
}

runtime_dir() {
	local name=$1 user=$2 mode=$3 auser=${4:-$2}
	RUNDIR=$WORK/run/$name
	AGENT_DIR=$RUNDIR/xsplice
	mkdir -p "$AGENT_DIR"
	chown "$user:$(id -gn "$user")" "$RUNDIR"
	chown "$auser:$(id -gn "$auser")" "$AGENT_DIR"
	chmod "$mode" "$RUNDIR"
	chmod 0700 "$AGENT_DIR"
}

agent_env() {
	echo "env LD_PRELOAD=$AGENT_PRELOAD XSPLICE_SOCKET_DIR=$1"
}

track_pid() { DM_PIDS+=("$1"); }
track_pidfile() { DM_PIDFILES+=("$1"); }

descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

serving_pids() {
	echo "$1"
	descendants "$1"
}

alive() { kill -0 "$1" 2>/dev/null && ! gone "$1"; }

wait_pidfile() {
	local f=$1 s=$2 i pid
	for ((i = 0; i < s * 20; i++)); do
		pid=$(cat "$f" 2>/dev/null)
		pid=${pid//[!0-9]/}
		if [ -n "$pid" ] && alive "$pid"; then
			echo "$pid"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# wait_listen PORT SECONDS [udp]: something listens on 127.0.0.1:PORT.
wait_listen() {
	local port=$1 s=$2 proto=${3:-tcp} i
	for ((i = 0; i < s * 20; i++)); do
		if [ "$proto" = udp ]; then
			ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
		else
			ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
		fi
		sleep 0.05
	done
	return 1
}

# kill_daemons: everything we started or found, TERM then KILL.
kill_daemons() {
	local all=() p f pid
	for f in "${DM_PIDFILES[@]}"; do
		pid=$(cat "$f" 2>/dev/null)
		pid=${pid//[!0-9]/}
		[ -n "$pid" ] && all+=("$pid")
	done
	all+=("${DM_PIDS[@]}")
	local tree=()
	for p in "${all[@]}"; do
		tree+=("$p" $(descendants "$p"))
	done
	[ ${#tree[@]} -eq 0 ] && return 0
	for p in "${tree[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 60); do
		local left=0
		for p in "${tree[@]}"; do alive "$p" && left=1; done
		[ $left = 0 ] && break
		sleep 0.05
	done
	for p in "${tree[@]}"; do kill -KILL "$p" 2>/dev/null; rm -f "/tmp/perf-$p.map"; done
	DM_PIDS=()
	DM_PIDFILES=()
	return 0
}

dm_cleanup() {
	[ -n "${LOAD_PIDS_ALL:-}" ] && for p in $LOAD_PIDS_ALL; do kill -TERM "$p" 2>/dev/null; done
	kill_daemons
	cleanup
}
trap dm_cleanup EXIT

proc_user() { ps -o user= -p "$1" 2>/dev/null | tr -d ' '; }
proc_comm() { cat "/proc/$1/comm" 2>/dev/null; }
status_field() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null; }

# check_process PID ROLE USER NNP SECCOMP: the emulated unit settings hold.
check_process() {
	local pid=$1 role=$2 user=$3 nnp=$4 sec=$5 gu gn gs
	gu=$(proc_user "$pid")
	gn=$(status_field "$pid" NoNewPrivs)
	gs=$(status_field "$pid" Seccomp)
	if [ "$gu" = "$user" ] && [ "$gn" = "$nnp" ] && [ "$gs" = "$sec" ]; then
		pass "$role pid $pid ($(proc_comm "$pid")) runs as $user, NoNewPrivs=$nnp, Seccomp=$sec"
	else
		fail "$role pid $pid ($(proc_comm "$pid")) runs as $user, NoNewPrivs=$nnp, Seccomp=$sec"
		diag "got user '$gu', NoNewPrivs=$gn, Seccomp=$gs"
	fi
}

check_libc() {
	local pid=$1 role=$2 path bid
	local range
	read -r range path < <(awk '$6 ~ /\/libc\.so/ { print $1, $6; exit }' "/proc/$pid/maps" 2>/dev/null)
	# the mapped file itself (map_files works in a chroot too)
	bid=$( [ -n "$range" ] && build_id_of "/proc/$pid/map_files/$range")
	if [ -n "$bid" ] && [ "$bid" = "$SYS_LIBC_BID" ] && [ "$bid" = "$PAYLOAD_DEP_BID" ]; then
		pass "$role pid $pid loads $path, the libc the payload depends on ($bid)"
	else
		fail "$role pid $pid loads the libc the payload depends on"
		diag "mapped '$path' build-id '$bid'; system $SYS_LIBC $SYS_LIBC_BID; payload depends on $PAYLOAD_DEP_BID"
	fi
}

# check_agent PID ROLE: returns 0 when the agent answers. A fork child's
# agent comes up 20 ms after the fork, and one whose socket the program
# closed makes a new one within a second: 3 s are allowed.
check_agent() {
	local pid=$1 role=$2 i
	for i in $(seq 30); do
		xs --no-attach -p "$pid" info
		[ "$RC" = 0 ] && break
		sleep 0.1
	done
	if [ "$RC" = 0 ] && [[ "$OUT" == "process $pid, agent "* ]]; then
		pass "$role pid $pid ($(proc_comm "$pid"), $(proc_user "$pid")): the agent answers xsplice info"
		return 0
	fi
	fail "$role pid $pid ($(proc_comm "$pid"), $(proc_user "$pid")): the agent answers xsplice info"
	show_last
	[ -n "${DM_LOG:-}" ] && grep -h 'xsplice: ' "$DM_LOG" 2>/dev/null | head -n 5 | while IFS= read -r l; do diag "daemon log: $l"; done
	return 1
}

# xs_step PID VERB: one apply or revert, retrying EBUSY at most
# BUSY_RETRIES times (counted in RETRIES). Returns xsplice's status.
xs_step() {
	local pid=$1 verb=$2 n=0
	while :; do
		xs -p "$pid" "$verb" "$DM_PNAME"
		[ "$RC" = 0 ] && return 0
		if [[ "$ERR" == *EBUSY* ]] && [ $n -lt $BUSY_RETRIES ]; then
			n=$((n + 1))
			RETRIES=$((RETRIES + 1))
			diag "EBUSY retry $n of $verb in pid $pid: $(head -n1 <<<"$ERR")"
			continue
		fi
		return 1
	done
}

# patch_cycles PID ROLE [CYCLES]
patch_cycles() {
	local pid=$1 role=$2 n=${3:-$CYCLES} i ok=0 t0 t1 firsterr=""
	RETRIES=0
	xs -p "$pid" upload "$DM_PNAME" "$DM_PAYLOAD"
	if [ "$RC" = 0 ]; then
		pass "$role pid $pid: upload $DM_PNAME"
	else
		fail "$role pid $pid: upload $DM_PNAME"
		show_last
		fail "$role pid $pid: $n apply/revert cycles of $DM_PNAME (not run: the upload failed)"
		return 1
	fi
	t0=$(date +%s.%N)
	for ((i = 1; i <= n; i++)); do
		if ! xs_step "$pid" apply; then
			firsterr="cycle $i apply: $ERR"
			break
		fi
		if ! xs_step "$pid" revert; then
			firsterr="cycle $i revert: $ERR"
			break
		fi
		ok=$i
	done
	t1=$(date +%s.%N)
	local secs
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	if [ "$ok" = "$n" ]; then
		pass "$role pid $pid: $n apply/revert cycles of $DM_PNAME in $secs s ($RETRIES EBUSY retries)"
	else
		fail "$role pid $pid: $n apply/revert cycles of $DM_PNAME ($ok done, $RETRIES EBUSY retries)"
		diag "$firsterr"
		alive "$pid" || diag "pid $pid is gone"
	fi
	xs -p "$pid" get "$DM_PNAME"
	if [[ "$OUT" == *APPLIED* ]]; then xs -p "$pid" revert "$DM_PNAME"; fi
	xs -p "$pid" unload "$DM_PNAME"
	if [ "$RC" = 0 ]; then
		pass "$role pid $pid: unload $DM_PNAME"
	else
		fail "$role pid $pid: unload $DM_PNAME"
		show_last
	fi
	[ "$ok" = "$n" ]
}

# patch_all ROLE PID...: check_agent + patch_cycles in each (100 cycles in
# every process: each process patches its own copy of libc).
patch_all() {
	local role=$1 pid
	shift
	for pid in "$@"; do
		check_libc "$pid" "$role"
		check_agent "$pid" "$role"
		patch_cycles "$pid" "$role"
	done
}

# ---- load ----

LOAD_PIDS_ALL=""
declare -A LOAD_PID=()
load_loop() {
	local name=$1 i=0 deadline rc
	shift
	deadline=$(($(date +%s) + LOAD_MAX_S))
	: >"$WORK/load-$name.rc"
	while [ ! -e "$WORK/load-$name.stop" ] && [ "$(date +%s)" -lt "$deadline" ]; do
		i=$((i + 1))
		"$@" >"$WORK/load-$name.last" 2>&1
		rc=$?
		echo "$i $rc" >>"$WORK/load-$name.rc"
		if [ $rc != 0 ]; then
			{ echo "== run $i exit $rc"; cat "$WORK/load-$name.last"; } >>"$WORK/load-$name.errors"
		fi
	done
}

load_start() {
	local name=$1
	shift
	rm -f "$WORK/load-$name.stop" "$WORK/load-$name.errors"
	load_loop "$name" "$@" &
	LOAD_PID[$name]=$!
	LOAD_PIDS_ALL="$LOAD_PIDS_ALL $!"
	# the first run has begun before patching starts
	wait_for 10 test -s "$WORK/load-$name.rc" -o -e "$WORK/load-$name.last" || true
}

load_stop() {
	local name=$1 desc=$2 pid runs bad
	touch "$WORK/load-$name.stop"
	pid=${LOAD_PID[$name]}
	wait "$pid" 2>/dev/null
	runs=$(wc -l <"$WORK/load-$name.rc")
	bad=$(awk '$2 != 0' "$WORK/load-$name.rc" | wc -l)
	if [ "$runs" -ge 1 ] && [ "$bad" = 0 ]; then
		pass "$desc: $runs client runs, no client errors"
	else
		fail "$desc: $runs client runs, $bad with errors"
		diag "$(head -c 1500 "$WORK/load-$name.errors" 2>/dev/null)"
	fi
}

# ---- clients ----

# ab_run URL N: N requests, 4 at a time; fails on any failed or non-2xx
# request (ab itself only counts them).
ab_run() {
	local out
	out=$(timeout -k 5 60 ab -q -n "$2" -c 4 -s 20 "$1" 2>&1) || { echo "$out"; return 1; }
	if ! grep -q "^Complete requests: *$2\$" <<<"$out" ||
		! grep -q "^Failed requests: *0\$" <<<"$out" ||
		grep -q "^Non-2xx responses" <<<"$out"; then
		echo "$out"
		return 1
	fi
	return 0
}

# http_body URL: the body, or nothing.
http_body() { curl -sS --max-time 10 "$1" 2>&1; }

# expect_http URL BODY DESC
expect_http() {
	local got
	got=$(http_body "$1")
	if [ "$got" = "$2" ]; then pass "$3"; else fail "$3"; diag "GET $1: '$got' (expected '$2')"; fi
}
