/* SPDX-License-Identifier: MIT */
/*
 * The actions (docs/architecture.md, "An APPLY, top-down"): accept or
 * refuse a request (state rules, one action at a time), then on the action
 * thread plan the code writes, stop every other thread through the
 * rendezvous, check their stacks against the plan, write all-or-nothing,
 * release, commit the new state. UNLOAD needs no stop and is done at once.
 *
 * Threading: xs_action_request runs on the control thread with the table
 * lock held; run_job on the action thread takes the lock to plan and to
 * commit and drops it for the stop, where only critical() runs (raw
 * system calls and our own loops: nothing a payload may patch).
 */
#include "action.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/syscall.h"
#include "codewrite.h"
#include "common/clock.h"
#include "procfs.h"

/* One code write of the plan, in the order it is performed. */
struct plan_op {
	struct xs_func *f;
	struct xs_payload *owner;
	bool revert;                       /* restore f->saved, else write f->patch */
	uint8_t before[XS_ARCH_PATCH_MAX]; /* bytes found there (saved for apply) */
	bool done;
};

/* Address range no parked thread may be in. */
struct plan_range {
	uintptr_t lo, hi;
	const char *what;     /* function or payload name */
	bool payload_code;    /* payload code being removed (else: function replaced) */
	bool only_pc;         /* only the interrupted PC matters (mid-trampoline) */
};

enum plan_failure { FAIL_NONE, FAIL_CONFLICT, FAIL_NOT_OURS, FAIL_EXPECT, FAIL_WRITE };

struct plan {
	struct plan_op *ops;
	unsigned nops;
	struct plan_range *ranges;
	unsigned nranges;
	int memfd;
	/* What went wrong, recorded raw in the critical section (no
	 * formatting there) and turned into words after release. */
	enum plan_failure failure;
	int fail_rc;
	unsigned fail_op;
	pid_t conflict_tid;
	unsigned conflict_frame;
	uintptr_t conflict_pc;
	unsigned conflict_range;
};

static pthread_t g_thread;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static struct xs_payload *g_job;
static uint32_t g_job_cmd, g_job_timeout;
static char g_busy[XS_NAME_SIZE + 16];
static struct xs_rendezvous_stats g_stats;
static uint64_t g_submit_ns, g_action_ns;
/* Code written but the new state not yet committed: a fork must wait
 * (xs_action_fork_prepare), or the child's table would not match its code. */
static _Atomic bool g_unrecorded;

struct xs_rendezvous_stats xs_action_last_stats(uint64_t *action_ns)
{
	if (action_ns)
		*action_ns = g_action_ns;
	return g_stats;
}

