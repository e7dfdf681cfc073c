# shellcheck shell=bash
# The Redis reproducers of tests/real/redis-cve.sh, shared with the corpus'
# Redis cases (tests/corpus/harness/redis.sh). Source it with REDIS_CLI set;
# then `redis_repro_files DIR` writes the HyperLogLog inputs to DIR (and
# sets REPRO=DIR), and with PORT set repro_hll, repro_hll_exact and
# repro_acl each print one line "bug: ...", "fixed: ..." or "other: ...".
# CVE-2025-32023, from the test the patch adds ("Corrupted sparse
# HyperLogLogs doesn't cause overflow and out-of-bounds with XZERO opcode"):
# a sparse HLL whose XZERO run lengths add up past 2^31.
#  exact.hll  the test's own value: 131072+1000 XZERO(16384) then VAL 0xff;
#             the register index wraps negative and hllMerge writes ~2 GB
#             below its buffer: the unfixed server dies (SIGSEGV).
#  wrap.hll   the same overflow with 2^18 XZERO(16384) = 2^32 registers, so
#             the 32-bit index wraps to exactly 0; then VAL(5) x1 and
#             XZERO(16383): the unfixed code ends at index 16384 and accepts
#             the corrupt object (PFCOUNT answers, register 0 reads 5),
#             without writing out of bounds.  The fixed code says INVALIDOBJ.
#  wrap-nocache.hll  wrap.hll with the cached cardinality marked invalid, so
#             a one-key PFCOUNT parses it (hllSparseRegHisto).
redis_repro_files() {
    REPRO=$1
    mkdir -p "$REPRO"
    perl -e 'print "HYLL", pack("C12", 1, (0) x 11), "\x7f\xff" x (131072 + 1000), "\xff"' \
        > "$REPRO/exact.hll"
    perl -e 'print "HYLL", pack("C12", 1, (0) x 11), "\x7f\xff" x 262144, "\x90\x7f\xfe"' \
        > "$REPRO/wrap.hll"
    perl -e 'print "HYLL", pack("C12", 1, (0) x 10, 0x80), "\x7f\xff" x 262144, "\x90\x7f\xfe"' \
        > "$REPRO/wrap-nocache.hll"
}

PORT=${PORT:-}
cli() { timeout 20 "$REDIS_CLI" -h 127.0.0.1 -p "$PORT" "$@" 2>&1 || true; }

# Prints "bug: ..." or "fixed: ..." or "other: ...".
repro_hll() {
    local key=xsplice:cve-2025-32023 a b c
    cli -x SET "$key" < "$REPRO/wrap.hll" > /dev/null
    a=$(cli PFCOUNT "$key" "$key" | head -n1)          # hllMerge
    cli -x SET "$key" < "$REPRO/wrap.hll" > /dev/null
    b=$(cli PFDEBUG GETREG "$key" | head -n1)          # hllSparseToDense
    cli -x SET "$key" < "$REPRO/wrap-nocache.hll" > /dev/null
    c=$(cli PFCOUNT "$key" | head -n1)                 # hllSparseRegHisto
    cli DEL "$key" > /dev/null
    local d="PFCOUNT k k -> '$a'; PFDEBUG GETREG k -> '$b'...; PFCOUNT k -> '$c'"
    if [[ $a == INVALIDOBJ* && $b == INVALIDOBJ* && $c == INVALIDOBJ* ]]; then
        echo "fixed: $d"
    elif [[ $a =~ ^[0-9]+$ && $b == 5 && $c =~ ^[0-9]+$ ]]; then
        echo "bug: $d"
    else
        echo "other: $d"
    fi
}

# The test's exact input; only for a server that is fixed or sacrificial.
repro_hll_exact() {
    local key=xsplice:cve-2025-32023-exact a b
    cli -x SET "$key" < "$REPRO/exact.hll" > /dev/null
    a=$(cli PFCOUNT "$key" "$key" | head -n1)
    b=$(cli PFDEBUG GETREG "$key" | head -n1)
    cli DEL "$key" > /dev/null
    echo "PFCOUNT k k -> '$a'; PFDEBUG GETREG k -> '$b'"
}

# CVE-2024-51741, from the test the patch adds ("Validate read and write
# permissions format - empty selector"): ACL SETUSER key-permission-RW %.
# Unfixed: OK, and the user now holds a key pattern with no permission,
# which the next ACL LIST/GETUSER turns into a serverPanic.  Fixed: a syntax
# error.  The reproducer deletes the user at once so nothing describes it.
# It also runs the test's "empty pattern" case, which both versions must
# answer with NOPERM (the patched function still parses valid selectors).
repro_acl() {
    local user=key-permission-RW a b
    a=$(cli ACL SETUSER "$user" % | head -n1)
    cli ACL DELUSER "$user" > /dev/null
    cli ACL SETUSER "$user" on nopass '%RW~' +@all > /dev/null
    b=$(cli --user "$user" --pass x --no-auth-warning SET x 5 | head -n1)
    cli ACL DELUSER "$user" > /dev/null
    local d="ACL SETUSER $user % -> '$a'; (%RW~) SET x 5 -> '$b'"
    if [[ $b != NOPERM* ]]; then
        echo "other: $d"
    elif [[ $a == "ERR Error in ACL SETUSER modifier '%': Syntax error" ]]; then
        echo "fixed: $d"
    elif [[ $a == OK ]]; then
        echo "bug: $d"
    else
        echo "other: $d"
    fi
}
