#!/bin/bash
# dnsmasq, the real service (program mode, tests/corpus/README.md): the
# dnsmasq built from the tree, started as its unit does (it forks, the
# child serves and drops to user dnsmasq; the pid file names it), without
# the agent: dnsmasq closes every inherited fd at start-up, the agent is
# attached afterwards. A DNS server on a loopback port with --add-subnet
# (EDNS client subnet), forwarding ecs.test to a fake upstream
# (dns-upstream.py) whose replies carry a mismatching client-subnet option.
#
# Reproducer (CVE-2026-4893, mode ecs-mismatch): a query for a fresh name
# under ecs.test. Unpatched dnsmasq passes the OPT record's length instead
# of the packet's to check_source, which then always says "matches": the
# client gets the upstream's answer ("accepted 10.9.8.7"). Patched, dnsmasq
# discards the reply and logs "subnet option mismatch" ("discarded: ...").
# Load: dig batches of 100 queries for names of a local hosts file
# (addn-hosts), every answer checked.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=prog-lib.sh
source "$here/prog-lib.sh"

prog_start() {
	local tree=$1 dir=$2 port uport pid
	command -v dig >/dev/null || { echo "dig missing (bind9-dnsutils)"; return 1; }
	port=$(free_port) uport=$(free_port)
	echo "$port" >"$dir/port"
	python3 "$here/dns-upstream.py" "$uport" >"$dir/upstream.log" 2>&1 &
	echo $! >"$dir/aux-pids"
	chmod 0755 "$dir"
	for i in $(seq 100); do echo "127.0.$((i / 250)).$((i % 250 + 1)) h$i.load.test"; done \
		>"$dir/hosts"
	for i in $(seq 100); do echo "h$i.load.test A"; done >"$dir/dig.batch"
	for i in $(seq 100); do echo "127.0.$((i / 250)).$((i % 250 + 1))"; done >"$dir/dig.expect"
	: >"$dir/dnsmasq.log"
	chmod 0666 "$dir/dnsmasq.log"
	cat >"$dir/dnsmasq.conf" <<CONF
port=$port
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts
addn-hosts=$dir/hosts
server=/ecs.test/127.0.0.1#$uport
add-subnet=24
log-facility=$dir/dnsmasq.log
CONF
	"$tree/debian/auto-build/dnsmasq-base/dnsmasq" --test -C "$dir/dnsmasq.conf" ||
		{ echo "dnsmasq --test refuses the configuration"; return 1; }
	"$tree/debian/auto-build/dnsmasq-base/dnsmasq" -x "$dir/dnsmasq.pid" -u dnsmasq \
		-C "$dir/dnsmasq.conf" </dev/null >"$dir/dnsmasq.out" 2>&1 ||
		{ echo "dnsmasq exited $?"; cat "$dir/dnsmasq.out"; return 1; }
	wait_for 10 test -s "$dir/dnsmasq.pid" || { echo "no pid file"; return 1; }
	pid=$(cat "$dir/dnsmasq.pid")
	echo "$pid" >"$dir/pids"
	wait_for 10 dig @127.0.0.1 -p "$port" +short +tries=1 +time=1 h1.load.test A ||
		{ echo "dnsmasq does not answer on $port"; cat "$dir/dnsmasq.log"; return 1; }
	echo "dnsmasq $pid (user $(ps -o user= -p "$pid")) on 127.0.0.1:$port, upstream on $uport"
}

repro_once() {
	local dir=$1 port out n0 n1
	port=$(cat "$dir/port")
	n0=$(grep -c 'subnet option mismatch' "$dir/dnsmasq.log")
	out=$(dig @127.0.0.1 -p "$port" +short +tries=1 +time=1 "r$RANDOM$RANDOM.ecs.test" A 2>&1)
	if [[ $out =~ ^[0-9.]+$ ]]; then
		echo "accepted $out"
		return
	fi
	sleep 0.2
	n1=$(grep -c 'subnet option mismatch' "$dir/dnsmasq.log")
	if [ "$n1" -gt "$n0" ]; then
		echo "discarded: no answer, dnsmasq logged 'subnet option mismatch'"
	else
		echo "no answer: $(tr '\n' ' ' <<<"$out" | cut -c1-80)"
	fi
}

load_batch() {
	local dir=$1 port out n right
	port=$(cat "$dir/port")
	out=$(timeout -k 5 60 dig @127.0.0.1 -p "$port" +short +tries=1 +time=3 -f "$dir/dig.batch" 2>&1) ||
		{ echo "0 100"; return; }
	n=$(grep -c . <<<"$out")
	right=$(paste -d' ' <(echo "$out") "$dir/dig.expect" | awk '$1 == $2' | wc -l)
	# a missing or extra answer shifts the rest: all of them count wrong
	[ "$n" = 100 ] || right=0
	echo "$right $((100 - right))"
}

prog_main "$@"
