#!/bin/bash
# The corpus: real Debian 12 security fixes, built by xsplice-build from the
# package's own source and build command, applied live to a running program
# (or a harness linking the real library) under load, then reverted
# (tests/corpus/README.md, docs/real-world.md).
#
# usage: tests/corpus/run-corpus.sh MESON_BUILD_DIR [--short] [--tap] [CASE...]
#   --short   the short cases (make check): two cJSON fixes and the
#             libarchive struct-change example (refused, then its live form)
#   --tap     TAP lines for meson (one per step of each case)
#   CASE      names of tests/corpus/cases/*.case (default: all)
# Environment:
#   XSPLICE_CORPUS_WORK  work/cache dir (default tests/corpus/work)
#   MAKE_JOBS            parallel jobs of the package builds (2)
#
# Per case: fetch the source package (apt-get source PKG=VERSION through a
# private apt configuration with deb-src entries derived from the system's
# deb entries: /etc/apt is not changed), baseline = the series up to the
# fix, build it with the package's build command (tests/corpus/build/PKG.sh,
# a replica of debian/rules) under `xsplice-build --wrap`, start the harness
# with the agent preloaded (or, in program mode, harness/HARNESS.sh starts
# the real service without it and drives reproducer and load), check the
# reproducer misbehaves, xsplice-build the fix, `xsplice load` (attaching to
# a program), check it is fixed and the load saw no wrong answer, `xsplice
# revert`, check the old behaviour is back and every process is alive.
# Prints a table and "K of N fixed live" (refusals expected by a negative
# control count as right answers, and are listed apart).
# Exit: 0 every case ended as expected, 1 otherwise, 77 sources unavailable.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 MESON_BUILD_DIR [--short] [--tap] [CASE...]" >&2; exit 2; }
builddir=$(cd "$1" && pwd)
shift
AGENT=$builddir/src/agent/libxsplice.so
XSPLICE=$builddir/src/cli/xsplice
XB=$builddir/src/build/xsplice-build
SHORT=no TAP=no
CASES=()
for a in "$@"; do
	case "$a" in
	--short) SHORT=yes ;;
	--tap) TAP=yes ;;
	*) CASES+=("$a") ;;
	esac
