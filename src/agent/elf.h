/* SPDX-License-Identifier: MIT */
/*
 * Hardened ELF64 reader for the agent. It runs inside other people's
 * processes and reads untrusted bytes, so every offset, size, index and
 * string is checked before use; nothing here trusts the file. No libelf.
 */
#ifndef XS_AGENT_ELF_H
#define XS_AGENT_ELF_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

struct xs_elf_sec {
	const char *name;     /* NUL-terminated inside .shstrtab (checked) */
	const Elf64_Shdr *sh; /* the header inside the image */
	const uint8_t *data;  /* sh_offset inside the image; NULL for SHT_NOBITS */
	uint64_t size;        /* sh_size */
};

struct xs_elf {
	const uint8_t *image;
	size_t size;
	const Elf64_Ehdr *ehdr;
	unsigned nsecs;
	struct xs_elf_sec *secs;   /* malloc'd, nsecs entries */
	/* The symbol table: .symtab if present, else .dynsym (for targets). */
	unsigned symtab_idx;       /* section index, 0 if none */
	const Elf64_Sym *syms;
	unsigned nsyms;
	const char *strtab;        /* the symbol table's linked string table */
	size_t strtab_size;
};

enum xs_elf_kind {
	XS_ELF_PAYLOAD, /* must be ET_REL, EM_X86_64, ELFCLASS64, LSB */
	XS_ELF_OBJECT,  /* ET_EXEC or ET_DYN of this machine (a target's file) */
};

/*
 * Parse and validate headers, section table, section names, the symbol
 * table and its string table. The image must stay valid while elf is used
 * and must be 8-byte aligned in memory (a malloc'd or mmap'd buffer) so the
 * header structures can be used in place.
 * Returns 0, or -ENOEXEC / -EINVAL with a reason naming what is wrong.
 */
int xs_elf_parse(struct xs_elf *elf, const void *image, size_t size, enum xs_elf_kind kind,
		 struct xs_err *err);
void xs_elf_free(struct xs_elf *elf);

const struct xs_elf_sec *xs_elf_section_by_name(const struct xs_elf *elf, const char *name);

/* The symbol's name (checked to be inside strtab and NUL-terminated), or
 * NULL if the name offset is bad. */
const char *xs_elf_sym_name(const struct xs_elf *elf, const Elf64_Sym *sym);

/*
 * Parse an ELF note area (whatever the section type) and return the desc of
 * the first note named "GNU" with type NT_GNU_BUILD_ID. 0 / -ENOENT /
 * -EINVAL (malformed) / -E2BIG (desc longer than out_max).
 */
int xs_elf_note_build_id(const uint8_t *data, size_t size, uint8_t *out, size_t out_max,
			 size_t *out_len, struct xs_err *err);
/* The same for note areas padded to `align` (4 or 8: PT_NOTE segments and
 * SHT_NOTE sections with 8-byte alignment, e.g. next to .note.gnu.property). */
int xs_elf_note_build_id_aligned(const uint8_t *data, size_t size, size_t align, uint8_t *out,
				 size_t out_max, size_t *out_len, struct xs_err *err);

#endif
