/* SPDX-License-Identifier: MIT */
/*
 * Corruption sweep: truncations and bad header / section header / symbol /
 * relocation / note fields. Every case must end in an error with a reason
 * (or, for harmless fields, a clean load) and never crash -- run it under
 * ASan/UBSan too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

/* What the basic payload reaches in its target. */
int xt_global = 100;
__thread int xt_tls_ie = 7;
__thread int xt_tls_le = 9;

__attribute__((noinline, used)) int xt_old_func(int x)
{
	__asm__ volatile("");
	return x + 1;
}

__attribute__((noinline, used)) int xt_other_func(int x)
{
	__asm__ volatile("");
	return x - 1;
}

static struct xs_object *main_obj;

struct image {
	uint8_t *b;
	size_t size;
	struct xs_elf elf; /* parsed original */
};

static struct image basic, relocs;

static int load_orig(struct image *im, const char *path)
{
	im->b = xt_read_file(path, &im->size);
	if (!im->b)
		return -1;
	return xs_elf_parse(&im->elf, im->b, im->size, XS_ELF_PAYLOAD, NULL);
}

static int setup(void **state)
{
	(void)state;
	main_obj = xt_main_object();
	if (!main_obj)
		return -1;
	if (load_orig(&basic, PAYLOAD_BASIC) || load_orig(&relocs, PAYLOAD_RELOCS))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xs_elf_free(&basic.elf);
	xs_elf_free(&relocs.elf);
	free(basic.b);
	free(relocs.b);
	xs_objects_free();
	return 0;
}

/* Resolver that also accepts the relocation payload's names. */
static int resolve(void *ctx, const char *name, uintptr_t *addr, struct xs_err *err)
{
	if (strncmp(name, "xr_", 3) == 0) {
		*addr = strcmp(name, "xr_pc") == 0 || strcmp(name, "xr_plt") == 0
				? (uintptr_t)main_obj->text_lo
				: 0x10;
		return 0;
	}
	return xt_resolve(ctx, name, addr, err);
}

static int try_image(const uint8_t *img, size_t size, struct xs_err *err)
{
	uint8_t *copy = malloc(size ? size : 1);
	assert_non_null(copy);
	memcpy(copy, img, size);
	struct xs_load_params p = { .target = main_obj, .resolve = resolve, .resolve_ctx = main_obj };
	struct xs_loaded ld;
	err->msg[0] = 0;
	int rc = xt_parse_load(copy, size, &p, &ld, err);
	if (rc == 0) {
		xs_unload(&ld);
	} else {
		if (rc > 0 || !err->msg[0])
			fail_msg("rc %d without a reason", rc);
		assert_null(ld.base);
	}
	free(copy);
	return rc;
}

/* Write `val` (width bytes, LE) at off in a copy of im and try it. */
static int mutate(const struct image *im, size_t off, unsigned width, uint64_t val,
		  struct xs_err *err)
{
	uint8_t *copy = malloc(im->size);
	assert_non_null(copy);
	memcpy(copy, im->b, im->size);
	if (off <= im->size && width <= im->size - off)
		memcpy(copy + off, &val, width);
	int rc = try_image(copy, im->size, err);
	free(copy);
	return rc;
}

#define MUST_FAIL(im, off, width, val, needle)                                                    \
	do {                                                                                      \
		struct xs_err e_ = { { 0 } };                                                     \
		int rc_ = mutate(im, off, width, val, &e_);                                       \
		if (rc_ >= 0 || ((needle) && !strstr(e_.msg, (needle) ? (needle) : "")))         \
			fail_msg("%s:%d: off %zu width %u val %#llx: rc %d reason '%s'", __FILE__, \
				 __LINE__, (size_t)(off), (unsigned)(width),                      \
				 (unsigned long long)(val), rc_, e_.msg);                         \
	} while (0)

