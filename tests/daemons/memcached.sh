#!/bin/bash
# memcached (Debian's memcached) with the agent, under a memcached-protocol
# client (set/get/incr with every answer verified), in two modes:
#   foreground  the unit's ExecStart: systemd-memcached-wrapper CONF (the
#               wrapper drops -d and execs memcached in the foreground)
#   daemonized  memcached -d -P PIDFILE (the package's memcached.conf has -d;
#               the forked child serves)
# memcached drops to user memcache itself (-u memcache, from the conf).
#
# memcached.service settings:
#   emulated: NoNewPrivileges=true (setpriv --no-new-privs),
#     MemoryDenyWriteExecute=true (mdwe_exec), CapabilityBoundingSet=
#     CAP_SETGID CAP_SETUID CAP_SYS_RESOURCE (setpriv --bounding-set),
#     PIDFile= (-P, in a RuntimeDirectory-like dir).
#   not emulated (mount namespaces / syscall filters systemd sets up):
#     PrivateTmp, ProtectSystem=full, PrivateDevices, RestrictAddressFamilies,
#     ProtectKernelModules, ProtectKernelTunables, ProtectControlGroups,
#     RestrictRealtime, RestrictNamespaces, Restart=always.
#   Our conf: the package's (-m 64 -u memcache -l 127.0.0.1) with a free
#   loopback port, UDP off, no logfile.
#
# usage: memcached.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
need_pkg memcached /usr/bin/memcached /usr/share/memcached/scripts/systemd-memcached-wrapper

# mc_client PORT N: N rounds of set/get/incr over two connections; any
# wrong or missing answer is an error.
mc_client() {
	timeout -k 5 60 "$PYTHON" - "$1" "$2" <<'PY'
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s, s.makefile("rb")
def cmd(c, line, lines=1):
    s, f = c
    s.sendall(line)
    return [f.readline() for _ in range(lines)]
cs = [conn(), conn()]
cmd(cs[0], b"set ctr 0 0 1\r\n0\r\n")
for i in range(n):
    c = cs[i % 2]
    v = b"value-%d" % i
    r = cmd(c, b"set k%d 0 0 %d\r\n%s\r\n" % (i % 50, len(v), v))
    if r != [b"STORED\r\n"]: sys.exit("set %d: %r" % (i, r))
    r = cmd(c, b"get k%d\r\n" % (i % 50), 3)
    if r != [b"VALUE k%d 0 %d\r\n" % (i % 50, len(v)), v + b"\r\n", b"END\r\n"]:
        sys.exit("get %d: %r" % (i, r))
    r = cmd(c, b"incr ctr 1\r\n")
    if r != [b"%d\r\n" % (i + 1)]: sys.exit("incr %d: %r" % (i, r))
PY
}

mc_check() {
	timeout 10 "$PYTHON" - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5); f = s.makefile("rb")
s.sendall(b"set after 0 0 2\r\nok\r\nget after\r\n")
r = [f.readline() for _ in range(4)]
sys.exit(0 if r == [b"STORED\r\n", b"VALUE after 0 2\r\n", b"ok\r\n", b"END\r\n"] else "answer %r" % r)
PY
}

run_mode() {
	local mode=$1 main
	PORT=$(free_port)
	runtime_dir "memcached-$mode" memcache 0755 root
	local pidfile=$RUNDIR/memcached.pid conf=$RUNDIR/memcached.conf
	{
		[ "$mode" = daemonized ] && echo "-d"
		echo "-m 64"
		echo "-p $PORT"
		echo "-U 0"
		echo "-u memcache"
		echo "-l 127.0.0.1"
		echo "-P $pidfile"
	} >"$conf"
	track_pidfile "$pidfile"
	local run
	DM_LOG=$WORK/memcached-$mode.log
	if [ "$mode" = foreground ]; then
		run=(/usr/share/memcached/scripts/systemd-memcached-wrapper "$conf")
	else
		# what the sysv script start-memcached does: memcached with the conf's options
		# shellcheck disable=SC2207
		run=(/usr/bin/memcached $(cat "$conf"))
	fi
	# The wrapper is perl: the agent would start in perl too; preload it
	# into memcached only (the wrapper execs /usr/bin/memcached with our env).
	# shellcheck disable=SC2046
	setpriv --no-new-privs --bounding-set=-all,+setgid,+setuid,+sys_resource \
		"$MDWE" $(agent_env "$AGENT_DIR") "${run[@]}" >"$WORK/memcached-$mode.log" 2>&1 &
	local launcher=$!
	track_pid "$launcher"
	if ! wait_listen "$PORT" 10 || ! main=$(wait_pidfile "$pidfile" 10); then
		fail "memcached ($mode) starts and listens on 127.0.0.1:$PORT"
		diag "$(tail -n 20 "$WORK/memcached-$mode.log")"
		return
	fi
	track_pid "$main"
	pass "memcached ($mode) pid $main listens on 127.0.0.1:$PORT"
	if [ "$mode" = daemonized ]; then
		[ "$main" != "$launcher" ] && pass "memcached ($mode): the serving process $main is a fork child, not the launched $launcher" ||
			fail "memcached ($mode) daemonized"
	fi
	check_process "$main" "memcached ($mode)" memcache 1 2
	load_start "memcached-$mode" mc_client "$PORT" 3000
	patch_all "memcached ($mode)" $(serving_pids "$main")
	load_stop "memcached-$mode" "memcached ($mode) under set/get/incr while patching"
	if alive "$main" && mc_check "$PORT"; then
		pass "memcached ($mode) pid $main still answers correctly (set, get)"
	else
		fail "memcached ($mode) pid $main still answers correctly (set, get)"
		diag "$(tail -n 20 "$WORK/memcached-$mode.log")"
	fi
	kill_daemons
}

run_mode foreground
run_mode daemonized
dm_done
