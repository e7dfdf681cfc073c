#!/bin/bash
# Install as a new user would (meson install into a staging directory, as
# `make install PREFIX=...` does into the prefix), then use only what was
# installed: LD_PRELOAD the installed libxsplice.so into the demo target,
# drive it with the installed bin/xsplice, and build a client against the
# installed headers, library and pkg-config file.
source "$(dirname "$0")/lib.sh" "$1"

# meson test points LD_LIBRARY_PATH into the build tree; a new user has none.
unset LD_LIBRARY_PATH
DEST=$WORK/dest
if ! meson install -C "$BUILD" --no-rebuild --destdir "$DEST" --quiet >"$WORK/install.log" 2>&1; then
	fail "meson install --destdir"
	diag "$(cat "$WORK/install.log")"
	done_testing
fi
pass "meson install --destdir"
PREFIX=$(meson introspect "$BUILD" --buildoptions 2>/dev/null |
	"$PYTHON" -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
ROOT=$DEST$PREFIX
diag "installed under $ROOT"
for f in bin/xsplice lib/libxsplice.so lib/libxsplice-ctl.so include/xsplice/xsplice-ctl.h \
	include/xsplice/protocol.h include/xsplice/livepatch.h lib/pkgconfig/xsplice.pc; do
	check "installed $f" [ -e "$ROOT/$f" ]
done
COLL=$ROOT/share/ansible/collections
check "installed the Ansible collection under share/ansible/collections" \
	[ -f "$COLL/ansible_collections/xsplice/livepatch/plugins/modules/payload.py" ]
if command -v ansible-doc >/dev/null; then
	check "ANSIBLE_COLLECTIONS_PATH=PREFIX/share/ansible/collections finds it" \
		bash -c "ANSIBLE_HOME=$WORK/ah ANSIBLE_COLLECTIONS_PATH=$COLL ansible-doc -l xsplice.livepatch 2>/dev/null | grep -q xsplice.livepatch.payload"
fi
check "the installed xsplice does not point into the build directory" \
	eval '! readelf -d "$ROOT/bin/xsplice" | grep -q "$BUILD"'
check "the installed xsplice finds the installed libxsplice-ctl" \
	eval 'ldd "$ROOT/bin/xsplice" | grep -q "$ROOT/bin/../lib/libxsplice-ctl.so\|$ROOT/lib/libxsplice-ctl.so"'

# Use the installed files only.
AGENT=$ROOT/lib/libxsplice.so
XSPLICE=$ROOT/bin/xsplice
if [ -n "$ASAN_RUNTIME" ]; then AGENT_PRELOAD="$ASAN_RUNTIME $AGENT"; else AGENT_PRELOAD=$AGENT; fi
start_target 2
expect_extra "-unstable" "the target runs with the installed agent"
xs --help
expect_rc 0 "installed xsplice --help"
xsp load "$P_HELLO"
expect_rc 0 "installed xsplice: load hello"
expect_extra "Hello World" "Hello World"
xsp list
expect_out "hello" "installed xsplice: list"
xsp revert hello
expect_rc 0 "installed xsplice: revert hello"
xsp unload hello
expect_rc 0 "installed xsplice: unload hello"
expect_extra "-unstable" "-unstable again"

# A client program built against the installed development files.
export PKG_CONFIG_PATH=$ROOT/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST
cat >"$WORK/client.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <xsplice/xsplice-ctl.h>

int main(int argc, char **argv)
{
	struct xs_err err = { "" };
	struct xs_ctl *ctl;
	struct xs_list_entry *e;
	size_t n;
	if (argc != 2 || xs_ctl_connect_pid(atoi(argv[1]), &ctl, &err) ||
	    xs_ctl_list_all(ctl, &e, &n, &err)) {
		fprintf(stderr, "client: %s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s %s\n", e[i].name, xs_state_name(e[i].state));
	free(e);
	xs_ctl_close(ctl);
	return 0;
}
C
cflags=$(pkg-config --cflags --libs xsplice 2>"$WORK/pc.err")
check "pkg-config knows xsplice" [ -n "$cflags" ]
diag "pkg-config: $cflags $(cat "$WORK/pc.err")"
san=
[ -n "$ASAN_RUNTIME" ] && san="-fsanitize=address,undefined"
# shellcheck disable=SC2086
if ${CC:-cc} $san -o "$WORK/client" "$WORK/client.c" $cflags -Wl,-rpath,"$ROOT/lib" 2>"$WORK/cc.err"; then
	pass "a client builds against the installed headers and library"
else
	fail "a client builds against the installed headers and library"
	diag "$(cat "$WORK/cc.err")"
fi
xsp upload hello "$P_HELLO"
out=$("$WORK/client" "$TPID" 2>&1)
check "the client lists the payloads" [ "$out" = "hello CHECKED" ]
diag "client: $out"
xsp unload hello

expect_alive
done_testing