static size_t shdr_off(const struct image *im, unsigned i)
{
	return im->elf.ehdr->e_shoff + (size_t)i * sizeof(Elf64_Shdr);
}

static unsigned sec_index(const struct image *im, const char *name)
{
	const struct xs_elf_sec *s = xs_elf_section_by_name(&im->elf, name);
	assert_non_null(s);
	return (unsigned)(s - im->elf.secs);
}

static void test_valid(void **state)
{
	(void)state;
	struct xs_err err = { { 0 } };
	assert_int_equal(try_image(basic.b, basic.size, &err), 0);
	assert_int_equal(try_image(relocs.b, relocs.size, &err), 0);
}

static void test_truncate(void **state)
{
	(void)state;
	const struct image *ims[2] = { &basic, &relocs };
	for (int k = 0; k < 2; k++) {
		for (size_t len = 0; len < ims[k]->size; len++) {
			struct xs_err err = { { 0 } };
			int rc = try_image(ims[k]->b, len, &err);
			if (rc >= 0)
				fail_msg("truncated to %zu bytes: loaded", len);
		}
	}
}

static const uint64_t nasty[] = {
	0, 1, 2, 3, 7, 8, 0x40, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0x7fff, 0x8000,
	0xffff, 0xff00, 0xfff1, 0xfff2, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull,
	0xfffffffffffffff0ull,
};
#define NNASTY (sizeof(nasty) / sizeof(nasty[0]))

static void sweep_field(const struct image *im, size_t off, unsigned width)
{
	uint64_t extra[4] = { im->size, im->size - 1, im->size + 1, im->size - 8 };
	for (size_t v = 0; v < NNASTY + 4; v++) {
		struct xs_err err = { { 0 } };
		mutate(im, off, width, v < NNASTY ? nasty[v] : extra[v - NNASTY], &err);
	}
}

static void test_ehdr_sweep(void **state)
{
	(void)state;
	static const struct {
		size_t off;
		unsigned width;
	} f[] = { { 0, 1 },  { 1, 1 },  { 2, 1 },  { 3, 1 },  { 4, 1 },  { 5, 1 },  { 6, 1 },
		  { 7, 1 },  { 16, 2 }, { 18, 2 }, { 20, 4 }, { 24, 8 }, { 32, 8 }, { 40, 8 },
		  { 48, 4 }, { 52, 2 }, { 54, 2 }, { 56, 2 }, { 58, 2 }, { 60, 2 }, { 62, 2 } };
	const struct image *ims[2] = { &basic, &relocs };
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			sweep_field(ims[k], f[i].off, f[i].width);

	const struct image *im = &basic;
	MUST_FAIL(im, 0, 1, 0x7e, "magic");
	MUST_FAIL(im, 3, 1, 'G', "magic");
	MUST_FAIL(im, EI_CLASS, 1, ELFCLASS32, "64-bit");
	MUST_FAIL(im, EI_DATA, 1, ELFDATA2MSB, "little-endian");
	MUST_FAIL(im, EI_VERSION, 1, 2, "version");
	MUST_FAIL(im, 20, 4, 0, "version");
	MUST_FAIL(im, 18, 2, EM_AARCH64, "wrong machine: EM_AARCH64");
	MUST_FAIL(im, 18, 2, EM_386, "wrong machine: EM_386");
	MUST_FAIL(im, 16, 2, ET_EXEC, "ET_EXEC");
	MUST_FAIL(im, 16, 2, ET_DYN, "ET_DYN");
	MUST_FAIL(im, 16, 2, ET_CORE, "ET_CORE");
	MUST_FAIL(im, 52, 2, 52, "header size");
	MUST_FAIL(im, 58, 2, 40, "section header size");
	MUST_FAIL(im, 40, 8, im->size, "beyond end");
	MUST_FAIL(im, 40, 8, ~0ull, NULL);
	MUST_FAIL(im, 40, 8, 0, "no section header table");
	MUST_FAIL(im, 40, 8, im->elf.ehdr->e_shoff + 4, "aligned");
	MUST_FAIL(im, 60, 2, 0xffff, "beyond end");
	MUST_FAIL(im, 62, 2, im->elf.nsecs, "name table index");
	MUST_FAIL(im, 62, 2, 0, "name table index");
	MUST_FAIL(im, 62, 2, sec_index(im, ".text"), "SHT_STRTAB");
}

