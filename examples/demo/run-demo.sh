#!/bin/bash
# The seed's demo, live: start the demo target with the agent preloaded and
# patch it while it serves. Prints each command and its real output.
#   run-demo.sh [BUILD_DIR]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
agent=$build/src/agent/libxsplice.so
xsplice=$build/src/cli/xsplice
target=$build/examples/demo/xsplice-demo-target
pdir=$build/examples/demo
work=$(mktemp -d /tmp/xsplice-demo.XXXXXX)
sock=$work/demo.sock
export XSPLICE_SOCKET_DIR=$work/agents

# The exit status is the demo's, not the stopped target's (143).
cleanup() {
  local rc=$?
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

LD_PRELOAD=$agent "$target" serve "$sock" 4 2>"$work/target.log" &
pid=$!
for _ in $(seq 100); do [ -S "$XSPLICE_SOCKET_DIR/$pid.sock" ] && [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$XSPLICE_SOCKET_DIR/$pid.sock" ] || { echo "demo: the agent did not start:"; cat "$work/target.log"; exit 1; }

cd "$pdir"
run() {
  echo "# $*"
  "$@" 2>&1 | sed "s|$pdir/||g" || true
}
info() {
  echo "# xsplice-demo-target query demo.sock info"
  "$target" query "$sock" info
}
xs() { run xsplice -p "$pid" "$@"; }
xsplice() { "$xsplice" "$@"; }

echo "== The demo target (pid $pid) is running with the agent preloaded"
info
xs load hello.livepatch
info
xs revert hello
xs unload hello
info
echo
echo "== bye stacks on hello; replace swaps everything in one step"
xs load hello.livepatch
xs load bye.livepatch
info
xs list
xs upload replace replace.livepatch
xs replace replace
info
xs list
xs revert replace
xs unload replace
xs unload bye
xs unload hello
info
echo
echo "== A payload built for another build of the target is refused"
xs load hello-other-build.livepatch
info
echo
echo "== The target kept serving throughout:"
"$target" query "$sock" ticks
