/* SPDX-License-Identifier: MIT */
/*
 * The object diff of xsplice-build (src/build/diff.c) on objects compiled
 * at test-build time (meson.build): what is unchanged, changed or new, what
 * is refused and why, and what the payload selects against a target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "build.h"

/* The two objects of one source file, diffed. */
struct diffed {
	struct xb_pair pair;
	struct xb_result res;
};

static void diff_objects(struct diffed *d, const char *orig, const char *patched)
{
	struct xs_err err = { { 0 } };
	memset(d, 0, sizeof(*d));
	if (xb_obj_open(&d->pair.orig, orig, &err) || xb_obj_open(&d->pair.patched, patched, &err))
		fail_msg("%s", err.msg);
	xb_diff(&d->pair, &d->res);
}

static void diffed_free(struct diffed *d)
{
	xb_obj_close(&d->pair.orig);
	xb_obj_close(&d->pair.patched);
	xb_result_free(&d->res);
}

static enum xb_status status_of(struct diffed *d, const char *name)
{
	struct xb_sym *y = xb_obj_find(&d->pair.patched, name);
	if (!y)
		fail_msg("%s is not in the patched object", name);
	return y->status;
}

static bool listed(const struct xb_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return true;
	return false;
}

static const char *refusal_of(const struct diffed *d, const char *name)
{
	for (size_t i = 0; i < d->res.refused.n; i++)
		if (!strcmp(d->res.refused.v[i].name, name))
			return d->res.refused.v[i].reason;
	return NULL;
}

static int setup(void **state)
{
	static struct diffed d;
	diff_objects(&d, FUNCS_ORIG_O, FUNCS_PATCHED_O);
	*state = &d;
	return 0;
}

static int teardown(void **state)
{
	diffed_free(*state);
	return 0;
}

static void identical_function_is_same(void **state)
{
	struct diffed *d = *state;
	assert_int_equal(status_of(d, "same_fn"), XB_SAME);
	assert_false(listed(&d->res.changed, "same_fn"));
}

static void changed_body_is_changed(void **state)
{
	struct diffed *d = *state;
	assert_int_equal(status_of(d, "changed_fn"), XB_CHANGED);
	assert_true(listed(&d->res.changed, "changed_fn"));
}

/* count.0 became count.1: the static local is twinned through tick. */
static void renumbered_static_local_is_same(void **state)
{
	struct diffed *d = *state;
	assert_int_equal(status_of(d, "tick"), XB_SAME);
	assert_false(listed(&d->res.changed, "tick"));
}

/* "hello" is .LC1 instead of .LC0: the label resolves to the mergeable
 * string it points into, and the bytes referenced are compared. */
static void moved_string_literal_is_same(void **state)
{
	struct diffed *d = *state;
	assert_int_equal(status_of(d, "greet"), XB_SAME);
}

static void new_function_is_new(void **state)
{
	struct diffed *d = *state;
	assert_int_equal(status_of(d, "bump"), XB_NEW);
	assert_int_equal(status_of(d, "bye"), XB_NEW);
	assert_true(listed(&d->res.added, "bump"));
	assert_true(listed(&d->res.added, "bye"));
	assert_true(d->pair.any);
	assert_int_equal(d->res.refused.n, 0);
}

static void changed_data_is_refused(void **state)
{
	(void)state;
	struct diffed d;
	diff_objects(&d, DATA_ORIG_O, DATA_PATCHED_O);
	const char *why = refusal_of(&d, "counter");
	assert_non_null(why);
	assert_string_equal(why, "changed initialised data (the running value would be lost)");
	why = refusal_of(&d, "limit");
	assert_non_null(why);
	assert_string_equal(why, "changed read-only data (unchanged code still uses the old copy)");
	diffed_free(&d);
}

/* Against the linked original: an entry for the changed function at its
 * address in the target, the new ones included, the unchanged ones not. */
static void select_against_target(void **state)
{
	struct diffed *d = *state;
	struct xb_target t;
	struct xs_err err = { { 0 } };
	if (xb_target_open(&t, TARGET_BIN, &err))
		fail_msg("%s", err.msg);
	assert_true(t.has_symtab);
	assert_true(xb_obj_in_target(&d->pair, &t));
	xb_select(&d->pair, &t, &d->res);
	assert_int_equal(d->res.refused.n, 0);
	assert_int_equal(d->res.nfuncs, 1);
	const struct xb_tsym *ts;
	assert_int_equal(xb_target_lookup(&t, "changed_fn", false, NULL, &ts, &err), 0);
	assert_string_equal(d->res.funcs[0].name, "changed_fn");
	assert_int_equal(d->res.funcs[0].old_addr, ts->value);
	assert_int_equal(d->res.funcs[0].old_size, ts->size);
	struct xb_obj *b = &d->pair.patched;
	assert_true(xb_obj_find(b, "changed_fn")->include);
	assert_true(xb_obj_find(b, "bump")->include);
	assert_true(xb_obj_find(b, "bye")->include);
	assert_false(xb_obj_find(b, "same_fn")->include);
	assert_false(xb_obj_find(b, "tick")->include);
	xb_target_close(&t);
}

int main(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identical_function_is_same),
		cmocka_unit_test(changed_body_is_changed),
		cmocka_unit_test(renumbered_static_local_is_same),
		cmocka_unit_test(moved_string_literal_is_same),
		cmocka_unit_test(new_function_is_new),
		cmocka_unit_test(changed_data_is_refused),
		cmocka_unit_test(select_against_target),
	};
	return cmocka_run_group_tests_name("build_diff", tests, setup, teardown);
}
