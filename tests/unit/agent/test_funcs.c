/* SPDX-License-Identifier: MIT */
/*
 * .livepatch.funcs validation (xs_funcs_prepare) on hand-built entries in
 * a buffer standing for the loaded payload, against libxt_target.so.
 * (test_corrupt.c covers the ELF container; this covers the entries.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "agent/funcs.h"
#include "xt_upload.h"

static _Alignas(64) uint8_t mem[4096];
static struct livepatch_func *E; /* entries at mem */
static char *names;              /* at mem + 1024 */
static uint8_t *newcode;         /* at mem + 2048 */
static bool relocated[4];
static struct xs_loaded ld;
static struct xs_loaded_range exec_range; /* newcode: the payload's "text" */
static struct xs_object *target;

static int setup(void **state)
{
	(void)state;
	target = xt_target_object();
	return target ? 0 : -1;
}

/* One valid version-1 entry: xt_old_func -> newcode. */
static int reset(void **state)
{
	(void)state;
	memset(mem, 0, sizeof(mem));
	E = (struct livepatch_func *)mem;
	names = (char *)mem + 1024;
	newcode = mem + 2048;
	strcpy(names, "xt_old_func");
	strcpy(names + 64, "xt_other_func");
	E[0] = (struct livepatch_func){ .name = names, .new_addr = newcode,
					.old_addr = (void *)&xt_old_func, .new_size = 16,
					.old_size = 16, .version = LIVEPATCH_PAYLOAD_VERSION };
	memset(&ld, 0, sizeof(ld));
	ld.base = mem;
	ld.size = sizeof(mem);
	ld.funcs = E;
	ld.nfuncs = 1;
	exec_range = (struct xs_loaded_range){ (uintptr_t)newcode, (uintptr_t)newcode + 512 };
	ld.exec = &exec_range;
	ld.nexec = 1;
	for (unsigned i = 0; i < 4; i++)
		relocated[i] = true;
	ld.old_addr_relocated = relocated;
	return 0;
}

static int prepare(struct xs_func **fs, unsigned *n, struct xs_err *err)
{
	err->msg[0] = '\0';
	*fs = NULL;
	return xs_funcs_prepare(&ld, target, fs, n, err);
}

static void refused(int want_rc, const char *want)
{
	struct xs_func *fs;
	unsigned n = 99;
	struct xs_err err;
	int rc = prepare(&fs, &n, &err);
	if (rc == 0)
		free(fs);
	if (rc != want_rc || !strstr(err.msg, want))
		fail_msg("rc %d '%s', wanted %d '%s'", rc, err.msg, want_rc, want);
	assert_null(fs);
	assert_int_equal(n, 99);
}

static void test_valid(void **state)
{
	(void)state;
	/* Second entry found by name, version 2 with flags and expect bytes. */
	E[1] = (struct livepatch_func){ .name = names + 64, .new_addr = newcode + 16,
					.old_addr = NULL, .new_size = 16, .old_size = 16,
					.version = LIVEPATCH_PAYLOAD_VERSION_2 };
	E[1].v2.flags = LIVEPATCH_FUNC_NO_STACK_CHECK;
	E[1].v2.expect_len = 3;
	memcpy(E[1].v2.expect, (const void *)&xt_other_func, 3);
	ld.nfuncs = 2;
	struct xs_func *fs;
	unsigned n = 0;
	struct xs_err err;
	int rc = prepare(&fs, &n, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 2);
	assert_string_equal(fs[0].name, "xt_old_func");
	assert_int_equal(fs[0].old_addr, (uintptr_t)&xt_old_func);
	assert_int_equal(fs[0].new_addr, (uintptr_t)newcode);
	assert_int_equal(fs[0].old_size, 16);
	assert_true(fs[0].patch_len >= 5 && fs[0].patch_len <= 16);
	assert_int_equal(fs[0].flags, 0);
	assert_false(fs[0].applied);
	assert_int_equal(fs[1].old_addr, (uintptr_t)&xt_other_func);
	assert_int_equal(fs[1].flags, LIVEPATCH_FUNC_NO_STACK_CHECK);
	assert_int_equal(fs[1].expect_len, 3);
	assert_memory_equal(fs[1].expect, (const void *)&xt_other_func, 3);
	free(fs);
}

