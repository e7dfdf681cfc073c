/* SPDX-License-Identifier: MIT */
/*
 * The plan of an action (see plan.h): building it from the table, the
 * check of the parked threads' stacks against its ranges, the code writes
 * all-or-nothing with rollback, the failure in words after release, the
 * new states.
 *
 * Threading: everything runs on the action thread. Building and
 * committing hold the table lock; xs_plan_critical and what it calls run
 * while every other thread is parked, without the lock, and call nothing
 * a payload may patch: raw system calls (xs_code_write), the volatile
 * byte helpers of codewrite.c and our own loops -- no libc, no
 * formatting (reasons are recorded raw and worded by xs_plan_explain).
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codewrite.h"
#include "procfs.h"
#include "symbols.h"

void xs_plan_init(struct xs_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->memfd = -1;
}

void xs_plan_free(struct xs_plan *pl)
{
	free(pl->ops);
	free(pl->ranges);
	pl->ops = NULL;
	pl->ranges = NULL;
	pl->nops = pl->nranges = 0;
}

static int add_op(struct xs_plan *pl, struct xs_payload *owner, struct xs_func *f, bool revert)
{
	struct xs_plan_op *ops = realloc(pl->ops, (pl->nops + 1) * sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	pl->ops = ops;
	memset(&ops[pl->nops], 0, sizeof(ops[0]));
	ops[pl->nops].f = f;
	ops[pl->nops].owner = owner;
	ops[pl->nops].revert = revert;
	pl->nops++;
	return 0;
}

static int add_range(struct xs_plan *pl, uintptr_t lo, uintptr_t hi, const char *what, bool code,
		     bool strictly_inside)
{
	struct xs_plan_range *r = realloc(pl->ranges, (pl->nranges + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	pl->ranges = r;
	r[pl->nranges++] = (struct xs_plan_range){ lo, hi, what, code, strictly_inside };
	return 0;
}

static int plan_apply(struct xs_plan *pl, struct xs_payload *p)
{
	for (unsigned i = 0; i < p->nfuncs; i++) {
		struct xs_func *f = &p->funcs[i];
		int rc = add_op(pl, p, f, false);
		if (!rc && !(f->flags & LIVEPATCH_FUNC_NO_STACK_CHECK))
			rc = add_range(pl, f->old_addr, f->old_addr + f->old_size, f->name, false,
				       false);
		/* Even when opted out, no thread may resume inside the bytes
		 * the trampoline overwrites: neither its PC nor a return
		 * address (a call in the first bytes of a main loop). */
		if (!rc)
			rc = add_range(pl, xs_func_patch_addr(f), xs_func_patch_addr(f) + f->patch_len,
				       f->name, false, true);
		if (rc)
			return rc;
	}
	return 0;
}

static int plan_revert(struct xs_plan *pl, struct xs_payload *p)
{
	/* Undo in reverse order of application; only what holds our
	 * trampoline (after a failed rollback a payload may be APPLIED with
	 * some of its functions not patched). */
	for (unsigned i = p->nfuncs; i-- > 0;) {
		if (!p->funcs[i].applied)
			continue;
		int rc = add_op(pl, p, &p->funcs[i], true);
		if (rc)
			return rc;
	}
	return add_range(pl, (uintptr_t)p->ld.base, (uintptr_t)p->ld.base + p->ld.size, p->name,
			 true, false);
}

int xs_plan_build(struct xs_plan *pl, struct xs_payload *p, uint32_t cmd)
{
	if (cmd == XS_ACTION_APPLY)
		return plan_apply(pl, p);
	if (cmd == XS_ACTION_REVERT)
		return plan_revert(pl, p);
	/* REPLACE: every applied payload, newest first (applied_seq is unique
	 * and strictly decreasing here), then p. */
	for (struct xs_payload *newest = xs_payload_applied_before(UINT64_MAX); newest;
	     newest = xs_payload_applied_before(newest->applied_seq)) {
		int rc = plan_revert(pl, newest);
		if (rc)
			return rc;
	}
	return plan_apply(pl, p);
}

/* Does f's old function start with the bytes its payload expects (or
 * expect none)? Also called inside the stop: our own compare loop only. */
static bool expect_holds(const struct xs_func *f)
{
	return !f->expect_len ||
	       xs_bytes_equal((const uint8_t *)f->old_addr, f->expect, f->expect_len);
}

