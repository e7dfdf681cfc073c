/* SPDX-License-Identifier: MIT */
/* Payload loading end to end inside this test program (the "target"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <sys/mman.h>

#include "testutil.h"
#include "agent/arch/arch.h"

/* What the payloads reach in the target. */
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

/* Reached only through the payload's .livepatch.symbols table. */
__attribute__((noinline, used)) static int secret_impl(void)
{
	__asm__ volatile("");
	return 23;
}

static struct xs_object *main_obj;

static uint8_t *load_image(const char *path, size_t *size)
{
	uint8_t *img = xt_read_file(path, size);
	if (!img)
		fail_msg("cannot read %s", path);
	return img;
}

/* Point the payload's .livepatch.symbols record at secret_impl. */
static void patch_lpsym(uint8_t *img, size_t size)
{
	struct xs_elf elf;
	struct xs_err err = { { 0 } };
	assert_int_equal(xs_elf_parse(&elf, img, size, XS_ELF_PAYLOAD, &err), 0);
	const struct xs_elf_sec *s = xs_elf_section_by_name(&elf, LIVEPATCH_SYMBOLS_SECTION);
	assert_non_null(s);
	uint64_t off = s->sh->sh_offset;
	xs_elf_free(&elf);
	uint64_t addr = (uint64_t)(uintptr_t)&secret_impl - main_obj->bias;
	memcpy(img + off, &addr, 8);
}

static int setup(void **state)
{
	(void)state;
	main_obj = xt_main_object();
	return main_obj ? 0 : -1;
}

