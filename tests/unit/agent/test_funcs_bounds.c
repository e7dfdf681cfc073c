/* SPDX-License-Identifier: MIT */
/*
 * .livepatch.funcs bounds (src/agent/funcs.c): new code must lie inside one
 * executable section of the payload; a version-2 expectation must lie
 * inside old_size. The payload is loaded once; each case works on a
 * writable copy of its table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"
#include "agent/funcs.h"

/* The function the payload patches: long enough for any trampoline. */
__attribute__((noinline, used)) int xt_f_old(int x)
{
	__asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; "
			 "nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop");
	return x + 1;
}

static struct xs_object *main_obj;
static struct xs_loaded ld;
static struct livepatch_func *copy; /* writable copy of ld.funcs */
static uintptr_t new_addr, data_addr;
static uint64_t new_size;

static int setup(void **state)
{
	(void)state;
	main_obj = xt_main_object();
	if (!main_obj)
		return -1;
	size_t size = 0;
	uint8_t *img = xt_read_file(PAYLOAD_FUNCS, &size);
	if (!img)
		return -1;
	struct xs_load_params p = { .target = main_obj, .resolve = xt_resolve,
				    .resolve_ctx = main_obj };
	struct xs_err err = { { 0 } };
	int rc = xt_parse_load(img, size, &p, &ld, &err);
	free(img);
	if (rc) {
		fprintf(stderr, "load failed: %d %s\n", rc, err.msg);
		return -1;
	}
	for (unsigned i = 0; i < ld.nsymbols; i++) {
		if (strcmp(ld.symbols[i].name, "lp_f_new") == 0) {
			new_addr = ld.symbols[i].addr;
			new_size = ld.symbols[i].size;
		}
		if (strcmp(ld.symbols[i].name, "lp_f_data") == 0)
			data_addr = ld.symbols[i].addr;
	}
	copy = malloc(sizeof(*copy) * ld.nfuncs);
	return new_addr && data_addr && new_size && copy ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(copy);
	xs_unload(&ld);
	xs_objects_free();
	return 0;
}

/* Prepare the copied table; 0 or -errno, reason in err. */
static int prepare(struct xs_err *err)
{
	struct xs_loaded fake = ld;
	fake.funcs = copy;
	struct xs_func *fs = NULL;
	unsigned n = 0;
	int rc = xs_funcs_prepare(&fake, main_obj, &fs, &n, err);
	free(fs);
	return rc;
}

static void reset(void)
{
	memcpy(copy, ld.funcs, sizeof(*copy) * ld.nfuncs);
	copy[0].new_size = (uint32_t)new_size;
}

static void test_good(void **state)
{
	(void)state;
	reset();
	struct xs_err err = { { 0 } };
	assert_int_equal(prepare(&err), 0);
	assert_ptr_equal(copy[0].new_addr, (void *)new_addr);
}

static void test_new_addr_in_data(void **state)
{
	(void)state;
	reset();
	copy[0].new_addr = (void *)data_addr;
	copy[0].new_size = 16;
	struct xs_err err = { { 0 } };
	assert_int_equal(prepare(&err), -EINVAL);
	assert_non_null(strstr(err.msg, "xt_f_old"));
	assert_non_null(strstr(err.msg, "executable section"));
}

static void test_new_code_past_its_section(void **state)
{
	(void)state;
	reset();
	/* still inside the payload's (page-sized) mapping, but past .text */
	copy[0].new_size = 4096;
	struct xs_err err = { { 0 } };
	assert_true(xs_loaded_contains(&ld, new_addr, 8));
	assert_int_equal(prepare(&err), -EINVAL);
	assert_non_null(strstr(err.msg, "xt_f_old"));
	assert_non_null(strstr(err.msg, "executable section"));
}

static void test_new_size_zero(void **state)
{
	(void)state;
	reset();
	copy[0].new_size = 0;
	struct xs_err err = { { 0 } };
	assert_int_equal(prepare(&err), -EINVAL);
	assert_non_null(strstr(err.msg, "xt_f_old"));
}

static void test_expect_longer_than_old(void **state)
{
	(void)state;
	reset();
	copy[0].version = LIVEPATCH_PAYLOAD_VERSION_2;
	memset(copy[0].opaque, 0, sizeof(copy[0].opaque));
	copy[0].old_size = 5;
	copy[0].v2.expect_len = 8;
	memcpy(copy[0].v2.expect, (const void *)&xt_f_old, 8);
	struct xs_err err = { { 0 } };
	assert_int_equal(prepare(&err), -EINVAL);
	assert_non_null(strstr(err.msg, "xt_f_old"));
	assert_non_null(strstr(err.msg, "expect_len 8"));
	assert_non_null(strstr(err.msg, "old_size 5"));
	/* within old_size it is accepted */
	copy[0].v2.expect_len = 5;
	err.msg[0] = '\0';
	assert_int_equal(prepare(&err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_new_addr_in_data),
		cmocka_unit_test(test_new_code_past_its_section),
		cmocka_unit_test(test_new_size_zero),
		cmocka_unit_test(test_expect_longer_than_old),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
