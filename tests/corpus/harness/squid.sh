#!/bin/bash
# The real squid of the baseline tree (program mode of run-corpus.sh,
# tests/corpus/README.md): a forward proxy on loopback that requires HTTP
# Digest authentication (auth_param digest with the tree's own
# digest_file_auth helper and a local password file), in front of a small
# origin server (python3) whose answers are known.
#
#   squid.sh start RUNDIR PDIR MODE   start origin + squid (no agent), write PDIR/pids
#   squid.sh drive PDIR MODE          print "repro: RESULT  load: N ok, M bad" lines
#   squid.sh stop PDIR                stop both
#
# squid runs as it does in production: `squid --foreground` is the master
# process, which forks the worker (squid-1) that serves requests and forks
# a new one when a worker dies. PDIR/pids names the master only; the case
# loads with ALL=yes (`xsplice load --all --tree MASTER`), which patches the
# master and its worker (the digest helpers are another program).
#
# MODE digest-nc: CVE-2023-46847. The reproducer sends a Digest
# Proxy-Authorization whose nc (nonce count, 8 hex digits, stored in
# char nc[9]) is 64 characters long. Unpatched, Auth::Digest::Config::decode
# copies all of it into nc[9] and over the pointers after it (qop, uri,
# response, ...); the next check dereferences one and the worker dies by a
# signal (the master logs "exited due to signal" and starts another
# worker). Patched, the value is refused (nc emptied) and the request gets
# 407. Load: each round, requests with correct digest credentials for
# known origin objects (curl --proxy-digest, a fresh nonce each); a
# request counts as ok only if the body is the object's. After a crash the
# drive waits for the new worker before the load requests.
set -u
cmd=${1:-}
shift || true

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
start)
	run=$1 pdir=$2
	pdir=$(cd "$pdir" && pwd)
	mkdir -p "$pdir/var" "$pdir/www"
	chown nobody:nogroup "$pdir/var"
	# The origin: GET /obj/N answers "object N".
	cat >"$pdir/origin.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if not self.path.startswith("/obj/"):
            self.send_error(404)
            return
        body = ("object %s\n" % self.path[5:]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write("%d\n" % s.server_address[1])
s.serve_forever()
EOF
	rm -f "$pdir/origin.port"
	setsid python3 "$pdir/origin.py" "$pdir/origin.port" >"$pdir/origin.log" 2>&1 &
	echo $! >"$pdir/origin.pid"
	for _ in $(seq 100); do [ -s "$pdir/origin.port" ] && break; sleep 0.1; done
	[ -s "$pdir/origin.port" ] || { echo "origin did not start"; exit 1; }
	port=$(free_port)
	echo "$port" >"$pdir/port"
	printf 'alice:secret\n' >"$pdir/passwd"
	chmod 644 "$pdir/passwd"
	cat >"$pdir/squid.conf" <<EOF
http_port 127.0.0.1:$port
visible_hostname xsplice-corpus
pid_filename $pdir/var/squid.pid
cache_log $pdir/var/cache.log
access_log stdio:$pdir/var/access.log
cache_store_log none
coredump_dir $pdir/var
cache_effective_user nobody
cache_effective_group nogroup
pinger_enable off
cache deny all
cache_mem 8 MB
max_filedescriptors 1024
workers 1
hopeless_kid_revival_delay 1 second
shutdown_lifetime 1 second
auth_param digest program $run/src/auth/digest/file/digest_file_auth $pdir/passwd
auth_param digest children 2 startup=1 idle=1
auth_param digest realm xsplice
auth_param digest nonce_strictness off
acl authed proxy_auth REQUIRED
http_access allow authed
http_access deny all
EOF
	# Started as root: squid switches to cache_effective_user itself.
	setsid "$run/src/squid" -f "$pdir/squid.conf" --foreground >"$pdir/squid.out" 2>&1 &
	master=$!
	echo "$master" >"$pdir/master.pid"
	# Up when an authenticated request is answered by the origin.
	for _ in $(seq 300); do
		body=$(curl -s --max-time 2 --proxy-digest -U alice:secret -x "127.0.0.1:$port" \
			"http://127.0.0.1:$(cat "$pdir/origin.port")/obj/0" 2>/dev/null)
		[ "$body" = "object 0" ] && break
		kill -0 "$master" 2>/dev/null || { echo "squid exited"; tail -5 "$pdir/var/cache.log"; exit 1; }
		sleep 0.1
	done
	[ "$body" = "object 0" ] || { echo "squid does not answer"; tail -5 "$pdir/var/cache.log"; exit 1; }
	echo "$master" >"$pdir/pids"
	echo "squid master $master (worker $(pgrep -P "$master" | head -1)), port $port"
	;;
drive)
	pdir=$1 mode=${2:-digest-nc}
	[ "$mode" = digest-nc ] || { echo "unknown mode $mode" >&2; exit 2; }
	port=$(cat "$pdir/port") oport=$(cat "$pdir/origin.port")
	log=$pdir/var/cache.log
	nc=$(printf '0%.0s' $(seq 64))
	ok=0 bad=0 i=0
	deaths() { grep -c 'exited due to signal' "$log" 2>/dev/null || true; }
	load_one() { # an authenticated request for object N: is the body right?
		local body
		body=$(curl -s --max-time 5 --proxy-digest -U alice:secret -x "127.0.0.1:$port" \
			"http://127.0.0.1:$oport/obj/$1" 2>/dev/null)
		[ "$body" = "object $1" ]
	}
	while :; do
		d0=$(deaths)
		code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -x "127.0.0.1:$port" \
			-H "Proxy-Authorization: Digest username=\"alice\", realm=\"xsplice\", nonce=\"MTIzNDU2Nzg5MA\", uri=\"http://127.0.0.1:$oport/obj/1\", qop=auth, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", nc=$nc" \
			"http://127.0.0.1:$oport/obj/1" 2>/dev/null)
		rc=$?
		# The master logs the worker's death right after it happens.
		for _ in $(seq 20); do [ "$(deaths)" != "$d0" ] && break; sleep 0.05; done
		d1=$(deaths)
		if [ "$d1" != "$d0" ]; then
			sig=$(grep 'exited due to signal' "$log" | tail -1 | sed -n 's/.*signal \([0-9]*\).*/\1/p')
			result="crash (worker killed by signal $sig, restarted by the master)"
			# Wait for the new worker; these waits are not load.
			for _ in $(seq 200); do load_one 0 && break; sleep 0.1; done
		elif [ "$code" = 407 ]; then
			result="rejected (407, invalid nc)"
		else
			result="answered $code (curl exit $rc)"
		fi
		for _ in 1 2 3; do
			i=$((i + 1))
			if load_one "$i"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		done
		echo "repro: $result  load: $ok ok, $bad bad"
		sleep 0.2
	done
	;;
stop)
	pdir=$1
	if [ -s "$pdir/master.pid" ]; then
		m=$(cat "$pdir/master.pid")
		kill -TERM "$m" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- -"$m" 2>/dev/null
	fi
	[ -s "$pdir/origin.pid" ] && kill -- -"$(cat "$pdir/origin.pid")" 2>/dev/null
	exit 0
	;;
*)
	echo "usage: $0 start RUNDIR PDIR MODE | drive PDIR MODE | stop PDIR" >&2
	exit 2
	;;
esac