static void test_sizes(void **state)
{
	(void)state;
	E[0].old_size = 0;
	refused(-EINVAL, "entry 0 (xt_old_func): old_size is zero");
	E[0].old_size = 2; /* shorter than any trampoline */
	refused(-ERANGE, "entry 0 (xt_old_func): trampoline");
	/* Beyond the function and its padding: up to xt_other_func, which
	 * follows it, plus one (the size depends on the build). */
	uintptr_t a = (uintptr_t)&xt_old_func, b = (uintptr_t)&xt_other_func;
	assert_true(b > a && b - a < 4096);
	E[0].old_size = (uint32_t)(b - a + 1);
	char want[128];
	snprintf(want, sizeof(want), "entry 0 (xt_old_func): old_size %u is larger than the function",
		 E[0].old_size);
	refused(-EINVAL, want);
	reset(NULL);
	E[0].new_size = 0;
	refused(-EINVAL, "new_size is zero but new_addr is set");
	reset(NULL);
	E[0].new_addr = NULL; /* NOP-out */
	E[0].new_size = 17;
	refused(-EINVAL, "NOP-out needs 0 < new_size <= old_size");
}

static void test_opaque_version(void **state)
{
	(void)state;
	E[0].opaque[3] = 1;
	refused(-EINVAL, "entry 0 (xt_old_func): opaque byte 3 is not zero");
	reset(NULL);
	E[0].version = 3;
	refused(-EINVAL, "entry 0 (xt_old_func): version 3 is not supported (1 or 2)");
	E[0].version = 0;
	refused(-EINVAL, "version 0 is not supported");
	reset(NULL);
	E[0].version = LIVEPATCH_PAYLOAD_VERSION_2;
	E[0].v2.flags = 0x80;
	refused(-EINVAL, "unknown flags 0x80");
	E[0].v2.flags = 0;
	E[0].v2.expect_len = LIVEPATCH_EXPECT_MAX + 1;
	refused(-EINVAL, "expect_len 25 > 24");
	E[0].v2.expect_len = 0;
	E[0].v2.reserved[4] = 9;
	refused(-EINVAL, "reserved byte 4 is not zero");
}

static void test_name(void **state)
{
	(void)state;
	/* Not NUL-terminated before the payload's end. */
	memset(mem + sizeof(mem) - 8, 'x', 8);
	E[0].name = (const char *)mem + sizeof(mem) - 8;
	refused(-EINVAL, "entry 0: name pointer is outside the payload");
	/* Pointing outside the payload. */
	E[0].name = "xt_old_func";
	refused(-EINVAL, "entry 0: name pointer is outside the payload");
	/* Too long. */
	memset(names, 'n', XS_NAME_SIZE + 4);
	E[0].name = names;
	refused(-ENAMETOOLONG, "entry 0: name longer than");
	/* Another function's name. */
	reset(NULL);
	E[0].name = names + 64;
	refused(-EINVAL, "entry 0: old_addr is the start of xt_old_func, but the entry names "
		"xt_other_func");
	/* Neither old_addr nor name. */
	E[0].name = NULL;
	E[0].old_addr = NULL;
	refused(-EINVAL, "entry 0: neither old_addr nor name is set");
}

static void test_old_addr(void **state)
{
	(void)state;
	/* Outside the target's text: the payload's own buffer. */
	E[0].old_addr = mem + 100;
	refused(-EINVAL, "entry 0 (xt_old_func): old function");
	refused(-EINVAL, "is not inside the text of");
	/* New code outside the payload. */
	reset(NULL);
	E[0].new_addr = (void *)&xt_other_func;
	refused(-EINVAL, "entry 0 (xt_old_func): new function");
	/* Two entries on the same function. */
	reset(NULL);
	E[1] = E[0];
	E[1].new_addr = newcode + 32;
	ld.nfuncs = 2;
	refused(-EINVAL, "entries 0 (xt_old_func) and 1 (xt_old_func) overlap");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_valid, reset),
		cmocka_unit_test_setup(test_sizes, reset),
		cmocka_unit_test_setup(test_opaque_version, reset),
		cmocka_unit_test_setup(test_name, reset),
		cmocka_unit_test_setup(test_old_addr, reset),
	};
	return cmocka_run_group_tests_name("funcs", tests, setup, NULL);
}
