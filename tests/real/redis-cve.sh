#!/bin/bash
# Real server, real fixes, real load: Redis 7.0.15 from Debian's source
# package, live-patched with two of the package's own security patches
# while redis-benchmark keeps it busy.  See docs/real-world.md.
#
# usage: tests/real/redis-cve.sh MESON_BUILD_DIR
#
# Environment:
#   XSPLICE_REAL_WORK       work/cache dir (default: tests/real/work)
#   XSPLICE_REAL_BENCH_N    requests per test in the throughput phase (300000)
#   XSPLICE_REAL_ATTACH     1: start the server under test WITHOUT LD_PRELOAD and
#                           give it the agent with `xsplice attach` (issue 9);
#                           0 (default): LD_PRELOAD=libxsplice.so, and a second
#                           server, started without it and attached, gets
#                           the same fixes (the "attached" phase)
#   XSPLICE_REAL_CRASH_DEMO 1 (default): also feed the tests' exact inputs to
#                           a sacrificial unpatched server and show it crash
#   XSPLICE_REAL_INSTALL_DEPS 1 (default, root only): apt-get install missing
#                           build/client packages
#   MAKE_JOBS               parallel jobs of the Redis builds (nproc)
#   XSPLICE_REAL_REDIS_ARGS extra redis-server arguments for the server under
#                           test (debugging aid, e.g. "--jemalloc-bg-thread no")
#   XSPLICE_REAL_PREBUILT   debugging aid: a dir with NAME.livepatch files to
#                           use instead of running xsplice-build (the run then
#                           always ends with a FAIL: the builder is untested)
#
# Prints PASS:/FAIL: per check; exits 1 on any FAIL, 77 (skip) only when the
# package source (network, apt, deb-src) is unavailable.
set -euo pipefail

readonly SKIP=77
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -ne 1 ]; then
    echo "usage: $0 MESON_BUILD_DIR" >&2
    exit 2
fi
builddir=$(cd "$1" && pwd)
AGENT=$builddir/src/agent/libxsplice.so
XSPLICE=$builddir/src/cli/xsplice
XSPLICE_BUILD=$builddir/src/build/xsplice-build
BUILD_CMD=$here/redis-build.sh

WORK=${XSPLICE_REAL_WORK:-$here/work}
BENCH_N=${XSPLICE_REAL_BENCH_N:-300000}
CRASH_DEMO=${XSPLICE_REAL_CRASH_DEMO:-1}
ATTACH=${XSPLICE_REAL_ATTACH:-0}

# The package's two fixes under test, in the order the acceptance text names
# them, with the payload names (file base names) we give them.
FIX_HLL=0006-CVE-2025-32023.patch
FIX_ACL=0002-Fix-Read-Write-key-pattern-selector-CVE-2024-51741-1.patch
FIXES=("$FIX_HLL" "$FIX_ACL")
declare -A PAYLOAD_NAME=(
    ["$FIX_HLL"]=redis-cve-2025-32023
    ["$FIX_ACL"]=redis-cve-2024-51741
)

# ---------------------------------------------------------------- reporting
fails=0
passes=0
pass() { passes=$((passes + 1)); echo "PASS: $*"; }
fail() { fails=$((fails + 1)); echo "FAIL: $*"; }
info() { echo "INFO: $*"; }
skip() { echo "SKIP: $*"; trap - EXIT; cleanup; exit $SKIP; }
die() { fail "$*"; finish; }

# ------------------------------------------------------- process bookkeeping
PIDS=()          # every background process this script started
started() { PIDS+=("$1"); }

kill_tree() {    # kill a process and its descendants, by id
    local pid=$1 sig=${2:-TERM} c
    for c in $(pgrep -P "$pid" 2>/dev/null || true); do
        kill_tree "$c" "$sig"
    done
    kill -"$sig" "$pid" 2>/dev/null || true
}

wait_gone() {    # wait_gone PID SECONDS: 0 once the process is gone
    local pid=$1 i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null || continue
        kill_tree "$pid" TERM
    done
    for pid in "${PIDS[@]}"; do
        wait_gone "$pid" 5 || kill_tree "$pid" KILL
    done
    PIDS=()
}

finish() {
    trap - EXIT
    cleanup
    if [ -n "${XSPLICE_REAL_REDIS_ARGS:-}" ]; then
        echo "NOTE: the server ran with extra arguments: $XSPLICE_REAL_REDIS_ARGS"
    fi
    echo "== $passes passed, $fails failed (logs: ${LOGDIR:-none})"
    [ "$fails" -eq 0 ] && exit 0
    exit 1
}
trap finish EXIT
trap 'echo "interrupted"; fails=$((fails + 1)); finish' INT TERM

# --------------------------------------------------------------- preflight
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] ||
    skip "xsplice targets Linux x86-64; this is $(uname -s)-$(uname -m)"