static void test_shdr_sweep(void **state)
{
	(void)state;
	static const struct {
		size_t off;
		unsigned width;
	} f[] = { { 0, 4 }, { 4, 4 }, { 8, 8 }, { 16, 8 }, { 24, 8 },
		  { 32, 8 }, { 40, 4 }, { 44, 4 }, { 48, 8 }, { 56, 8 } };
	const struct image *ims[2] = { &basic, &relocs };
	for (int k = 0; k < 2; k++) {
		const struct image *im = ims[k];
		for (unsigned s = 0; s < im->elf.nsecs; s++)
			for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
				sweep_field(im, shdr_off(im, s) + f[i].off, f[i].width);
	}

	const struct image *im = &basic;
	const struct xs_elf *elf = &im->elf;
	for (unsigned s = 1; s < elf->nsecs; s++) {
		const Elf64_Shdr *sh = elf->secs[s].sh;
		size_t o = shdr_off(im, s);
		MUST_FAIL(im, o + 0, 4, elf->secs[elf->ehdr->e_shstrndx].size, "name offset");
		MUST_FAIL(im, o + 0, 4, 0xffffffff, "name offset");
		MUST_FAIL(im, o + 40, 4, elf->nsecs, "sh_link");
		if (sh->sh_type == SHT_NOBITS || sh->sh_size == 0)
			continue;
		MUST_FAIL(im, o + 24, 8, im->size, "beyond end of file");
		MUST_FAIL(im, o + 24, 8, ~0ull, "beyond end of file");
		MUST_FAIL(im, o + 24, 8, im->size - sh->sh_size + 1, "beyond end of file");
		MUST_FAIL(im, o + 32, 8, im->size + 1, "beyond end of file");
		MUST_FAIL(im, o + 32, 8, ~0ull - 1, "beyond end of file");
	}
	/* alignment of a loaded section */
	unsigned text = sec_index(im, ".text");
	MUST_FAIL(im, shdr_off(im, text) + 48, 8, 3, "power of two");
	MUST_FAIL(im, shdr_off(im, text) + 48, 8, 8192, "alignment");
	/* .livepatch.funcs without contents, or of a bad size */
	unsigned funcs = sec_index(im, LIVEPATCH_FUNCS_SECTION);
	MUST_FAIL(im, shdr_off(im, funcs) + 4, 4, SHT_NOBITS, LIVEPATCH_FUNCS_SECTION);
	MUST_FAIL(im, shdr_off(im, funcs) + 32, 8, 0, LIVEPATCH_FUNCS_SECTION);
	MUST_FAIL(im, shdr_off(im, funcs) + 32, 8, 63, NULL);
	MUST_FAIL(im, shdr_off(im, funcs) + 32, 8, 100, "multiple");
	/* thread-local storage in a payload */
	MUST_FAIL(im, shdr_off(im, text) + 8, 8, SHF_ALLOC | SHF_EXECINSTR | SHF_TLS, "thread-local");
}

