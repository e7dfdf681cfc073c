/* SPDX-License-Identifier: MIT */
/*
 * The plan (src/agent/plan.c) on hand-built payloads whose "functions"
 * are plain memory buffers: the plan's ranges and order, the stack check
 * of parked threads, the writes all-or-nothing through a writer that can
 * fail its Nth call, explain and the state after a failed rollback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/plan.h"

#define FN 3
#define FSIZE 32  /* old_size */
#define PLEN 5    /* patch_len */

static uint8_t code[FN][2 * FSIZE]; /* each function, then a gap */
static uint8_t orig[FN][2 * FSIZE];
static uint8_t payload_code[256];
static struct xs_func funcs[FN];
static struct xs_payload P;

/* The writer: writes into the buffers; fails (writing nothing) the calls
 * listed in fail[] (1-based). */
static struct {
	unsigned calls;
	unsigned fail[4];
} W;

static int test_write(void *ctx, uintptr_t addr, const uint8_t *bytes, size_t len)
{
	(void)ctx;
	W.calls++;
	for (unsigned i = 0; i < 4; i++)
		if (W.fail[i] == W.calls)
			return -EIO;
	memcpy((void *)addr, bytes, len);
	return 0;
}

static int reset(void **state)
{
	(void)state;
	memset(&W, 0, sizeof(W));
	memset(&P, 0, sizeof(P));
	memset(funcs, 0, sizeof(funcs));
	for (unsigned i = 0; i < FN; i++) {
		for (unsigned b = 0; b < sizeof(code[i]); b++)
			code[i][b] = (uint8_t)(0x10 * (i + 1) + b);
		memcpy(orig[i], code[i], sizeof(code[i]));
		struct xs_func *f = &funcs[i];
		snprintf(f->name, sizeof(f->name), "f%u", i);
		f->old_addr = (uintptr_t)code[i];
		f->old_size = FSIZE;
		f->new_addr = (uintptr_t)payload_code + 16 * i;
		f->new_size = 16;
		f->patch_len = PLEN;
		f->patch[0] = 0xe9;
		for (unsigned b = 1; b < PLEN; b++)
			f->patch[b] = (uint8_t)(0xa0 + i);
	}
	snprintf(P.name, sizeof(P.name), "P");
	P.state = XS_STATE_CHECKED;
	P.funcs = funcs;
	P.nfuncs = 2;
	P.ld.base = payload_code;
	P.ld.size = sizeof(payload_code);
	return 0;
}

static void plan_for(struct xs_plan *pl, uint32_t cmd)
{
	xs_plan_init(pl);
	pl->write = test_write;
	xs_payloads_lock();
	assert_int_equal(xs_plan_build(pl, &P, cmd), 0);
	xs_payloads_unlock();
}

static int run(struct xs_plan *pl, struct xs_thread_stack *ts, unsigned n)
{
	const struct xs_thread_stack *t[4];
	for (unsigned i = 0; i < n; i++)
		t[i] = &ts[i];
	return xs_plan_critical(pl, t, n);
}

static void assert_orig(unsigned i)
{
	assert_memory_equal(code[i], orig[i], sizeof(code[i]));
}

static void assert_patched(unsigned i)
{
	assert_memory_equal(code[i], funcs[i].patch, PLEN);
	assert_memory_equal(code[i] + PLEN, orig[i] + PLEN, sizeof(code[i]) - PLEN);
}

/* Mark P applied, as a successful APPLY leaves it. */
static void apply_ok(void)
{
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(run(&pl, NULL, 0), 0);
	xs_payloads_lock();
	xs_plan_commit(&pl, &P, XS_ACTION_APPLY);
	xs_payloads_unlock();
	xs_plan_free(&pl);
	W.calls = 0;
}