for t in apt-get dpkg-source dpkg-buildflags dpkg-parsechangelog perl; do
    command -v "$t" >/dev/null || skip "$t is missing: not a Debian system with dpkg-dev"
done

# Packages the build and the client side need (Debian bookworm names):
# the Debian package's Build-Depends that its debian/rules build uses, and
# redis-tools for redis-cli and redis-benchmark.
NEEDED_PKGS=(gcc make pkg-config dpkg-dev libjemalloc-dev libssl-dev
    libsystemd-dev liblzf-dev redis-tools)
missing=()
for p in "${NEEDED_PKGS[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && [ "${XSPLICE_REAL_INSTALL_DEPS:-1}" = 1 ]; then
        info "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q \
            --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
            skip "cannot install ${missing[*]} (package source unavailable)"
    else
        skip "missing packages: ${missing[*]} (install them, or run as root)"
    fi
fi
REDIS_CLI=$(command -v redis-cli)
REDIS_BENCH=$(command -v redis-benchmark)

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
LOGDIR=$WORK/logs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$LOGDIR"
R=$WORK/redis
mkdir -p "$R"

# One run at a time per work dir.
exec 9>"$WORK/.lock"
flock -w 1200 9 || die "another run holds $WORK/.lock"

# ------------------------------------------------------ the package source
# A private apt configuration with deb-src entries for the same URIs, suites,
# components and keys as the system's deb entries: nothing under /etc/apt is
# changed, and the indices live in the work dir.
derive_deb_src() {
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
            END { flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        sed -n 's/^[ \t]*deb\([ \t]\)/deb-src\1/p' "$f"
    done
}

fetch_source() {
    local apt=$R/apt
    rm -rf "$apt" "$R/pkg.new"
    mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/cache/archives/partial" "$R/pkg.new"
    derive_deb_src > "$apt/sources.list.d/xsplice-deb-src.sources"
    : > "$apt/sources.list.d/xsplice-deb-src.list"
    grep -q . "$apt/sources.list.d/xsplice-deb-src.sources" ||
        skip "no deb entries in /etc/apt to derive deb-src entries from"
    local opts=(-q -o Dir::Etc::SourceList="$apt/sources.list.d/xsplice-deb-src.list"
        -o Dir::Etc::SourceParts="$apt/sources.list.d"
        -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
        -o APT::Sandbox::User=root)
    info "apt-get update (deb-src, private lists under $apt)"
    timeout 600 apt-get "${opts[@]}" update > "$LOGDIR/apt-update.log" 2>&1 ||
        skip "apt-get update failed (network or package source unavailable): see $LOGDIR/apt-update.log"
    if grep -qE '^(E:|Err:)' "$LOGDIR/apt-update.log"; then
        skip "apt-get update reported errors (package source unavailable): see $LOGDIR/apt-update.log"
    fi
    (cd "$R/pkg.new" && timeout 600 apt-get "${opts[@]}" --download-only source redis) \
        > "$LOGDIR/apt-source.log" 2>&1 ||
        skip "apt-get source redis failed (package source unavailable): see $LOGDIR/apt-source.log"
    rm -rf "$R/pkg"
    mv "$R/pkg.new" "$R/pkg"
}

dsc=$(ls "$R"/pkg/redis_*.dsc 2>/dev/null | head -n1 || true)
if [ -z "$dsc" ]; then
    fetch_source
    dsc=$(ls "$R"/pkg/redis_*.dsc 2>/dev/null | head -n1 || true)
    [ -n "$dsc" ] || skip "apt-get source redis produced no .dsc"
else
    info "reusing the source package $dsc"
fi
pkgver=$(sed -n 's/^Version: //p' "$dsc" | head -n1)
upver=${pkgver#*:}
upver=${upver%%-*}
[ "$upver" = 7.0.15 ] ||
    skip "Debian's redis source is $pkgver, not 7.0.15 (the fixes under test are for 7.0.15)"
pass "source package redis $pkgver (upstream $upver)"

# Pristine tree, no patches applied.
pristine=$R/pristine-$pkgver
if [ ! -f "$pristine/.complete" ]; then
    rm -rf "$pristine"
    dpkg-source -x --skip-patches "$dsc" "$pristine" > "$LOGDIR/dpkg-source.log" 2>&1 ||
        die "dpkg-source -x failed: see $LOGDIR/dpkg-source.log"
    touch "$pristine/.complete"
fi
series=$pristine/debian/patches/series
mapfile -t SERIES < <(sed -e 's/#.*//' -e 's/[ \t]*$//' -e '/^$/d' "$series" | awk '{print $1}')

# Where the fixes sit in the series; the baseline is the series up to but not
# including the earlier of them.
declare -A POS=()
for i in "${!SERIES[@]}"; do POS["${SERIES[$i]}"]=$i; done
for f in "${FIXES[@]}"; do
    [ -n "${POS[$f]:-}" ] || skip "redis $pkgver's series has no $f"
done
first=${#SERIES[@]}
for f in "${FIXES[@]}"; do
    if [ "${POS[$f]}" -lt "$first" ]; then first=${POS[$f]}; fi
done
info "series has ${#SERIES[@]} patches; $FIX_ACL is #$((POS[$FIX_ACL] + 1)), $FIX_HLL is #$((POS[$FIX_HLL] + 1))"
BASE_PATCHES=("${SERIES[@]:0:first}")
pass "baseline = the first $first patches of the series (up to but not including ${SERIES[$first]})"

# For a fix later in the series, the patches between the baseline and it must
# not touch the files it touches: then the baseline is, for that fix, the
# same as "the series up to but not including the fix".
patch_files() { sed -n 's/^+++ [ab]\/\([^ \t]*\).*/\1/p' "$1" | sort -u; }
for f in "${FIXES[@]}"; do
    p=${POS[$f]}
    [ "$p" -gt "$first" ] || continue
    clash=""
    for ((j = first; j < p; j++)); do
        c=$(comm -12 <(patch_files "$pristine/debian/patches/$f") \
            <(patch_files "$pristine/debian/patches/${SERIES[$j]}") | tr '\n' ' ')
        if [ -n "$c" ]; then clash+="${SERIES[$j]}: $c; "; fi
    done
    if [ -z "$clash" ]; then
        pass "patches between the baseline and $f touch none of its files ($(patch_files "$pristine/debian/patches/$f" | tr '\n' ' '))"
    else
        fail "patches between the baseline and $f touch its files: $clash"
    fi
done

# The baseline source (never built: xsplice-build gets copies of it) and the
# baseline build (the running server).
stamp_of() {
    { echo "$pkgver"; printf '%s\n' "${BASE_PATCHES[@]}"; sha256sum < "$BUILD_CMD"
      dpkg-query -W gcc-12 libjemalloc-dev libssl-dev libsystemd-dev liblzf-dev 2>/dev/null
    } | sha256sum | cut -c1-16
}
stamp=$(stamp_of)
basesrc=$R/baseline-src
basebuild=$R/baseline
if [ "$(cat "$basesrc/.xsplice-stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$basesrc" "$basebuild"
    cp -a "$pristine" "$basesrc"
    rm -f "$basesrc/.complete"
    for p in "${BASE_PATCHES[@]}"; do
        patch -d "$basesrc" -p1 -s --no-backup-if-mismatch < "$pristine/debian/patches/$p" \
            > "$LOGDIR/baseline-patch.log" 2>&1 || die "baseline: $p does not apply"
    done
    echo "$stamp" > "$basesrc/.xsplice-stamp"
fi
for f in "${FIXES[@]}"; do
    if patch -d "$basesrc" -p1 --dry-run -s < "$pristine/debian/patches/$f" > /dev/null 2>&1; then
        pass "$f applies to the baseline"
    else
        fail "$f does not apply to the baseline"
    fi
done

if [ "$(cat "$basebuild/.xsplice-stamp" 2>/dev/null)" = "$stamp" ] &&
   [ -x "$basebuild/src/redis-server" ] && [ -s "$basebuild/.build-seconds" ]; then
    BUILD_SECONDS=$(cat "$basebuild/.build-seconds")
    info "reusing the baseline build ($basebuild, built in ${BUILD_SECONDS} s)"
else
    rm -rf "$basebuild"
    cp -a "$basesrc" "$basebuild"
    rm -f "$basebuild/.xsplice-stamp"
    info "building the baseline redis (make -j${MAKE_JOBS:-$(nproc)}, log $LOGDIR/baseline-build.log)"
    rm -f "$LOGDIR/baseline-build.times"
    (cd "$basebuild" && XSPLICE_REAL_BUILD_TIMES="$LOGDIR/baseline-build.times" \
        timeout 1200 "$BUILD_CMD") > "$LOGDIR/baseline-build.log" 2>&1 ||
        die "baseline build failed: see $LOGDIR/baseline-build.log"
    BUILD_SECONDS=$(tail -n1 "$LOGDIR/baseline-build.times")
    echo "$BUILD_SECONDS" > "$basebuild/.build-seconds"
    echo "$stamp" > "$basebuild/.xsplice-stamp"
fi
SERVER=$basebuild/src/redis-server
[ -x "$SERVER" ] || die "no $SERVER"
BASE_BUILDID=$(readelf -n "$SERVER" | sed -n 's/.*Build ID: //p')
pass "baseline redis-server built in ${BUILD_SECONDS} s with Debian's flags + -ffunction-sections -fdata-sections (build-id $BASE_BUILDID)"

# ------------------------------------------------------------ reproducers
# shellcheck source=redis-repro.sh
source "$here/redis-repro.sh"
redis_repro_files "$R/repro"
PORT=""

declare -A REPRO_FN=(["$FIX_HLL"]=repro_hll ["$FIX_ACL"]=repro_acl)

expect() {   # expect bug|fixed FIX WHEN
    local want=$1 fix=$2 when=$3 out
    out=$(${REPRO_FN[$fix]})
    if [[ $out == "$want:"* ]]; then
        pass "$fix $when: reproducer shows the ${want/bug/bug (misbehaves)} -- ${out#*: }"
    else
        fail "$fix $when: expected '$want', got $out"
    fi
}

# ------------------------------------------------------------------ servers
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
        port_free "$p" && port_free "$((p + 1))" && { echo "$p"; return 0; }
    done
    return 1
}

wait_ping() {  # wait_ping PORT PID SECONDS
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        kill -0 "$2" 2>/dev/null || return 1
        [ "$(timeout 2 "$REDIS_CLI" -h 127.0.0.1 -p "$1" PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    return 1
}

server_args() {  # server_args PORT LOGNAME: sets SARGS
    SARGS=(--port "$1" --bind 127.0.0.1 --protected-mode yes --save ""
        --appendonly no --dir "$LOGDIR" --logfile "$LOGDIR/$2.log"
        --crash-memcheck-enabled no)
}

# Show that the tests' exact inputs crash an unpatched server (sacrificial,
# no agent), so the wrong answers shown on the live server are the same bug.
crash_demo() {
    local what=$1 port pid
    port=$(pick_port) || { fail "no free port"; return; }
    server_args "$port" "sacrificial-$what"
    "$SERVER" "${SARGS[@]}" > /dev/null 2>&1 &
    pid=$!
    started "$pid"
    disown "$pid"   # its death is expected: no job-control message
    if ! wait_ping "$port" "$pid" 10; then
        fail "sacrificial server ($what) did not start"
        return
    fi
    local out
    if [ "$what" = hll ]; then
        out=$(PORT=$port repro_hll_exact)
    else
        out=$(PORT=$port cli ACL SETUSER key-permission-RW % | head -n1)
        out+=" ; ACL GETUSER -> $(PORT=$port cli ACL GETUSER key-permission-RW | head -n1)"
    fi
    if wait_gone "$pid" 10; then
        local why
        why=$(grep -m1 -E 'crashed by signal|Guru Meditation|ASSERTION FAILED' \
            "$LOGDIR/sacrificial-$what.log" | sed 's/^[0-9]*:[A-Z] [^#]*# *//' || true)
        pass "unpatched sacrificial server dies on the test's exact input ($what): $out; log: ${why:-?}"
    else
        fail "unpatched sacrificial server survived the test's exact input ($what): $out"
        kill_tree "$pid" KILL
    fi
}

if [ "$CRASH_DEMO" = 1 ]; then
    crash_demo hll
    crash_demo acl
fi

# The server under test, with the agent (preloaded, or attached).
PORT=$(pick_port) || die "no free port"
for t in "$AGENT" "$XSPLICE" "$XSPLICE_BUILD"; do
    [ -e "$t" ] || die "$t is missing (build the meson tree first)"
done
server_args "$PORT" server
if [ -n "${XSPLICE_REAL_REDIS_ARGS:-}" ]; then
    read -r -a extra <<< "$XSPLICE_REAL_REDIS_ARGS"
    SARGS+=("${extra[@]}")
    info "extra redis-server arguments: ${extra[*]}"
fi
if [ "$ATTACH" = 1 ]; then
    # Started as any service is, without the agent; given it by attach.
    env -u LD_PRELOAD "$SERVER" "${SARGS[@]}" > "$LOGDIR/server.stdout" 2>&1 &
    SPID=$!
    started "$SPID"
    wait_ping "$PORT" "$SPID" 15 ||
        die "redis-server did not answer PING on 127.0.0.1:$PORT (see $LOGDIR/server.log, server.stdout)"
    if grep -Eq 'libxsplice|xsplice-agent' "/proc/$SPID/maps" ||
       tr '\0' '\n' < "/proc/$SPID/environ" | grep -q '^LD_PRELOAD='; then
        fail "redis-server (pid $SPID) was to start without the agent and without LD_PRELOAD"
    else
        pass "redis-server (pid $SPID) started WITHOUT LD_PRELOAD (no agent) answers on 127.0.0.1:$PORT"
    fi
    if out=$(timeout 60 "$XSPLICE" attach "$SPID" 2>&1); then
        pass "xsplice attach $SPID: $out"
    else
        die "xsplice attach $SPID failed: $out"
    fi
else
    LD_PRELOAD=$AGENT "$SERVER" "${SARGS[@]}" \
        > "$LOGDIR/server.stdout" 2>&1 &
    SPID=$!
    started "$SPID"
    wait_ping "$PORT" "$SPID" 15 ||
        die "redis-server with the agent did not answer PING on 127.0.0.1:$PORT (see $LOGDIR/server.log, server.stdout)"
    pass "redis-server (pid $SPID) with LD_PRELOAD=libxsplice.so answers on 127.0.0.1:$PORT"
fi

xs() { timeout 60 "$XSPLICE" -p "$SPID" "$@"; }
agent_ok=0
for ((i = 0; i < 50; i++)); do
    if xs list > "$LOGDIR/xsplice-list.out" 2>&1; then agent_ok=1; break; fi
    sleep 0.2
done
if [ $agent_ok = 1 ]; then
    pass "the agent answers 'xsplice -p $SPID list'"
else
    fail "the agent in pid $SPID does not answer 'xsplice list': $(tail -n2 "$LOGDIR/xsplice-list.out" | tr '\n' ' ')"
fi

server_alive() {
    kill -0 "$SPID" 2>/dev/null && [ "$(cli PING)" = PONG ]
}

# Background load for the whole functional phase: back-to-back bounded
# redis-benchmark runs in db 1; each run's exit status is recorded.
# shellcheck disable=SC2054  # the commas belong to -t
BENCH_ARGS=(-h 127.0.0.1 -c 4 --dbnum 1 -t set,get,incr,lpush)
LOAD_STOP=$LOGDIR/load.stop
load_loop() {
    local n=0 rc
    while [ ! -e "$LOAD_STOP" ]; do
        n=$((n + 1))
        rc=0
        timeout 300 "$REDIS_BENCH" "${BENCH_ARGS[@]}" -p "$PORT" -n 50000 -q \
            >> "$LOGDIR/load.out" 2>> "$LOGDIR/load.err" || rc=$?
        echo "$n $rc" >> "$LOGDIR/load.rc"
        [ "$rc" -eq 0 ] || break
    done
}
load_loop &
LOAD_PID=$!
started "$LOAD_PID"
info "redis-benchmark load running (pid $LOAD_PID): ${BENCH_ARGS[*]} -n 50000, back to back"

# ---------------------------------------------------------------- payloads
mkdir -p "$R/payloads"
declare -A PAYLOAD=()
prebuilt_used=0

funcs_of() {  # names of the functions a payload patches (new_addr relocations)
    local off sym names=()
    while read -r off sym; do
        if (( 16#$off % 64 == 8 )); then names+=("$sym"); fi
    done < <(readelf -rW "$1" 2>/dev/null | awk '
        /^Relocation section/ { on = ($0 ~ /\.rela\.livepatch\.funcs/); next }
        on && $1 ~ /^[0-9a-f]+$/ && NF >= 5 { print $1, $5 }')
    local IFS=,
    echo "${names[*]}"
}

build_payload() {
    local fix=$1 name=${PAYLOAD_NAME[$1]}
    local out=$R/payloads/$name.livepatch src=$R/xsplice-build-src
    if [ -n "${XSPLICE_REAL_PREBUILT:-}" ]; then
        cp "$XSPLICE_REAL_PREBUILT/$name.livepatch" "$out" || { fail "no prebuilt $name"; return 1; }
        prebuilt_used=1
        info "using the PREBUILT $XSPLICE_REAL_PREBUILT/$name.livepatch: xsplice-build not run"
        echo "PAYLOAD $name (prebuilt): functions: $(funcs_of "$out"); payload size: $(stat -c %s "$out") bytes"
        PAYLOAD[$fix]=$out
        return 0
    fi
    local times=$LOGDIR/$name.build-times log=$LOGDIR/$name.xsplice-build.log
    rm -rf "$src" "$out"
    cp -a "$basesrc" "$src"
    rm -f "$times"
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    XSPLICE_REAL_BUILD_TIMES=$times timeout 1200 "$XSPLICE_BUILD" --srcdir "$src" \
        --patch "$pristine/debian/patches/$fix" --target "$SERVER" \
        --build-cmd "$BUILD_CMD" --name "$name" -o "$out" > "$log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    rm -rf "$src"
    local total
    total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
        fail "xsplice-build $fix: exit $rc after ${total} s: $(tail -n3 "$log" | tr '\n' ' ')"
        return 1
    fi
    local builds beyond nb
    nb=0
    if [ -f "$times" ]; then nb=$(wc -l < "$times"); fi
    if [ "$nb" -ge 1 ]; then
        builds=$(awk '{ s += $1 } END { printf "%.2f", s }' "$times")
        beyond=$(awk -v t="$total" -v b="$builds" 'BEGIN { printf "%.2f", t - b }')
        beyond="$beyond s (total $total s - $nb builds $builds s, measured)"
    else
        builds=$(awk -v b="$BUILD_SECONDS" 'BEGIN { printf "%.2f", 2 * b }')
        beyond=$(awk -v t="$total" -v b="$builds" 'BEGIN { printf "%.2f", t - b }')
        beyond="$beyond s (total $total s - 2 x baseline build ${BUILD_SECONDS} s, estimated)"
    fi
    local nfuncs size fnames
    local fsize
    fsize=$(readelf -SW "$out" 2>/dev/null | sed -n 's/^ *\[ *[0-9]*\] \.livepatch\.funcs  *[A-Z_]*  *[0-9a-f]*  *[0-9a-f]*  *\([0-9a-f]*\) .*/\1/p' | head -n1)
    nfuncs=$(( 16#${fsize:-0} / 64 ))
    fnames=$(funcs_of "$out")
    size=$(stat -c %s "$out")
    pass "xsplice-build $fix -> $(basename "$out")"
    echo "PAYLOAD $name: functions changed: $nfuncs (${fnames:-?}); payload size: $size bytes; xsplice-build beyond the builds: $beyond"
    PAYLOAD[$fix]=$out
}

for fix in "${FIXES[@]}"; do
    name=${PAYLOAD_NAME[$fix]}
    echo "== $fix ($name)"
    build_payload "$fix" || continue
    expect bug "$fix" "before loading"
    if ! xs load "${PAYLOAD[$fix]}" > "$LOGDIR/$name.load.out" 2>&1; then
        fail "xsplice load $name: $(tail -n3 "$LOGDIR/$name.load.out" | tr '\n' ' ')"
        server_alive || die "redis-server died during load of $name"
        continue
    fi
    if kill -0 "$LOAD_PID" 2>/dev/null; then under="while redis-benchmark runs"; else under="(the background load had stopped!)"; fi
    pass "xsplice -p $SPID load $(basename "${PAYLOAD[$fix]}"): applied $under"
    xs info > "$LOGDIR/$name.info.out" 2>&1 || true
    expect fixed "$fix" "while applied"
    if [ "$fix" = "$FIX_HLL" ] && [[ $(repro_hll) == fixed:* ]]; then
        out=$(repro_hll_exact)
        if server_alive && [[ $out == *INVALIDOBJ*INVALIDOBJ* ]]; then
            pass "$fix while applied: the test's exact input is refused: $out"
        else
            fail "$fix while applied: the test's exact input: $out"
        fi
    fi
    if xs revert "$name" > "$LOGDIR/$name.revert.out" 2>&1; then
        pass "xsplice revert $name"
    else
        fail "xsplice revert $name: $(tail -n3 "$LOGDIR/$name.revert.out" | tr '\n' ' ')"
    fi
    expect bug "$fix" "after revert"
    if xs unload "$name" > "$LOGDIR/$name.unload.out" 2>&1; then
        pass "xsplice unload $name"
    else
        fail "xsplice unload $name: $(tail -n3 "$LOGDIR/$name.unload.out" | tr '\n' ' ')"
    fi
    server_alive || die "redis-server died while testing $name"
done

# A second server started as any service is, WITHOUT LD_PRELOAD, given the
# agent by `xsplice attach` (issue 9), under its own redis-benchmark load:
# the same payloads, the same reproducers (bug, fixed while applied, bug
# after revert). Skipped when the server under test was itself attached.
attached_phase() {
    local port2 pid2 main_port=$PORT main_pid=$SPID
    port2=$(pick_port) || { fail "no free port for the attached server"; return; }
    server_args "$port2" server-attached
    env -u LD_PRELOAD "$SERVER" "${SARGS[@]}" > "$LOGDIR/server-attached.stdout" 2>&1 &
    pid2=$!
    started "$pid2"
    if ! wait_ping "$port2" "$pid2" 15; then
        fail "the second redis-server (no LD_PRELOAD) did not answer PING on 127.0.0.1:$port2"
        return
    fi
    if grep -Eq 'libxsplice|xsplice-agent' "/proc/$pid2/maps" ||
       tr '\0' '\n' < "/proc/$pid2/environ" | grep -q '^LD_PRELOAD='; then
        fail "the second redis-server (pid $pid2) was to start without the agent"
        return
    fi
    pass "second redis-server (pid $pid2) started WITHOUT LD_PRELOAD (no agent) on 127.0.0.1:$port2"
    local out
    if ! out=$(timeout 60 "$XSPLICE" attach "$pid2" 2>&1); then
        fail "xsplice attach $pid2: $out"
        return
    fi
    pass "xsplice attach $pid2: $out"
    PORT=$port2 SPID=$pid2
    local stop2=$LOGDIR/load-attached.stop lp
    ( while [ ! -e "$stop2" ]; do
          timeout 300 "$REDIS_BENCH" "${BENCH_ARGS[@]}" -p "$port2" -n 20000 -q \
              >> "$LOGDIR/load-attached.out" 2>> "$LOGDIR/load-attached.err" || {
              echo fail >> "$LOGDIR/load-attached.rc"; break; }
          echo ok >> "$LOGDIR/load-attached.rc"
      done ) &
    lp=$!
    started "$lp"
    for fix in "${FIXES[@]}"; do
        [ -n "${PAYLOAD[$fix]:-}" ] || continue
        local name=${PAYLOAD_NAME[$fix]}
        expect bug "$fix" "in the attached server, before loading"
        if xs load "${PAYLOAD[$fix]}" > "$LOGDIR/$name.attached-load.out" 2>&1; then
            pass "attached server: xsplice -p $pid2 load $name (under redis-benchmark)"
        else
            fail "attached server: load $name: $(tail -n3 "$LOGDIR/$name.attached-load.out" | tr '\n' ' ')"
            continue
        fi
        expect fixed "$fix" "in the attached server, while applied"
        xs revert "$name" > /dev/null 2>&1 || fail "attached server: revert $name"
        expect bug "$fix" "in the attached server, after revert"
        xs unload "$name" > /dev/null 2>&1 || fail "attached server: unload $name"
    done
    touch "$stop2"
    wait_gone "$lp" 300 || kill_tree "$lp" KILL
    if [ -s "$LOGDIR/load-attached.rc" ] && ! grep -q fail "$LOGDIR/load-attached.rc" &&
       ! grep -qi error "$LOGDIR/load-attached.err" 2>/dev/null; then
        pass "attached server: redis-benchmark $(wc -l < "$LOGDIR/load-attached.rc") runs, no errors"
    else
        fail "attached server: redis-benchmark failed: $(head -n3 "$LOGDIR/load-attached.err" 2>/dev/null | tr '\n' ' ')"
    fi
    if kill -0 "$pid2" 2>/dev/null && [ "$(cli PING)" = PONG ]; then
        pass "the attached redis-server pid $pid2 still answers PING"
    else
        fail "the attached redis-server pid $pid2 died (see $LOGDIR/server-attached.log)"
    fi
    kill_tree "$pid2" TERM
    PORT=$main_port SPID=$main_pid
}
if [ "$ATTACH" != 1 ]; then
    echo "== the same fixes in a redis-server started without LD_PRELOAD, attached"
    attached_phase
fi

# Stop the background load and judge it.
touch "$LOAD_STOP"
if ! wait_gone "$LOAD_PID" 300; then
    fail "the background redis-benchmark loop did not stop"
    kill_tree "$LOAD_PID" KILL
fi
runs=0 bad=0
if [ -f "$LOGDIR/load.rc" ]; then
    runs=$(wc -l < "$LOGDIR/load.rc")
    bad=$(awk '$2 != 0' "$LOGDIR/load.rc" | wc -l)
fi
if [ "$runs" -ge 1 ] && [ "$bad" -eq 0 ] && ! grep -qi error "$LOGDIR/load.err" 2>/dev/null; then
    pass "background redis-benchmark: $runs runs, no errors"
else
    fail "background redis-benchmark: $runs runs, $bad failed: $(head -n3 "$LOGDIR/load.err" 2>/dev/null | tr '\n' ' ')"
fi

# ------------------------------------------------------------- throughput
bench_csv() {  # bench_csv OUTFILE: one redis-benchmark run, CSV to OUTFILE
    timeout 600 "$REDIS_BENCH" "${BENCH_ARGS[@]}" -p "$PORT" -n "$BENCH_N" --csv \
        > "$1" 2> "${1%.csv}.err"
}

PATCH_STOP=$LOGDIR/patch.stop
sleep_until() {  # sleep_until NANOSECONDS-SINCE-EPOCH
    local d=$(( $1 - $(date +%s%N) ))
    if [ "$d" -gt 0 ]; then
        sleep "$((d / 1000000000)).$(printf '%09d' $((d % 1000000000)))"
    fi
}
patch_loop() {  # apply and revert NAME every 100 ms until told to stop
    # One apply and one revert per 100 ms period, on a fixed schedule (the
    # CLI's own time counts against the period).
    # Gives up after 3 failed applies in a row (each may hold the server's
    # threads for the action's time bound).
    local name=$1 n=0 bad=0 next row=0
    next=$(date +%s%N)
    while [ ! -e "$PATCH_STOP" ]; do
        if xs apply "$name" >> "$LOGDIR/patch-loop.out" 2>&1; then
            row=0
        else
            bad=$((bad + 1)) row=$((row + 1))
            if [ "$row" -ge 3 ]; then
                echo "$n $bad gave-up" > "$LOGDIR/patch-loop.count"
                break
            fi
        fi
        sleep_until $((next + 50000000))
        xs revert "$name" >> "$LOGDIR/patch-loop.out" 2>&1 || bad=$((bad + 1))
        next=$((next + 100000000))
        sleep_until "$next"
        n=$((n + 1))
        echo "$n $bad" > "$LOGDIR/patch-loop.count"
    done
}

loop_fix=""
for fix in "${FIXES[@]}"; do
    [ -n "${PAYLOAD[$fix]:-}" ] && { loop_fix=$fix; break; }
done
echo "== throughput: redis-benchmark ${BENCH_ARGS[*]} -n $BENCH_N"
plain_run() {  # plain_run TAG
    local rc=0
    bench_csv "$LOGDIR/bench-$1.csv" || rc=$?
    if [ $rc -ne 0 ] || [ -s "$LOGDIR/bench-$1.err" ]; then
        fail "redis-benchmark without patching ($1): exit $rc $(head -n2 "$LOGDIR/bench-$1.err" | tr '\n' ' ')"
    else
        pass "redis-benchmark without patching ($1): no errors"
    fi
}
plain_run plain
if [ -z "$loop_fix" ]; then
    fail "no payload was built: no apply/revert throughput run"
else
    name=${PAYLOAD_NAME[$loop_fix]}
    if xs upload "$name" "${PAYLOAD[$loop_fix]}" > "$LOGDIR/patch-loop.out" 2>&1; then
        rm -f "$PATCH_STOP" "$LOGDIR/patch-loop.count"
        patch_loop "$name" &
        PLOOP=$!
        started "$PLOOP"
        rc=0
        t0=$(date +%s.%N)
        bench_csv "$LOGDIR/bench-patching.csv" || rc=$?
        t1=$(date +%s.%N)
        touch "$PATCH_STOP"
        wait_gone "$PLOOP" 60 || { kill_tree "$PLOOP" KILL; fail "patch loop did not stop"; }
        read -r cycles badc gaveup < "$LOGDIR/patch-loop.count" || { cycles=0; badc=0; gaveup=""; }
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
        if [ $rc -ne 0 ] || [ -s "$LOGDIR/bench-patching.err" ]; then
            fail "redis-benchmark while patching: exit $rc $(head -n2 "$LOGDIR/bench-patching.err" | tr '\n' ' ')"
        else
            pass "redis-benchmark while $name was applied and reverted every 100 ms: no errors"
        fi
        if [ "${cycles:-0}" -ge 1 ] && [ "${badc:-0}" -eq 0 ]; then
            pass "$cycles apply+revert cycles in $secs s, none failed"
        else
            fail "apply/revert loop: ${cycles:-0} cycles, ${badc:-?} failed commands${gaveup:+ (gave up after 3 failed applies in a row)}: $(grep -m1 '^xsplice:' "$LOGDIR/patch-loop.out")"
        fi
        # Leave it reverted and unloaded.
        xs revert "$name" > /dev/null 2>&1 || true
        xs unload "$name" >> "$LOGDIR/patch-loop.out" 2>&1 ||
            fail "unload $name after the loop: $(tail -n2 "$LOGDIR/patch-loop.out" | tr '\n' ' ')"
        # Unpatched again, to see how much the machine's own noise is.
        plain_run plain-again
        rps() { tr -d '"' < "$1" | awk -F, 'NR > 1 { print $1 "," $2 }' | sort; }
        echo "THROUGHPUT (requests/s, redis-benchmark -c 4 -n $BENCH_N per test; the"
        echo "unpatched run before and after the apply/revert run; ratio = patching / mean unpatched):"
        printf '  %-8s %12s %28s %14s %8s\n' test unpatched "apply+revert every 100 ms" "unpatched again" ratio
        join -t, -a 1 -e - -o auto <(join -t, -a 1 -e - -o auto <(rps "$LOGDIR/bench-plain.csv") \
            <(rps "$LOGDIR/bench-patching.csv")) <(rps "$LOGDIR/bench-plain-again.csv") |
            awk -F, '{ for (i = 2; i <= 4; i++) $i = (($i == "" || $i == "-") ? "-" : sprintf("%.0f", $i))
                       m = ($2 + $4) / 2
                       r = ($3 == "-" || $2 == "-" || $4 == "-") ? "-" : sprintf("%.3f", $3 / m)
                       printf "  %-8s %12s %28s %14s %8s\n", $1, $2, $3, $4, r }'
    else
        fail "xsplice upload $name for the throughput loop: $(tail -n2 "$LOGDIR/patch-loop.out" | tr '\n' ' ')"
    fi
fi

# ----------------------------------------------------------------- the end
if [ "$prebuilt_used" = 1 ]; then
    fail "XSPLICE_REAL_PREBUILT was set: payloads did not come from xsplice-build"
fi
if server_alive; then
    pass "redis-server pid $SPID is still the same process and answers PING"
else
    fail "redis-server pid $SPID died (see $LOGDIR/server.log)"
fi
if grep -qE 'crashed by signal|Guru Meditation|ASSERTION FAILED' "$LOGDIR/server.log" 2>/dev/null; then
    fail "the server log reports a crash: $(grep -m1 -E 'crashed by signal|Guru Meditation|ASSERTION FAILED' "$LOGDIR/server.log")"
fi
finish
