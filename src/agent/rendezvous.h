/* SPDX-License-Identifier: MIT */
/*
 * The stop-the-world rendezvous: park every thread of the process except the calling one
 * (the agent's action thread) so code can change while nothing runs it.
 * Each thread gets a reserved real-time signal; its handler records its
 * stack (libunwind, from the signal context) and sleeps on a futex until
 * released. Never a spin: with more threads than cores spinners starve
 * the threads that have not arrived yet.
 */
#ifndef XS_AGENT_RENDEZVOUS_H
#define XS_AGENT_RENDEZVOUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "stackscan.h"
#include "xsplice/error.h"

#define XS_STACK_MAX 64

struct xs_thread_stack {
	pid_t tid;
	uint32_t nframes;        /* pcs[0] is the interrupted PC, then return addresses */
	bool truncated;          /* more frames than XS_STACK_MAX, or unwinding failed:
	                          * then checked word by word (conservative), or
	                          * refused when the stack's extent is unknown */
	/* A thread that blocks the park signal but sleeps in a system call is
	 * not parked; it cannot run until the call returns. Its stack cannot
	 * be unwound from here, so every word in [sp, stack_hi) is treated as
	 * a possible return address (conservative). pcs[0] is its PC. */
	bool conservative;
	/* Cleared by the handler's stack scan (stackscan.h): no word of its
	 * stack is in a checked range; pcs[0] only, nothing unwound. */
	bool scanned;
	uintptr_t sp, stack_hi;
	uintptr_t pcs[XS_STACK_MAX];
};

struct xs_rendezvous_stats {
	uint64_t pause_ns;      /* first signal sent -> release issued (all threads woken) */
	uint64_t park_ns;       /* first signal sent -> last thread arrived */
	unsigned threads;       /* threads parked in the successful attempt */
	unsigned scanned;       /* of them, cleared by the stack scan without unwinding */
	unsigned attempts;
};

/*
 * Work done while every other thread is parked. Return 0 (done),
 * -EAGAIN (a thread is in the way: release, back off, try again), or
 * another -errno (give up). Must call nothing a payload may patch, and
 * so formats nothing: it records what went wrong in ctx, for its caller
 * to word after the release.
 */
typedef int (*xs_critical_fn)(void *ctx, const struct xs_thread_stack *const *threads,
			      unsigned n);

/* Install the park handler on the reserved signal ($XSPLICE_SIGNAL or
 * SIGRTMIN+XS_DEFAULT_SIGNAL_OFFSET). Call once, before any action. */
#define XS_DEFAULT_SIGNAL_OFFSET 6
int xs_rendezvous_init(struct xs_err *err);
int xs_rendezvous_signal(void);
/* Is the park handler still installed on the reserved signal? */
bool xs_rendezvous_handler_ours(void);
/* Is the calling thread inside its park handler, recording its stack? */
bool xs_rendezvous_in_handler(void);

/*
 * Park all threads, run fn, release; watch[0..nwatch) are the address
 * ranges fn checks stacks against (NULL: unknown, every parked thread
 * unwinds; see stackscan.h); retry on -EAGAIN until timeout_ms,
 * or until *cancel (looked at between attempts, never during a stop):
 * then -ECANCELED.
 * On running out of time: -EBUSY with the reason of the last conflict, or
 * naming a thread that never arrived. Also unblocks nothing: threads that
 * block the signal simply never arrive.
 * *stats is written only when fn returned 0, before the release (while
 * every thread that might read it is parked); otherwise left alone.
 */
int xs_rendezvous_run(xs_critical_fn fn, void *ctx, const struct xs_scan_range *watch,
		      unsigned nwatch, unsigned timeout_ms, const _Atomic bool *cancel,
		      struct xs_rendezvous_stats *stats, struct xs_err *err);

#endif
