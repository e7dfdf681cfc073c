# shellcheck shell=bash
# Shared part of the corpus' program harnesses (harness/PROGRAM.sh, the
# runner's program mode: tests/corpus/README.md). A program script sources
# this, defines
#   prog_start TREE DIR MODE  start the service from the built TREE (no
#                             agent), write the pids to patch to DIR/pids
#                             (the first is the root of the service's
#                             process tree), and the helpers' pids to
#                             DIR/aux-pids; return when it answers
#   repro_once DIR MODE       run the reproducer once, print its RESULT
#   load_batch DIR MODE       one batch of the load generator, print
#                             "OK BAD" (answers checked right / wrong)
# and ends with `prog_main "$@"`.
set -uo pipefail

free_port() { # an unused loopback port, TCP and UDP
	python3 - <<'PY'
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

wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
	local s=$1 i
	shift
	for ((i = 0; i < s * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# The drive loop: the load generator in the background (cumulative counts
# in DIR/load.count), the reproducer every ~100 ms in the foreground, one
# line each time, as the C harnesses print them.
prog_drive() {
	local dir=$1 mode=$2 ok bad
	echo "0 0" >"$dir/load.count"
	(
		ok=0 bad=0
		while :; do
			read -r o b < <(load_batch "$dir" "$mode")
			ok=$((ok + ${o:-0})) bad=$((bad + ${b:-1}))
			echo "$ok $bad" >"$dir/load.count.new"
			mv "$dir/load.count.new" "$dir/load.count"
			sleep 0.1 # busy, not a CPU hog on a shared machine
		done
	) &
	while :; do
		local r
		r=$(repro_once "$dir" "$mode" 2>>"$dir/repro.err" | head -n 1)
		read -r ok bad <"$dir/load.count"
		echo "repro: ${r:-no result}  load: $ok ok, $bad bad"
		sleep 0.1
	done
}

# Stop what prog_start started: the pids and the helpers, with their
# descendants (the service's own children), TERM then KILL.
prog_stop() {
	local dir=$1 all=() p
	while read -r p; do
		[ -n "$p" ] || continue
		all+=("$p")
		mapfile -t -O ${#all[@]} all < <(descendants "$p")
	done < <(cat "$dir/pids" "$dir/aux-pids" 2>/dev/null)
	[ ${#all[@]} = 0 ] && return 0
	kill -TERM "${all[@]}" 2>/dev/null
	for _ in $(seq 50); do
		local left=0
		for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
		[ $left = 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "${all[@]}" 2>/dev/null
	return 0
}

prog_main() {
	case "${1:-}" in
	start) prog_start "$2" "$(cd "$3" && pwd)" "${4:-}" ;;
	drive) prog_drive "$(cd "$2" && pwd)" "${3:-}" ;;
	stop) prog_stop "$2" ;;
	*) echo "usage: $0 start TREE DIR [MODE] | drive DIR [MODE] | stop DIR" >&2; exit 2 ;;
	esac
}
