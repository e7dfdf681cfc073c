/* SPDX-License-Identifier: MIT */
/* x86-64 relocation arithmetic and trampolines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "agent/arch/arch.h"

#ifndef R_X86_64_GOTPCRELX
#define R_X86_64_GOTPCRELX 41
#define R_X86_64_REX_GOTPCRELX 42
#endif

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

struct ok_case {
	uint32_t type;
	unsigned width;
	uint64_t S;
	int64_t A;
	uint64_t P;
	uint64_t got;
	uint64_t expect; /* low `width` bytes */
};

static void test_rela_values(void **state)
{
	(void)state;
	const uint64_t P = 0x555500001000ull;
	const struct ok_case cases[] = {
		{ R_X86_64_64, 8, 0x1122334455667788ull, 8, P, 0, 0x1122334455667790ull },
		{ R_X86_64_PC64, 8, 0x10, 0, P, 0, 0x10 - P },
		{ R_X86_64_32, 4, 0xfffffff0, 0xf, P, 0, 0xffffffff },
		{ R_X86_64_32S, 4, (uint64_t)-16, -0x7ffffff0, P, 0, (uint32_t)INT32_MIN },
		{ R_X86_64_32S, 4, 0x7fffffff, 0, P, 0, 0x7fffffff },
		{ R_X86_64_16, 2, 0xffff, 0, P, 0, 0xffff },
		{ R_X86_64_16, 2, (uint64_t)-32768, 0, P, 0, 0x8000 },
		{ R_X86_64_8, 1, 0xff, 0, P, 0, 0xff },
		{ R_X86_64_8, 1, (uint64_t)-128, 0, P, 0, 0x80 },
		{ R_X86_64_PC32, 4, P + 0x7fffffff + 4, -4, P, 0, 0x7fffffff },
		{ R_X86_64_PC32, 4, P - 0x80000000ull + 4, -4, P, 0, 0x80000000u },
		{ R_X86_64_PLT32, 4, P + 100, -4, P, 0, 96 },
		{ R_X86_64_PC16, 2, P + 0x7fff, 0, P, 0, 0x7fff },
		{ R_X86_64_PC16, 2, P - 0x8000, 0, P, 0, 0x8000 },
		{ R_X86_64_PC8, 1, P + 127, 0, P, 0, 127 },
		{ R_X86_64_PC8, 1, P - 128, 0, P, 0, 0x80 },
		{ R_X86_64_GOTPCREL, 4, 0xdead, -4, P, P + 0x2000, 0x2000 - 4 },
		{ R_X86_64_GOTPCRELX, 4, 0xdead, -4, P, P - 0x2000, (uint32_t)(-0x2000 - 4) },
		{ R_X86_64_REX_GOTPCRELX, 4, 0xdead, -4, P, P + 8, 4 },
		{ R_X86_64_GOTTPOFF, 4, (uint64_t)-8, -4, P, P + 0x100, 0xfc },
		{ R_X86_64_TPOFF32, 4, (uint64_t)-64, 4, P, 0, (uint32_t)-60 },
		{ R_X86_64_TPOFF64, 8, (uint64_t)-64, 0, P, 0, (uint64_t)-64 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[16];
		memset(buf, 0xaa, sizeof(buf));
		struct xs_err err = { { 0 } };
		int rc = xs_arch_apply_rela(cases[i].type, buf, 8, cases[i].P, cases[i].S, cases[i].A,
					    cases[i].got, &err);
		if (rc)
			fail_msg("case %u (%s): rc %d %s", i, xs_arch_rela_name(cases[i].type), rc,
				 err.msg);
		uint64_t mask = cases[i].width == 8 ? ~0ull : ((1ull << (8 * cases[i].width)) - 1);
		assert_int_equal(rd(buf, cases[i].width), cases[i].expect & mask);
		/* nothing written past the field */
		for (unsigned k = cases[i].width; k < sizeof(buf); k++)
			assert_int_equal(buf[k], 0xaa);
	}
}

static void test_rela_overflow(void **state)
{
	(void)state;
	const uint64_t P = 0x555500001000ull;
	const struct {
		uint32_t type;
		uint64_t S;
		int64_t A;
		uint64_t got;
	} cases[] = {
		{ R_X86_64_32, 0x100000000ull, 0, 0 },
		{ R_X86_64_32, (uint64_t)-1, 0, 0 },
		{ R_X86_64_32S, 0x80000000ull, 0, 0 },
		{ R_X86_64_32S, (uint64_t)INT32_MIN, -1, 0 },
		{ R_X86_64_16, 0x10000, 0, 0 },
		{ R_X86_64_16, (uint64_t)-32769, 0, 0 },
		{ R_X86_64_8, 0x100, 0, 0 },
		{ R_X86_64_8, (uint64_t)-129, 0, 0 },
		{ R_X86_64_PC32, P + 0x80000000ull, 0, 0 },
		{ R_X86_64_PC32, P - 0x80000001ull, 0, 0 },
		{ R_X86_64_PLT32, 0x1000, 0, 0 },
		{ R_X86_64_PC16, P + 0x8000, 0, 0 },
		{ R_X86_64_PC16, P - 0x8001, 0, 0 },
		{ R_X86_64_PC8, P + 128, 0, 0 },
		{ R_X86_64_PC8, P - 129, 0, 0 },
		{ R_X86_64_GOTPCREL, 0, 0, 0x1000 },
		{ R_X86_64_GOTPCRELX, 0, 0, P + 0x90000000ull },
		{ R_X86_64_REX_GOTPCRELX, 0, 0, 0x1000 },
		{ R_X86_64_GOTTPOFF, 0, 0, 0x1000 },
		{ R_X86_64_TPOFF32, (uint64_t)INT32_MIN - 1, 0, 0 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[8] = { 0 };
		struct xs_err err = { { 0 } };
		int rc = xs_arch_apply_rela(cases[i].type, buf, 8, P, cases[i].S, cases[i].A,
					    cases[i].got, &err);
		if (rc != -ERANGE || !strstr(err.msg, xs_arch_rela_name(cases[i].type)))
			fail_msg("case %u (%s): rc %d '%s'", i, xs_arch_rela_name(cases[i].type), rc,
				 err.msg);
		for (unsigned k = 0; k < 8; k++)
			assert_int_equal(buf[k], 0); /* untouched on error */
	}
}

static void test_rela_misc(void **state)
{
	(void)state;
	uint8_t buf[8] = { 0 };
	struct xs_err err = { { 0 } };
	/* field wider than the room left in the section */
	assert_int_equal(xs_arch_apply_rela(R_X86_64_64, buf, 7, 0x1000, 1, 0, 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "R_X86_64_64"));
	assert_int_equal(xs_arch_apply_rela(R_X86_64_PC32, buf, 3, 0x1000, 1, 0, 0, &err), -EINVAL);
	/* GOT kinds need a slot */
	assert_int_equal(xs_arch_apply_rela(R_X86_64_GOTPCREL, buf, 8, 0x1000, 1, 0, 0, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "GOT"));
	/* unknown / unsupported */
	assert_int_equal(xs_arch_apply_rela(200, buf, 8, 0x1000, 1, 0, 0, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "200"));
	assert_int_equal(xs_arch_apply_rela(R_X86_64_TLSGD, buf, 8, 0x1000, 1, 0, 0, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "initial-exec"));
	assert_int_equal(xs_arch_apply_rela(R_X86_64_NONE, buf, 0, 0x1000, 1, 0, 0, &err), 0);
	assert_true(xs_arch_rela_needs_got(R_X86_64_GOTPCREL));
	assert_true(xs_arch_rela_needs_got(R_X86_64_REX_GOTPCRELX));
	assert_true(xs_arch_rela_needs_got(R_X86_64_GOTTPOFF));
	assert_false(xs_arch_rela_needs_got(R_X86_64_PC32));
	assert_string_equal(xs_arch_rela_name(R_X86_64_PLT32), "R_X86_64_PLT32");
}

static void test_trampoline_rel32(void **state)
{
	(void)state;
	uint8_t out[XS_ARCH_PATCH_MAX];
	size_t len = 0;
	struct xs_err err = { { 0 } };
	uintptr_t from = 0x555500000000ull;
	assert_int_equal(xs_arch_trampoline(from, from + 0x1000, 5, out, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_int_equal(out[0], 0xe9);
	assert_int_equal((int32_t)rd(out + 1, 4), 0x1000 - 5);
	/* backwards, at the edge of the range */
	assert_int_equal(xs_arch_trampoline(from, from + 5 - 0x80000000ull, 16, out, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_int_equal((uint32_t)rd(out + 1, 4), 0x80000000u);
	assert_int_equal(xs_arch_trampoline(from, from + 5 + 0x7fffffffull, 5, out, &len, &err), 0);
	assert_int_equal(len, 5);
}

static void test_trampoline_abs(void **state)
{
	(void)state;
	uint8_t out[XS_ARCH_PATCH_MAX];
	size_t len = 0;
	struct xs_err err = { { 0 } };
	uintptr_t from = 0x555500000000ull, to = 0x7f0012345678ull;
	assert_int_equal(xs_arch_trampoline(from, to, 14, out, &len, &err), 0);
	assert_int_equal(len, 14);
	static const uint8_t hdr[6] = { 0xff, 0x25, 0, 0, 0, 0 };
	assert_memory_equal(out, hdr, 6);
	assert_int_equal(rd(out + 6, 8), to);
	/* in range but room < 14 and >= 5 still gives rel32; far + small room: refused */
	assert_int_equal(xs_arch_trampoline(from, to, 13, out, &len, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "13"));
	assert_int_equal(xs_arch_trampoline(from, from + 0x80000005ull, 5, out, &len, &err), -ERANGE);
	/* too little room even for rel32 */
	assert_int_equal(xs_arch_trampoline(from, from + 16, 4, out, &len, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "room"));
}

/* The absolute jump really jumps: run it. */
static int ret42(void)
{
	return 42;
}

static void test_trampoline_executes(void **state)
{
	(void)state;
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	size_t nl = 0, len = 0;
	struct xs_err err = { { 0 } };
	/* 11 bytes of NOPs, then a jump to ret42 */
	assert_int_equal(xs_arch_trampoline((uintptr_t)page, 0, 11, page, &nl, &err), 0);
	assert_int_equal(nl, 11);
	assert_int_equal(xs_arch_trampoline((uintptr_t)page + 11, (uintptr_t)&ret42, 16, page + 11,
					    &len, &err), 0);
	assert_int_equal(mprotect(page, 4096, PROT_READ | PROT_EXEC), 0);
	xs_arch_serialize();
	int (*fn)(void) = (int (*)(void))(void *)page;
	assert_int_equal(fn(), 42);
	munmap(page, 4096);
}

static void test_nop_fill(void **state)
{
	(void)state;
	for (size_t room = 1; room <= XS_ARCH_PATCH_MAX; room++) {
		uint8_t out[XS_ARCH_PATCH_MAX + 4];
		memset(out, 0xcc, sizeof(out));
		size_t len = 0;
		struct xs_err err = { { 0 } };
		assert_int_equal(xs_arch_trampoline(0x1000, 0, room, out, &len, &err), 0);
		assert_int_equal(len, room);
		assert_int_equal(out[room], 0xcc);
		/* walk the NOPs: every one is a known encoding */
		size_t i = 0;
		while (i < room) {
			size_t n = 0;
			if (out[i] == 0x90)
				n = 1;
			else if (out[i] == 0x66 && out[i + 1] == 0x90)
				n = 2;
			else if (out[i] == 0x0f && out[i + 1] == 0x1f)
				n = out[i + 2] == 0x00 ? 3 : out[i + 2] == 0x40 ? 4 :
				    out[i + 2] == 0x44 ? 5 : out[i + 2] == 0x80 ? 7 : 8;
			else if (out[i] == 0x66 && out[i + 1] == 0x0f)
				n = out[i + 3] == 0x44 ? 6 : 9;
			else
				fail_msg("room %zu: bad NOP byte %#x at %zu", room, out[i], i);
			i += n;
		}
		assert_int_equal(i, room);
	}
	uint8_t out[64];
	size_t len;
	struct xs_err err = { { 0 } };
	assert_int_equal(xs_arch_trampoline(0x1000, 0, XS_ARCH_PATCH_MAX + 1, out, &len, &err), -ERANGE);
	assert_true(err.msg[0]);
	assert_int_equal(xs_arch_trampoline(0x1000, 0, 0, out, &len, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rela_values),
		cmocka_unit_test(test_rela_overflow),
		cmocka_unit_test(test_rela_misc),
		cmocka_unit_test(test_trampoline_rel32),
		cmocka_unit_test(test_trampoline_abs),
		cmocka_unit_test(test_trampoline_executes),
		cmocka_unit_test(test_nop_fill),
	};
	return cmocka_run_group_tests_name("arch_x86_64", tests, NULL, NULL);
}
