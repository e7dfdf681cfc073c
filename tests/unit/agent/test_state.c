/* SPDX-License-Identifier: MIT */
/*
 * The seed's state rules (xs_payload_check_action) and the REPLACE plan
 * on a real payload table: copies of payload_state uploaded through
 * xs_payload_upload; the states are then set by hand for each case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "agent/plan.h"
#include "xt_upload.h"

/* A, B: against libxt_target.so, both patch xt_old_func and xt_other_func;
 * S: stacked on A; C: against it too (the replacement). */
static struct xs_payload *A, *B, *S, *C;

static int setup(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	if (xt_upload("A", 0xa1, NULL, &err) || xt_upload("B", 0xb2, NULL, &err) ||
	    xt_upload("C", 0xc3, NULL, &err)) {
		fprintf(stderr, "upload: %s\n", err.msg);
		return -1;
	}
	A = xt_payload("A");
	B = xt_payload("B");
	C = xt_payload("C");
	if (xt_upload("S", 0x5a, A, &err)) {
		fprintf(stderr, "upload S: %s\n", err.msg);
		return -1;
	}
	S = xt_payload("S");
	return A && B && C && S ? 0 : -1;
}

static void set(struct xs_payload *p, uint32_t st, uint64_t seq)
{
	p->state = st;
	p->applied_seq = seq;
	p->rc = 0;
	p->reason[0] = '\0';
	for (unsigned i = 0; i < p->nfuncs; i++)
		p->funcs[i].applied = st == XS_STATE_APPLIED;
}

/* Every payload CHECKED before each test. */
static int reset(void **state)
{
	(void)state;
	set(A, XS_STATE_CHECKED, 0);
	set(B, XS_STATE_CHECKED, 0);
	set(C, XS_STATE_CHECKED, 0);
	set(S, XS_STATE_CHECKED, 0);
	return 0;
}

static int check(struct xs_payload *p, uint32_t cmd, struct xs_err *err)
{
	err->msg[0] = '\0';
	xs_payloads_lock();
	int rc = xs_payload_check_action(p, cmd, err);
	xs_payloads_unlock();
	return rc;
}

