#!/bin/bash
# rsyslogd (Debian's rsyslog) with the agent, receiving syslog over TCP
# (imtcp) on a loopback port and writing every message to a file, under a
# sender of numbered messages; afterwards every message sent must be in the
# file exactly once (zero lost). Two modes:
#   foreground  the unit's ExecStart: rsyslogd -n -iNONE (-f our conf)
#   daemonized  rsyslogd -i PIDFILE (forks; the child serves)
# TCP rather than UDP: loss over UDP under load would not be a client error.
#
# rsyslog.service settings: no User=/sandboxing in the unit. Emulated:
#   ExecStart, LimitNOFILE=16384 (ulimit -n), StandardOutput=null. Not
#   emulated: Requires=syslog.socket (the /dev/log socket unit: our conf
#   has no imuxsock, so the host's /dev/log is untouched), Type=notify,
#   /etc/rsyslog.conf (replaced by -f with our own).
#
# usage: rsyslog.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
need_pkg rsyslog /usr/sbin/rsyslogd

# send_batch PORT N: N numbered messages over one TCP connection.
send_batch() {
	timeout -k 5 60 "$PYTHON" - "$1" "$2" "$WORK/rsyslog-$MODE.sent" <<'PY'
import os, socket, sys
port, n, sent = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
run = sum(1 for _ in open(sent)) if os.path.exists(sent) else 0
s = socket.create_connection(("127.0.0.1", port), timeout=10)
for i in range(n):
    s.sendall(b"<13>Dec  1 00:00:00 xsplicehost xsplicetest: seq %d-%d\n" % (run, i))
s.close()
with open(sent, "a") as f:
    f.write("%d\n" % n)
PY
}

run_mode() {
	local mode=$1 main
	MODE=$mode
	PORT=$(free_port)
	runtime_dir "rsyslog-$mode" root 0755
	DM_LOG=$WORK/rsyslog-$mode.log
	local pidfile=$RUNDIR/rsyslogd.pid conf=$RUNDIR/rsyslog.conf out=$RUNDIR/out.log
	cat >"$conf" <<CONF
global(workDirectory="$RUNDIR")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$PORT")
template(name="raw" type="string" string="%msg%\n")
if \$programname == 'xsplicetest' then action(type="omfile" file="$out" template="raw")
CONF
	if ! /usr/sbin/rsyslogd -N1 -f "$conf" >"$DM_LOG" 2>&1; then
		fail "rsyslogd ($mode): rsyslogd -N1 accepts the configuration"
		diag "$(cat "$DM_LOG")"
		return
	fi
	local args
	if [ "$mode" = foreground ]; then
		args=(-n -iNONE -f "$conf")
	else
		args=(-i "$pidfile" -f "$conf")
		track_pidfile "$pidfile"
	fi
	(
		ulimit -n 16384
		# shellcheck disable=SC2046
		exec $(agent_env "$AGENT_DIR") /usr/sbin/rsyslogd "${args[@]}"
	) >/dev/null 2>>"$DM_LOG" &
	local launcher=$!
	track_pid "$launcher"
	if [ "$mode" = foreground ]; then
		main=$launcher
		wait_listen "$PORT" 10
	else
		main=$(wait_pidfile "$pidfile" 10) && wait_listen "$PORT" 10
	fi
	if [ $? != 0 ] || [ -z "$main" ]; then
		fail "rsyslogd ($mode) starts and listens on 127.0.0.1:$PORT"
		diag "$(tail -n 20 "$DM_LOG")"
		return
	fi
	track_pid "$main"
	pass "rsyslogd ($mode) pid $main listens on 127.0.0.1:$PORT"
	if [ "$mode" = daemonized ]; then
		[ "$main" != "$launcher" ] && pass "rsyslogd ($mode): the serving process $main is a fork child, not the launched $launcher" ||
			fail "rsyslogd ($mode) daemonized"
	fi
	load_start "rsyslog-$mode" send_batch "$PORT" 2000
	patch_all "rsyslogd ($mode)" $(serving_pids "$main")
	load_stop "rsyslog-$mode" "rsyslogd ($mode) under a TCP syslog sender while patching"
	send_batch "$PORT" 10 >/dev/null 2>&1
	local want got=0 uniq
	want=$(awk '{ s += $1 } END { print s + 0 }' "$WORK/rsyslog-$mode.sent" 2>/dev/null)
	for _ in $(seq 300); do
		got=$(grep -c 'seq ' "$out" 2>/dev/null)
		[ "${got:-0}" -ge "$want" ] && break
		sleep 0.05
	done
	uniq=$(grep 'seq ' "$out" 2>/dev/null | sort -u | wc -l)
	if alive "$main" && [ "$want" -gt 0 ] && [ "$got" = "$want" ] && [ "$uniq" = "$want" ]; then
		pass "rsyslogd ($mode) pid $main wrote all $want messages, each once"
	else
		fail "rsyslogd ($mode) pid $main wrote all $want messages, each once"
		diag "sent $want, lines $got, distinct $uniq"
		diag "$(tail -n 20 "$DM_LOG")"
	fi
	kill_daemons
}

run_mode foreground
run_mode daemonized
dm_done
