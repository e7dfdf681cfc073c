#!/bin/bash
# nginx (Debian's nginx-light, or nginx) with the agent, under ab, in three
# modes:
#   single       daemon off; master_process off  (one process serves)
#   foreground   daemon off; master_process on   (master + 2 workers)
#   unit         the unit's ExecStart: daemon on; master_process on
#                (daemonizes, master + 2 workers; found by the pidfile)
#   attach       foreground, started WITHOUT the agent: `load --all`
#                attaches it to the master and both workers (issue 9)
# In the master/worker modes `xsplice load --all --tree MASTER` then patches
# the master and every worker at once (and revert/unload --all).
# Workers run as www-data (the package's `user www-data;`), the master as root.
#
# nginx.service settings: it has no User=/sandboxing; Type=forking and
#   PIDFile= are emulated (pidfile in a RuntimeDirectory-like dir under
#   $WORK/run), ExecStartPre's `nginx -t` is run too. Not emulated: KillMode=
#   mixed (we stop every process ourselves). Our own nginx.conf (a loopback
#   port instead of 80, a static file, no access log) instead of
#   /etc/nginx/nginx.conf, which listens on port 80 on every address.
#
# usage: nginx.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
if dpkg-query -W -f='${Status}' nginx-light 2>/dev/null | grep -q "install ok installed"; then
	need_pkg nginx-light /usr/sbin/nginx
else
	need_pkg nginx /usr/sbin/nginx
fi
need_pkg apache2-utils /usr/bin/ab

DOC=$WORK/www
mkdir -p "$DOC"
echo "xsplice-nginx" >"$DOC/index.html"
chmod -R a+rX "$DOC"

