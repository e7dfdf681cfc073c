#!/bin/bash
# dnsmasq (Debian's dnsmasq / dnsmasq-base) with the agent, as a DNS server
# on a loopback port, under dig (batches of 100 queries, every answer
# checked), in two modes:
#   unit        what the unit's ExecStart (systemd-helper exec) runs:
#               dnsmasq -x PIDFILE -7 /etc/dnsmasq.d,... plus the options;
#               dnsmasq forks by default (Type=forking), the child serves
#   foreground  the same with --keep-in-foreground
# dnsmasq drops to user dnsmasq itself (-u dnsmasq: the helper's default
# DNSMASQ_USER, from /usr/share/dnsmasq/init-system-common).
#
# dnsmasq.service settings: no sandboxing in the unit. Emulated: ExecStart's
#   options, PIDFile= (-x, in a RuntimeDirectory-like dir like /run/dnsmasq).
#   Not emulated: ExecStartPre checkconfig (we run dnsmasq --test instead),
#   ExecStartPost start-resolvconf (it would rewrite the host's resolver),
#   /etc/dnsmasq.conf (replaced by -C with our own: --port, listen on
#   127.0.0.1 only, no upstream, no /etc/hosts, one local name).
#
# usage: dnsmasq.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
need_pkg dnsmasq-base /usr/sbin/dnsmasq
need_pkg bind9-dnsutils /usr/bin/dig

dig_batch() {
	local out n bad
	out=$(timeout -k 5 60 dig @127.0.0.1 -p "$1" +short +tries=1 +time=3 -f "$WORK/dig.batch" 2>&1) ||
		{ echo "$out"; return 1; }
	n=$(grep -c . <<<"$out")
	bad=$(grep -vc '^127\.0\.0\.9$' <<<"$out")
	if [ "$n" != 100 ] || [ "$bad" != 0 ]; then
		echo "$n answers, $bad wrong:"
		echo "$out" | grep -v '^127\.0\.0\.9$' | head -n 5
		return 1
	fi
}
for i in $(seq 100); do echo "q$i.xsplice.test A"; done >"$WORK/dig.batch"

run_mode() {
	local mode=$1 main
	PORT=$(free_port)
	runtime_dir "dnsmasq-$mode" dnsmasq 0755 root
	DM_LOG=$WORK/dnsmasq-$mode.log
	local pidfile=$RUNDIR/dnsmasq.pid conf=$RUNDIR/dnsmasq.conf
	cat >"$conf" <<CONF
port=$PORT
listen-address=127.0.0.1
bind-interfaces
no-resolv
no-hosts

address=/xsplice.test/127.0.0.9
log-facility=$RUNDIR/dnsmasq.syslog
CONF
	touch "$RUNDIR/dnsmasq.syslog"
	if ! /usr/sbin/dnsmasq --test -C "$conf" >"$DM_LOG" 2>&1; then
		fail "dnsmasq ($mode): dnsmasq --test accepts the configuration"
		diag "$(cat "$DM_LOG")"
		return
	fi
	track_pidfile "$pidfile"
	local extra=()
	[ "$mode" = foreground ] && extra=(--keep-in-foreground)
	# shellcheck disable=SC2046
	$(agent_env "$AGENT_DIR") /usr/sbin/dnsmasq -x "$pidfile" -u dnsmasq -C "$conf" \
		-7 /etc/dnsmasq.d,.dpkg-dist,.dpkg-old,.dpkg-new "${extra[@]}" >>"$DM_LOG" 2>&1 &
	local launcher=$!
	track_pid "$launcher"
	if ! main=$(wait_pidfile "$pidfile" 10) || ! wait_listen "$PORT" 10 udp; then
		fail "dnsmasq ($mode) starts and listens on 127.0.0.1:$PORT"
		diag "$(tail -n 20 "$DM_LOG" "$RUNDIR/dnsmasq.syslog")"
		return
	fi
	track_pid "$main"
	pass "dnsmasq ($mode) pid $main listens on 127.0.0.1:$PORT"
	if [ "$mode" = unit ]; then
		[ "$main" != "$launcher" ] && pass "dnsmasq ($mode): the serving process $main is a fork child, not the launched $launcher" ||
			fail "dnsmasq ($mode) forked"
	fi
	check_process "$main" "dnsmasq ($mode)" dnsmasq 0 0
	load_start "dnsmasq-$mode" dig_batch "$PORT"
	patch_all "dnsmasq ($mode)" $(serving_pids "$main")
	load_stop "dnsmasq-$mode" "dnsmasq ($mode) under dig while patching"
	local got
	got=$(timeout 10 dig @127.0.0.1 -p "$PORT" +short +tries=1 +time=3 after.xsplice.test A 2>&1)
	if alive "$main" && [ "$got" = 127.0.0.9 ]; then
		pass "dnsmasq ($mode) pid $main still answers correctly"
	else
		fail "dnsmasq ($mode) pid $main still answers correctly"
		diag "dig after.xsplice.test: '$got'"
		diag "$(tail -n 20 "$DM_LOG" "$RUNDIR/dnsmasq.syslog")"
	fi
	kill_daemons
}

run_mode foreground
run_mode unit
dm_done
