#!/bin/bash
# Python's http.server (Debian's python3, /usr/bin/python3: the interpreter
# is the target) with the agent, under ab. Foreground only: http.server
# does not daemonize. `python3 -m http.server` is a ThreadingHTTPServer, so
# a thread is born and dies per connection while the patching goes on.
#
# There is no unit: it runs the way a minimal hardened unit would run it,
# User=nobody (setpriv --reuid=nobody --regid=nogroup --init-groups) and
# NoNewPrivileges=yes (setpriv --no-new-privs), with a RuntimeDirectory-like
# dir for the agent's socket. MemoryDenyWriteExecute= is not set: CPython
# does not need W+X memory, but nothing in Debian asks for it either.
#
# usage: python_http.sh BUILD_DIR
source "$(dirname "$0")/lib.sh" "$1"
need_pkg python3-minimal /usr/bin/python3
need_pkg apache2-utils /usr/bin/ab

DOC=$WORK/www
mkdir -p "$DOC"
echo "xsplice-python" >"$DOC/index.html"
chmod -R a+rX "$DOC"

PORT=$(free_port)
runtime_dir python-http nobody 0755
DM_LOG=$WORK/python-http.log
# shellcheck disable=SC2046
setpriv --reuid=nobody --regid=nogroup --init-groups --no-new-privs \
	$(agent_env "$AGENT_DIR") /usr/bin/python3 -m http.server --bind 127.0.0.1 \
	--directory "$DOC" "$PORT" >"$DM_LOG" 2>&1 &
main=$!
track_pid "$main"
if ! wait_listen "$PORT" 10; then
	fail "python3 http.server starts and listens on 127.0.0.1:$PORT"
	diag "$(tail -n 20 "$DM_LOG")"
	dm_done
fi
pass "python3 http.server pid $main listens on 127.0.0.1:$PORT"
check_process "$main" "python3 http.server" nobody 1 0
load_start python ab_run "http://127.0.0.1:$PORT/index.html" 1000
patch_all "python3 http.server" $(serving_pids "$main")
load_stop python "python3 http.server under ab while patching"
if alive "$main" && [ "$(http_body "http://127.0.0.1:$PORT/index.html")" = xsplice-python ]; then
	pass "python3 http.server pid $main still answers correctly"
else
	fail "python3 http.server pid $main still answers correctly"
	diag "GET: $(http_body "http://127.0.0.1:$PORT/index.html")"
	diag "$(tail -n 20 "$DM_LOG")"
fi
kill_daemons
dm_done