/* Refused: -EINVAL, the reason (containing want) in err and in p. */
static void refused(struct xs_payload *p, uint32_t cmd, const char *want)
{
	struct xs_err err;
	uint32_t st = p->state;
	assert_int_equal(check(p, cmd, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("reason '%s' lacks '%s'", err.msg, want);
	assert_int_equal(p->rc, -EINVAL);
	assert_string_equal(p->reason, err.msg);
	assert_int_equal(p->state, st);
}

static void allowed(struct xs_payload *p, uint32_t cmd)
{
	struct xs_err err;
	int rc = check(p, cmd, &err);
	if (rc)
		fail_msg("%s of %s refused: %s", xs_action_name(cmd), p->name, err.msg);
	assert_int_equal(p->rc, 0);
}

static void test_uploaded(void **state)
{
	(void)state;
	/* The real upload path: CHECKED, two functions, S stacked on A. */
	assert_int_equal(A->state, XS_STATE_CHECKED);
	assert_int_equal(A->nfuncs, 2);
	assert_ptr_equal(A->below, NULL);
	assert_ptr_equal(S->below, A);
	assert_int_equal(A->funcs[0].old_addr, (uintptr_t)&xt_old_func);
	assert_int_equal(A->funcs[1].old_addr, (uintptr_t)&xt_other_func);
	assert_string_equal(A->funcs[1].name, "xt_other_func");
}

static void test_allowed(void **state)
{
	(void)state;
	/* CHECKED: apply, replace, unload. */
	allowed(B, XS_ACTION_APPLY);
	allowed(B, XS_ACTION_REPLACE);
	allowed(B, XS_ACTION_UNLOAD);
	/* APPLIED, nothing on top: revert. */
	set(B, XS_STATE_APPLIED, 1);
	allowed(B, XS_ACTION_REVERT);
	/* A stacked payload applies once the one below is applied. */
	set(A, XS_STATE_APPLIED, 2);
	allowed(S, XS_ACTION_APPLY);
	/* The newest of two on the same function reverts. */
	set(B, XS_STATE_APPLIED, 3);
	allowed(B, XS_ACTION_REVERT);
	/* The one below reverts when the stacked one is only CHECKED. */
	set(B, XS_STATE_CHECKED, 0);
	allowed(A, XS_ACTION_REVERT);
	/* The top of a stack unloads. */
	set(A, XS_STATE_CHECKED, 0);
	allowed(S, XS_ACTION_UNLOAD);
}

static void test_apply_twice(void **state)
{
	(void)state;
	set(A, XS_STATE_APPLIED, 1);
	refused(A, XS_ACTION_APPLY, "cannot apply 'A': it is already APPLIED");
	refused(A, XS_ACTION_REPLACE, "cannot replace with 'A': it is already APPLIED");
}

static void test_revert_checked(void **state)
{
	(void)state;
	refused(A, XS_ACTION_REVERT, "cannot revert 'A': it is CHECKED, not APPLIED");
}

static void test_unload_applied(void **state)
{
	(void)state;
	set(B, XS_STATE_APPLIED, 1);
	refused(B, XS_ACTION_UNLOAD, "cannot unload 'B': it is APPLIED; revert it first");
}

static void test_revert_under_stacked(void **state)
{
	(void)state;
	set(A, XS_STATE_APPLIED, 1);
	set(S, XS_STATE_APPLIED, 2);
	refused(A, XS_ACTION_REVERT, "payload 'S' depends on it and is applied; revert 'S' first");
}

static void test_revert_patched_later(void **state)
{
	(void)state;
	set(A, XS_STATE_APPLIED, 1);
	set(B, XS_STATE_APPLIED, 2);
	refused(A, XS_ACTION_REVERT,
		"function xt_old_func is also patched by 'B', applied later; revert 'B' first");
}

static void test_replace_stacked(void **state)
{
	(void)state;
	set(A, XS_STATE_APPLIED, 1);
	refused(S, XS_ACTION_REPLACE, "cannot replace with 'S': it is stacked on 'A'");
}

static void test_unload_below_stacked(void **state)
{
	(void)state;
	refused(A, XS_ACTION_UNLOAD, "payload 'S' is stacked on it; unload 'S' first");
}

static void test_apply_stacked_below_checked(void **state)
{
	(void)state;
	refused(S, XS_ACTION_APPLY, "it depends on 'A', which is not applied; apply 'A' first");
}

static void test_unknown_action(void **state)
{
	(void)state;
	struct xs_err err;
	assert_int_equal(check(A, 99, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown action 99");
}

/* REPLACE: every applied payload reverted, newest first, each in reverse
 * order of its functions, then the new one applied in order. */
static void test_replace_plan(void **state)
{
	(void)state;
	set(A, XS_STATE_APPLIED, 5);
	set(S, XS_STATE_APPLIED, 9);
	set(B, XS_STATE_APPLIED, 7);
	struct xs_plan pl;
	xs_plan_init(&pl);
	xs_payloads_lock();
	assert_int_equal(xs_plan_build(&pl, C, XS_ACTION_REPLACE), 0);
	xs_payloads_unlock();
	const struct { struct xs_payload *owner; unsigned fn; bool revert; } want[] = {
		{ S, 1, true }, { S, 0, true }, { B, 1, true }, { B, 0, true },
		{ A, 1, true }, { A, 0, true }, { C, 0, false }, { C, 1, false },
	};
	assert_int_equal(pl.nops, 8);
	for (unsigned k = 0; k < 8; k++) {
		assert_ptr_equal(pl.ops[k].owner, want[k].owner);
		assert_ptr_equal(pl.ops[k].f, &want[k].owner->funcs[want[k].fn]);
		assert_int_equal(pl.ops[k].revert, want[k].revert);
	}
	/* Ranges: the code of S, B, A (being removed), then C's two
	 * functions, each whole and its first patch_len bytes. */
	assert_int_equal(pl.nranges, 3 + 4);
	const struct xs_payload *code[] = { S, B, A };
	for (unsigned r = 0; r < 3; r++) {
		assert_int_equal(pl.ranges[r].lo, (uintptr_t)code[r]->ld.base);
		assert_int_equal(pl.ranges[r].hi, (uintptr_t)code[r]->ld.base + code[r]->ld.size);
		assert_true(pl.ranges[r].payload_code);
		assert_string_equal(pl.ranges[r].what, code[r]->name);
	}
	assert_int_equal(pl.ranges[3].lo, (uintptr_t)&xt_old_func);
	assert_int_equal(pl.ranges[3].hi, (uintptr_t)&xt_old_func + 16);
	assert_false(pl.ranges[3].strictly_inside);
	assert_int_equal(pl.ranges[4].hi, (uintptr_t)&xt_old_func + C->funcs[0].patch_len);
	assert_true(pl.ranges[4].strictly_inside);
	assert_int_equal(pl.ranges[5].lo, (uintptr_t)&xt_other_func);
	xs_plan_free(&pl);

	/* Nothing applied: REPLACE is a plain apply. */
	reset(NULL);
	xs_plan_init(&pl);
	xs_payloads_lock();
	assert_int_equal(xs_plan_build(&pl, C, XS_ACTION_REPLACE), 0);
	xs_payloads_unlock();
	assert_int_equal(pl.nops, 2);
	assert_false(pl.ops[0].revert);
	xs_plan_free(&pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_uploaded, reset),
		cmocka_unit_test_setup(test_allowed, reset),
		cmocka_unit_test_setup(test_apply_twice, reset),
		cmocka_unit_test_setup(test_revert_checked, reset),
		cmocka_unit_test_setup(test_unload_applied, reset),
		cmocka_unit_test_setup(test_revert_under_stacked, reset),
		cmocka_unit_test_setup(test_revert_patched_later, reset),
		cmocka_unit_test_setup(test_replace_stacked, reset),
		cmocka_unit_test_setup(test_unload_below_stacked, reset),
		cmocka_unit_test_setup(test_apply_stacked_below_checked, reset),
		cmocka_unit_test_setup(test_unknown_action, reset),
		cmocka_unit_test_setup(test_replace_plan, reset),
	};
	return cmocka_run_group_tests_name("state", tests, setup, NULL);
}
