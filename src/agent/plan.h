/* SPDX-License-Identifier: MIT */
/*
 * The plan of one APPLY / REVERT / REPLACE: which code writes, in which
 * order, and which address ranges no parked thread may be in; the check of
 * the parked threads' stacks against those ranges, the writes
 * all-or-nothing (with rollback), the failure in words, and the new
 * states.
 *
 * Threading: xs_plan_build, xs_plan_commit and xs_plan_settle run on the
 * action thread
 * with the table lock held (xs_plan_explain needs none); xs_plan_critical
 * runs on the action thread while every other thread is parked and the
 * lock is NOT held:
 * raw system calls and our own byte loops only (tests/transition/t6_libc.sh
 * checks it reaches no PLT entry).
 */
#ifndef XS_AGENT_PLAN_H
#define XS_AGENT_PLAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "payload.h"
#include "rendezvous.h"

/* One code write of the plan, in the order it is performed. */
struct xs_plan_op {
	struct xs_func *f;
	struct xs_payload *owner;
	bool revert;                       /* restore f->saved, else write f->patch */
	uint8_t before[XS_ARCH_PATCH_MAX]; /* bytes found there (saved for apply) */
	bool done;                         /* written (the new bytes are in memory) */
};

/* Address range no parked thread may be in. */
struct xs_plan_range {
	uintptr_t lo, hi;
	const char *what;     /* function or payload name */
	bool payload_code;    /* payload code being removed (else: function replaced) */
	bool strictly_inside; /* the bytes a trampoline overwrites: a PC or return
	                       * address strictly inside (lo, hi) would resume in
	                       * the middle of the new jump */
};

enum xs_plan_failure {
	XS_PLAN_OK,
	XS_PLAN_CONFLICT, /* a thread is in a range (-EAGAIN, retried) */
	XS_PLAN_NOT_OURS, /* revert: the function does not hold our trampoline */
	XS_PLAN_EXPECT,   /* apply: the function does not start with the expected bytes */
	XS_PLAN_WRITE,    /* a code write failed */
};

/*
 * "Write len bytes at addr" (and read them back): 0 or -errno. Called with
 * threads parked, so it must be as libc-free as xs_code_write. NULL in
 * struct xs_plan means xs_code_write on memfd (production; a direct call,
 * so the static check follows it); unit tests set their own.
 */
typedef int (*xs_plan_write_fn)(void *ctx, uintptr_t addr, const uint8_t *bytes, size_t len);

struct xs_plan {
	struct xs_plan_op *ops;
	unsigned nops;
	struct xs_plan_range *ranges;
	unsigned nranges;
	int memfd;
	xs_plan_write_fn write;
	void *write_ctx;
	/* Set (atomically, in the stop) before the first write: code may
	 * differ from the recorded state until the commit. NULL: none. */
	_Atomic bool *writing;
	/* What went wrong, recorded raw in the critical section (no
	 * formatting there) and turned into words after release. */
	enum xs_plan_failure failure;
	int fail_rc;
	unsigned fail_op;
	pid_t conflict_tid;
	unsigned conflict_frame;
	uintptr_t conflict_pc;
	unsigned conflict_range;
	/* A rollback write failed (-ENOTRECOVERABLE): the rollback stopped at
	 * ops[stuck_op]; it and every op before it still done. torn: that
	 * function holds neither its old nor its new bytes. */
	bool stuck, stuck_torn;
	unsigned stuck_op;
	int stuck_rc;
};

/* An empty plan (memfd -1, production writer). */
void xs_plan_init(struct xs_plan *pl);
void xs_plan_free(struct xs_plan *pl);

/*
 * Plan cmd on p (table locked): APPLY writes p's trampolines in order;
 * REVERT restores p's applied functions in reverse order and keeps threads
 * out of p's code; REPLACE reverts every applied payload, newest first,
 * then applies p. 0 or -ENOMEM.
 */
int xs_plan_build(struct xs_plan *pl, struct xs_payload *p, uint32_t cmd);

/*
 * The work of the stop (an xs_critical_fn, ctx is the plan): -EAGAIN when
 * a thread is in a range, else the writes all-or-nothing: 0, or a failure
 * with everything written restored -- unless a restoring write fails:
 * then the rollback stops there, pl->stuck is set and the result is
 * -ENOTRECOVERABLE (xs_plan_settle makes the state follow memory).
 */
int xs_plan_critical(void *ctx, const struct xs_thread_stack *const *threads, unsigned n);
/* Before the stop: an expectation that does not hold now fails the action
 * at once (in the stop it is reached only once every stack is clear, so a
 * busy function would report EBUSY instead). A function an earlier op of
 * the plan rewrites is left to the stop's check, which stays the one that
 * counts. 0, or -EINVAL with the failure recorded for xs_plan_explain. */
int xs_plan_precheck(struct xs_plan *pl);

/* After release: put the recorded failure into words (rc from the stop). */
void xs_plan_explain(struct xs_plan *pl, int rc, struct xs_err *err);

/* Success (table locked): the new states. */
void xs_plan_commit(struct xs_plan *pl, struct xs_payload *p, uint32_t cmd);

/*
 * Failure (table locked): after a failed rollback write (pl->stuck), make
 * the state follow memory (docs/decisions.md, "Code writes"): each op
 * still done counts as performed; a payload with a function holding its
 * trampoline is APPLIED, one left with none is CHECKED; their rc is
 * -ENOTRECOVERABLE and their reason err. Nothing to do otherwise.
 */
void xs_plan_settle(struct xs_plan *pl, const struct xs_err *err);

#endif
