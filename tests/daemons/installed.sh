#!/bin/bash
# A payload installed in the patch directory reaches a real daemon started
# afterwards: nginx started the way its unit starts it (daemon on: the
# launched process forks the master, which forks 2 workers that switch to
# www-data), with the agent preloaded and the libc payload installed with
# `xsplice install`. The launched process applies it before nginx's main;
# the master and the workers, fork children, run patched from their first
# instruction and list it APPLIED; nginx serves.
#
# usage: installed.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
if dpkg-query -W -f='${Status}' nginx-light 2>/dev/null | grep -q "install ok installed"; then
	need_pkg nginx-light /usr/sbin/nginx
else
	need_pkg nginx /usr/sbin/nginx
fi

PD=$WORK/patches
xs --patch-dir "$PD" install "$DM_PAYLOAD"
expect_rc 0 "xsplice install the libc payload"

DOC=$WORK/www
mkdir -p "$DOC"
echo "xsplice-nginx" >"$DOC/index.html"
chmod -R a+rX "$DOC"
PORT=$(free_port)
runtime_dir nginx-installed root 0755
DM_LOG=$WORK/nginx-installed.log
pidfile=$RUNDIR/nginx.pid
conf=$RUNDIR/nginx.conf
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
# shellcheck disable=SC2046
$(agent_env "$AGENT_DIR") XSPLICE_PATCH_DIR="$PD" /usr/sbin/nginx -c "$conf" \
	-g 'daemon on; master_process on;' >"$DM_LOG" 2>&1 &
launcher=$!
track_pid "$launcher"
if ! main=$(wait_pidfile "$pidfile" 10) || ! wait_listen "$PORT" 10; then
	fail "nginx starts and listens on 127.0.0.1:$PORT"
	diag "$(cat "$DM_LOG" "$RUNDIR/error.log" 2>/dev/null | tail -n 20)"
	dm_done
fi
track_pid "$main"
wait_for 5 test "$(pgrep -c -P "$main")" -ge 2
procs=$(serving_pids "$main")
pass "nginx (daemon on) master $main listens on 127.0.0.1:$PORT; processes: $(echo $procs)"
wait "$launcher" 2>/dev/null
check "the launched nginx applied the installed payload at start (its log)" \
	grep -q "applied installed payload $DM_PNAME ($PD/$DM_PNAME.livepatch) to .*libc\.so" "$DM_LOG"
[ -s "$DM_LOG" ] && diag "$(cat "$DM_LOG")"
n=0
for p in $procs; do
	role=worker
	[ "$p" = "$main" ] && role=master
	xs -p "$p" --no-attach --json list
	if [ "$RC" = 0 ] && "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
sys.exit(0 if [(q["name"], q["state"]) for q in v["payloads"]] == [(sys.argv[1], "APPLIED")] else 1)' "$DM_PNAME" <<<"$OUT"; then
		pass "nginx $role $p ($(proc_user "$p")) has $DM_PNAME APPLIED, inherited over fork"
	else
		fail "nginx $role $p has $DM_PNAME APPLIED"
		show_last
	fi
	n=$((n + 1))
done
check "a master and 2 workers were checked" [ "$n" = 3 ]
check "nginx serves its page, patched" [ "$(http_body "http://127.0.0.1:$PORT/index.html")" = xsplice-nginx ]
kill_daemons
dm_done
