#!/bin/bash
# The operator workflow (issue 9): payloads installed in the patch
# directory with `xsplice install` are applied by the agent to every
# process started afterwards with it preloaded, before main (the demo
# target's `version` mode calls the patched function first thing in main
# and prints it), stacked ones in dependency order, including fork children
# and programs that exec themselves; payloads for other programs, bad-marked,
# corrupt and unsafe ones are not applied; install/uninstall errors and
# their exit codes; a run-time attach applies nothing by itself.
source "$(dirname "$0")/lib.sh" "$1"

export XSPLICE_PATCH_DIR=$WORK/patches
PD=$XSPLICE_PATCH_DIR

# run_version [BINARY]: BINARY version with the agent preloaded; OUT = its
# stdout, VLOG = its stderr (the agent's log), VRC = its exit code.
VN=0
run_version() {
	local bin=${1:-$TARGET}
	VN=$((VN + 1))
	VLOG=$WORK/version$VN.log
	OUT=$(LD_PRELOAD=$AGENT_PRELOAD timeout 20 "$bin" version 2>"$VLOG")
	VRC=$?
	VERR=$(cat "$VLOG")
}

expect_version() {
	if [ "$VRC" = 0 ] && [ "$OUT" = "xen_extra : $1" ]; then
		pass "$2"
	else
		fail "$2"
		diag "expected 'xen_extra : $1', exit 0; got '$OUT', exit $VRC"
		diag "agent log: $VERR"
	fi
}

# log_has TEXT DESC / log_lacks TEXT DESC: the agent's log of the last run.
log_has() {
	if [[ "$VERR" == *"$1"* ]]; then pass "$2"; else fail "$2"; diag "log: $VERR"; fi
}
log_lacks() {
	if [[ "$VERR" != *"$1"* ]]; then pass "$2"; else fail "$2"; diag "log: $VERR"; fi
}

# ---- nothing installed ----
run_version
expect_version "-unstable" "no patch directory: the program runs unpatched"
check "no patch directory: the agent logs nothing" [ -z "$VERR" ]

# ---- install errors ----
xs install "$P_HELLO" --name "a/b"
expect_rc 2 "install --name with '/': usage error (exit 2)"
expect_err "contains '/'" "install names the bad character"
xs install "$P_HELLO" --name ".hidden"
expect_rc 2 "install --name starting with '.': exit 2"
xs install "$TARGET"
expect_rc 4 "install of a program (not a payload): refused, exit 4"
expect_err "not a payload" "install says the file is not a payload"
echo "just text" >"$WORK/text.livepatch"
xs install "$WORK/text.livepatch"
expect_rc 4 "install of a text file: exit 4"
expect_err "not an ELF file" "install says it is not ELF"
xs install "$WORK/missing.livepatch"
expect_rc 3 "install of a missing file: exit 3"
check "failed installs left nothing in the patch directory" \
	bash -c "[ ! -e '$PD' ] || [ -z \"\$(ls -A '$PD')\" ]"
mkdir -p "$WORK/rootonly"
chmod 755 "$WORK" "$WORK/rootonly"
chmod o+r "$P_HELLO"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	LAST_CMD="setpriv nobody: xsplice install into a root-owned directory"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$XSPLICE" --patch-dir "$WORK/rootonly/p" install "$P_HELLO" >"$WORK/out" 2>"$WORK/err"
	RC=$? OUT=$(cat "$WORK/out") ERR=$(cat "$WORK/err")
	expect_rc 1 "install into a directory the user cannot write: exit 1"
	expect_err "Permission denied" "install says why (permission)"
else
	pass "# SKIP unwritable directory (needs root and setpriv)"
	pass "# SKIP unwritable directory (needs root and setpriv)"
fi
chmod 700 "$WORK"

# ---- install, then a new process gets it before main ----
xs install "$P_HELLO"
expect_rc 0 "xsplice install hello.livepatch"
expect_out "Installed" "install says what it did"
check "installed as hello.livepatch, mode 0644" \
	[ "$(stat -c %a "$PD/hello.livepatch")" = 644 ]
check "the patch directory was created 0755" [ "$(stat -c %a "$PD")" = 755 ]
run_version
expect_version "Hello World" "a program started after the install runs the patched function on its first call in main"
log_has "applied installed payload hello" "the agent logs what it applied"

# A service started afterwards has it APPLIED, like one patched by a client.
start_target 4
expect_extra "Hello World" "a demo service started after the install serves the patched value"
expect_list "hello:APPLIED" "the service lists the installed payload as APPLIED"
xsp revert hello
expect_rc 0 "an installed payload applied at start can be reverted like any other"
expect_extra "-unstable" "reverted: the service answers the original again"
stop_pid "$TPID"