static void test_apply_plan(void **state)
{
	(void)state;
	funcs[1].flags = LIVEPATCH_FUNC_NO_STACK_CHECK;
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(pl.nops, 2);
	for (unsigned k = 0; k < 2; k++) {
		assert_ptr_equal(pl.ops[k].f, &funcs[k]);
		assert_ptr_equal(pl.ops[k].owner, &P);
		assert_false(pl.ops[k].revert);
	}
	/* f0: the whole function and its first PLEN bytes; f1 (opted out of
	 * the stack check): only the bytes the trampoline overwrites. */
	assert_int_equal(pl.nranges, 3);
	assert_int_equal(pl.ranges[0].lo, (uintptr_t)code[0]);
	assert_int_equal(pl.ranges[0].hi, (uintptr_t)code[0] + FSIZE);
	assert_false(pl.ranges[0].strictly_inside);
	assert_false(pl.ranges[0].payload_code);
	assert_string_equal(pl.ranges[0].what, "f0");
	assert_int_equal(pl.ranges[1].lo, (uintptr_t)code[0]);
	assert_int_equal(pl.ranges[1].hi, (uintptr_t)code[0] + PLEN);
	assert_true(pl.ranges[1].strictly_inside);
	assert_int_equal(pl.ranges[2].lo, (uintptr_t)code[1]);
	assert_int_equal(pl.ranges[2].hi, (uintptr_t)code[1] + PLEN);
	assert_true(pl.ranges[2].strictly_inside);
	assert_string_equal(pl.ranges[2].what, "f1");

	/* Performed and committed: trampolines in, saved bytes, APPLIED. */
	assert_int_equal(run(&pl, NULL, 0), 0);
	assert_int_equal(W.calls, 2);
	assert_patched(0);
	assert_patched(1);
	assert_orig(2);
	xs_payloads_lock();
	xs_plan_commit(&pl, &P, XS_ACTION_APPLY);
	xs_payloads_unlock();
	assert_int_equal(P.state, XS_STATE_APPLIED);
	assert_true(P.applied_seq > 0);
	assert_true(funcs[0].applied && funcs[1].applied);
	assert_memory_equal(funcs[0].saved, orig[0], PLEN);
	assert_memory_equal(funcs[1].saved, orig[1], PLEN);
	xs_plan_free(&pl);
}

static void test_revert_plan(void **state)
{
	(void)state;
	apply_ok();
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_REVERT);
	assert_int_equal(pl.nops, 2);
	assert_ptr_equal(pl.ops[0].f, &funcs[1]);
	assert_ptr_equal(pl.ops[1].f, &funcs[0]);
	assert_true(pl.ops[0].revert && pl.ops[1].revert);
	assert_int_equal(pl.nranges, 1);
	assert_int_equal(pl.ranges[0].lo, (uintptr_t)payload_code);
	assert_int_equal(pl.ranges[0].hi, (uintptr_t)payload_code + sizeof(payload_code));
	assert_true(pl.ranges[0].payload_code);
	assert_string_equal(pl.ranges[0].what, "P");
	assert_int_equal(run(&pl, NULL, 0), 0);
	assert_orig(0);
	assert_orig(1);
	xs_payloads_lock();
	xs_plan_commit(&pl, &P, XS_ACTION_REVERT);
	xs_payloads_unlock();
	assert_int_equal(P.state, XS_STATE_CHECKED);
	assert_int_equal(P.applied_seq, 0);
	assert_false(funcs[0].applied || funcs[1].applied);
	xs_plan_free(&pl);

	/* A partially applied payload reverts only its applied functions. */
	P.state = XS_STATE_APPLIED;
	funcs[1].applied = true;
	plan_for(&pl, XS_ACTION_REVERT);
	assert_int_equal(pl.nops, 1);
	assert_ptr_equal(pl.ops[0].f, &funcs[1]);
	xs_plan_free(&pl);
}

/* A conflict: -EAGAIN, nothing written, the exact thread/frame/pc/range. */
static void conflict(struct xs_thread_stack *ts, unsigned n, pid_t tid, unsigned frame,
		     uintptr_t pc, unsigned range)
{
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(run(&pl, ts, n), -EAGAIN);
	assert_int_equal(pl.failure, XS_PLAN_CONFLICT);
	assert_int_equal(pl.conflict_tid, tid);
	assert_int_equal(pl.conflict_frame, frame);
	assert_int_equal(pl.conflict_pc, pc);
	assert_int_equal(pl.conflict_range, range);
	assert_int_equal(W.calls, 0);
	assert_orig(0);
	assert_orig(1);
	xs_plan_free(&pl);
}

