#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Make the malformed-payload corpus from one valid payload.

  make-corpus.py VALID.livepatch OUTDIR

Writes OUTDIR/NN-name.livepatch, one file per case below, and
OUTDIR/MANIFEST: "file<TAB>errno<TAB>the exact reason the agent gives",
one line per file. Every case changes a few bytes of VALID (or cuts it),
so each file has exactly one defect; expected reasons are computed from
VALID's own layout (section indexes, offsets, sizes), so the corpus and
its manifest fit whatever build of the demo payload VALID is. The
manifest committed beside this script is its output for the demo's
hello.livepatch (tests/e2e/corpus.sh regenerates and checks both)."""
import os
import struct
import sys

EH = struct.Struct("<16sHHIQQQIHHHHHH")
SH = struct.Struct("<IIQQQQIIQQ")
SYM = struct.Struct("<IBBHQQ")
RELA = struct.Struct("<QQq")
MAGIC = b"~Module signature appended~\n"


class Elf:
    def __init__(self, b):
        self.b = bytes(b)
        f = EH.unpack_from(b, 0)
        self.shoff, self.shnum, self.shstrndx = f[6], f[12], f[13]
        self.secs = [list(SH.unpack_from(b, self.shoff + i * 64)) for i in range(self.shnum)]
        ss = self.secs[self.shstrndx]
        self.shstr_off = ss[4]
        names = b[ss[4]:ss[4] + ss[5]]
        self.names = [names[s[0]:names.index(b"\0", s[0])].decode() for s in self.secs]

    def idx(self, name):
        return self.names.index(name)

    def sh(self, i):
        return self.secs[i]

    def sh_at(self, i):
        return self.shoff + i * 64


# Fields of Elf64_Shdr by position in SH.
NAME, TYPE, FLAGS, ADDR, OFF, SIZE, LINK, INFO, ALIGN, ENTSIZE = range(10)
SH_FIELD_OFF = [0, 4, 8, 16, 24, 32, 40, 44, 48, 56]
SH_FIELD_FMT = ["<I", "<I", "<Q", "<Q", "<Q", "<Q", "<I", "<I", "<Q", "<Q"]


def main():
    src, out = sys.argv[1], sys.argv[2]
    base = open(src, "rb").read()
    e = Elf(base)
    size = len(base)
    n = e.shnum
    cases = []

    def add(name, data, errno, reason):
        cases.append((name, bytes(data), errno, reason))

    def patch(off, fmt, val, b=None):
        b = bytearray(base if b is None else b)
        struct.pack_into(fmt, b, off, val)
        return b

    def shset(i, field, val, b=None):
        return patch(e.sh_at(i) + SH_FIELD_OFF[field], SH_FIELD_FMT[field], val, b)

    t = e.idx(".text.hello_world")
    rt = e.idx(".rela.text.hello_world")
    fn = e.idx(".livepatch.funcs")
    rfn = e.idx(".rela.livepatch.funcs")
    st = e.idx(".symtab")
    stt = e.idx(".strtab")
    nt = e.idx(".note.gnu.build-id")
    dp = e.idx(".livepatch.depends")
    ro = e.idx(".rodata.hello_world_name")
    ehf = e.idx(".eh_frame")
    nsyms = e.sh(st)[SIZE] // 24
    nrt = e.sh(rt)[SIZE] // 24
    fn_off, fn_size = e.sh(fn)[OFF], e.sh(fn)[SIZE]

    # ---- truncated and bad headers ----
    add("truncated-4", base[:4], "ENOEXEC", "file too small for an ELF header (4 bytes)")
    add("truncated-63", base[:63], "ENOEXEC", "file too small for an ELF header (63 bytes)")
    add("bad-magic", patch(0, "<I", 0x464c457e), "ENOEXEC", "not an ELF file (bad magic)")
    add("class-32", patch(4, "<B", 1), "ENOEXEC", "not a 64-bit ELF file (class 1)")
    add("class-none", patch(4, "<B", 0), "ENOEXEC", "not a 64-bit ELF file (class 0)")
    add("big-endian", patch(5, "<B", 2), "ENOEXEC",
        "not a little-endian ELF file (data encoding 2)")
    add("ident-version-0", patch(6, "<B", 0), "ENOEXEC", "unsupported ELF version 0/1")
    add("e-version-2", patch(20, "<I", 2), "ENOEXEC", "unsupported ELF version 1/2")
    add("machine-aarch64", patch(18, "<H", 183), "ENOEXEC",
        "wrong machine: EM_AARCH64 (183), this agent patches x86-64")
    add("machine-i386", patch(18, "<H", 3), "ENOEXEC",
        "wrong machine: EM_386 (3), this agent patches x86-64")
    add("type-exec", patch(16, "<H", 2), "ENOEXEC",
        "wrong ELF type: ET_EXEC (2), a payload must be ET_REL")
    add("type-dyn", patch(16, "<H", 3), "ENOEXEC",
        "wrong ELF type: ET_DYN (3), a payload must be ET_REL")
    add("type-core", patch(16, "<H", 4), "ENOEXEC",
        "wrong ELF type: ET_CORE (4), a payload must be ET_REL")
    add("ehsize-52", patch(52, "<H", 52), "EINVAL", "ELF header size 52, expected 64")
    add("shentsize-40", patch(58, "<H", 40), "EINVAL", "section header size 40, expected 64")
    add("shoff-zero", patch(40, "<Q", 0), "EINVAL", "no section header table")
    add("shoff-unaligned", patch(40, "<Q", e.shoff + 4), "EINVAL",
        "section header table offset %d not 8-aligned" % (e.shoff + 4))
    add("shoff-beyond-file", patch(40, "<Q", size + 8 & ~7), "EINVAL",
        "section header table offset %d beyond end of file (%d)" % (size + 8 & ~7, size))
    add("shnum-zero", patch(60, "<H", 0), "EINVAL", "no sections")
    add("shstrndx-out-of-range", patch(62, "<H", n + 5), "EINVAL",
        "section name table index %d invalid (%d sections)" % (n + 5, n))
    cut = e.shoff + 64 * (n // 2)
    add("truncated-in-section-headers", base[:cut], "EINVAL",
        "section header table (%d entries at offset %d) beyond end of file (%d)" % (n, e.shoff, cut))

    # ---- section offsets and sizes ----
    add("section-offset-beyond-file", shset(t, OFF, size + 16), "EINVAL",
        "section %d: data (offset %d, size %d) beyond end of file (%d)"
        % (t, size + 16, e.sh(t)[SIZE], size))
    add("section-size-beyond-file", shset(t, SIZE, size), "EINVAL",
        "section %d: data (offset %d, size %d) beyond end of file (%d)"
        % (t, e.sh(t)[OFF], size, size))
    add("section-offset-wraps", shset(t, OFF, 2**64 - 4), "EINVAL",
        "section %d: data (offset %d, size %d) beyond end of file (%d)"
        % (t, 2**64 - 4, e.sh(t)[SIZE], size))
    ov = shset(ro, OFF, e.sh(t)[OFF])
    lo_i, hi_i = sorted([t, ro])
    add("sections-overlap", ov, "EINVAL",
        "section %d (%s) and section %d (%s) overlap in the file (bytes %d..%d)"
        % (t, e.names[t], ro, e.names[ro], e.sh(t)[OFF],
           e.sh(t)[OFF] + min(e.sh(t)[SIZE], e.sh(ro)[SIZE]) - 1))
    add("section-overlaps-elf-header", shset(ro, OFF, 8), "EINVAL",
        "the ELF header and section %d (%s) overlap in the file (bytes 8..%d)"
        % (ro, e.names[ro], min(64, 8 + e.sh(ro)[SIZE]) - 1))
    add("section-overlaps-section-headers", shset(ro, OFF, e.shoff), "EINVAL",
        "section %d (%s) and the section header table overlap in the file (bytes %d..%d)"
        % (ro, e.names[ro], e.shoff, e.shoff + e.sh(ro)[SIZE] - 1))
    add("sh-link-out-of-range", shset(st, LINK, n), "EINVAL",
        "section %d: sh_link %d out of range (%d sections)" % (st, n, n))
    add("section-name-beyond-table", shset(t, NAME, e.sh(e.shstrndx)[SIZE]), "EINVAL",
        "section %d: name offset %d beyond section name table (%d bytes)"
        % (t, e.sh(e.shstrndx)[SIZE], e.sh(e.shstrndx)[SIZE]))

    # ---- strings and symbols ----
    b = bytearray(base)
    b[e.shstr_off + e.sh(e.shstrndx)[SIZE] - 1] = ord("x")
    add("shstrtab-unterminated", b, "EINVAL",
        "section name table (section %d) does not end in NUL" % e.shstrndx)
    add("shstrtab-not-strtab", shset(e.shstrndx, TYPE, 1), "EINVAL",
        "section name table (section %d) is not SHT_STRTAB (type 1)" % e.shstrndx)
    b = bytearray(base)
    b[e.sh(stt)[OFF] + e.sh(stt)[SIZE] - 1] = ord("x")
    add("strtab-unterminated", b, "EINVAL",
        "symbol table .symtab (section %d): symbol string table (section %d) does not end in NUL"
        % (st, stt))
    add("symtab-entsize", shset(st, ENTSIZE, 16), "EINVAL",
        "symbol table .symtab (section %d): entsize 16, expected 24" % st)
    add("symtab-size-not-multiple", shset(st, SIZE, e.sh(st)[SIZE] - 4), "EINVAL",
        "symbol table .symtab (section %d): size %d not a multiple of 24"
        % (st, e.sh(st)[SIZE] - 4))
    add("two-symtabs", shset(stt, TYPE, 2), "EINVAL",
        "more than one SHT_SYMTAB (sections %d and %d)" % (st, stt))
    sym14 = e.sh(st)[OFF] + 24 * (nsyms - 2)
    add("symbol-section-out-of-range", patch(sym14 + 6, "<H", n + 3), "EINVAL",
        "symbol %d: section index %d out of range (%d sections)" % (nsyms - 2, n + 3, n))
    add("symbol-name-beyond-strtab", patch(sym14, "<I", e.sh(stt)[SIZE] + 1), "EINVAL",
        "symbol %d: name offset %d beyond string table (%d bytes)"
        % (nsyms - 2, e.sh(stt)[SIZE] + 1, e.sh(stt)[SIZE]))

    # ---- relocations ----
    r0 = e.sh(rt)[OFF]
    sec_t = e.sh(t)[SIZE]
    add("reloc-offset-outside-section", patch(r0, "<Q", sec_t + 0x100), "EINVAL",
        "section %d (%s): relocation 0: offset %#x beyond %s (%d bytes)" % (rt, e.names[rt], sec_t + 0x100, e.names[t], sec_t))
    add("reloc-straddles-section-end", patch(r0, "<Q", sec_t - 2), "EINVAL",
        "%s relocation 0 at %s+%#x against '.LC0': R_X86_64_PC32: 4-byte field does not fit in the 2 bytes left" % (e.names[rt], e.names[t], sec_t - 2))
    add("reloc-symbol-out-of-range", patch(r0 + 8, "<Q", (nsyms + 7) << 32 | 2), "EINVAL",
        "section %d (%s): relocation 0: symbol index %d out of range (%d symbols)" % (rt, e.names[rt], nsyms + 7, nsyms))
    add("reloc-unknown-type", patch(r0 + 8, "<Q", (struct.unpack_from("<Q", base, r0 + 8)[0] >> 32) << 32 | 250), "ENOTSUP",
        "%s relocation 0 at %s+0x%x against '.LC0': relocation type R_X86_64_unknown (250) not supported" % (e.names[rt], e.names[t], struct.unpack_from("<Q", base, r0)[0]))
    add("reloc-target-section-out-of-range", shset(rt, INFO, n + 1), "EINVAL",
        "section %d (%s): sh_info %d is not a section to relocate" % (rt, e.names[rt], n + 1))
    add("reloc-entsize", shset(rt, ENTSIZE, 16), "EINVAL",
        "section %d (%s): entsize 16, expected 24" % (rt, e.names[rt]))
    add("reloc-size-not-multiple", shset(rt, SIZE, e.sh(rt)[SIZE] - 8), "EINVAL",
        "section %d (%s): size %d not a multiple of 24" % (rt, e.names[rt], e.sh(rt)[SIZE] - 8))
    add("reloc-symtab-link-wrong", shset(rt, LINK, stt), "EINVAL",
        "section %d (%s): sh_link %d is not the symbol table (%d)" % (rt, e.names[rt], stt, st))
    rf = e.sh(rfn)[OFF]
    add("funcs-reloc-outside", patch(rf, "<Q", fn_size), "EINVAL",
        "section %d (%s): relocation 0: offset %#x beyond %s (%d bytes)" % (rfn, e.names[rfn], fn_size, e.names[fn], fn_size))

    # ---- .livepatch.funcs ----
    add("funcs-size-not-multiple", shset(fn, SIZE, fn_size - 1), "EINVAL",
        ".livepatch.funcs size %d is not a multiple of 64" % (fn_size - 1))
    add("funcs-size-zero", shset(fn, SIZE, 0), "EINVAL",
        ".livepatch.funcs is empty")
    add("funcs-old-size-4", patch(fn_off + 28, "<I", 4), "ERANGE",
        ".livepatch.funcs entry 0 (extra_version): trampoline at {ADDR}: only 4 bytes of room, a jmp rel32 needs 5")
    add("funcs-old-size-0", patch(fn_off + 28, "<I", 0), "EINVAL",
        ".livepatch.funcs entry 0 (extra_version): old_size is zero")
    add("funcs-version-99", patch(fn_off + 32, "<B", 99), "EINVAL",
        ".livepatch.funcs entry 0 (extra_version): version 99 is not supported (1 or 2)")
    add("funcs-opaque-not-zero", patch(fn_off + 40, "<B", 1), "EINVAL",
        ".livepatch.funcs entry 0 (extra_version): opaque byte 7 is not zero")
    add("funcs-old-addr-outside-text", patch(fn_off + 16, "<Q", 1), "EINVAL",
        ".livepatch.funcs entry 0 (extra_version): old function {ADDR}+%d is not inside the text of {TARGET}" % struct.unpack_from("<I", base, fn_off + 28)[0])
    add("funcs-new-size-huge", patch(fn_off + 24, "<I", 0x7fffffff), "EINVAL",
        ".livepatch.funcs entry 0 (extra_version): new function {ADDR}+2147483647 is not inside the payload")
    add("funcs-name-outside-payload", patch(rf + 16, "<q", 0x10000), "EINVAL",
        ".livepatch.funcs entry 0: name pointer is outside the payload")

    # ---- notes ----
    no = e.sh(nt)[OFF]
    add("build-id-note-wrong-type", patch(no + 8, "<I", 1), "EINVAL",
        "payload section .note.gnu.build-id: no GNU build-id note")
    add("build-id-note-truncated", shset(nt, SIZE, 8), "EINVAL",
        "payload section .note.gnu.build-id: note at offset 0: truncated header")
    add("build-id-note-name-beyond", patch(no, "<I", 0x100), "EINVAL",
        "payload section .note.gnu.build-id: note at offset 0: name (256 bytes) beyond end")
    add("build-id-note-desc-beyond", patch(no + 4, "<I", 0x100), "EINVAL",
        "payload section .note.gnu.build-id: note at offset 0: desc (256 bytes) beyond end")
    add("build-id-note-empty", patch(no + 4, "<I", 0), "EINVAL",
        "payload section .note.gnu.build-id: build-id note is empty")
    b = bytearray(base)
    i = base.index(b".livepatch.depends", e.shstr_off)
    b[i + len(".livepatch.depend")] = ord("z")
    add("depends-missing", b, "ENOEXEC",
        "payload has no .livepatch.depends section (mandatory)")
    add("depends-truncated", shset(dp, SIZE, 12), "EINVAL",
        "payload section .livepatch.depends: note at offset 0: name (4 bytes) beyond end")
    add("depends-no-contents", shset(dp, TYPE, 8), "EINVAL",
        "payload section .livepatch.depends has no contents")
    # duplicate names: .eh_frame renamed .livepatch.funcs (its name is a
    # suffix of ".rela.livepatch.funcs" in the table).
    add("duplicate-funcs-section", shset(ehf, NAME, e.sh(fn)[NAME]), "EINVAL",
        "two sections named .livepatch.funcs (%d and %d)" % (min(ehf, fn), max(ehf, fn)))
    add("duplicate-build-id-section", shset(dp, NAME, e.sh(nt)[NAME]), "EINVAL",
        "two sections named .note.gnu.build-id (%d and %d)" % (min(nt, dp), max(nt, dp)))

    # ---- signature trailers (refused with or without enforcement) ----
    def trailer(sig_len, id_type=2, algo=0):
        return struct.pack(">BBBBB3sI", algo, 0, id_type, 0, 0, b"\0\0\0", sig_len) + MAGIC
    add("sig-trailer-truncated", b"\0" * 3 + MAGIC, "EBADMSG",
        "refused: signature trailer: truncated: 3 bytes before the magic, the module_signature header needs 12")
    add("sig-len-larger-than-file", base + b"\x30" * 16 + trailer(size + 100), "EBADMSG",
        "refused: signature trailer: sig_len %d is larger than the %d bytes before the header" % (size + 100, size + 16))
    add("sig-magic-wrong", base + b"\x30" * 16 + trailer(16)[:-3] + b"ed\n", "EBADMSG",
        "refused: signature trailer: the magic \"~Module signature appended~\\n\" is damaged")
    add("sig-id-type-x509", base + b"\x30" * 16 + trailer(16, id_type=1), "EBADMSG",
        "refused: signature trailer: id_type 1 is not PKCS#7 (2)")
    add("sig-algo-nonzero", base + b"\x30" * 16 + trailer(16, algo=1), "EBADMSG",
        "refused: signature trailer: algo/hash/signer_len/key_id_len must be 0 for PKCS#7 (are 1/0/0/0)")
    add("sig-len-zero", base + trailer(0), "EBADMSG",
        "refused: signature trailer: sig_len is 0")

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "MANIFEST"), "w") as m:
        for k, (name, data, errno, reason) in enumerate(cases, 1):
            fname = "%02d-%s.livepatch" % (k, name)
            with open(os.path.join(out, fname), "wb") as f:
                f.write(data)
            m.write("%s\t%s\t%s\n" % (fname, errno, reason))
    print("%d files" % len(cases))


main()