# ---- stacking: dependency order, not name order ----
xs install "$P_BYE"
expect_rc 0 "install bye.livepatch (stacked on hello)"
run_version
expect_version "Bye World" "hello and bye stacked: the program starts with bye's function"
hello_line=$(grep -n "applied installed payload hello " "$VLOG" | cut -d: -f1)
bye_line=$(grep -n "applied installed payload bye " "$VLOG" | cut -d: -f1)
check "hello (the base) is applied before bye, although 'bye' sorts first" \
	test "${hello_line:-0}" -gt 0 -a "${bye_line:-0}" -gt "${hello_line:-0}"

# ---- a payload for another program ----
xs install "$P_OTHER"
expect_rc 0 "install a payload built for another program"
run_version
expect_version "Bye World" "the other program's payload changes nothing here"
log_lacks "hello-other-build" "and the agent says nothing about it in this process"
run_version "$TARGET_OTHER"
expect_version "Hello World" "the other program gets its payload"
log_lacks "bye" "the other program gets nothing of the demo target's stack"
xs uninstall hello-other-build
expect_rc 0 "uninstall hello-other-build"

# ---- fork and exec: a daemon that re-executes itself ----
OUT=$(LD_PRELOAD=$AGENT_PRELOAD timeout 20 "$TARGET" respawn 2 2>"$WORK/respawn.log")
n_lines=$(grep -c "xen_extra : " <<<"$OUT")
n_bye=$(grep -c "xen_extra : Bye World" <<<"$OUT")
check "respawn 2: parent, 2 fork children and 2 exec'd programs print (5 lines)" [ "$n_lines" = 5 ]
check "every one of them, fork children and exec'd programs, runs the patched code" \
	[ "$n_bye" = 5 ]
check "each exec'd program applied the payloads itself (3 starts, 2 payloads each)" \
	[ "$(grep -c "applied installed payload" "$WORK/respawn.log")" = 6 ]
[ "$n_bye" = 5 ] || diag "$OUT"

# ---- marked bad ----
printf 'crashes the service\n2026-01-01T00:00:00Z\n' >"$PD/hello.bad"
run_version
expect_version "-unstable" "hello marked bad: not applied, nor bye stacked on it"
log_has "hello ($PD/hello.livepatch) not applied: it is marked bad" "the agent says hello is marked bad"
log_has "bye ($PD/bye.livepatch) not applied: it stacks on hello" "the agent says why bye is not applied"
rm -f "$PD/hello.bad"

# ---- corrupt files are skipped, the rest applies, the process runs ----
echo "garbage" >"$PD/garbage.livepatch"
head -c 600 "$P_HELLO" >"$PD/truncated.livepatch"
chmod 644 "$PD/garbage.livepatch" "$PD/truncated.livepatch"
run_version
expect_version "Bye World" "corrupt installed files: the good payloads still apply"
log_has "garbage ($PD/garbage.livepatch) skipped: not an ELF file" "a garbage file is skipped with its reason"
log_has "truncated ($PD/truncated.livepatch) skipped" "a truncated payload is skipped with its reason"
rm -f "$PD/garbage.livepatch" "$PD/truncated.livepatch"

# ---- unsafe files and directories are refused ----
chmod 666 "$PD/bye.livepatch"
run_version
expect_version "Hello World" "a world-writable payload is not applied (the rest is)"
log_has "bye refused: payload file $PD/bye.livepatch is writable by everyone" "the agent says why it refused it"
chmod 644 "$PD/bye.livepatch"
ln -s "$P_REPLACE" "$PD/link.livepatch"
run_version
log_has "link refused: payload file $PD/link.livepatch is a symbolic link" "a symlinked payload is refused"
rm -f "$PD/link.livepatch"
chmod 777 "$PD"
run_version
expect_version "-unstable" "a world-writable patch directory: nothing is applied"
log_has "is writable by everyone" "the agent says the directory is unsafe"
chmod 755 "$PD"
if [ "$(id -u)" = 0 ]; then
	chown 65534 "$PD/bye.livepatch"
	run_version
	log_has "owned by uid 65534, not by root" "a payload owned by another user is refused"
	chown 0 "$PD/bye.livepatch"
else
	pass "# SKIP foreign owner (needs root)"
fi