int xs_plan_precheck(struct xs_plan *pl)
{
	for (unsigned k = 0; k < pl->nops; k++) {
		const struct xs_func *f = pl->ops[k].f;
		if (pl->ops[k].revert)
			continue;
		bool rewritten = false;
		for (unsigned j = 0; j < k && !rewritten; j++) {
			const struct xs_func *g = pl->ops[j].f;
			rewritten = g->old_addr < f->old_addr + f->old_size &&
				    f->old_addr < g->old_addr + g->old_size;
		}
		if (!rewritten && !expect_holds(f)) {
			pl->failure = XS_PLAN_EXPECT;
			pl->fail_op = k;
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- the critical section: threads parked; raw syscalls, own loops ---- */

/* A code write: xs_code_write called directly in production (so the
 * static check follows it), the test's writer otherwise. */
static int plan_write(struct xs_plan *pl, uintptr_t addr, const uint8_t *bytes, size_t len)
{
	if (pl->write)
		return pl->write(pl->write_ctx, addr, bytes, len);
	return xs_code_write(pl->memfd, addr, bytes, len);
}

static bool in_range(const struct xs_plan_range *r, uintptr_t pc, unsigned frame)
{
	/* Resuming exactly at lo runs the new jump; at hi, the old code
	 * after it: only what lies between is torn. */
	if (r->strictly_inside)
		return pc > r->lo && pc < r->hi;
	/* A return address points after its call: test the call itself. */
	uintptr_t at = frame ? pc - 1 : pc;
	return at >= r->lo && at < r->hi;
}

/*
 * A stack we could not unwind (a thread asleep with the park signal
 * blocked, or an unwind that stopped early): every word from its SP to the
 * top of its stack may be a return address. It reads other threads' live
 * stacks, hence no ASan instrumentation. Returns true on a conflict.
 */
__attribute__((no_sanitize("address"))) static bool scan_stack(struct xs_plan *pl,
							      const struct xs_thread_stack *st)
{
	for (uintptr_t w = st->sp & ~(uintptr_t)7; w + 8 <= st->stack_hi; w += 8) {
		uintptr_t v = *(const volatile uintptr_t *)w;
		for (unsigned r = 0; r < pl->nranges; r++)
			if (in_range(&pl->ranges[r], v, 1)) {
				pl->failure = XS_PLAN_CONFLICT;
				pl->conflict_tid = st->tid;
				pl->conflict_frame = 1;
				pl->conflict_pc = v;
				pl->conflict_range = r;
				return true;
			}
	}
	return false;
}

/* The bytes op writes. */
static const uint8_t *op_bytes(const struct xs_plan_op *op)
{
	return op->revert ? op->f->saved : op->f->patch;
}

/*
 * Undo ops[0, upto) that are done, last first. A restoring write that
 * fails (and did not restore the bytes after all) stops the rollback:
 * that op and all before it stay done, memory holding their new bytes,
 * and xs_plan_settle makes the state say so. Returns false then.
 */
static bool rollback(struct xs_plan *pl, unsigned upto)
{
	for (unsigned k = upto; k-- > 0;) {
		struct xs_plan_op *op = &pl->ops[k];
		if (!op->done)
			continue;
		const struct xs_func *f = op->f;
		int rc = plan_write(pl, xs_func_patch_addr(f), op->before, f->patch_len);
		const uint8_t *cur = (const uint8_t *)xs_func_patch_addr(f);
		if (rc && !xs_bytes_equal(cur, op->before, f->patch_len)) {
			pl->stuck = true;
			pl->stuck_op = k;
			pl->stuck_rc = rc;
			pl->stuck_torn = !xs_bytes_equal(cur, op_bytes(op), f->patch_len);
			return false;
		}
		op->done = false;
	}
	return true;
}

int xs_plan_critical(void *ctx, const struct xs_thread_stack *const *threads, unsigned n)
{
	struct xs_plan *pl = ctx;
	pl->failure = XS_PLAN_OK;
	pl->stuck = false;

	for (unsigned t = 0; t < n; t++) {
		if (threads[t]->conservative && scan_stack(pl, threads[t]))
			return -EAGAIN;
		for (unsigned fr = 0; fr < threads[t]->nframes; fr++)
			for (unsigned r = 0; r < pl->nranges; r++)
				if (in_range(&pl->ranges[r], threads[t]->pcs[fr], fr)) {
					pl->failure = XS_PLAN_CONFLICT;
					pl->conflict_tid = threads[t]->tid;
					pl->conflict_frame = fr;
					pl->conflict_pc = threads[t]->pcs[fr];
					pl->conflict_range = r;
					return -EAGAIN;
				}
	}

	if (pl->writing)
		atomic_store(pl->writing, true);
	for (unsigned k = 0; k < pl->nops; k++) {
		struct xs_plan_op *op = &pl->ops[k];
		struct xs_func *f = op->f;
		const uint8_t *cur = (const uint8_t *)xs_func_patch_addr(f);
		xs_bytes_copy(op->before, cur, f->patch_len);
		const uint8_t *bytes;
		if (op->revert) {
			/* Only undo what is ours: someone else rewrote it otherwise. */
			if (!xs_bytes_equal(cur, f->patch, f->patch_len)) {
				pl->failure = XS_PLAN_NOT_OURS;
				pl->fail_op = k;
				return rollback(pl, k) ? -EIO : -ENOTRECOVERABLE;
			}
			bytes = f->saved;
		} else {
			/* Expectations are the function's first bytes. */
			if (!expect_holds(f)) {
				pl->failure = XS_PLAN_EXPECT;
				pl->fail_op = k;
				return rollback(pl, k) ? -EINVAL : -ENOTRECOVERABLE;
			}
			bytes = f->patch;
		}
		int rc = plan_write(pl, xs_func_patch_addr(f), bytes, f->patch_len);
		if (rc) {
			pl->failure = XS_PLAN_WRITE;
			pl->fail_rc = rc;
			pl->fail_op = k;
			/* A partial write of this op: put its old bytes back too. */
			op->done = true;
			return rollback(pl, k + 1) ? rc : -ENOTRECOVERABLE;
		}
		op->done = true;
	}
	return 0;
}

/* ---- after release: words and state ---- */

/* After a failed rollback: does f hold its payload's trampoline? (what
 * xs_plan_settle records: the last done op on f decides). */
static bool patched_now(const struct xs_plan *pl, const struct xs_func *f)
{
	bool on = f->applied;
	for (unsigned k = 0; k < pl->nops; k++)
		if (pl->ops[k].f == f && pl->ops[k].done)
			on = !pl->ops[k].revert;
	return on;
}

/*
 * A rollback write failed: append what memory holds now and the state
 * xs_plan_settle records, e.g. "; then restoring function f failed
 * (Input/output error): its trampoline could not be removed; the rollback
 * stopped there and what was written before stays: payload 'p' is
 * APPLIED, partially (patched: f); revert it".
 */
static void explain_stuck(const struct xs_plan *pl, struct xs_err *err)
{
	const struct xs_plan_op *sop = &pl->ops[pl->stuck_op];
	size_t n = strlen(err->msg);
	char *m = err->msg;
	const size_t cap = sizeof(err->msg);
#define ADD(...)                                                                  \
	do {                                                                      \
		if (n < cap)                                                      \
			n += (size_t)snprintf(m + n, cap - n, __VA_ARGS__);       \
	} while (0)
	ADD("; then restoring function %s failed (%s): ", sop->f->name, strerror(-pl->stuck_rc));
	if (pl->stuck_torn)
		ADD("it holds neither its old code nor the trampoline (torn: running it may crash)");
	else if (sop->revert)
		ADD("its trampoline could not be put back (it runs its old code again)");
	else
		ADD("its trampoline could not be removed");
	ADD("; the rollback stopped there and what was written before stays:");
	/* Each payload with a done op, once. */
	for (unsigned k = 0; k <= pl->stuck_op; k++) {
		const struct xs_payload *q = pl->ops[k].owner;
		bool seen = false;
		for (unsigned j = 0; j < k; j++)
			seen |= pl->ops[j].owner == q;
		if (seen)
			continue;
		unsigned patched = 0;
		for (unsigned i = 0; i < q->nfuncs; i++)
			patched += patched_now(pl, &q->funcs[i]);
		if (!patched) {
			ADD(" payload '%s' is CHECKED (none of its functions patched);", q->name);
			continue;
		}
		ADD(" payload '%s' is APPLIED, %s (patched:", q->name,
		    patched == q->nfuncs ? "fully" : "partially");
		for (unsigned i = 0; i < q->nfuncs; i++)
			if (patched_now(pl, &q->funcs[i]))
				ADD(" %s", q->funcs[i].name);
		ADD("); revert it;");
	}
	if (n < cap && n > 0 && m[n - 1] == ';')
		m[n - 1] = '\0';
#undef ADD
}

void xs_plan_explain(struct xs_plan *pl, int rc, struct xs_err *err)
{
	if (pl->failure == XS_PLAN_CONFLICT && rc == -EBUSY && !err->msg[0]) {
		const struct xs_plan_range *r = &pl->ranges[pl->conflict_range];
		char comm[64], sym[160] = "";
		xs_procfs_task_name(pl->conflict_tid, comm, sizeof(comm));
		/* payload code as payload:function+off, else the objects' symbols */
		if (xs_payload_symbolize(pl->conflict_pc, sym, sizeof(sym)) != 0 &&
		    xs_object_symbolize(pl->conflict_pc, sym, sizeof(sym)) != 0)
			snprintf(sym, sizeof(sym), "0x%lx", (unsigned long)pl->conflict_pc);
		if (r->strictly_inside)
			xs_fail(err, -EBUSY, "thread %d (%s) would resume inside the first %u bytes of "
				"function %s, which the trampoline overwrites (frame %u, pc %s); gave up "
				"after the time bound", (int)pl->conflict_tid, comm,
				(unsigned)(r->hi - r->lo), r->what, pl->conflict_frame, sym);
		else
			xs_fail(err, -EBUSY, "thread %d (%s) %s %s %s (frame %u, pc %s); gave up "
				"after the time bound", (int)pl->conflict_tid, comm,
				pl->conflict_frame ? "has a return address in" : "is executing in",
				r->payload_code ? "the code of payload" : "function", r->what,
				pl->conflict_frame, sym);
		return;
	}
	/* "nothing changed" holds unless a rollback write failed too. */
	const char *outcome = pl->stuck ? "" : ": nothing changed";
	if (pl->failure == XS_PLAN_NOT_OURS)
		xs_fail(err, rc, "function %s does not hold this payload's trampoline any more; "
			"someone else rewrote it%s", pl->ops[pl->fail_op].f->name, outcome);
	else if (pl->failure == XS_PLAN_EXPECT)
		xs_fail(err, rc, "function %s does not start with the bytes the payload expects%s",
			pl->ops[pl->fail_op].f->name, outcome);
	else if (pl->failure == XS_PLAN_WRITE)
		xs_fail(err, rc, "writing function %s through /proc/self/mem failed (%s)%s",
			pl->ops[pl->fail_op].f->name, strerror(-pl->fail_rc), outcome);
	if (pl->stuck)
		explain_stuck(pl, err);
}

void xs_plan_commit(struct xs_plan *pl, struct xs_payload *p, uint32_t cmd)
{
	for (unsigned k = 0; k < pl->nops; k++) {
		struct xs_plan_op *op = &pl->ops[k];
		/* Our own copy loop: this may run inside the stop (action.c). */
		if (!op->revert)
			xs_bytes_copy(op->f->saved, op->before, op->f->patch_len);
		op->f->applied = !op->revert;
	}
	for (unsigned k = 0; k < pl->nops; k++) {
		struct xs_payload *q = pl->ops[k].owner;
		if (pl->ops[k].revert && q->state == XS_STATE_APPLIED) {
			q->state = XS_STATE_CHECKED;
			q->applied_seq = 0;
			q->rc = 0;
		}
	}
	if (cmd == XS_ACTION_APPLY || cmd == XS_ACTION_REPLACE) {
		p->state = XS_STATE_APPLIED;
		p->applied_seq = xs_payloads_next_seq();
	}
	xs_payloads_bump_version();
}

void xs_plan_settle(struct xs_plan *pl, const struct xs_err *err)
{
	if (!pl->stuck)
		return;
	/* Every payload touched, its new state computed before any function
	 * changes (patched_now reads f->applied). */
	for (unsigned k = 0; k <= pl->stuck_op; k++) {
		struct xs_payload *q = pl->ops[k].owner;
		bool seen = false;
		for (unsigned j = 0; j < k; j++)
			seen |= pl->ops[j].owner == q;
		if (seen)
			continue;
		bool any = false;
		for (unsigned i = 0; i < q->nfuncs; i++)
			any |= patched_now(pl, &q->funcs[i]);
		if (any && q->state != XS_STATE_APPLIED) {
			q->state = XS_STATE_APPLIED;
			q->applied_seq = xs_payloads_next_seq();
		} else if (!any && q->state == XS_STATE_APPLIED) {
			q->state = XS_STATE_CHECKED;
			q->applied_seq = 0;
		}
		q->rc = -ENOTRECOVERABLE;
		snprintf(q->reason, sizeof(q->reason), "%s", err->msg);
	}
	for (unsigned k = 0; k <= pl->stuck_op; k++) {
		struct xs_plan_op *op = &pl->ops[k];
		if (!op->done)
			continue;
		if (!op->revert)
			memcpy(op->f->saved, op->before, op->f->patch_len);
		op->f->applied = !op->revert;
	}
	xs_payloads_bump_version();
}