static void test_symtab(void **state)
{
	(void)state;
	const struct image *im = &basic;
	const struct xs_elf *elf = &im->elf;
	unsigned st = elf->symtab_idx;
	size_t o = shdr_off(im, st);
	MUST_FAIL(im, o + 56, 8, 0, "entsize");
	MUST_FAIL(im, o + 56, 8, 23, "entsize");
	MUST_FAIL(im, o + 32, 8, elf->secs[st].size - 1, "multiple");
	MUST_FAIL(im, o + 40, 4, 0, "sh_link");
	MUST_FAIL(im, o + 40, 4, st, "SHT_STRTAB");
	MUST_FAIL(im, o + 4, 4, SHT_NOBITS, NULL);
	/* the string table must end in NUL */
	const struct xs_elf_sec *str = &elf->secs[elf->secs[st].sh->sh_link];
	MUST_FAIL(im, str->sh->sh_offset + str->size - 1, 1, 'x', "NUL");
	/* a symbol's name / section index */
	size_t sym_off = elf->secs[st].sh->sh_offset;
	for (unsigned i = 1; i < elf->nsyms; i++) {
		size_t so = sym_off + (size_t)i * sizeof(Elf64_Sym);
		MUST_FAIL(im, so + offsetof(Elf64_Sym, st_name), 4, elf->strtab_size, "name offset");
		MUST_FAIL(im, so + offsetof(Elf64_Sym, st_shndx), 2, elf->nsecs, "section index");
	}
	/* a defined function turned into a common symbol */
	for (unsigned i = 1; i < elf->nsyms; i++) {
		const char *n = xs_elf_sym_name(elf, &elf->syms[i]);
		if (n && strcmp(n, "lp_new_func") == 0)
			MUST_FAIL(im, sym_off + (size_t)i * sizeof(Elf64_Sym) +
					      offsetof(Elf64_Sym, st_shndx),
				  2, SHN_COMMON, "-fno-common");
		if (n && strcmp(n, "lp_bump") == 0)
			MUST_FAIL(im, sym_off + (size_t)i * sizeof(Elf64_Sym) +
					      offsetof(Elf64_Sym, st_value),
				  8, 0x100000, "beyond its section");
	}
	/* symbols (also the whole sweep of fields) */
	for (unsigned i = 1; i < elf->nsyms; i++) {
		size_t so = sym_off + (size_t)i * sizeof(Elf64_Sym);
		sweep_field(im, so + 0, 4);
		sweep_field(im, so + 4, 1);
		sweep_field(im, so + 5, 1);
		sweep_field(im, so + 6, 2);
		sweep_field(im, so + 8, 8);
	}
}

static void test_relocations(void **state)
{
	(void)state;
	const struct image *ims[2] = { &basic, &relocs };
	for (int k = 0; k < 2; k++) {
		const struct image *im = ims[k];
		const struct xs_elf *elf = &im->elf;
		int seen = 0;
		for (unsigned r = 1; r < elf->nsecs; r++) {
			const struct xs_elf_sec *rs = &elf->secs[r];
			if (rs->sh->sh_type != SHT_RELA || rs->sh->sh_info >= elf->nsecs ||
			    !(elf->secs[rs->sh->sh_info].sh->sh_flags & SHF_ALLOC))
				continue;
			seen++;
			const struct xs_elf_sec *ts = &elf->secs[rs->sh->sh_info];
			size_t o = shdr_off(im, r);
			MUST_FAIL(im, o + 56, 8, 16, "entsize");
			MUST_FAIL(im, o + 32, 8, rs->size - 1, "multiple");
			MUST_FAIL(im, o + 40, 4, 0, "symbol table");
			MUST_FAIL(im, o + 44, 4, elf->nsecs, "sh_info");
			MUST_FAIL(im, o + 4, 4, SHT_REL, "SHT_REL");
			uint64_t n = rs->size / sizeof(Elf64_Rela);
			for (uint64_t i = 0; i < n; i++) {
				size_t ro = rs->sh->sh_offset + i * sizeof(Elf64_Rela);
				Elf64_Rela rel;
				memcpy(&rel, im->b + ro, sizeof(rel));
				uint64_t info = rel.r_info;
				uint32_t type = ELF64_R_TYPE(info);
				MUST_FAIL(im, ro + 8, 8, ELF64_R_INFO(elf->nsyms, type), "out of range");
				MUST_FAIL(im, ro + 8, 8, ELF64_R_INFO(0xffffffffu, type), "out of range");
				MUST_FAIL(im, ro + 8, 8, ELF64_R_INFO(ELF64_R_SYM(info), 250), "250");
				MUST_FAIL(im, ro + 0, 8, ts->size, "beyond");
				MUST_FAIL(im, ro + 0, 8, ~0ull, "beyond");
				if (type != R_X86_64_8 && type != R_X86_64_PC8 && type != R_X86_64_NONE)
					MUST_FAIL(im, ro + 0, 8, ts->size - 1, NULL);
				sweep_field(im, ro + 16, 8); /* addends: may overflow */
			}
		}
		assert_true(seen > 0);
	}
}

