#!/bin/sh
# Build a hand-written payload the way the seed builds xen_hello_world:
# compile the C file, fill in addresses/sizes the scripts know, add the
# .livepatch.depends note, and link with a build-id.
#
#   mkpayload.sh --target BIN --depends FILE --src SRC --include DIR -o OUT
#
# OLD_ADDR_<sym>/OLD_SIZE_<sym> come from BIN's symbol table (its dynamic
# symbols when it is stripped); NEW_SIZE_<fn>
# from a first compile of SRC; the depends note carries FILE's build-id
# (FILE is the target binary, or the payload this one stacks on).
set -eu
target= depends= src= out= inc=
cc=${CC:-cc}
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift 2 ;;
    --depends) depends=$2; shift 2 ;;
    --src) src=$2; shift 2 ;;
    --include) inc=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    *) echo "mkpayload.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$target" ] && [ -n "$depends" ] && [ -n "$src" ] && [ -n "$out" ] && [ -n "$inc" ] || {
  echo "usage: mkpayload.sh --target BIN --depends FILE --src SRC --include DIR -o OUT" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="-O2 -fPIC -fno-common -ffunction-sections -fdata-sections -I$inc"

# Symbols of the target the source refers to.
defs=""
for sym in $(grep -o 'OLD_\(ADDR\|SIZE\)_[A-Za-z0-9_]*' "$src" | sed 's/OLD_\(ADDR\|SIZE\)_//' | sort -u); do
  line=$(nm -S --defined-only "$target" 2>/dev/null | awk -v s="$sym" '$4 == s && ($3 == "T" || $3 == "t") { print; exit }')
  # A stripped library, as distributions ship them: its exported functions.
  [ -n "$line" ] || line=$(nm -D -S --defined-only "$target" | awk -v s="$sym" '{ n = $4; sub(/@.*/, "", n) } n == s && $3 == "T" { print $1, $2, $3, n; exit }')
  [ -n "$line" ] || { echo "mkpayload.sh: $sym not found in $target" >&2; exit 1; }
  set -- $line
  defs="$defs -DOLD_ADDR_$sym=0x$1 -DOLD_SIZE_$sym=0x$2"
done
# EXPECT_<sym>: the first bytes of sym in the target file (for
# expectations), as a C initializer list; EXPECT_LEN_<sym> how many (<= 16).
text=$(objdump -h "$target" | awk '$2 == ".text" { print $4, $6; exit }')
for sym in $(grep -o '\bEXPECT_[A-Za-z0-9_]*' "$src" | grep -v '^EXPECT_LEN_' | sed 's/EXPECT_//' | sort -u); do
  line=$(nm -S --defined-only "$target" | awk -v s="$sym" '$4 == s && ($3 == "T" || $3 == "t") { print; exit }')
  [ -n "$line" ] || { echo "mkpayload.sh: $sym not found in $target" >&2; exit 1; }
  set -- $line $text
  n=$(( 0x$2 < 16 ? 0x$2 : 16 ))
  off=$(( 0x$1 - 0x$5 + 0x$6 ))
  bytes=$(od -An -tx1 -v -j "$off" -N "$n" "$target" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//; s/\([0-9a-f][0-9a-f]\)/0x\1/g; s/ /,/g')
  defs="$defs -DEXPECT_$sym=$bytes -DEXPECT_LEN_$sym=$n"
done
# First compile: sizes of our own replacement functions.
nsizes=""
for fn in $(grep -o 'NEW_SIZE_[A-Za-z0-9_]*' "$src" | sed 's/NEW_SIZE_//' | sort -u); do
  nsizes="$nsizes -DNEW_SIZE_$fn=1"
done
$cc $flags $defs $nsizes -c "$src" -o "$tmp/first.o"
sizes=""
for fn in $(grep -o 'NEW_SIZE_[A-Za-z0-9_]*' "$src" | sed 's/NEW_SIZE_//' | sort -u); do
  size=$(nm -S "$tmp/first.o" | awk -v s="$fn" '$4 == s { print $2; exit }')
  [ -n "$size" ] || { echo "mkpayload.sh: function $fn not found in $src" >&2; exit 1; }
  sizes="$sizes -DNEW_SIZE_$fn=0x$size"
done
$cc $flags $defs $sizes -c "$src" -o "$tmp/payload.o"

# .livepatch.depends: an ELF note "GNU", NT_GNU_BUILD_ID (3), the build-id.
bid=$(readelf -n "$depends" | awk '/Build ID:/ { print $3; exit }')
[ -n "$bid" ] || { echo "mkpayload.sh: $depends has no build-id" >&2; exit 1; }
len=$(( ${#bid} / 2 ))
le32() { printf "\\$(printf %03o $(( $1 & 255 )))\\$(printf %03o $(( ($1 >> 8) & 255 )))\\000\\000"; }
{ le32 4; le32 "$len"; le32 3; printf 'GNU\000'; } > "$tmp/note"
i=0
while [ $i -lt ${#bid} ]; do
  byte=$(echo "$bid" | cut -c$((i + 1))-$((i + 2)))
  printf "\\$(printf %03o 0x$byte)" >> "$tmp/note"
  i=$((i + 2))
done
objcopy --add-section .livepatch.depends="$tmp/note" \
        --set-section-flags .livepatch.depends=alloc,readonly \
        --set-section-alignment .livepatch.depends=4 "$tmp/payload.o"
ld -r --build-id=sha1 -o "$out" "$tmp/payload.o"
