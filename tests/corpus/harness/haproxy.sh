#!/bin/bash
# haproxy, the real service (program mode, tests/corpus/README.md): the
# haproxy binary built from the tree, in master-worker mode (-W: a master
# and a forked worker that serves; both are patched), in front of a small
# local HTTP backend (backend.py) that says which Content-Length header it
# received and echoes the request body.
#
# Reproducer (CVE-2023-40225, mode empty-cl): a GET with an empty
# "Content-Length:" header. Unpatched haproxy forwards it as is
# ("forwarded: backend saw content-length ''"); patched it rejects it
# ("rejected 400").
# Load: ab batches of POSTs with a 23-byte body through haproxy to the
# backend; an answer is right when it is a 200 whose length is the echo's
# (ab's "Failed requests" and "Non-2xx responses" are the wrong ones).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=prog-lib.sh
source "$here/prog-lib.sh"

prog_start() {
	local tree=$1 dir=$2 port bport
	port=$(free_port) bport=$(free_port)
	echo "$port" >"$dir/port"
	python3 "$here/backend.py" "$bport" >"$dir/backend.log" 2>&1 &
	echo $! >"$dir/aux-pids"
	wait_for 10 curl -sf "http://127.0.0.1:$bport/" || { echo "backend does not answer"; return 1; }
	cat >"$dir/haproxy.cfg" <<CFG
global
	maxconn 256
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fe
	bind 127.0.0.1:$port
	default_backend be
backend be
	server s1 127.0.0.1:$bport
CFG
	"$tree/haproxy" -W -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" -S "$dir/master.sock" \
		>"$dir/haproxy.log" 2>&1 </dev/null &
	local master=$! worker
	echo "$master" >"$dir/pids"
	wait_for 20 curl -sf "http://127.0.0.1:$port/" ||
		{ echo "haproxy does not answer on $port"; cat "$dir/haproxy.log"; return 1; }
	worker=$(pgrep -P "$master" | head -n 1)
	[ -n "$worker" ] || { echo "haproxy -W forked no worker"; return 1; }
	echo "$worker" >>"$dir/pids"
	printf 'xsplice-corpus-load-body' >"$dir/body"
	echo "haproxy master $master, worker $worker on 127.0.0.1:$port, backend on $bport"
}

repro_once() {
	local dir=$1 port code body
	port=$(cat "$dir/port")
	body=$(curl -s --max-time 5 -o - -w '\n%{http_code}' -H 'Content-Length;' \
		"http://127.0.0.1:$port/repro") || { echo "no answer (curl exit $?)"; return; }
	code=${body##*$'\n'}
	body=${body%$'\n'*}
	case "$code" in
	200) echo "forwarded: $body" ;;
	*) echo "rejected $code" ;;
	esac
}

load_batch() {
	local dir=$1 port out n failed non2xx
	port=$(cat "$dir/port")
	out=$(timeout 120 ab -q -n 400 -c 4 -p "$dir/body" -T text/plain \
		"http://127.0.0.1:$port/load" 2>&1) || { echo "0 1"; return; }
	n=$(sed -n 's/^Complete requests: *\([0-9]*\).*/\1/p' <<<"$out")
	failed=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' <<<"$out")
	non2xx=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
	n=${n:-0} failed=${failed:-0} non2xx=${non2xx:-0}
	# ab checks every answer's length against the first one's: check that
	# one here (the echo of the body).
	if ! grep -q '^Document Length: *24 bytes' <<<"$out"; then
		echo "0 $n"
		return
	fi
	echo "$((n - failed - non2xx)) $((failed + non2xx + (n == 0)))"
}

prog_main "$@"