static void rename_section(const struct image *im, const char *name, const char *needle)
{
	unsigned i = sec_index(im, name);
	size_t at = im->elf.secs[im->elf.ehdr->e_shstrndx].sh->sh_offset + im->elf.secs[i].sh->sh_name;
	MUST_FAIL(im, at + 1, 1, 'X', needle);
}

static void test_notes(void **state)
{
	(void)state;
	const struct image *im = &basic;
	rename_section(im, LIVEPATCH_BUILD_ID_SECTION, LIVEPATCH_BUILD_ID_SECTION);
	rename_section(im, LIVEPATCH_DEPENDS_SECTION, LIVEPATCH_DEPENDS_SECTION);
	rename_section(im, LIVEPATCH_FUNCS_SECTION, LIVEPATCH_FUNCS_SECTION);
	const char *notes[2] = { LIVEPATCH_BUILD_ID_SECTION, LIVEPATCH_DEPENDS_SECTION };
	for (int k = 0; k < 2; k++) {
		const struct xs_elf_sec *s = xs_elf_section_by_name(&im->elf, notes[k]);
		size_t d = s->sh->sh_offset;
		MUST_FAIL(im, d + 0, 4, 0xfffffff0u, notes[k]);   /* namesz */
		MUST_FAIL(im, d + 4, 4, 0xfffffff0u, notes[k]);   /* descsz */
		MUST_FAIL(im, d + 4, 4, 0, notes[k]);             /* empty build-id */
		MUST_FAIL(im, d + 4, 4, 200, notes[k]);           /* beyond / too long */
		MUST_FAIL(im, d + 8, 4, 1, notes[k]);             /* not NT_GNU_BUILD_ID */
		MUST_FAIL(im, d + 12, 1, 'g', notes[k]);          /* not "GNU" */
		MUST_FAIL(im, shdr_off(im, (unsigned)(s - im->elf.secs)) + 4, 4, SHT_NOBITS,
			  notes[k]);
		MUST_FAIL(im, shdr_off(im, (unsigned)(s - im->elf.secs)) + 32, 8, 8, notes[k]);
		for (size_t b = 0; b < s->size; b++)
			sweep_field(im, d + b, 1);
	}
	/* .livepatch.symbols records */
	const struct xs_elf_sec *ls = xs_elf_section_by_name(&im->elf, LIVEPATCH_SYMBOLS_SECTION);
	size_t d = ls->sh->sh_offset;
	MUST_FAIL(im, d + 12, 2, 0, LIVEPATCH_SYMBOLS_SECTION);
	MUST_FAIL(im, d + 12, 2, 0xffff, LIVEPATCH_SYMBOLS_SECTION);
	MUST_FAIL(im, d + 14, 2, 1, "flags");
	MUST_FAIL(im, shdr_off(im, (unsigned)(ls - im->elf.secs)) + 32, 8, 20, LIVEPATCH_SYMBOLS_SECTION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_ehdr_sweep),
		cmocka_unit_test(test_shdr_sweep),
		cmocka_unit_test(test_symtab),
		cmocka_unit_test(test_relocations),
		cmocka_unit_test(test_notes),
	};
	return cmocka_run_group_tests_name("corrupt", tests, setup, teardown);
}