static void test_basic_parse(void **state)
{
	(void)state;
	size_t size = 0;
	uint8_t *img = load_image(PAYLOAD_BASIC, &size);
	struct xs_elf elf;
	struct xs_err err = { { 0 } };
	assert_int_equal(xs_elf_parse(&elf, img, size, XS_ELF_PAYLOAD, &err), 0);
	assert_non_null(xs_elf_section_by_name(&elf, LIVEPATCH_FUNCS_SECTION));
	assert_non_null(elf.syms);
	uint8_t id[XS_BUILD_ID_MAX], dep[XS_BUILD_ID_MAX];
	size_t idl = 0, depl = 0;
	assert_int_equal(xs_payload_notes(&elf, id, &idl, dep, &depl, &err), 0);
	assert_int_equal(idl, 20);
	assert_int_equal(depl, 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(dep[i], i + 1);
	/* as a target object it is the wrong type */
	struct xs_elf e2;
	assert_int_equal(xs_elf_parse(&e2, img, size, XS_ELF_OBJECT, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "ET_REL"));
	xs_elf_free(&elf);
	free(img);
}

static void *lookup(const struct xs_loaded *ld, const char *name)
{
	uintptr_t a = 0;
	if (xs_loaded_lookup(ld, name, &a) != 0)
		fail_msg("payload symbol %s missing", name);
	return (void *)a;
}

static struct xs_loaded load_basic(void)
{
	size_t size = 0;
	uint8_t *img = load_image(PAYLOAD_BASIC, &size);
	patch_lpsym(img, size);
	struct xs_load_params p = { .target = main_obj, .resolve = xt_resolve,
				    .resolve_ctx = main_obj };
	struct xs_loaded ld;
	struct xs_err err = { { 0 } };
	int rc = xt_parse_load(img, size, &p, &ld, &err);
	if (rc)
		fail_msg("load failed: %d %s", rc, err.msg);
	free(img); /* the loaded payload must not depend on the image */
	return ld;
}

static void test_basic_load_and_call(void **state)
{
	(void)state;
	struct xs_loaded ld = load_basic();
	int (*new_func)(int) = (int (*)(int))lookup(&ld, "lp_new_func");
	size_t (*lstrlen)(const char *) = (size_t (*)(const char *))lookup(&ld, "lp_strlen");
	int (*call_old)(int) = (int (*)(int))lookup(&ld, "lp_call_old");
	int *(*gaddr)(void) = (int *(*)(void))lookup(&ld, "lp_global_addr");
	int (*bump)(void) = (int (*)(void))lookup(&ld, "lp_bump");
	const char *(*str)(void) = (const char *(*)(void))lookup(&ld, "lp_string");
	int (*sec)(void) = (int (*)(void))lookup(&ld, "lp_call_secret");

	xt_global = 100;
	assert_int_equal(new_func(5), 110);
	xt_global = 7;
	assert_int_equal(new_func(5), 17);
	char buf[32];
	snprintf(buf, sizeof(buf), "%s", "hello, world");
	assert_int_equal(lstrlen(buf), 12);
	assert_int_equal(call_old(10), 12);
	assert_ptr_equal(gaddr(), &xt_global);
	assert_int_equal(bump(), 1);
	assert_int_equal(bump(), 2);
	assert_string_equal(str(), "payload-string");
	assert_int_equal(sec(), 1023);

	/* .livepatch.funcs: relocated, read-only, old_addr tracking */
	assert_int_equal(ld.nfuncs, 2);
	assert_string_equal(ld.funcs[0].name, "xt_old_func");
	assert_ptr_equal(ld.funcs[0].new_addr, (void *)new_func);
	assert_ptr_equal(ld.funcs[0].old_addr, (void *)&xt_old_func);
	assert_true(ld.old_addr_relocated[0]);
	assert_false(ld.old_addr_relocated[1]);
	assert_null(ld.funcs[1].old_addr);
	assert_true(xs_loaded_contains(&ld, (uintptr_t)ld.funcs, 128));
	assert_false(xs_loaded_contains(&ld, (uintptr_t)ld.base + ld.size - 4, 8));
	assert_int_equal(ld.build_id_len, 20);
	assert_int_equal(ld.depends_len, 20);
	assert_int_equal(xs_loaded_lookup(&ld, "counter", NULL), -ENOENT); /* static */
	assert_int_equal(xs_loaded_lookup(&ld, "lp_data", NULL), 0);

	/* within +-2 GB of the target */
	uintptr_t b = (uintptr_t)ld.base;
	int64_t d1 = (int64_t)(b + ld.size) - (int64_t)main_obj->lo;
	int64_t d2 = (int64_t)main_obj->hi - (int64_t)b;
	assert_true(d1 < (1ll << 31) && d1 > -(1ll << 31));
	assert_true(d2 < (1ll << 31) && d2 > -(1ll << 31));
	xs_unload(&ld);
	assert_null(ld.base);
}

static void *tls_thread(void *arg)
{
	int (*ie)(void) = (int (*)(void))((void **)arg)[0];
	int (*le)(void) = (int (*)(void))((void **)arg)[1];
	xt_tls_ie = 70;
	xt_tls_le = 90;
	intptr_t ok = ie() == 70 && le() == 90;
	return (void *)ok;
}

static void test_tls(void **state)
{
	(void)state;
	struct xs_loaded ld = load_basic();
	int (*ie)(void) = (int (*)(void))lookup(&ld, "lp_tls_ie");
	int (*le)(void) = (int (*)(void))lookup(&ld, "lp_tls_le");
	xt_tls_ie = 7;
	xt_tls_le = 9;
	assert_int_equal(ie(), 7);
	assert_int_equal(le(), 9);
	xt_tls_ie = 8;
	assert_int_equal(ie(), 8);
	void *fns[2] = { (void *)ie, (void *)le };
	pthread_t t;
	void *res;
	assert_int_equal(pthread_create(&t, NULL, tls_thread, fns), 0);
	pthread_join(t, &res);
	assert_true(res != NULL);
	assert_int_equal(ie(), 8); /* ours unchanged */
	xs_unload(&ld);
}

/* Every mapping of the payload: text r-x, never w and x together. */
static void test_protections(void **state)
{
	(void)state;
	struct xs_loaded ld = load_basic();
	uintptr_t text = (uintptr_t)lookup(&ld, "lp_new_func");
	uintptr_t data = (uintptr_t)lookup(&ld, "lp_data");
	uintptr_t funcs = (uintptr_t)ld.funcs;
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	int seen_text = 0, seen_data = 0, seen_funcs = 0;
	uintptr_t b = (uintptr_t)ld.base, e = b + ld.size;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
			continue;
		if (hi <= b || lo >= e)
			continue;
		assert_false(perms[1] == 'w' && perms[2] == 'x');
		if (text >= lo && text < hi) {
			assert_string_equal(perms, "r-xp");
			seen_text = 1;
		}
		if (data >= lo && data < hi) {
			assert_string_equal(perms, "rw-p");
			seen_data = 1;
		}
		if (funcs >= lo && funcs < hi) {
			assert_string_equal(perms, "r--p");
			seen_funcs = 1;
		}
	}
	fclose(f);
	assert_true(seen_text && seen_data && seen_funcs);
	xs_unload(&ld);
}

static void test_no_target(void **state)
{
	(void)state;
	/* without a target: placed anywhere; far calls go through stubs;
	 * TLS refused with a reason. */
	size_t size = 0;
	uint8_t *img = load_image(PAYLOAD_BASIC, &size);
	struct xs_load_params p = { .target = NULL, .resolve = xt_resolve, .resolve_ctx = main_obj };
	struct xs_loaded ld;
	struct xs_err err = { { 0 } };
	assert_int_equal(xt_parse_load(img, size, &p, &ld, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "xt_tls"));
	assert_null(ld.base);
	free(img);
}