static int add_op(struct plan *pl, struct xs_payload *owner, struct xs_func *f, bool revert)
{
	struct plan_op *ops = realloc(pl->ops, (pl->nops + 1) * sizeof(*ops));
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

static int add_range(struct plan *pl, uintptr_t lo, uintptr_t hi, const char *what, bool code,
		     bool only_pc)
{
	struct plan_range *r = realloc(pl->ranges, (pl->nranges + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	pl->ranges = r;
	r[pl->nranges++] = (struct plan_range){ lo, hi, what, code, only_pc };
	return 0;
}

static int plan_apply(struct plan *pl, struct xs_payload *p)
{
	for (unsigned i = 0; i < p->nfuncs; i++) {
		struct xs_func *f = &p->funcs[i];
		int rc = add_op(pl, p, f, false);
		if (!rc && !(f->flags & LIVEPATCH_FUNC_NO_STACK_CHECK))
			rc = add_range(pl, f->old_addr, f->old_addr + f->old_size, f->name, false,
				       false);
		/* Even when opted out, no thread may sit inside the bytes the
		 * trampoline overwrites (it would resume mid-instruction). */
		if (!rc)
			rc = add_range(pl, f->old_addr + 1, f->old_addr + f->patch_len, f->name, false,
				       true);
		if (rc)
			return rc;
	}
	return 0;
}

static int plan_revert(struct plan *pl, struct xs_payload *p)
{
	/* Undo in reverse order of application. */
	for (unsigned i = p->nfuncs; i-- > 0;) {
		int rc = add_op(pl, p, &p->funcs[i], true);
		if (rc)
			return rc;
	}
	return add_range(pl, (uintptr_t)p->ld.base, (uintptr_t)p->ld.base + p->ld.size, p->name,
			 true, false);
}

static int build_plan(struct plan *pl, struct xs_payload *p, uint32_t cmd)
{
	int rc = 0;
	if (cmd == XS_ACTION_APPLY)
		return plan_apply(pl, p);
	if (cmd == XS_ACTION_REVERT)
		return plan_revert(pl, p);
	/* REPLACE: every applied payload, newest first, then p. */
	for (;;) {
		struct xs_payload *newest = NULL;
		for (struct xs_payload *q = xs_payload_first(); q; q = q->next) {
			if (q->state != XS_STATE_APPLIED)
				continue;
			bool planned = false;
			for (unsigned k = 0; k < pl->nops; k++)
				if (pl->ops[k].owner == q)
					planned = true;
			if (!planned && (!newest || q->applied_seq > newest->applied_seq))
				newest = q;
		}
		if (!newest)
			break;
		rc = plan_revert(pl, newest);
		if (rc)
			return rc;
	}
	return plan_apply(pl, p);
}

/* ---- the critical section: threads parked; raw syscalls, own loops ---- */

static bool in_range(const struct plan_range *r, uintptr_t pc, unsigned frame)
{
	/* A return address points after its call: test the call itself. */
	uintptr_t at = frame ? pc - 1 : pc;
	if (r->only_pc && frame)
		return false;
	return at >= r->lo && at < r->hi;
}

/*
 * A stack we could not unwind (a thread asleep with the park signal
 * blocked, or an unwind that stopped early): every word from its SP to the
 * top of its stack may be a return address. It reads other threads' live
 * stacks, hence no ASan instrumentation. Returns true on a conflict.
 */
__attribute__((no_sanitize("address"))) static bool scan_stack(struct plan *pl,
							      const struct xs_thread_stack *st)
{
	for (uintptr_t w = st->sp & ~(uintptr_t)7; w + 8 <= st->stack_hi; w += 8) {
		uintptr_t v = *(const volatile uintptr_t *)w;
		for (unsigned r = 0; r < pl->nranges; r++)
			if (in_range(&pl->ranges[r], v, 1)) {
				pl->failure = FAIL_CONFLICT;
				pl->conflict_tid = st->tid;
				pl->conflict_frame = 1;
				pl->conflict_pc = v;
				pl->conflict_range = r;
				return true;
			}
	}
	return false;
}

static void rollback(struct plan *pl, unsigned upto)
{
	for (unsigned k = upto; k-- > 0;) {
		struct plan_op *op = &pl->ops[k];
		if (op->done)
			xs_code_write(pl->memfd, op->f->old_addr, op->before, op->f->patch_len);
		op->done = false;
	}
}

static int critical(void *ctx, const struct xs_thread_stack *const *threads, unsigned n,
		    struct xs_err *err)
{
	(void)err;
	struct plan *pl = ctx;
	pl->failure = FAIL_NONE;

	for (unsigned t = 0; t < n; t++) {
		if (threads[t]->conservative && scan_stack(pl, threads[t]))
			return -EAGAIN;
		for (unsigned fr = 0; fr < threads[t]->nframes; fr++)
			for (unsigned r = 0; r < pl->nranges; r++)
				if (in_range(&pl->ranges[r], threads[t]->pcs[fr], fr)) {
					pl->failure = FAIL_CONFLICT;
					pl->conflict_tid = threads[t]->tid;
					pl->conflict_frame = fr;
					pl->conflict_pc = threads[t]->pcs[fr];
					pl->conflict_range = r;
					return -EAGAIN;
				}
	}

	atomic_store(&g_unrecorded, true);
	for (unsigned k = 0; k < pl->nops; k++) {
		struct plan_op *op = &pl->ops[k];
		struct xs_func *f = op->f;
		const uint8_t *cur = (const uint8_t *)f->old_addr;
		xs_bytes_copy(op->before, cur, f->patch_len);
		const uint8_t *bytes;
		if (op->revert) {
			/* Only undo what is ours: someone else rewrote it otherwise. */
			if (!xs_bytes_equal(cur, f->patch, f->patch_len)) {
				pl->failure = FAIL_NOT_OURS;
				pl->fail_op = k;
				rollback(pl, k);
				return -EIO;
			}
			bytes = f->saved;
		} else {
			if (f->expect_len && !xs_bytes_equal(cur, f->expect, f->expect_len)) {
				pl->failure = FAIL_EXPECT;
				pl->fail_op = k;
				rollback(pl, k);
				return -EINVAL;
			}
			bytes = f->patch;
		}
		int rc = xs_code_write(pl->memfd, f->old_addr, bytes, f->patch_len);
		if (rc) {
			pl->failure = FAIL_WRITE;
			pl->fail_rc = rc;
			pl->fail_op = k;
			/* A partial write of this op: put its old bytes back too. */
			op->done = true;
			rollback(pl, k + 1);
			return rc;
		}
		op->done = true;
	}
	return 0;
}

/* ---- after release: words and state ---- */

static void explain(struct plan *pl, int rc, struct xs_err *err)
{
	if (pl->failure == FAIL_CONFLICT && rc == -EBUSY && !err->msg[0]) {
		const struct plan_range *r = &pl->ranges[pl->conflict_range];
		char comm[64], sym[160] = "";
		xs_procfs_task_name(pl->conflict_tid, comm, sizeof(comm));
		if (xs_object_symbolize(pl->conflict_pc, sym, sizeof(sym)) != 0)
			snprintf(sym, sizeof(sym), "0x%lx", (unsigned long)pl->conflict_pc);
		xs_fail(err, -EBUSY, "thread %d (%s) %s %s %s (frame %u, pc %s); gave up after the "
			"time bound", (int)pl->conflict_tid, comm,
			pl->conflict_frame ? "has a return address in" : "is executing in",
			r->payload_code ? "the code of payload" : "function", r->what,
			pl->conflict_frame, sym);
	} else if (pl->failure == FAIL_NOT_OURS) {
		xs_fail(err, rc, "function %s does not hold this payload's trampoline any more; "
			"someone else rewrote it: nothing changed", pl->ops[pl->fail_op].f->name);
	} else if (pl->failure == FAIL_EXPECT) {
		xs_fail(err, rc, "function %s does not start with the bytes the payload expects: "
			"nothing changed", pl->ops[pl->fail_op].f->name);
	} else if (pl->failure == FAIL_WRITE) {
		xs_fail(err, rc, "writing function %s through /proc/self/mem failed (%s): nothing "
			"changed", pl->ops[pl->fail_op].f->name, strerror(-pl->fail_rc));
	}
}

static void commit(struct plan *pl, struct xs_payload *p, uint32_t cmd)
{
	for (unsigned k = 0; k < pl->nops; k++) {
		struct plan_op *op = &pl->ops[k];
		if (!op->revert)
			memcpy(op->f->saved, op->before, op->f->patch_len);
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

static void run_job(struct xs_payload *p, uint32_t cmd, uint32_t timeout_ms)
{
	struct plan pl;
	memset(&pl, 0, sizeof(pl));
	pl.memfd = -1;
	struct xs_err err = { "" };
	struct xs_rendezvous_stats stats = { 0 };

	xs_payloads_lock();
	int rc = build_plan(&pl, p, cmd);
	xs_payloads_unlock();
	if (rc) {
		xs_fail(&err, rc, "out of memory planning the action");
		goto done;
	}
	rc = xs_code_open(&err);
	if (rc < 0)
		goto done;
	pl.memfd = rc;
	rc = xs_rendezvous_run(critical, &pl, timeout_ms ? timeout_ms : XS_DEFAULT_TIMEOUT_MS, &stats,
			       &err);
	explain(&pl, rc, &err);
done:
	xs_code_close(pl.memfd);
	xs_payloads_lock();
	if (rc == 0) {
		commit(&pl, p, cmd);
		g_stats = stats;
		g_action_ns = xs_mono_ns() - g_submit_ns;
	}
	p->rc = rc;
	snprintf(p->reason, sizeof(p->reason), "%s", rc ? err.msg : "");
	g_busy[0] = '\0';
	atomic_store(&g_unrecorded, false);
	xs_payloads_unlock();
	free(pl.ops);
	free(pl.ranges);
}

static void *action_thread(void *arg)
{
	(void)arg;
	xs_payloads_lock();
	for (;;) {
		while (!g_job)
			xs_payloads_wait(&g_cond);
		struct xs_payload *p = g_job;
		uint32_t cmd = g_job_cmd, timeout = g_job_timeout;
		g_job = NULL;
		xs_payloads_unlock();
		run_job(p, cmd, timeout);
		xs_payloads_lock();
	}
	return NULL;
}

int xs_action_request(struct xs_payload *p, uint32_t cmd, uint32_t timeout_ms, struct xs_err *err)
{
	XS_ASSERT_TABLE_LOCKED();
	if (g_busy[0])
		return xs_fail(err, -EBUSY, "another action is in progress (%s); wait for it", g_busy);
	if (timeout_ms > XS_MAX_TIMEOUT_MS)
		return xs_fail(err, -EINVAL, "timeout %u ms is above the limit of %u ms", timeout_ms,
			       XS_MAX_TIMEOUT_MS);
	int rc = xs_payload_check_action(p, cmd, err);
	if (rc)
		return rc;
	if (cmd == XS_ACTION_UNLOAD) {
		/* Not applied and nothing stacked on it: no thread can be in
		 * its code (revert checked stacks), so it is freed at once. */
		xs_payload_unload(p);
		return 0;
	}
	snprintf(g_busy, sizeof(g_busy), "%s of %s", xs_action_name(cmd), p->name);
	g_submit_ns = xs_mono_ns();
	p->rc = -EAGAIN;
	p->reason[0] = '\0';
	g_job = p;
	g_job_cmd = cmd;
	g_job_timeout = timeout_ms;
	pthread_cond_signal(&g_cond);
	return 0;
}

/* The action thread blocks every signal: it is never parked and must not
 * run the program's handlers. */
int xs_action_init(struct xs_err *err)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&g_thread, NULL, action_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return xs_fail(err, -rc, "cannot start the action thread: %s", strerror(rc));
	pthread_setname_np(g_thread, "xsplice-action");
	pthread_detach(g_thread);
	return 0;
}

/* fork prepare (table locked): never let a child inherit code that was
 * written but not yet recorded; that window is short (release, commit). */
void xs_action_fork_prepare(void)
{
	XS_ASSERT_TABLE_LOCKED();
	while (atomic_load(&g_unrecorded)) {
		xs_payloads_unlock();
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
		xs_payloads_lock();
	}
}

/* fork child (table locked by the forking thread): the parent's action
 * thread does not exist here, so an action queued or under way in the
 * parent did not happen in this process. Its payload keeps the state it
 * had and gets rc -ECANCELED with the reason. */
void xs_action_fork_child(void)
{
	XS_ASSERT_TABLE_LOCKED();
	pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
	g_cond = fresh;
	if (g_busy[0]) {
		for (struct xs_payload *p = xs_payload_first(); p; p = p->next)
			if (p->rc == -EAGAIN) {
				p->rc = -ECANCELED;
				snprintf(p->reason, sizeof(p->reason),
					 "%s was under way in the parent (pid %d) when this process "
					 "forked; it was not done here: the state is the one before it",
					 g_busy, (int)getppid());
			}
	}
	g_job = NULL;
	g_busy[0] = '\0';
}
