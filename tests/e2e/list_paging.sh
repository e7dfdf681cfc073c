#!/bin/bash
# LIST paging with a changing set (the seed's idx/nr/left/version): one page
# at a time through libxsplice-ctl (tests/e2e/list_pager.c) over six
# uploaded payloads, hello variants that differ only in their build-id.
source "$(dirname "$0")/lib.sh" "$1"
PAGER=$E2E_BUILD/list_pager
E2BIG=-7

start_target 2

# page IDX NR: sets P_RET P_VERSION P_COUNT P_LEFT P_NAMES ("a b c").
page() {
	local out
	out=$(timeout 20 "$PAGER" "$ASOCK" "$@" 2>&1)
	P_RAW=$out
	read -r _ P_RET _ P_VERSION _ P_COUNT _ P_LEFT <<<"$(head -n1 <<<"$out")"
	P_NAMES=$(tail -n +2 <<<"$out" | awk '{ print $1 }' | xargs)
}

# expect_page IDX NR COUNT LEFT "NAMES" DESC
expect_page() {
	page "$1" "$2"
	if [ "$P_RET" = 0 ] && [ "$P_COUNT" = "$3" ] && [ "$P_LEFT" = "$4" ] &&
		[ "$P_NAMES" = "$5" ]; then
		pass "$6"
	else
		fail "$6"
		diag "expected count $3 left $4 names '$5'"
		diag "got: $P_RAW"
	fi
}

for i in 1 2 3 4 5 6 7; do
	hello_variant "$WORK/p$i.livepatch" "$(printf 'e2e%037d' "$i")"
done
check "the variants have distinct build-ids" [ "$(for i in 1 2 3 4 5 6 7; do
	build_id_of "$WORK/p$i.livepatch"; done | sort -u | wc -l)" = 7 ]

page 0 2
check "LIST of an empty set: count 0, left 0" [ "$P_RET $P_COUNT $P_LEFT" = "0 0 0" ]
V0=$P_VERSION

for i in 1 2 3 4 5 6; do
	xsp upload "p$i" "$WORK/p$i.livepatch"
	expect_rc 0 "upload p$i"
done

expect_page 0 2 2 4 "p1 p2" "page idx 0 nr 2: p1 p2, 4 left"
V1=$P_VERSION
check "the version changed with the uploads ($V0 -> $V1)" [ "$V1" != "$V0" ]
expect_page 2 2 2 2 "p3 p4" "page idx 2 nr 2: p3 p4, 2 left"
check "same version on the next page" [ "$P_VERSION" = "$V1" ]
expect_page 4 2 2 0 "p5 p6" "page idx 4 nr 2: p5 p6, 0 left"
check "same version on the last page" [ "$P_VERSION" = "$V1" ]
expect_page 5 2 1 0 "p6" "page idx 5 nr 2: p6 only"
expect_page 6 2 0 0 "" "page idx 6 (the end): empty, 0 left"
expect_page 1000 2 0 0 "" "page idx 1000 (past the end): empty, 0 left"
expect_page 0 0 0 6 "" "nr 0: no entries, 6 left"
expect_page 3 0 0 3 "" "idx 3 nr 0: no entries, 3 left"
expect_page 0 64 6 0 "p1 p2 p3 p4 p5 p6" "nr XS_LIST_MAX (64): all six"
page 0 65
check "nr 65 (> XS_LIST_MAX): -E2BIG" [ "$P_RET" = "$E2BIG" ]
diag "$P_RAW"
page 0 4294967295
check "nr 2^32-1: -E2BIG" [ "$P_RET" = "$E2BIG" ]

# Walk the pages of two with the set changing between them.
expect_page 0 2 2 4 "p1 p2" "walk: first page"
VA=$P_VERSION
xsp upload p7 "$WORK/p7.livepatch"
expect_rc 0 "upload p7 between pages"
expect_page 2 2 2 3 "p3 p4" "walk: second page counts p7 in left"
VB=$P_VERSION
check "the version changed with the upload between pages ($VA -> $VB)" [ "$VB" != "$VA" ]
xsp unload p1
expect_rc 0 "unload p1 between pages"
expect_page 4 2 2 0 "p6 p7" "walk: third page is shifted by the unload"
VC=$P_VERSION
check "the version changed with the unload between pages ($VB -> $VC)" [ "$VC" != "$VB" ]
expect_page 0 2 2 4 "p2 p3" "restart after the version change: p2 p3"
check "the restarted walk sees the new version" [ "$P_VERSION" = "$VC" ]

# A refused upload and a state change do not change the set.
xsp upload p2 "$WORK/p3.livepatch"
expect_rc 4 "a refused upload (duplicate name)"
page 0 2
check "a refused upload does not change the version" [ "$P_VERSION" = "$VC" ]
xsp apply p2
expect_rc 0 "apply p2"
page 0 2
diag "version after apply: $P_VERSION (was $VC)"
check "LIST shows p2 APPLIED" grep -q '^p2 APPLIED 0$' <<<"$P_RAW"
xsp revert p2
expect_rc 0 "revert p2"

# The CLI lists everything (it pages with XS_LIST_MAX, restarting on a
# version change), also while another client keeps changing the set.
expect_list "p2:CHECKED p3:CHECKED p4:CHECKED p5:CHECKED p6:CHECKED p7:CHECKED" \
	"xsplice list shows all six in upload order"
churn() {
	local end=$((SECONDS + 20))
	while [ ! -e "$WORK/stop-churn" ] && [ $SECONDS -lt $end ]; do
		"$XSPLICE" -p "$TPID" upload p1 "$WORK/p1.livepatch" >/dev/null 2>&1
		"$XSPLICE" -p "$TPID" unload p1 >/dev/null 2>&1
	done
}
churn &
STARTED_PIDS+=("$!")
CHURN=$!
bad=0
for i in $(seq 20); do
	got=$(list_names)
	case "$got" in
	"p2:CHECKED p3:CHECKED p4:CHECKED p5:CHECKED p6:CHECKED p7:CHECKED" | \
		"p2:CHECKED p3:CHECKED p4:CHECKED p5:CHECKED p6:CHECKED p7:CHECKED p1:CHECKED") ;;
	*) bad=$((bad + 1)); diag "inconsistent list: '$got'" ;;
	esac
done
touch "$WORK/stop-churn"
wait "$CHURN"
check "20 lists during uploads/unloads by another client are all consistent" [ $bad = 0 ]

for i in 1 2 3 4 5 6 7; do
	xsp unload "p$i"
done
expect_list "" "all unloaded"
expect_alive
done_testing
