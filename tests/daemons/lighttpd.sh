#!/bin/bash
# lighttpd (Debian's lighttpd) with the agent, under ab, in two modes:
#   foreground  the unit's ExecStart: lighttpd -D -f CONF (Type=simple)
#   daemonized  lighttpd -f CONF (forks; the child serves)
# lighttpd drops to www-data itself (server.username, as the package's
# lighttpd.conf does).
#
# lighttpd.service settings: no User=/sandboxing in the unit. Emulated:
#   ExecStartPre (lighttpd -tt), ExecStart, PIDFile= (server.pid-file in a
#   RuntimeDirectory-like dir). Not emulated: /etc/lighttpd/lighttpd.conf
#   (port 80 on every address, modules we do not need) is replaced by a
#   minimal conf with a loopback port and a static file.
#
# usage: lighttpd.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
need_pkg lighttpd /usr/sbin/lighttpd
need_pkg apache2-utils /usr/bin/ab

DOC=$WORK/www
mkdir -p "$DOC"
echo "xsplice-lighttpd" >"$DOC/index.html"
chmod -R a+rX "$DOC"

run_mode() {
	local mode=$1 main
	PORT=$(free_port)
	runtime_dir "lighttpd-$mode" www-data 0755 root
	DM_LOG=$WORK/lighttpd-$mode.log
	local pidfile=$RUNDIR/lighttpd.pid conf=$RUNDIR/lighttpd.conf
	cat >"$conf" <<CONF
server.document-root = "$DOC"
server.bind = "127.0.0.1"
server.port = $PORT
server.username = "www-data"
server.groupname = "www-data"
server.pid-file = "$pidfile"
server.errorlog = "$RUNDIR/error.log"
index-file.names = ( "index.html" )
CONF
	if ! /usr/sbin/lighttpd -tt -f "$conf" >"$DM_LOG" 2>&1; then
		fail "lighttpd ($mode): lighttpd -tt accepts the configuration"
		diag "$(cat "$DM_LOG")"
		return
	fi
	track_pidfile "$pidfile"
	local args=(-f "$conf")
	[ "$mode" = foreground ] && args=(-D -f "$conf")
	# shellcheck disable=SC2046
	$(agent_env "$AGENT_DIR") /usr/sbin/lighttpd "${args[@]}" >>"$DM_LOG" 2>&1 &
	local launcher=$!
	track_pid "$launcher"
	if ! main=$(wait_pidfile "$pidfile" 10) || ! wait_listen "$PORT" 10; then
		fail "lighttpd ($mode) starts and listens on 127.0.0.1:$PORT"
		diag "$(tail -n 20 "$DM_LOG" "$RUNDIR/error.log" 2>/dev/null)"
		return
	fi
	track_pid "$main"
	pass "lighttpd ($mode) pid $main listens on 127.0.0.1:$PORT"
	if [ "$mode" = daemonized ]; then
		[ "$main" != "$launcher" ] && pass "lighttpd ($mode): the serving process $main is a fork child, not the launched $launcher" ||
			fail "lighttpd ($mode) daemonized"
	fi
	check_process "$main" "lighttpd ($mode)" www-data 0 0
	load_start "lighttpd-$mode" ab_run "http://127.0.0.1:$PORT/index.html" 2000
	patch_all "lighttpd ($mode)" $(serving_pids "$main")
	load_stop "lighttpd-$mode" "lighttpd ($mode) under ab while patching"
	if alive "$main" && [ "$(http_body "http://127.0.0.1:$PORT/")" = xsplice-lighttpd ]; then
		pass "lighttpd ($mode) pid $main still answers correctly"
	else
		fail "lighttpd ($mode) pid $main still answers correctly"
		diag "GET: $(http_body "http://127.0.0.1:$PORT/")"
		diag "$(tail -n 20 "$RUNDIR/error.log" 2>/dev/null)"
	fi
	kill_daemons
}

run_mode foreground
run_mode daemonized
dm_done