static void test_missing_symbol(void **state)
{
	(void)state;
	size_t size = 0;
	uint8_t *img = load_image(PAYLOAD_BASIC, &size);
	/* no .livepatch.symbols patching: xt_secret resolves through the
	 * resolver, which does not know it */
	struct xs_load_params p = { .target = main_obj, .resolve = xt_resolve,
				    .resolve_ctx = main_obj };
	struct xs_loaded ld;
	struct xs_err err = { { 0 } };
	/* the placeholder address is used as-is: fine for loading; corrupt
	 * the record name instead so it no longer matches */
	struct xs_elf elf;
	assert_int_equal(xs_elf_parse(&elf, img, size, XS_ELF_PAYLOAD, &err), 0);
	const struct xs_elf_sec *s = xs_elf_section_by_name(&elf, LIVEPATCH_SYMBOLS_SECTION);
	uint64_t off = s->sh->sh_offset;
	xs_elf_free(&elf);
	img[off + 16] = 'X';
	int rc = xt_parse_load(img, size, &p, &ld, &err);
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err.msg, "xt_secret"));
	/* a NUL inside a record name is malformed */
	img[off + 16] = 0;
	rc = xt_parse_load(img, size, &p, &ld, &err);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err.msg, LIVEPATCH_SYMBOLS_SECTION));
	free(img);
}

static void test_common_refused(void **state)
{
	(void)state;
	size_t size = 0;
	uint8_t *img = load_image(PAYLOAD_COMMON, &size);
	struct xs_load_params p = { .target = main_obj, .resolve = xt_resolve,
				    .resolve_ctx = main_obj };
	struct xs_loaded ld;
	struct xs_err err = { { 0 } };
	assert_int_equal(xt_parse_load(img, size, &p, &ld, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "-fno-common"));
	assert_non_null(strstr(err.msg, "lp_common_var"));
	free(img);
}

/* ---- the relocation payload: one field per type ---- */

struct rval {
	const char *name;
	uint64_t val;
};
static struct rval rvals[8];

static int table_resolve(void *ctx, const char *name, uintptr_t *addr, struct xs_err *err)
{
	(void)ctx;
	for (unsigned i = 0; i < sizeof(rvals) / sizeof(rvals[0]) && rvals[i].name; i++)
		if (strcmp(rvals[i].name, name) == 0) {
			*addr = (uintptr_t)rvals[i].val;
			return 0;
		}
	return xs_fail(err, -ENOENT, "no '%s' in the test table", name);
}

static void set_default_rvals(void)
{
	struct rval d[] = {
		{ "xr_64", 0x1122334455667788ull }, { "xr_u32", 0xfffffff0ull },
		{ "xr_s32", (uint64_t)-16 },         { "xr_16", 0xfff0 },
		{ "xr_8", 0x80 },                    { "xr_pc", (uintptr_t)&xt_global },
		{ "xr_plt", (uintptr_t)&xt_old_func }, { NULL, 0 },
	};
	memcpy(rvals, d, sizeof(d));
}

static int load_relocs(struct xs_loaded *ld, struct xs_err *err)
{
	size_t size = 0;
	uint8_t *img = load_image(PAYLOAD_RELOCS, &size);
	struct xs_load_params p = { .target = main_obj, .resolve = table_resolve };
	int rc = xt_parse_load(img, size, &p, ld, err);
	free(img);
	return rc;
}

