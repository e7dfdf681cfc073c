#!/bin/bash
# Run-time attach into a container (issue 9): the demo target runs in its
# own mount namespace, chrooted into a directory holding only the target
# binary, libc.so.6 and ld.so: no install prefix, no build tree, no
# libxsplice.so, no libunwind, no liblzma. `xsplice attach` loads the agent
# and the libraries it needs from memfds, and the demo's hello payload
# applies: the target answers with the patched value.
source "$(dirname "$0")/lib.sh" "$1"

if [ -n "$ASAN_RUNTIME" ]; then
	echo "1..0 # SKIP the AddressSanitizer agent cannot be loaded into a running process"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	echo "1..0 # SKIP needs root and unshare(1) for a mount namespace and chroot"
	exit 0
fi
# Inside a chroot whose / is not a mount point the kernel cannot make the
# new namespace's mounts private (EINVAL), and shared ones would leak the
# test's mounts to the host: say so instead of failing.
if ! unshare -m --propagation private true 2>"$WORK/unshare.err"; then
	if grep -q "propagation" "$WORK/unshare.err"; then
		echo "1..0 # SKIP a private mount namespace cannot be made here (/ is not a mount point: a chroot?): $(head -1 "$WORK/unshare.err")"
		exit 0
	fi
fi

# ---- the minimal root: the binary, libc, the dynamic loader ----
ROOT=$WORK/root
mkdir -p "$ROOT/bin" "$ROOT/tmp" "$ROOT/proc"
cp "$TARGET" "$ROOT/bin/demo"
for lib in $(ldd "$TARGET" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "$ROOT$(dirname "$lib")"
	cp -L "$lib" "$ROOT$lib"
done
chmod -R a+rX "$ROOT"
diag "the container's files: $(cd "$ROOT" && find . -type f | sort | tr '\n' ' ')"

# ---- the target: own mount namespace, chrooted, started without the agent ----
# (with /proc mounted in it, as every container runtime does: the agent is
# dlopened as /proc/self/fd/N)
TSOCK=$ROOT/tmp/demo.sock
TLOG=$WORK/container.log
env -u XSPLICE_SOCKET_DIR -u LD_PRELOAD unshare -m --propagation private \
	sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" /bin/demo serve /tmp/demo.sock 2' \
	"$ROOT" 2>"$TLOG" &
TPID=$!
STARTED_PIDS+=("$TPID")
if ! wait_for 10 sock_ready "$TSOCK"; then
	echo "Bail out! the container's demo target did not start: $(cat "$TLOG")"
	exit 1
fi
# unshare execs sh, which execs chroot, which execs the target: TPID is it.
# Compared by device and inode: when this test itself runs chrooted, the
# kernel names a root in another mount namespace from the real root
# (/srv/chroot/tmp/... for our /tmp/...), and the maps below likewise.
same_root() { [ "$(stat -L -c %d:%i "/proc/$TPID/root" 2>/dev/null)" = "$(stat -c %d:%i "$ROOT")" ]; }
wait_for 5 same_root
check "the target runs chrooted in the minimal root" same_root
SEEN_ROOT=$(readlink "/proc/$TPID/root")
check "the target has its own mount namespace" \
	[ "$(readlink "/proc/$TPID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
found=$(find "/proc/$TPID/root/" -path "/proc/$TPID/root/proc" -prune -o -print 2>/dev/null | grep -Ei 'libunwind|liblzma|xsplice' || true)
check "its filesystem has no libunwind, liblzma or xsplice file" [ -z "$found" ]
[ -z "$found" ] || diag "found: $found"
check "the install prefix and build tree are not visible to it" \
	bash -c "[ ! -e /proc/$TPID/root$AGENT ] && [ ! -e /proc/$TPID/root$BUILD ]"
check "no agent in it yet" bash -c "! grep -q memfd:xsplice /proc/$TPID/maps"
diag "the agent's dependencies here: $(ldd "$AGENT" | awk '{ print $1 }' | tr '\n' ' ')"

xs attach "$TPID"
expect_rc 0 "attach to the container's target"
diag "$OUT$ERR"
check "the agent is mapped from a memfd" grep -q "memfd:xsplice-agent" "/proc/$TPID/maps"
for dep in $(ldd "$AGENT" | awk '{ print $1 }' | grep -Ev '^(linux-vdso|libc\.so|/.*ld-linux|libm\.so|libdl\.so|libpthread\.so)'); do
	check "$dep is carried in from a memfd" grep -q "memfd:xsplice-lib-$dep" "/proc/$TPID/maps"
done
# (paths in its maps are named as its root is: its files are under it)
outside=$(awk '$6 ~ /^\// && $6 !~ /^\/memfd:/ { print $6 }' "/proc/$TPID/maps" | grep -v "^$SEEN_ROOT/" | sort -u)
check "every file mapped in it is its own (the agent and libraries are memfds)" [ -z "$outside" ]
[ -z "$outside" ] || diag "mapped from outside its root: $outside"
check "nothing of the attach stays open in it" bash -c "! ls -l /proc/$TPID/fd | grep -q memfd"
check "TracerPid is 0" grep -Eq '^TracerPid:.0$' "/proc/$TPID/status"

xsp list
expect_rc 0 "its agent answers"
xsp load "$P_HELLO"
expect_rc 0 "load hello into the container's target"
expect_extra "Hello World" "the container's target answers with the patched value"
xsp revert hello
expect_rc 0 "revert hello"
expect_extra "-unstable" "reverted: the original value again"
expect_alive

done_testing
