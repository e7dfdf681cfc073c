#!/bin/sh
# Build a test payload: mkpayload.sh CC OUTPUT SOURCE [compiler flags...]
# compile -fPIC -fno-common, add a .livepatch.depends note with objcopy
# (an SHT_PROGBITS section, as users make it) and link with ld -r --build-id.
set -e
cc=$1
out=$2
src=$3
shift 3
tmp="$out.d"
mkdir -p "$tmp"
$cc -c -fPIC -fno-common -O2 "$@" -o "$tmp/a.o" "$src"
# GNU note: namesz 4, descsz 20, type 3 (NT_GNU_BUILD_ID), "GNU\0", 20 bytes
printf '\004\000\000\000\024\000\000\000\003\000\000\000GNU\000' > "$tmp/depends"
printf '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024' >> "$tmp/depends"
objcopy --add-section .livepatch.depends="$tmp/depends" "$tmp/a.o" "$tmp/b.o"
ld -r --build-id=sha1 -o "$out" "$tmp/b.o"