static int32_t rd32s(const uint8_t *p)
{
	int32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void test_relocs(void **state)
{
	(void)state;
	set_default_rvals();
	struct xs_loaded ld;
	struct xs_err err = { { 0 } };
	int rc = load_relocs(&ld, &err);
	if (rc)
		fail_msg("relocs payload: %d %s", rc, err.msg);
	const uint8_t *t = lookup(&ld, "r_table");
	uint64_t P = (uintptr_t)t;
	uint64_t q;
	memcpy(&q, t + 0, 8);
	assert_int_equal(q, 0x1122334455667788ull + 8);
	memcpy(&q, t + 8, 8);
	assert_int_equal(q, 0x1122334455667788ull + 3 - (P + 8));
	uint32_t u;
	memcpy(&u, t + 16, 4);
	assert_int_equal(u, 0xfffffff0u);
	assert_int_equal(rd32s(t + 20), -16);
	uint16_t h;
	memcpy(&h, t + 24, 2);
	assert_int_equal(h, 0xfff0);
	assert_int_equal(t[26], 0x80);
	assert_int_equal((int64_t)P + 28 + rd32s(t + 28), (int64_t)(uintptr_t)&xt_global);
	int16_t pc16;
	memcpy(&pc16, t + 32, 2);
	assert_int_equal(pc16, 72 - 32);
	assert_int_equal((int8_t)t[34], 80 - 34);
	/* GOT-relative: slot = P + field + 4 (addend -4) holds S */
	for (int off = 36; off <= 44; off += 4) {
		uint64_t slot = P + (uint64_t)off + 4 + (uint64_t)(int64_t)rd32s(t + off);
		uint64_t v;
		memcpy(&v, (void *)(uintptr_t)slot, 8);
		assert_int_equal(v, off == 44 ? 0xfffffff0ull : 0x1122334455667788ull);
		assert_true(xs_loaded_contains(&ld, (uintptr_t)slot, 8));
	}
	/* PLT32 to a near target: direct */
	assert_int_equal((int64_t)P + 48 + 4 + rd32s(t + 48), (int64_t)(uintptr_t)&xt_old_func);
	/* PC32 and 64 inside the payload */
	uintptr_t rf = (uintptr_t)lookup(&ld, "r_func");
	assert_int_equal((int64_t)P + 52 + rd32s(t + 52), (int64_t)rf);
	memcpy(&q, t + 56, 8);
	assert_int_equal(q, rf);
	/* 32S in text */
	const uint8_t *c = lookup(&ld, "r_code32s");
	assert_int_equal(rd32s(c), -16);
	xs_unload(&ld);
}

static void test_relocs_far_plt_stub(void **state)
{
	(void)state;
	set_default_rvals();
	rvals[6].val = (uintptr_t)&strlen; /* libc: beyond rel32 from near the program */
	struct xs_loaded ld;
	struct xs_err err = { { 0 } };
	int rc = load_relocs(&ld, &err);
	if (rc)
		fail_msg("relocs payload: %d %s", rc, err.msg);
	const uint8_t *t = lookup(&ld, "r_table");
	uint64_t dest = (uintptr_t)t + 48 + 4 + (uint64_t)(int64_t)rd32s(t + 48);
	int64_t direct = (int64_t)((uintptr_t)&strlen - dest);
	if (direct > INT32_MAX || direct < INT32_MIN) {
		/* went through a stub inside the payload's text */
		assert_true(xs_loaded_contains(&ld, (uintptr_t)dest, XS_ARCH_PLT_STUB_SIZE));
		const uint8_t *st = (const uint8_t *)(uintptr_t)dest;
		assert_int_equal(st[0], 0xff);
		assert_int_equal(st[1], 0x25);
		uint64_t tgt;
		memcpy(&tgt, st + 6, 8);
		assert_int_equal(tgt, (uintptr_t)&strlen);
	} else {
		assert_int_equal(dest, (uintptr_t)&strlen);
	}
	xs_unload(&ld);
}

static void test_relocs_overflow(void **state)
{
	(void)state;
	static const struct {
		const char *sym;
		uint64_t bad;
		const char *type;
	} cases[] = {
		{ "xr_u32", 0x100000000ull, "R_X86_64_32:" },
		{ "xr_u32", (uint64_t)-1, "R_X86_64_32:" },
		{ "xr_s32", 0x80000000ull, "R_X86_64_32S" },
		{ "xr_s32", (uint64_t)INT32_MIN - 1, "R_X86_64_32S" },
		{ "xr_16", 0x10000, "R_X86_64_16" },
		{ "xr_16", (uint64_t)-32769, "R_X86_64_16" },
		{ "xr_8", 0x100, "R_X86_64_8" },
		{ "xr_8", (uint64_t)-129, "R_X86_64_8" },
		{ "xr_pc", 0x10000, "R_X86_64_PC32" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_default_rvals();
		for (unsigned k = 0; rvals[k].name; k++)
			if (strcmp(rvals[k].name, cases[i].sym) == 0)
				rvals[k].val = cases[i].bad;
		struct xs_loaded ld;
		struct xs_err err = { { 0 } };
		int rc = load_relocs(&ld, &err);
		if (rc != -ERANGE || !strstr(err.msg, cases[i].type) || !strstr(err.msg, cases[i].sym))
			fail_msg("case %u (%s=%#llx): rc %d, reason '%s'", i, cases[i].sym,
				 (unsigned long long)cases[i].bad, rc, err.msg);
		assert_null(ld.base);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_parse),
		cmocka_unit_test(test_basic_load_and_call),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_protections),
		cmocka_unit_test(test_no_target),
		cmocka_unit_test(test_missing_symbol),
		cmocka_unit_test(test_common_refused),
		cmocka_unit_test(test_relocs),
		cmocka_unit_test(test_relocs_far_plt_stub),
		cmocka_unit_test(test_relocs_overflow),
	};
	return cmocka_run_group_tests_name("loader", tests, setup, NULL);
}