static void no_conflict(struct xs_thread_stack *ts, unsigned n)
{
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(run(&pl, ts, n), 0);
	assert_int_equal(pl.failure, XS_PLAN_OK);
	assert_int_equal(W.calls, 2);
	assert_patched(0);
	xs_plan_free(&pl);
	reset(NULL);
}

static void test_stack_check(void **state)
{
	(void)state;
	uintptr_t f0 = (uintptr_t)code[0], f1 = (uintptr_t)code[1];
	struct xs_thread_stack ts[2] = {
		{ .tid = 11, .nframes = 2, .pcs = { f0 + FSIZE + 8, f0 + FSIZE + 9 } },
		{ .tid = 12, .nframes = 1, .pcs = { f1 + 10 } },
	};
	/* Thread 12's PC inside f1 (range 2: f1 whole). */
	conflict(ts, 2, 12, 0, f1 + 10, 2);
	/* A return address in f0, frame 2 of thread 11. */
	ts[1].pcs[0] = f1 + FSIZE + 4;
	ts[0].nframes = 3;
	ts[0].pcs[2] = f0 + 20;
	conflict(ts, 2, 11, 2, f0 + 20, 0);
	/* A return address right after a call at f0's last byte: hi, but the
	 * call (ra - 1) is inside. */
	ts[0].pcs[2] = f0 + FSIZE;
	conflict(ts, 2, 11, 2, f0 + FSIZE, 0);
	/* A PC at hi is not inside; neither is a return address at lo (its
	 * call is before the function). */
	ts[0].nframes = 2;
	ts[0].pcs[0] = f0 + FSIZE;
	ts[0].pcs[1] = f0;
	no_conflict(ts, 2);
}

static void test_strictly_inside(void **state)
{
	(void)state;
	funcs[0].flags = LIVEPATCH_FUNC_NO_STACK_CHECK;
	funcs[1].flags = LIVEPATCH_FUNC_NO_STACK_CHECK;
	uintptr_t f0 = (uintptr_t)code[0];
	/* Ranges: 0 = f0's first PLEN bytes, 1 = f1's. */
	struct xs_thread_stack ts = { .tid = 7, .nframes = 3, .pcs = { f0, f0 + PLEN, f0 + 20 } };
	/* PC at old_addr (runs the new jump), a return address at lo + PLEN
	 * (the old code after it) and one deep in the body (opted out): fine. */
	no_conflict(&ts, 1);
	funcs[0].flags = funcs[1].flags = LIVEPATCH_FUNC_NO_STACK_CHECK;
	/* PC strictly inside: torn. */
	ts.pcs[0] = f0 + 1;
	conflict(&ts, 1, 7, 0, f0 + 1, 0);
	reset(NULL);
	funcs[0].flags = funcs[1].flags = LIVEPATCH_FUNC_NO_STACK_CHECK;
	/* A return address strictly inside (a call in the first bytes). */
	ts.pcs[0] = f0 + FSIZE + 3;
	ts.pcs[1] = f0 + PLEN - 1;
	conflict(&ts, 1, 7, 1, f0 + PLEN - 1, 0);
}

static void test_conservative(void **state)
{
	(void)state;
	uintptr_t words[16];
	for (unsigned i = 0; i < 16; i++)
		words[i] = 0x1000 + i; /* nothing of ours */
	struct xs_thread_stack ts = { .tid = 9, .nframes = 1, .conservative = true,
				      .pcs = { 0x42 },
				      .sp = (uintptr_t)&words[0],
				      .stack_hi = (uintptr_t)&words[16] };
	no_conflict(&ts, 1);
	/* One word in f1: a possible return address. */
	words[11] = (uintptr_t)code[1] + 7;
	conflict(&ts, 1, 9, 1, (uintptr_t)code[1] + 7, 2);
	/* Words below the SP are not looked at. */
	ts.sp = (uintptr_t)&words[12];
	no_conflict(&ts, 1);
}