# fleet_all MODE MAIN ATTACHED PROCS...: load --all over the master and its
# workers; every one patched (attached when ATTACHED=true), then already,
# then revert --all and unload --all.
fleet_all() {
	local mode=$1 main=$2 attached=$3 n
	shift 3
	n=$#
	xs --json load --all --tree "$main" "$DM_PAYLOAD"
	if [ "$RC" = 0 ] && "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
want = sorted(int(p) for p in sys.argv[2:])
got = sorted(r["pid"] for r in v["results"] if r["result"] == "patched")
assert got == want, (got, want)
assert v["summary"]["patched"] == len(want) and v["summary"]["failed"] == 0, v["summary"]
assert all(r["attached"] == (sys.argv[1] == "true") for r in v["results"]), v["results"]
' "$attached" "$@" <<<"$OUT"; then
		pass "nginx ($mode): load --all patches the master and every worker ($n processes$( [ "$attached" = true ] && echo ", each attached"))"
	else
		fail "nginx ($mode): load --all patches the master and every worker ($n processes)"
		show_last
	fi
	if [ "$(http_body "http://127.0.0.1:$PORT/index.html")" = xsplice-nginx ]; then
		pass "nginx ($mode): answers correctly with $DM_PNAME applied everywhere"
	else
		fail "nginx ($mode): answers correctly with $DM_PNAME applied everywhere"
	fi
	xs load --all --tree "$main" "$DM_PAYLOAD"
	if [ "$RC" = 0 ] && [[ "$OUT" == *"0 patched, $n already, 0 skipped, 0 failed"* ]]; then
		pass "nginx ($mode): load --all again: $n already"
	else
		fail "nginx ($mode): load --all again: $n already"
		show_last
	fi
	xs revert --all --tree "$main" "$DM_PNAME"
	if [ "$RC" = 0 ] && [[ "$OUT" == *"$n reverted, 0 already, 0 skipped, 0 failed"* ]]; then
		pass "nginx ($mode): revert --all: $n reverted"
	else
		fail "nginx ($mode): revert --all: $n reverted"
		show_last
	fi
	xs unload --all --tree "$main" "$DM_PNAME"
	if [ "$RC" = 0 ] && [[ "$OUT" == *"$n unloaded, 0 already, 0 skipped, 0 failed"* ]]; then
		pass "nginx ($mode): unload --all: $n unloaded"
	else
		fail "nginx ($mode): unload --all: $n unloaded"
		show_last
	fi
}

run_mode() {
	local mode=$1 globals=$2 agent=${3:-preload} main
	PORT=$(free_port)
	runtime_dir "nginx-$mode" root 0755
	DM_LOG=$WORK/nginx-$mode.log
	local pidfile=$RUNDIR/nginx.pid conf=$RUNDIR/nginx.conf
	cat >"$conf" <<CONF
user www-data;
worker_processes 2;
pid $pidfile;
error_log $RUNDIR/error.log;
events { worker_connections 256; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$PORT;
		root $DOC;
	}
}
CONF
	track_pidfile "$pidfile"
	if ! /usr/sbin/nginx -t -q -c "$conf" -g "$globals" >"$WORK/nginx-$mode.log" 2>&1; then
		fail "nginx ($mode): nginx -t accepts the configuration"
		diag "$(cat "$WORK/nginx-$mode.log")"
		return
	fi
	local launch
	if [ "$agent" = attach ]; then
		launch="env"
	else
		launch=$(agent_env "$AGENT_DIR")
	fi
	# shellcheck disable=SC2086
	$launch /usr/sbin/nginx -c "$conf" -g "$globals" >>"$WORK/nginx-$mode.log" 2>&1 &
	local launcher=$!
	track_pid "$launcher"
	if ! main=$(wait_pidfile "$pidfile" 10) || ! wait_listen "$PORT" 10; then
		fail "nginx ($mode) starts and listens on 127.0.0.1:$PORT"
		diag "$(cat "$WORK/nginx-$mode.log" "$RUNDIR/error.log" 2>/dev/null | tail -n 20)"
		return
	fi
	track_pid "$main"
	local procs
	procs=$(serving_pids "$main")
	# the workers may still be starting
	[ "$mode" != single ] && wait_for 5 test "$(pgrep -c -P "$main")" -ge 2 && procs=$(serving_pids "$main")
	pass "nginx ($mode) pid $main listens on 127.0.0.1:$PORT; processes: $(echo $procs)"
	if [ "$mode" = unit ]; then
		if [ "$main" != "$launcher" ]; then
			pass "nginx ($mode): the master $main is a fork child, not the launched $launcher"
		else
			fail "nginx ($mode): the master daemonized"
		fi
	fi
	if [ "$mode" != single ]; then
		local w
		w=$(pgrep -c -P "$main" -u www-data)
		if [ "$w" = 2 ]; then
			pass "nginx ($mode): 2 workers run as www-data"
		else
			fail "nginx ($mode): 2 workers run as www-data"
			diag "children: $(ps -o pid=,user=,args= --ppid "$main")"
		fi
	fi
	load_start "nginx-$mode" ab_run "http://127.0.0.1:$PORT/index.html" 2000
	local p
	if [ "$agent" = attach ]; then
		if grep -Eq 'libxsplice|xsplice-agent' $(for p in $procs; do echo "/proc/$p/maps"; done) 2>/dev/null; then
			fail "nginx ($mode): started without the agent"
		else
			pass "nginx ($mode): started without the agent"
		fi
		# shellcheck disable=SC2086
		fleet_all "$mode" "$main" true $procs
	else
		for p in $procs; do
			if [ "$p" = "$main" ] && [ "$mode" != single ]; then
				patch_all "nginx ($mode) master" "$p"
			else
				patch_all "nginx ($mode) $( [ "$mode" = single ] && echo server || echo worker)" "$p"
			fi
		done
		# shellcheck disable=SC2086
		[ "$mode" != single ] && fleet_all "$mode" "$main" false $procs
	fi
	load_stop "nginx-$mode" "nginx ($mode) under ab while patching"
	if alive "$main" && [ "$(http_body "http://127.0.0.1:$PORT/index.html")" = xsplice-nginx ] &&
		[ "$(serving_pids "$main" | wc -l)" = "$(echo "$procs" | wc -l)" ]; then
		pass "nginx ($mode) still answers correctly, with the same processes"
	else
		fail "nginx ($mode) still answers correctly, with the same processes"
		diag "GET: $(http_body "http://127.0.0.1:$PORT/index.html"); processes now: $(echo $(serving_pids "$main")) (were $(echo $procs))"
		diag "$(tail -n 20 "$RUNDIR/error.log" 2>/dev/null)"
	fi
	kill_daemons
}

run_mode single 'daemon off; master_process off;'
run_mode foreground 'daemon off; master_process on;'
run_mode unit 'daemon on; master_process on;'
if [ -z "$ASAN_RUNTIME" ]; then
	# (the ASan agent cannot be loaded into a running process: attach.sh)
	run_mode attach 'daemon off; master_process on;' attach
fi
dm_done
