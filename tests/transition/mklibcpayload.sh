#!/bin/sh
# Build the libc payload with examples/demo/mkpayload.sh against the libc
# the target really loads (from ldd), depending on that libc's build-id.
# libc has no .symtab, so mkpayload's OLD_ADDR_ lookup cannot be used: the
# link-time addresses and sizes of the LIBC_ADDR_<sym>/LIBC_SIZE_<sym>
# symbols named in SRC come from its dynamic symbols and are handed to the
# compiler through CC.
#
#   mklibcpayload.sh MKPAYLOAD TARGET SRC INCLUDE OUT
set -eu
mkpayload=$1 target=$2 src=$3 inc=$4 out=$5
libc=$(ldd "$target" | awk '$1 ~ /^libc\.so/ { print $3; exit }')
[ -n "$libc" ] && [ -f "$libc" ] || { echo "mklibcpayload.sh: no libc in ldd $target" >&2; exit 1; }
defs=""
for sym in $(grep -o 'LIBC_ADDR_[A-Za-z0-9_]*' "$src" | sed 's/LIBC_ADDR_//' | sort -u); do
  line=$(nm -D -S --defined-only "$libc" |
    awk -v s="$sym" '{ n = $4; sub(/@.*/, "", n) } n == s && ($3 == "T" || $3 == "W") { print; exit }')
  [ -n "$line" ] || { echo "mklibcpayload.sh: $sym not found in $libc" >&2; exit 1; }
  set -- $line
  defs="$defs -DLIBC_ADDR_$sym=0x$1 -DLIBC_SIZE_$sym=0x$2"
done
CC="${CC:-cc}$defs" exec "$mkpayload" --target "$libc" --depends "$libc" --src "$src" \
  --include "$inc" -o "$out"
