#!/bin/bash
# redis-server (Debian's redis-server package) with the agent, under
# redis-benchmark, in three modes:
#   foreground  the unit's ExecStart: /etc/redis/redis.conf --supervised
#               systemd --daemonize no
#   daemonized  the same with --daemonize yes (fork, the child serves)
#   attached    foreground, started WITHOUT LD_PRELOAD: the agent is loaded
#               with `xsplice attach` (issue 9), then the same patching
#
# redis-server.service settings:
#   emulated: User=redis Group=redis (setpriv --reuid/--regid/--init-groups),
#     NoNewPrivileges=true (setpriv --no-new-privs), MemoryDenyWriteExecute=true
#     (mdwe_exec: systemd's seccomp filter), CapabilityBoundingSet= (setpriv
#     --bounding-set=-all), UMask=007, LimitNOFILE=65535 (ulimit -n),
#     RuntimeDirectory=redis RuntimeDirectoryMode=2755 (a directory under
#     $WORK/run owned by redis; pidfile, log and the agent's socket dir in it).
#   not emulated (no systemd, and they need mount/user namespaces or a
#     syscall-set database): PrivateTmp, PrivateDevices, ProtectHome,
#     ProtectSystem=strict + ReadWritePaths, PrivateUsers, Protect{Clock,
#     ControlGroups,Hostname,KernelLogs,KernelModules,KernelTunables},
#     ProtectProc=invisible, RemoveIPC, RestrictAddressFamilies,
#     RestrictNamespaces, RestrictRealtime, RestrictSUIDSGID, LockPersonality,
#     SystemCallArchitectures, SystemCallFilter=@system-service ~@privileged
#     @resources, NoExecPaths/ExecPaths. Type=notify: no NOTIFY_SOCKET here
#     (redis logs "NOTIFY_SOCKET not found" and carries on).
#   Ports: a free loopback port instead of 6379; no RDB saves (--save "").
#
# usage: redis.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
need_pkg redis-server /usr/bin/redis-server
need_pkg redis-tools /usr/bin/redis-benchmark /usr/bin/redis-cli

cli() { timeout 10 redis-cli -h 127.0.0.1 -p "$PORT" "$@" 2>&1; }

bench() {
	local out
	out=$(timeout -k 5 60 redis-benchmark -h 127.0.0.1 -p "$PORT" -n 20000 -c 4 -q \
		-t ping,set,get,incr,lpush,lpop 2>&1) || { echo "$out"; return 1; }
	if grep -qi 'error' <<<"$out"; then echo "$out"; return 1; fi
	return 0
}

run_mode() {
	local mode=$1 daemonize=$2 supervised=$3 attach=${4:-} main envs
	PORT=$(free_port)
	runtime_dir "redis-$mode" redis 2755
	DM_LOG=$WORK/redis-$mode.log
	local pidfile=$RUNDIR/redis-server.pid
	track_pidfile "$pidfile"
	# attached: started as the unit starts it, without LD_PRELOAD; the agent
	# comes by `xsplice attach` (issue 9)
	if [ -n "$attach" ]; then
		envs="env -u LD_PRELOAD XSPLICE_SOCKET_DIR=$AGENT_DIR"
	else
		envs=$(agent_env "$AGENT_DIR")
	fi
	(
		umask 007
		ulimit -n 65535
		# shellcheck disable=SC2046
		exec setpriv --reuid=redis --regid=redis --init-groups --no-new-privs \
			--bounding-set=-all "$MDWE" $envs \
			/usr/bin/redis-server /etc/redis/redis.conf --port "$PORT" \
			--bind 127.0.0.1 --dir "$RUNDIR" --logfile "$RUNDIR/redis.log" \
			--pidfile "$pidfile" --save "" --supervised "$supervised" \
			--daemonize "$daemonize"
	) >"$WORK/redis-$mode.log" 2>&1 &
	local launcher=$!
	track_pid "$launcher"
	if ! main=$(wait_pidfile "$pidfile" 10) || ! wait_listen "$PORT" 10; then
		fail "redis-server ($mode) starts and listens on 127.0.0.1:$PORT"
		diag "$(cat "$WORK/redis-$mode.log" "$RUNDIR/redis.log" 2>/dev/null | tail -n 20)"
		return
	fi
	track_pid "$main"
	pass "redis-server ($mode) pid $main listens on 127.0.0.1:$PORT"
	if [ "$daemonize" = yes ]; then
		if [ "$main" != "$launcher" ]; then
			pass "redis-server ($mode): the serving process $main is a fork child, not the launched $launcher"
		else
			fail "redis-server ($mode) daemonized"
		fi
	fi
	check_process "$main" "redis-server ($mode)" redis 1 2
	if [ -n "$attach" ]; then
		if grep -Eq 'libxsplice|xsplice-agent' "/proc/$main/maps"; then
			fail "redis-server ($mode) pid $main started without the agent"
		else
			pass "redis-server ($mode) pid $main started without the agent (no LD_PRELOAD)"
		fi
		xs attach "$main"
		if [ "$RC" = 0 ]; then
			pass "redis-server ($mode): xsplice attach $main: $OUT"
		else
			fail "redis-server ($mode): xsplice attach $main"
			show_last
		fi
	fi
	cli SET xsplice:k before >/dev/null
	load_start "redis-$mode" bench
	patch_all "redis-server ($mode)" $(serving_pids "$main")
	load_stop "redis-$mode" "redis-server ($mode) under redis-benchmark while patching"
	local got
	got=$(cli GET xsplice:k)
	cli SET xsplice:k2 after >/dev/null
	local got2
	got2=$(cli GET xsplice:k2)
	if alive "$main" && [ "$got" = before ] && [ "$got2" = after ] && [ "$(cli PING)" = PONG ]; then
		pass "redis-server ($mode) pid $main still answers correctly (PING, GET, SET)"
	else
		fail "redis-server ($mode) pid $main still answers correctly (PING, GET, SET)"
		diag "GET xsplice:k '$got', GET xsplice:k2 '$got2'"
		diag "$(tail -n 20 "$RUNDIR/redis.log" 2>/dev/null)"
	fi
	kill_daemons
}

run_mode foreground no systemd
run_mode daemonized yes no
run_mode attached no systemd attach
dm_done
