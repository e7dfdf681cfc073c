#!/bin/bash
# haproxy (Debian's haproxy) with the agent, under ab, in two modes:
#   foreground     haproxy -db -f CFG          (one process serves)
#   master-worker  the unit's ExecStart: haproxy -Ws -f CFG -p PIDFILE
#                  -S MASTER.sock (master + a forked worker that serves)
# The configuration keeps the package's global settings that matter for the
# process (chroot /var/lib/haproxy, user haproxy, group haproxy) and answers
# every request itself (http-request return), so no backend is needed.
#
# haproxy.service settings: no User=/sandboxing in the unit (haproxy drops
#   to user haproxy and chroots itself, from the configuration). Emulated:
#   ExecStart, PIDFile (-p), the master socket (-S, in a RuntimeDirectory-like
#   dir). Not emulated: BindReadOnlyPaths=/dev/log (no syslog here: the
#   configuration logs nowhere), Type=notify (no NOTIFY_SOCKET), KillMode=
#   mixed, EnvironmentFile=/etc/default/haproxy (empty by default). A loopback
#   port instead of the package's frontends.
#
# usage: haproxy.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
need_pkg haproxy /usr/sbin/haproxy
need_pkg apache2-utils /usr/bin/ab

run_mode() {
	local mode=$1 main
	PORT=$(free_port)
	runtime_dir "haproxy-$mode" root 0755
	local pidfile=$RUNDIR/haproxy.pid cfg=$RUNDIR/haproxy.cfg
	cat >"$cfg" <<CFG
global
	chroot /var/lib/haproxy
	user haproxy
	group haproxy
	maxconn 256
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fe
	bind 127.0.0.1:$PORT
	http-request return status 200 content-type text/plain string "xsplice-haproxy"
CFG
	local args
	DM_LOG=$WORK/haproxy-$mode.log
	if [ "$mode" = foreground ]; then
		args=(-db -f "$cfg")
	else
		args=(-Ws -f "$cfg" -p "$pidfile" -S "$RUNDIR/haproxy-master.sock")
	fi
	# shellcheck disable=SC2046
	$(agent_env "$AGENT_DIR") /usr/sbin/haproxy "${args[@]}" >"$WORK/haproxy-$mode.log" 2>&1 &
	main=$!
	track_pid "$main"
	if ! wait_listen "$PORT" 10; then
		fail "haproxy ($mode) starts and listens on 127.0.0.1:$PORT"
		diag "$(tail -n 20 "$WORK/haproxy-$mode.log")"
		return
	fi
	local procs
	if [ "$mode" = master-worker ]; then
		wait_for 5 test -n "$(pgrep -P "$main")"
		local w
		w=$(pgrep -P "$main" | head -n1)
		if [ -n "$w" ] && [ "$(proc_user "$w")" = haproxy ]; then
			pass "haproxy ($mode): master $main, worker $w runs as haproxy"
		else
			fail "haproxy ($mode): master $main, worker runs as haproxy"
			diag "children: $(ps -o pid=,user=,args= --ppid "$main")"
		fi
	else
		# haproxy sets no_new_privs itself (no insecure-fork-wanted)
		check_process "$main" "haproxy ($mode)" haproxy 1 0
	fi
	procs=$(serving_pids "$main")
	pass "haproxy ($mode) pid $main listens on 127.0.0.1:$PORT; processes: $(echo $procs)"
	load_start "haproxy-$mode" ab_run "http://127.0.0.1:$PORT/" 2000
	local p
	for p in $procs; do
		if [ "$mode" = master-worker ]; then
			[ "$p" = "$main" ] && patch_all "haproxy ($mode) master" "$p" ||
				patch_all "haproxy ($mode) worker" "$p"
		else
			patch_all "haproxy ($mode)" "$p"
		fi
	done
	load_stop "haproxy-$mode" "haproxy ($mode) under ab while patching"
	if alive "$main" && [ "$(http_body "http://127.0.0.1:$PORT/")" = xsplice-haproxy ] &&
		[ "$(echo $(serving_pids "$main"))" = "$(echo $procs)" ]; then
		pass "haproxy ($mode) still answers correctly, with the same processes"
	else
		fail "haproxy ($mode) still answers correctly, with the same processes"
		diag "GET: $(http_body "http://127.0.0.1:$PORT/"); processes now: $(echo $(serving_pids "$main")) (were $(echo $procs))"
		diag "$(tail -n 20 "$WORK/haproxy-$mode.log")"
	fi
	kill_daemons
}

run_mode foreground
run_mode master-worker
dm_done
