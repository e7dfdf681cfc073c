#!/bin/bash
# Redis, the real service (program mode, tests/corpus/README.md):
# redis-server built from the tree, started without the agent, on a
# loopback port. The reproducers are tests/real's (tests/real/redis-repro.sh):
#   hll  CVE-2025-32023: a sparse HyperLogLog whose XZERO runs wrap the
#        register index; unpatched accepted ("bug: ..."), patched INVALIDOBJ
#   acl  CVE-2024-51741: ACL SETUSER with the empty selector '%'; unpatched
#        OK ("bug: ..."), patched a syntax error
# Load: batches of 500 pipelined SET/GET pairs of known values
# (redis-load.py); an answer is right when GET returns what SET stored.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=prog-lib.sh
source "$here/prog-lib.sh"
REDIS_CLI=$(command -v redis-cli)
# shellcheck source=../../real/redis-repro.sh
source "$here/../../real/redis-repro.sh"

redis_ping() { [ "$(timeout 2 "$REDIS_CLI" -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = PONG ]; }

prog_start() {
	local tree=$1 dir=$2 port
	[ -n "$REDIS_CLI" ] || { echo "redis-cli missing (redis-tools)"; return 1; }
	port=$(free_port)
	echo "$port" >"$dir/port"
	"$tree/src/redis-server" --port "$port" --bind 127.0.0.1 --protected-mode yes --save "" \
		--appendonly no --dir "$dir" --logfile "$dir/server.log" \
		--crash-memcheck-enabled no </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/pids"
	wait_for 20 redis_ping "$port" ||
		{ echo "redis-server does not answer PING on $port"; tail "$dir/server.log"; return 1; }
	redis_repro_files "$dir/repro"
	echo "redis-server $(cat "$dir/pids") on 127.0.0.1:$port"
}

repro_once() {
	local dir=$1 mode=$2
	# shellcheck disable=SC2034 # read by the reproducers
	PORT=$(cat "$dir/port") REPRO=$dir/repro
	case "$mode" in
	hll) repro_hll ;;
	acl) repro_acl ;;
	*) echo "no reproducer $mode" ;;
	esac
}

load_batch() {
	timeout 60 python3 "$here/redis-load.py" "$(cat "$1/port")" 500 || echo "0 1"
}

prog_main "$@"