done
if [ ${#CASES[@]} = 0 ]; then
	if [ $SHORT = yes ]; then
		CASES=(cjson-cve-2023-26819 cjson-cve-2023-50472 libarchive-cve-2025-5918
			libarchive-cve-2025-5918-shadow)
	else
		for f in "$here"/cases/*.case; do CASES+=("$(basename "$f" .case)"); done
	fi
fi
WORK=${XSPLICE_CORPUS_WORK:-$here/work}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
LOGS=$WORK/logs
mkdir -p "$LOGS"
export MAKE_JOBS=${MAKE_JOBS:-2}

N=0
say() { [ $TAP = yes ] && echo "# $*" || echo "$*"; }
tap() { # tap ok|not DESCRIPTION
	N=$((N + 1))
	[ $TAP = yes ] || return 0
	if [ "$1" = ok ]; then echo "ok $N - $2"; else echo "not ok $N - $2"; fi
}
skip_all() {
	if [ $TAP = yes ]; then echo "1..0 # SKIP $*"; else echo "SKIP: $*"; fi
	exit 77
}

for f in "$AGENT" "$XSPLICE" "$XB"; do [ -e "$f" ] || skip_all "$f not built"; done
for t in apt-get dpkg-source dpkg-buildflags patch cc; do
	command -v "$t" >/dev/null || skip_all "$t missing"
done

# ------------------------------------------------------------ sources
APT=$WORK/apt
apt_opts=(-q -o Dir::Etc::SourceList="$APT/sources.list.d/xsplice-deb-src.list"
	-o Dir::Etc::SourceParts="$APT/sources.list.d" -o Dir::State::Lists="$APT/lists"
	-o Dir::Cache="$APT/cache" -o APT::Sandbox::User=root)

derive_deb_src() { # deb-src entries for the system's deb entries
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk '
		function flush() {
			if (n && isdeb && !disabled) {
				print "Types: deb-src"
				for (i = 1; i <= n; i++) print lines[i]
				print ""
			}
			n = 0; isdeb = 0; disabled = 0
		}
		/^[ \t]*$/ { flush(); next }
		/^#/ { next }
		/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") isdeb = 1; next }
		/^Enabled:[ \t]*[Nn][Oo]/ { disabled = 1 }
		{ lines[++n] = $0 }
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		sed -n 's/^[ \t]*deb\([ \t]\)/deb-src\1/p' "$f"
	done
}

apt_ready=no
apt_update() {
	[ $apt_ready = yes ] && return 0
	mkdir -p "$APT/sources.list.d" "$APT/lists/partial" "$APT/cache/archives/partial"
	derive_deb_src >"$APT/sources.list.d/xsplice-deb-src.sources"
	: >"$APT/sources.list.d/xsplice-deb-src.list"
	if [ -z "$(find "$APT/lists" -name '*Sources*' -mmin -1440 2>/dev/null | head -1)" ]; then
		timeout 600 apt-get "${apt_opts[@]}" update >"$LOGS/apt-update.log" 2>&1 || return 1
	fi
	apt_ready=yes
}

# fetch PKG VERSION: the extracted pristine tree (no patches) in $PRISTINE
fetch() {
	local pkg=$1 ver=$2 dir=$WORK/pkgs/$1_$2
	PRISTINE=$dir/pristine
	[ -f "$PRISTINE/.complete" ] && return 0
	apt_update || return 1
	rm -rf "$dir"
	mkdir -p "$dir/dl"
	(cd "$dir/dl" && timeout 600 apt-get "${apt_opts[@]}" --download-only source "$pkg=$ver") \
		>"$LOGS/apt-source-$pkg.log" 2>&1 || return 1
	dpkg-source -x --skip-patches "$dir"/dl/*.dsc "$PRISTINE" >"$LOGS/dpkg-source-$pkg.log" 2>&1 ||
		return 1
	touch "$PRISTINE/.complete"
}

patch_files() { sed -n 's/^+++ [ab]\/\([^ \t]*\).*/\1/p' "$1" | sort -u; }
series() { sed -e 's/#.*//' -e 's/[ \t]*$//' -e '/^$/d' "$1/debian/patches/series" | awk '{print $1}'; }

# ------------------------------------------------------------ one case
wait_line() { # wait_line FILE REGEX: a line printed after now matches (60 s)
	local start n
	start=$(wc -l <"$1")
	for _ in $(seq 600); do
		sleep 0.1
		n=$(wc -l <"$1")
		if [ "$n" -gt "$start" ] && tail -n 1 "$1" | grep -Eq -- "$2"; then
			return 0
		fi
	done
	return 1
}
last_repro() { tail -n 1 "$1" | sed -n 's/^repro: \(.*\)  load: .*/\1/p'; }
load_bad() { tail -n 1 "$1" | sed -n 's/.*load: [0-9]* ok, \([0-9]*\) bad$/\1/p'; }
load_ok() { tail -n 1 "$1" | sed -n 's/.*load: \([0-9]*\) ok, .*/\1/p'; }

ROWS=()
fixed=0 total=0 refused_ok=0 controls=0 bad=0
HPID=
# Program mode (harness/HARNESS.sh): the program's script, its work dir and
# the pids to patch (the drive loop is HPID, its own process group).
PROG= PDIR= PSOCK= PPIDS=()

stop_harness() {
	if [ -n "$HPID" ]; then
		if [ -n "$PROG" ]; then
			kill -- -"$HPID" 2>/dev/null
		else
			kill "$HPID" 2>/dev/null
		fi
		wait "$HPID" 2>/dev/null
		HPID=
	fi
	if [ -n "$PROG" ]; then
		timeout 60 "$PROG" stop "$PDIR" >>"$PDIR/stop.log" 2>&1
		PROG= PPIDS=()
	fi
}
trap stop_harness EXIT

# The payload into the target(s): harness mode and a program's single pid,
# `xsplice -p PID load` (which attaches the agent to a program started
# without it); a program with several pids, each of them the same way, or
# with ALL=yes `xsplice load --all --tree FIRST_PID` (every process of the
# service that maps the target, attaching where needed). Then every pid must
# have the payload applied.
load_payload() { # load_payload FILE LOG
	local p rc=0
	if [ -z "$PROG" ]; then
		timeout 60 "$XSPLICE" -p "$HPID" load "$1" >"$2" 2>&1
		return
	fi
	if [ "$ALL" = yes ]; then
		XSPLICE_SOCKET_DIR=$PSOCK timeout 120 "$XSPLICE" load --all --tree "${PPIDS[0]}" "$1" >"$2" 2>&1 || rc=1
	else
		for p in "${PPIDS[@]}"; do
			echo "== pid $p" >>"$2"
			XSPLICE_SOCKET_DIR=$PSOCK timeout 60 "$XSPLICE" -p "$p" load "$1" >>"$2" 2>&1 || { rc=1; break; }
		done
	fi
	for p in "${PPIDS[@]}"; do
		XSPLICE_SOCKET_DIR=$PSOCK timeout 30 "$XSPLICE" --no-attach -p "$p" get "$3" >>"$2" 2>&1 &&
			tail -n 3 "$2" | grep -q APPLIED || { echo "pid $p: $3 not applied" >>"$2"; rc=1; }
	done
	return $rc
}
revert_payload() { # revert_payload NAME LOG
	local p rc=0
	if [ -z "$PROG" ]; then
		timeout 60 "$XSPLICE" -p "$HPID" revert "$1" >"$2" 2>&1
		return
	fi
	if [ "$ALL" = yes ]; then
		XSPLICE_SOCKET_DIR=$PSOCK timeout 120 "$XSPLICE" revert --all --tree "${PPIDS[0]}" "$1" >"$2" 2>&1 || rc=1
	else
		for p in "${PPIDS[@]}"; do
			echo "== pid $p" >>"$2"
			XSPLICE_SOCKET_DIR=$PSOCK timeout 60 "$XSPLICE" --no-attach -p "$p" revert "$1" >>"$2" 2>&1 || rc=1
		done
	fi
	return $rc
}
alive_all() { # the harness, or every pid of the program and its drive loop
	local p
	if [ -z "$PROG" ]; then
		kill -0 "$HPID" 2>/dev/null
		return
	fi
	kill -0 "$HPID" 2>/dev/null || { echo "the drive loop"; return 1; }
	for p in "${PPIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || { echo "pid $p"; return 1; }
	done
}

run_case() {
	local name=$1 cf=$here/cases/$1.case
	# case variables (see README.md)
	local PKG= VERSION= FIX= TARGET= LIB= INCLUDE= HARNESS= MODE= BEFORE= AFTER= EXPECT=fixed
	local REFUSAL= WHAT= ALL=no BASE= PATCH=
	# shellcheck disable=SC1090
	source "$cf" || { ROWS+=("$name|-|-|-|-|bad case file|-|-"); bad=$((bad + 1)); return; }
	local d=$WORK/cases/$name log=$LOGS/$name
	rm -rf "$log"
	mkdir -p "$d" "$log"
	local built=no applied=no fixedok=no reverted=no result= size=- secs=-
	if [ "$EXPECT" = refused ]; then controls=$((controls + 1)); else total=$((total + 1)); fi
	say "== $name: $WHAT"
	if ! fetch "$PKG" "$VERSION"; then
		ROWS+=("$name|-|-|-|-|source $PKG=$VERSION unavailable|-|-")
		tap not "$name: source $PKG=$VERSION"
		bad=$((bad + 1))
		return
	fi
	tap ok "$name: source $PKG=$VERSION"
	# Baseline: the series up to (not including) the fix, or BASE (an
	# earlier patch) when the patches from BASE to the fix touch none of
	# the fix's files: the same baseline for the fix, shared by cases.
	local base=() between=() p found=no upto=${BASE:-$FIX}
	while read -r p; do
		[ "$p" = "$FIX" ] && { found=yes; break; }
		if [ "$p" = "$upto" ] || [ ${#between[@]} -gt 0 ]; then between+=("$p"); else base+=("$p"); fi
	done < <(series "$PRISTINE")
	if [ $found = no ] || { [ "$upto" != "$FIX" ] && [ ${#between[@]} = 0 ]; }; then
		ROWS+=("$name|-|-|-|-|$FIX (after ${BASE:-nothing}) not in the series|-|-")
		tap not "$name: $FIX in the series"
		bad=$((bad + 1))
		return
	fi
	local clash=
	for p in "${between[@]}"; do
		clash+=$(comm -12 <(patch_files "$PRISTINE/debian/patches/$FIX") \
			<(patch_files "$PRISTINE/debian/patches/$p") | tr '\n' ' ')
	done
	if [ -n "$clash" ]; then
		ROWS+=("$name|-|-|-|-|patches between BASE and the fix touch $clash|-|-")
		tap not "$name: patches between $BASE and $FIX touch its files: $clash"
		bad=$((bad + 1))
		return
	fi
	local stamp
	# The build script, and the scripts it runs that it names in
	# "# corpus-uses: PATH" lines (relative to build/): a change in any of
	# them is a new baseline (and so a new build-cache entry).
	local u uses
	uses=$(sed -n 's/^# corpus-uses: //p' "$here/build/$PKG.sh")
	stamp=$( { echo "$PKG $VERSION"; printf '%s\n' "${base[@]}"; cat "$here/build/$PKG.sh"
		   for u in $uses; do cat "$here/build/$u"; done
		   "$XB" --print-cflags; gcc --version | head -1; } | sha256sum | cut -c1-16)
	# One baseline per package version and patch prefix, shared by the
	# cases that start from it (and so is xsplice-build's cache entry).
	local b=$WORK/baselines/$PKG-$stamp
	mkdir -p "$b"
	if [ ! -f "$b/.complete" ]; then
		rm -rf "$b/src" "$b/run"
		cp -a "$PRISTINE" "$b/src"
		for p in "${base[@]}"; do
			patch -d "$b/src" -p1 -s --no-backup-if-mismatch <"$PRISTINE/debian/patches/$p" \
				>>"$log/baseline-patch.log" 2>&1 || { say "baseline: $p does not apply"; break; }
		done
		# The running build: the package's build command, wrapper flags.
		cp -a "$b/src" "$b/run"
		say "building the baseline ($PKG, ${#base[@]} patches of the series)"
		if (cd "$b/run" && "$XB" --wrap -- sh "$here/build/$PKG.sh") >"$log/baseline-build.log" 2>&1; then
			touch "$b/.complete"
		else
			ROWS+=("$name|-|-|-|-|baseline build failed ($log/baseline-build.log)|-|-")
			tap not "$name: baseline build"
			bad=$((bad + 1))
			return
		fi
	fi
	tap ok "$name: baseline = ${#base[@]} patches of the series${BASE:+ (up to $BASE; the ${#between[@]} before the fix touch none of its files)}, built with debian/rules' flags"
	local sock=$d/agents out=$d/harness.out
	rm -rf "$sock"
	mkdir -p "$sock"
	chmod 700 "$sock"
	if [ -x "$here/harness/$HARNESS.sh" ]; then
		# Program mode: the real program(s), started without the agent.
		PROG=$here/harness/$HARNESS.sh PDIR=$d/prog
		rm -rf "$PDIR"
		mkdir -p "$PDIR"
		if ! timeout 300 "$PROG" start "$b/run" "$PDIR" "$MODE" >"$log/start.log" 2>&1 ||
			! mapfile -t PPIDS < <(grep -E '^[0-9]+$' "$PDIR/pids" 2>/dev/null) ||
			[ ${#PPIDS[@]} = 0 ]; then
			ROWS+=("$name|-|-|-|-|$HARNESS does not start ($log/start.log)|-|-")
			tap not "$name: start $HARNESS: $(tail -n 1 "$log/start.log")"
			bad=$((bad + 1))
			stop_harness
			return
		fi
		tap ok "$name: $HARNESS started without the agent, pids ${PPIDS[*]}"
		setsid "$PROG" drive "$PDIR" "$MODE" \
			>"$out" 2>"$log/drive.err" &
		HPID=$!
		PSOCK=$sock
	else
		# The harness, linked with the running build's library.
		local libdir
		libdir=$(dirname "$b/run/$TARGET")
		local incs=() i
		for i in $INCLUDE; do incs+=(-I"$b/run/$i"); done
		# harness/NAME.c, or harness/NAME.cc for a C++ library (c++)
		local hsrc=$here/harness/$HARNESS.c hcc=cc
		[ -f "$hsrc" ] || { hsrc=$here/harness/$HARNESS.cc hcc=c++; }
		"$hcc" -O2 -g -pthread "${incs[@]}" -o "$d/harness" "$hsrc" \
			-L"$libdir" -l"$LIB" -Wl,-rpath,"$libdir" >"$log/harness-build.log" 2>&1 ||
			{ ROWS+=("$name|-|-|-|-|harness does not build|-|-"); tap not "$name: harness"; bad=$((bad + 1)); return; }
		local asan
		asan=$(ldd "$AGENT" 2>/dev/null | awk '/libasan\.so/ { print $3; exit }')
		XSPLICE_SOCKET_DIR=$sock LD_PRELOAD="${asan:+$asan }$AGENT" "$d/harness" "$MODE" \
			>"$out" 2>"$log/harness.err" &
		HPID=$!
		for _ in $(seq 250); do [ -S "$sock/$HPID.sock" ] && break; sleep 0.02; done
	fi
	if wait_line "$out" "^repro: ($BEFORE)  load"; then
		tap ok "$name: unpatched: $(last_repro "$out")"
	else
		tap not "$name: unpatched reproducer ($BEFORE): $(last_repro "$out")"
		result="reproducer does not misbehave: $(last_repro "$out")"
	fi
	# The payload: from the package's patch, or from an adapted form of it
	# (PATCH, relative to tests/corpus/; it may use <xsplice/...> headers).
	local t0 t1 rc fixpatch=$PRISTINE/debian/patches/$FIX
	[ -n "$PATCH" ] && fixpatch=$here/$PATCH
	t0=$(date +%s.%N)
	C_INCLUDE_PATH="$here/../../include${C_INCLUDE_PATH:+:$C_INCLUDE_PATH}" \
	"$XB" --srcdir "$b/src" --patch "$fixpatch" --target "$b/run/$TARGET" \
		--build-cmd "sh $here/build/$PKG.sh" -j "$MAKE_JOBS" -o "$d/$name.livepatch" \
		--cache "$WORK/build-cache" \
		>"$log/xsplice-build.log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
	if [ "$EXPECT" = refused ]; then
		local why
		why=$(grep -m1 -E '^(refused|unchanged):' "$log/xsplice-build.log" | cut -c1-120)
		if [ $rc -ne 0 ] && grep -Eq -- "$REFUSAL" "$log/xsplice-build.log"; then
			tap ok "$name: refused (exit $rc): $why"
			refused_ok=$((refused_ok + 1))
			ROWS+=("$name|refused|-|-|-|refused as expected (exit $rc): $why|-|$secs")
		else
			tap not "$name: expected a refusal matching '$REFUSAL', got exit $rc"
			bad=$((bad + 1))
			ROWS+=("$name|exit $rc|-|-|-|NOT refused as expected|-|$secs")
		fi
		stop_harness
		return
	fi
	if [ $rc = 0 ]; then
		built=yes
		size=$(stat -c %s "$d/$name.livepatch")
		tap ok "$name: xsplice-build: $(grep -c '^func:' "$log/xsplice-build.log") functions, $size bytes, $secs s"
	else
		local why
		why=$(grep -m1 -E '^(refused|unchanged):|error:' "$log/xsplice-build.log" | cut -c1-140)
		tap not "$name: xsplice-build exit $rc: $why"
		ROWS+=("$name|no|-|-|-|exit $rc: $why|-|$secs")
		bad=$((bad + 1))
		stop_harness
		return
	fi
	local bad0
	bad0=$(load_bad "$out")
	if load_payload "$d/$name.livepatch" "$log/load.txt" "$name"; then
		applied=yes
		tap ok "$name: xsplice load"
	else
		tap not "$name: xsplice load: $(tail -1 "$log/load.txt")"
		result="load failed: $(tail -1 "$log/load.txt" | cut -c1-120)"
	fi
	if [ $applied = yes ] && wait_line "$out" "^repro: ($AFTER)  load"; then
		fixedok=yes
		tap ok "$name: patched live: $(last_repro "$out")"
	else
		tap not "$name: patched live ($AFTER): $(last_repro "$out")"
		[ -n "$result" ] || result="not fixed: $(last_repro "$out")"
	fi
	local ok1 bad1
	ok1=$(load_ok "$out") bad1=$(load_bad "$out")
	if [ -n "$bad1" ] && [ "$bad1" = "$bad0" ] && [ "${ok1:-0}" -gt 0 ]; then
		tap ok "$name: under load: $ok1 right answers, no wrong one"
	else
		tap not "$name: under load: $bad0 -> $bad1 wrong answers"
		fixedok=no
		result="wrong answers under load ($bad0 -> $bad1)"
	fi
	if [ $applied = yes ] && revert_payload "$name" "$log/revert.txt" &&
		wait_line "$out" "^repro: ($BEFORE)  load"; then
		reverted=yes
		tap ok "$name: reverted: $(last_repro "$out")"
	else
		tap not "$name: revert: $(tail -1 "$log/revert.txt" 2>/dev/null)"
	fi
	local dead
	if dead=$(alive_all); then
		tap ok "$name: ${PROG:+every process of }$HARNESS still running"
	else
		tap not "$name: $HARNESS died${dead:+: $dead}"
		fixedok=no
		result="died: ${dead:-harness}"
	fi
	stop_harness
	if [ $fixedok = yes ] && [ $reverted = yes ]; then
		fixed=$((fixed + 1))
		result=${result:-fixed live, old behaviour back after revert}
	else
		bad=$((bad + 1))
	fi
	ROWS+=("$name|$built|$applied|$fixedok|$reverted|$result|$size|$secs")
}

for c in "${CASES[@]}"; do
	[ -f "$here/cases/$c.case" ] || { say "no case $c"; bad=$((bad + 1)); continue; }
	run_case "$c"
done
if [ $fixed = 0 ] && [ $refused_ok = 0 ] && [ $bad -gt 0 ] &&
	grep -q "unavailable" <<<"${ROWS[*]}"; then
	skip_all "package sources unavailable"
fi

say ""
say "$(printf '%-30s %-7s %-7s %-5s %-8s %-9s %-6s %s' case built applied fixed reverted size build_s result)"
for r in "${ROWS[@]}"; do
	IFS='|' read -r c b a f rv res sz s <<<"$r"
	say "$(printf '%-30s %-7s %-7s %-5s %-8s %-9s %-6s %s' "$c" "$b" "$a" "$f" "$rv" "$sz" "$s" "$res")"
done
say ""
say "$fixed of $total fixed live; $refused_ok of $controls negative controls refused"
[ $TAP = yes ] && echo "1..$N"
[ $bad = 0 ]