static void test_all_or_nothing(void **state)
{
	(void)state;
	P.nfuncs = 3;
	W.fail[0] = 2; /* the 2nd of 3 writes */
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(run(&pl, NULL, 0), -EIO);
	assert_int_equal(pl.failure, XS_PLAN_WRITE);
	assert_int_equal(pl.fail_op, 1);
	assert_false(pl.stuck);
	/* write f0, write f1 (fails), restore f1, restore f0; f2 untouched */
	assert_int_equal(W.calls, 4);
	for (unsigned i = 0; i < FN; i++)
		assert_orig(i);
	struct xs_err err = { "" };
	xs_plan_explain(&pl, -EIO, &err);
	assert_string_equal(err.msg, "writing function f1 through /proc/self/mem failed "
			    "(Input/output error): nothing changed");
	/* No state change on failure. */
	xs_payloads_lock();
	xs_plan_settle(&pl, &err);
	xs_payloads_unlock();
	assert_int_equal(P.state, XS_STATE_CHECKED);
	assert_false(funcs[0].applied);
	xs_plan_free(&pl);
}

static void test_rollback_fails(void **state)
{
	(void)state;
	P.nfuncs = 3;
	/* write f0, write f1 fails (nothing written), restoring f1 fails but
	 * f1 holds its old bytes anyway, restoring f0 fails: f0 stuck. */
	W.fail[0] = 2;
	W.fail[1] = 3;
	W.fail[2] = 4;
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(run(&pl, NULL, 0), -ENOTRECOVERABLE);
	assert_int_equal(pl.failure, XS_PLAN_WRITE);
	assert_true(pl.stuck);
	assert_false(pl.stuck_torn);
	assert_int_equal(pl.stuck_op, 0);
	assert_int_equal(W.calls, 4);
	assert_patched(0);
	assert_orig(1);
	assert_orig(2);
	struct xs_err err = { "" };
	xs_plan_explain(&pl, -ENOTRECOVERABLE, &err);
	assert_string_equal(err.msg,
			    "writing function f1 through /proc/self/mem failed (Input/output error); "
			    "then restoring function f0 failed (Input/output error): its trampoline "
			    "could not be removed; the rollback stopped there and what was written "
			    "before stays: payload 'P' is APPLIED, partially (patched: f0); revert it");
	/* The state follows memory. */
	xs_payloads_lock();
	xs_plan_settle(&pl, &err);
	xs_payloads_unlock();
	assert_int_equal(P.state, XS_STATE_APPLIED);
	assert_true(P.applied_seq > 0);
	assert_int_equal(P.rc, -ENOTRECOVERABLE);
	assert_string_equal(P.reason, err.msg);
	assert_true(funcs[0].applied);
	assert_memory_equal(funcs[0].saved, orig[0], PLEN);
	assert_false(funcs[1].applied);
	assert_false(funcs[2].applied);
	xs_plan_free(&pl);

	/* And the revert it asks for restores f0 only. */
	memset(&W, 0, sizeof(W));
	plan_for(&pl, XS_ACTION_REVERT);
	assert_int_equal(pl.nops, 1);
	assert_int_equal(run(&pl, NULL, 0), 0);
	for (unsigned i = 0; i < FN; i++)
		assert_orig(i);
	xs_payloads_lock();
	xs_plan_commit(&pl, &P, XS_ACTION_REVERT);
	xs_payloads_unlock();
	assert_int_equal(P.state, XS_STATE_CHECKED);
	assert_false(funcs[0].applied);
	xs_plan_free(&pl);
}

