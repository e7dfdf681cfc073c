/* SPDX-License-Identifier: MIT */
/*
 * Hardened ELF64 reader. Every offset, size, index and string taken from the
 * image is checked before it is used; all arithmetic on file values is done
 * in 64 bits with explicit overflow checks. Never crashes, never prints.
 * Threading: no global state; a parsed struct xs_elf belongs to its caller
 * and is only read after parsing, so any thread may use its own.
 */
#include "elf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [off, off+len) inside [0, size)? Overflow-safe. */
static int range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_NONE: return "EM_NONE";
	case EM_386: return "EM_386";
	case EM_ARM: return "EM_ARM";
	case EM_X86_64: return "EM_X86_64";
	case EM_AARCH64: return "EM_AARCH64";
	case EM_PPC: return "EM_PPC";
	case EM_PPC64: return "EM_PPC64";
	case EM_S390: return "EM_S390";
	case EM_MIPS: return "EM_MIPS";
	case EM_RISCV: return "EM_RISCV";
	case EM_SPARCV9: return "EM_SPARCV9";
#ifdef EM_LOONGARCH
	case EM_LOONGARCH: return "EM_LOONGARCH";
#endif
	default: return "EM_unknown";
	}
}

static const char *type_name(unsigned t)
{
	switch (t) {
	case ET_NONE: return "ET_NONE";
	case ET_REL: return "ET_REL";
	case ET_EXEC: return "ET_EXEC";
	case ET_DYN: return "ET_DYN";
	case ET_CORE: return "ET_CORE";
	default: return "ET_unknown";
	}
}

static int check_strtab(const struct xs_elf *elf, unsigned idx, const char *what,
			struct xs_err *err)
{
	const struct xs_elf_sec *s = &elf->secs[idx];
	if (s->sh->sh_type != SHT_STRTAB)
		return xs_fail(err, -EINVAL, "%s (section %u) is not SHT_STRTAB (type %u)", what, idx,
			       s->sh->sh_type);
	if (!s->data || s->size == 0)
		return xs_fail(err, -EINVAL, "%s (section %u) is empty", what, idx);
	if (s->data[s->size - 1] != '\0')
		return xs_fail(err, -EINVAL, "%s (section %u) does not end in NUL", what, idx);
	return 0;
}

static int parse_symtab(struct xs_elf *elf, unsigned idx, enum xs_elf_kind kind,
			struct xs_err *err)
{
	const struct xs_elf_sec *s = &elf->secs[idx];
	const Elf64_Shdr *sh = s->sh;
	const char *nm = s->name;

	if (sh->sh_type == SHT_NOBITS || !s->data)
		return xs_fail(err, -EINVAL, "symbol table %s (section %u) has no data", nm, idx);
	if (sh->sh_entsize != sizeof(Elf64_Sym))
		return xs_fail(err, -EINVAL, "symbol table %s (section %u): entsize %llu, expected %zu",
			       nm, idx, (unsigned long long)sh->sh_entsize, sizeof(Elf64_Sym));
	if (sh->sh_size % sizeof(Elf64_Sym))
		return xs_fail(err, -EINVAL,
			       "symbol table %s (section %u): size %llu not a multiple of %zu", nm,
			       idx, (unsigned long long)sh->sh_size, sizeof(Elf64_Sym));
	if (sh->sh_offset % 8)
		return xs_fail(err, -EINVAL, "symbol table %s (section %u): offset %llu not 8-aligned",
			       nm, idx, (unsigned long long)sh->sh_offset);
	uint64_t n = sh->sh_size / sizeof(Elf64_Sym);
	if (n > 0xffffffffull / 2)
		return xs_fail(err, -EINVAL, "symbol table %s (section %u): too many symbols", nm, idx);
	if (sh->sh_link == 0 || sh->sh_link >= elf->nsecs)
		return xs_fail(err, -EINVAL, "symbol table %s (section %u): sh_link %u is not a section",
			       nm, idx, sh->sh_link);
	int rc = check_strtab(elf, sh->sh_link, "symbol string table", err);
	if (rc)
		return xs_fail_prefix(err, rc, "symbol table %s (section %u)", nm, idx);

	elf->symtab_idx = idx;
	elf->syms = (const Elf64_Sym *)s->data;
	elf->nsyms = (unsigned)n;
	elf->strtab = (const char *)elf->secs[sh->sh_link].data;
	elf->strtab_size = elf->secs[sh->sh_link].size;