# ---- switched off, and attach applies nothing by itself ----
OUT=$(XSPLICE_AUTOLOAD=0 LD_PRELOAD=$AGENT_PRELOAD timeout 20 "$TARGET" version 2>/dev/null)
check "XSPLICE_AUTOLOAD=0: nothing applied at start" [ "$OUT" = "xen_extra : -unstable" ]
if [ -z "$ASAN_RUNTIME" ]; then
	TARGET_N=$(( ${TARGET_N:-0} + 1 ))
	TSOCK=$WORK/demo$TARGET_N.sock
	TLOG=$WORK/target$TARGET_N.log
	spawn "$TARGET" serve "$TSOCK" 4 2>"$TLOG"
	TPID=$LAST_PID
	wait_for 10 sock_ready "$TSOCK"
	xs attach "$TPID"
	expect_rc 0 "attach a target started without the agent"
	expect_list "" "an attached agent applies no installed payload by itself (the CLI does)"
	expect_extra "-unstable" "the attached target still serves the original"
	stop_pid "$TPID"
else
	pass "# SKIP attach (the ASan agent cannot be attached)"
	pass "# SKIP attach"
	pass "# SKIP attach"
fi

# ---- uninstall ----
xs uninstall bye
expect_rc 0 "uninstall bye"
xs uninstall bye
expect_rc 3 "uninstall of a name not installed: exit 3"
expect_err "no payload 'bye' is installed" "uninstall says it is not installed"
xs uninstall "../x"
expect_rc 2 "uninstall with a bad name: exit 2"
run_version
expect_version "Hello World" "after uninstalling bye a new start gets hello only"
xs --json install "$P_BYE" --name bye2
check "install --json names the build-id it depends on (hello's)" \
	grep -q "\"depends\": \"$(build_id_of "$P_HELLO")\"" <<<"$OUT"
run_version
expect_version "Bye World" "reinstalled under another name (--name): stacked again"

# ---- verbose: what is skipped as not for this process ----
xs install "$P_OTHER"
OUT=$(XSPLICE_AUTOLOAD=verbose LD_PRELOAD=$AGENT_PRELOAD timeout 20 "$TARGET" version 2>"$WORK/verbose.log")
VERR=$(cat "$WORK/verbose.log")
log_has "installed payload hello-other-build is not for this process" "XSPLICE_AUTOLOAD=verbose names what it skipped"
log_has "3 installed, 2 applied" "and sums up what it did"
xs uninstall hello-other-build

# ---- preloading for services started fresh ----
# /etc/ld.so.preload, in a private mount namespace (never the host's /etc):
# the program is started without LD_PRELOAD and still patched before main.
mkdir -p "$WORK/etc"
cp /etc/ld.so.cache "$WORK/etc/" 2>/dev/null
echo "$AGENT_PRELOAD" >"$WORK/etc/ld.so.preload"
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
	OUT=$(env -u LD_PRELOAD unshare -m --propagation private \
		sh -c 'mount --bind "$1" /etc && exec "$2" version' sh "$WORK/etc" "$TARGET" 2>"$WORK/preload.log")
	VRC=$? VERR=$(cat "$WORK/preload.log")
	expect_version "Bye World" "/etc/ld.so.preload (private mount namespace): started without LD_PRELOAD, patched before main"
else
	pass "# SKIP /etc/ld.so.preload (needs root and mount namespaces)"
fi
# The systemd drop-in example: its syntax, on a demo unit.
if command -v systemd-analyze >/dev/null; then
	UNITS=$WORK/units
	mkdir -p "$UNITS/xsplice-demo.service.d"
	printf '[Unit]\nDescription=xsplice demo target\n[Service]\nExecStart=%s serve %s 4\n' \
		"$TARGET" "$WORK/sd.sock" >"$UNITS/xsplice-demo.service"
	sed "s|=/usr/local/lib/libxsplice.so|=$AGENT|" "$E2E_SRC/../../contrib/systemd/preload.conf.example" \
		>"$UNITS/xsplice-demo.service.d/xsplice-preload.conf"
	SYSTEMD_LOG_LEVEL=debug SYSTEMD_UNIT_PATH=$UNITS: timeout 60 systemd-analyze verify \
		"$UNITS/xsplice-demo.service" >"$WORK/verify.log" 2>&1
	VRC=$?
	VERR=$(cat "$WORK/verify.log")
	check "systemd-analyze verify accepts the unit with the drop-in" [ "$VRC" = 0 ]
	log_has "DropIn Path: $UNITS/xsplice-demo.service.d/xsplice-preload.conf" "systemd reads the drop-in"
	log_has "Environment: LD_PRELOAD=$AGENT" "the drop-in sets LD_PRELOAD to the agent"
	log_lacks "xsplice-preload.conf:" "and systemd has nothing to say about its lines"
else
	for i in 1 2 3 4; do pass "# SKIP systemd-analyze not installed"; done
fi

done_testing