static void test_rollback_of_revert_fails(void **state)
{
	(void)state;
	apply_ok();
	/* REVERT: restore f1 (ok), restore f0 (fails, nothing written), put
	 * f0's trampoline back (fails, but f0 still holds it), put f1's
	 * trampoline back (fails): f1 stays reverted, f0 patched. */
	W.fail[0] = 2;
	W.fail[1] = 3;
	W.fail[2] = 4;
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_REVERT);
	assert_int_equal(run(&pl, NULL, 0), -ENOTRECOVERABLE);
	assert_true(pl.stuck);
	assert_int_equal(pl.stuck_op, 0);
	assert_patched(0);
	assert_orig(1);
	struct xs_err err = { "" };
	xs_plan_explain(&pl, -ENOTRECOVERABLE, &err);
	if (!strstr(err.msg, "then restoring function f1 failed (Input/output error): its "
		    "trampoline could not be put back (it runs its old code again)") ||
	    !strstr(err.msg, "payload 'P' is APPLIED, partially (patched: f0); revert it"))
		fail_msg("reason: %s", err.msg);
	xs_payloads_lock();
	xs_plan_settle(&pl, &err);
	xs_payloads_unlock();
	assert_int_equal(P.state, XS_STATE_APPLIED);
	assert_true(funcs[0].applied);
	assert_false(funcs[1].applied);
	assert_int_equal(P.rc, -ENOTRECOVERABLE);
	xs_plan_free(&pl);
}

static void test_not_ours(void **state)
{
	(void)state;
	apply_ok();
	memset(code[0], 0xcc, PLEN); /* someone else rewrote f0 */
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_REVERT);
	/* f1 restored, then f0 is not ours: f1's trampoline put back. */
	assert_int_equal(run(&pl, NULL, 0), -EIO);
	assert_int_equal(pl.failure, XS_PLAN_NOT_OURS);
	assert_int_equal(pl.fail_op, 1);
	assert_int_equal(W.calls, 2);
	assert_patched(1);
	for (unsigned b = 0; b < PLEN; b++)
		assert_int_equal(code[0][b], 0xcc);
	struct xs_err err = { "" };
	xs_plan_explain(&pl, -EIO, &err);
	assert_string_equal(err.msg, "function f0 does not hold this payload's trampoline any "
			    "more; someone else rewrote it: nothing changed");
	xs_plan_free(&pl);
}

static void test_expect(void **state)
{
	(void)state;
	/* Version-2 expect bytes that do not match f1: refused, f0 restored. */
	funcs[1].expect_len = 4;
	memcpy(funcs[1].expect, orig[1], 4);
	funcs[1].expect[3] ^= 0xff;
	struct xs_plan pl;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(run(&pl, NULL, 0), -EINVAL);
	assert_int_equal(pl.failure, XS_PLAN_EXPECT);
	assert_int_equal(pl.fail_op, 1);
	assert_int_equal(W.calls, 2); /* f0 written, then restored */
	assert_orig(0);
	assert_orig(1);
	struct xs_err err = { "" };
	xs_plan_explain(&pl, -EINVAL, &err);
	assert_string_equal(err.msg, "function f1 does not start with the bytes the payload "
			    "expects: nothing changed");
	xs_plan_free(&pl);
	/* Matching expect bytes: applied. */
	memcpy(funcs[1].expect, orig[1], 4);
	W.calls = 0;
	plan_for(&pl, XS_ACTION_APPLY);
	assert_int_equal(run(&pl, NULL, 0), 0);
	assert_patched(1);
	xs_plan_free(&pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_apply_plan, reset),
		cmocka_unit_test_setup(test_revert_plan, reset),
		cmocka_unit_test_setup(test_stack_check, reset),
		cmocka_unit_test_setup(test_strictly_inside, reset),
		cmocka_unit_test_setup(test_conservative, reset),
		cmocka_unit_test_setup(test_all_or_nothing, reset),
		cmocka_unit_test_setup(test_rollback_fails, reset),
		cmocka_unit_test_setup(test_rollback_of_revert_fails, reset),
		cmocka_unit_test_setup(test_not_ours, reset),
		cmocka_unit_test_setup(test_expect, reset),
	};
	return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