	for (unsigned i = 0; i < elf->nsyms; i++) {
		const Elf64_Sym *sym = &elf->syms[i];
		if (sym->st_shndx < SHN_LORESERVE && sym->st_shndx >= elf->nsecs)
			return xs_fail(err, -EINVAL, "symbol %u: section index %u out of range (%u sections)",
				       i, sym->st_shndx, elf->nsecs);
		if (kind == XS_ELF_PAYLOAD && sym->st_name >= elf->strtab_size)
			return xs_fail(err, -EINVAL,
				       "symbol %u: name offset %u beyond string table (%zu bytes)", i,
				       sym->st_name, elf->strtab_size);
	}
	return 0;
}

/* A byte range of the file: a section's data, the ELF header or the
 * section header table (index ~0u and ~1u). */
struct span {
	uint64_t off, end;
	unsigned idx;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off ? 1 : (x->idx > y->idx) - (x->idx < y->idx);
}

static const char *span_name(const struct xs_elf *elf, unsigned idx, char *buf, size_t n)
{
	if (idx == ~0u)
		return "the ELF header";
	if (idx == ~1u)
		return "the section header table";
	snprintf(buf, n, "section %u (%s)", idx, elf->secs[idx].name);
	return buf;
}

/* The sections the loader looks up by name: one of each. */
static bool unique_name(const char *name)
{
	return strncmp(name, ".livepatch.", 11) == 0 || strcmp(name, ".note.gnu.build-id") == 0;
}

/*
 * A payload's file layout: no two sections' data (nor the ELF header or
 * the section header table) share bytes, and no section the loader finds
 * by name appears twice (which one would it take?). Names are resolved
 * and every range is inside the file when this runs.
 */
static int check_payload_layout(const struct xs_elf *elf, size_t size, struct xs_err *err)
{
	(void)size;
	for (unsigned i = 1; i < elf->nsecs; i++) {
		if (!unique_name(elf->secs[i].name))
			continue;
		for (unsigned j = i + 1; j < elf->nsecs; j++)
			if (strcmp(elf->secs[i].name, elf->secs[j].name) == 0)
				return xs_fail(err, -EINVAL, "two sections named %s (%u and %u)",
					       elf->secs[i].name, i, j);
	}
	struct span *sp = calloc((size_t)elf->nsecs + 2, sizeof(*sp));
	if (!sp)
		return xs_fail(err, -ENOMEM, "out of memory for %u sections", elf->nsecs);
	unsigned n = 0;
	sp[n++] = (struct span){ 0, sizeof(Elf64_Ehdr), ~0u };
	sp[n++] = (struct span){ elf->ehdr->e_shoff,
				 elf->ehdr->e_shoff + (uint64_t)elf->nsecs * sizeof(Elf64_Shdr), ~1u };
	for (unsigned i = 1; i < elf->nsecs; i++) {
		const Elf64_Shdr *sh = elf->secs[i].sh;
		if (sh->sh_type == SHT_NOBITS || sh->sh_type == SHT_NULL || !sh->sh_size)
			continue;
		sp[n++] = (struct span){ sh->sh_offset, sh->sh_offset + sh->sh_size, i };
	}
	qsort(sp, n, sizeof(*sp), cmp_span);
	int rc = 0;
	for (unsigned k = 1; k < n && !rc; k++)
		if (sp[k].off < sp[k - 1].end) {
			char a[160], b[160];
			rc = xs_fail(err, -EINVAL, "%s and %s overlap in the file (bytes %llu..%llu)",
				     span_name(elf, sp[k - 1].idx, a, sizeof(a)),
				     span_name(elf, sp[k].idx, b, sizeof(b)),
				     (unsigned long long)sp[k].off,
				     (unsigned long long)(sp[k].end < sp[k - 1].end ? sp[k].end
										 : sp[k - 1].end) - 1);
		}
	free(sp);
	return rc;
}

int xs_elf_parse(struct xs_elf *elf, const void *image, size_t size, enum xs_elf_kind kind,
		 struct xs_err *err)
{
	memset(elf, 0, sizeof(*elf));
	if (!image)
		return xs_fail(err, -EINVAL, "no ELF image");
	if ((uintptr_t)image % 8)
		return xs_fail(err, -EINVAL, "ELF image in memory is not 8-byte aligned");
	if (size < sizeof(Elf64_Ehdr))
		return xs_fail(err, -ENOEXEC, "file too small for an ELF header (%zu bytes)", size);

	const uint8_t *img = image;
	const Elf64_Ehdr *eh = image;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return xs_fail(err, -ENOEXEC, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return xs_fail(err, -ENOEXEC, "not a 64-bit ELF file (class %u)", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return xs_fail(err, -ENOEXEC, "not a little-endian ELF file (data encoding %u)",
			       eh->e_ident[EI_DATA]);
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return xs_fail(err, -ENOEXEC, "unsupported ELF version %u/%u", eh->e_ident[EI_VERSION],
			       eh->e_version);
	if (eh->e_machine != EM_X86_64)
		return xs_fail(err, -ENOEXEC, "wrong machine: %s (%u), this agent patches x86-64",
			       machine_name(eh->e_machine), eh->e_machine);
	if (kind == XS_ELF_PAYLOAD && eh->e_type != ET_REL)
		return xs_fail(err, -ENOEXEC, "wrong ELF type: %s (%u), a payload must be ET_REL",
			       type_name(eh->e_type), eh->e_type);
	if (kind == XS_ELF_OBJECT && eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return xs_fail(err, -ENOEXEC, "wrong ELF type: %s (%u), expected ET_EXEC or ET_DYN",
			       type_name(eh->e_type), eh->e_type);
	if (eh->e_ehsize != sizeof(Elf64_Ehdr))
		return xs_fail(err, -EINVAL, "ELF header size %u, expected %zu", eh->e_ehsize,
			       sizeof(Elf64_Ehdr));
	if (eh->e_shoff == 0)
		return xs_fail(err, -EINVAL, "no section header table");
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return xs_fail(err, -EINVAL, "section header size %u, expected %zu", eh->e_shentsize,
			       sizeof(Elf64_Shdr));
	if (eh->e_shoff % 8)
		return xs_fail(err, -EINVAL, "section header table offset %llu not 8-aligned",
			       (unsigned long long)eh->e_shoff);
	if (!range_ok(eh->e_shoff, sizeof(Elf64_Shdr), size))
		return xs_fail(err, -EINVAL, "section header table offset %llu beyond end of file (%zu)",
			       (unsigned long long)eh->e_shoff, size);

	const Elf64_Shdr *shdrs = (const Elf64_Shdr *)(img + eh->e_shoff);
	uint64_t nsecs = eh->e_shnum;
	if (nsecs == 0)
		nsecs = shdrs[0].sh_size; /* extended numbering */
	if (nsecs == 0)
		return xs_fail(err, -EINVAL, "no sections");
	if (nsecs > (size - eh->e_shoff) / sizeof(Elf64_Shdr))
		return xs_fail(err, -EINVAL,
			       "section header table (%llu entries at offset %llu) beyond end of file (%zu)",
			       (unsigned long long)nsecs, (unsigned long long)eh->e_shoff, size);
	uint64_t shstrndx = eh->e_shstrndx;
	if (shstrndx == SHN_XINDEX)
		shstrndx = shdrs[0].sh_link;
	if (shstrndx == SHN_UNDEF || shstrndx >= nsecs)
		return xs_fail(err, -EINVAL, "section name table index %llu invalid (%llu sections)",
			       (unsigned long long)shstrndx, (unsigned long long)nsecs);

	elf->image = img;
	elf->size = size;
	elf->ehdr = eh;
	elf->nsecs = (unsigned)nsecs;
	elf->secs = calloc(nsecs, sizeof(*elf->secs));
	if (!elf->secs) {
		memset(elf, 0, sizeof(*elf));
		return xs_fail(err, -ENOMEM, "out of memory for %llu sections",
			       (unsigned long long)nsecs);
	}

	int rc = 0;
	for (unsigned i = 0; i < elf->nsecs; i++) {
		const Elf64_Shdr *sh = &shdrs[i];
		struct xs_elf_sec *s = &elf->secs[i];
		s->sh = sh;
		s->size = sh->sh_size;
		s->name = "";
		if (i == 0)
			continue;
		if (sh->sh_type != SHT_NOBITS && sh->sh_type != SHT_NULL) {
			if (!range_ok(sh->sh_offset, sh->sh_size, size)) {
				rc = xs_fail(err, -EINVAL,
					     "section %u: data (offset %llu, size %llu) beyond end of file (%zu)",
					     i, (unsigned long long)sh->sh_offset,
					     (unsigned long long)sh->sh_size, size);
				goto fail;
			}
			s->data = img + sh->sh_offset;
		}
		if (sh->sh_link >= nsecs) {
			rc = xs_fail(err, -EINVAL, "section %u: sh_link %u out of range (%u sections)", i,
				     sh->sh_link, elf->nsecs);
			goto fail;
		}
	}

	const struct xs_elf_sec *shstr = &elf->secs[shstrndx];
	rc = check_strtab(elf, (unsigned)shstrndx, "section name table", err);
	if (rc)
		goto fail;
	for (unsigned i = 1; i < elf->nsecs; i++) {
		uint32_t off = elf->secs[i].sh->sh_name;
		if (off >= shstr->size) {
			rc = xs_fail(err, -EINVAL,
				     "section %u: name offset %u beyond section name table (%llu bytes)",
				     i, off, (unsigned long long)shstr->size);
			goto fail;
		}
		elf->secs[i].name = (const char *)shstr->data + off;
	}

	if (kind == XS_ELF_PAYLOAD) {
		rc = check_payload_layout(elf, size, err);
		if (rc)
			goto fail;
	}

	/* The symbol table: .symtab, else .dynsym. */
	unsigned symtab = 0, dynsym = 0;
	for (unsigned i = 1; i < elf->nsecs; i++) {
		uint32_t t = elf->secs[i].sh->sh_type;
		if (t == SHT_SYMTAB) {
			if (symtab) {
				rc = xs_fail(err, -EINVAL, "more than one SHT_SYMTAB (sections %u and %u)",
					     symtab, i);
				goto fail;
			}
			symtab = i;
		} else if (t == SHT_DYNSYM && !dynsym) {
			dynsym = i;
		}
	}
	if (kind == XS_ELF_PAYLOAD)
		dynsym = 0;
	if (symtab || dynsym) {
		rc = parse_symtab(elf, symtab ? symtab : dynsym, kind, err);
		if (rc)
			goto fail;
	}
	return 0;

fail:
	xs_elf_free(elf);
	return rc;
}

void xs_elf_free(struct xs_elf *elf)
{
	if (!elf)
		return;
	free(elf->secs);
	memset(elf, 0, sizeof(*elf));
}

const struct xs_elf_sec *xs_elf_section_by_name(const struct xs_elf *elf, const char *name)
{
	if (!elf || !elf->secs || !name)
		return NULL;
	for (unsigned i = 1; i < elf->nsecs; i++)
		if (strcmp(elf->secs[i].name, name) == 0)
			return &elf->secs[i];
	return NULL;
}

const char *xs_elf_sym_name(const struct xs_elf *elf, const Elf64_Sym *sym)
{
	if (!elf || !elf->strtab || !sym || sym->st_name >= elf->strtab_size)
		return NULL;
	/* The string table ends in NUL (checked), so the name is terminated. */
	return elf->strtab + sym->st_name;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

int xs_elf_note_build_id_aligned(const uint8_t *data, size_t size, size_t align, uint8_t *out,
				 size_t out_max, size_t *out_len, struct xs_err *err)
{
	if (align != 4 && align != 8)
		align = 4;
	if (!data && size)
		return xs_fail(err, -EINVAL, "note area has no data");
	uint64_t off = 0;
	while (off < size) {
		if (!range_ok(off, 12, size))
			return xs_fail(err, -EINVAL, "note at offset %llu: truncated header",
				       (unsigned long long)off);
		uint64_t namesz = rd32(data + off), descsz = rd32(data + off + 4);
		uint32_t type = rd32(data + off + 8);
		uint64_t name_off = off + 12;
		uint64_t name_pad = (namesz + align - 1) & ~(uint64_t)(align - 1);
		if (!range_ok(name_off, name_pad, size))
			return xs_fail(err, -EINVAL, "note at offset %llu: name (%llu bytes) beyond end",
				       (unsigned long long)off, (unsigned long long)namesz);
		uint64_t desc_off = name_off + name_pad;
		uint64_t desc_pad = (descsz + align - 1) & ~(uint64_t)(align - 1);
		/* the last note's desc padding may be missing */
		if (!range_ok(desc_off, descsz, size))
			return xs_fail(err, -EINVAL, "note at offset %llu: desc (%llu bytes) beyond end",
				       (unsigned long long)off, (unsigned long long)descsz);
		if (namesz == 4 && memcmp(data + name_off, "GNU", 4) == 0 &&
		    type == NT_GNU_BUILD_ID) {
			if (descsz == 0)
				return xs_fail(err, -EINVAL, "build-id note is empty");
			if (descsz > out_max)
				return xs_fail(err, -E2BIG, "build-id of %llu bytes, at most %zu supported",
					       (unsigned long long)descsz, out_max);
			memcpy(out, data + desc_off, descsz);
			if (out_len)
				*out_len = descsz;
			return 0;
		}
		if (!range_ok(desc_off, desc_pad, size))
			break; /* unpadded last note */
		off = desc_off + desc_pad;
	}
	return xs_fail(err, -ENOENT, "no GNU build-id note");
}

int xs_elf_note_build_id(const uint8_t *data, size_t size, uint8_t *out, size_t out_max,
			 size_t *out_len, struct xs_err *err)
{
	return xs_elf_note_build_id_aligned(data, size, 4, out, out_max, out_len, err);
}
