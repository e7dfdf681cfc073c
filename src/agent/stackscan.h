/* SPDX-License-Identifier: MIT */
/*
 * The park handler's fast path (docs/decisions.md, "A stack scan before
 * the unwinder"): a return address into a range the stop checks is a word
 * on the thread's live stack, so a thread whose stack, read from its
 * signal frame to the top of its stack, holds no word in any checked range
 * (and no second signal frame) cannot be in the way, and needs no unwind.
 * Anything else -- a word that matches, bounds that cannot be trusted --
 * leaves the decision to the unwinder, exactly as before.
 *
 * Threading: xs_stackscan_prepare/xs_stackscan_off run on the agent's
 * action thread before any park signal of a stop is sent; xs_stackscan_clear
 * runs in the park handler on any thread (raw system calls and own loops
 * only) and reads what prepare published.
 */
#ifndef XS_AGENT_STACKSCAN_H
#define XS_AGENT_STACKSCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Checked address ranges: [lo, hi) as the plan has them. */
struct xs_scan_range {
	uintptr_t lo, hi;
};

#define XS_SCAN_MAX_RANGES 256             /* more: the fast path is off */
#define XS_SCAN_MAX_BYTES (64u * 1024u)    /* deeper stacks are unwound */
#define XS_SCAN_MAX_RESTORERS 8

/* Once, at start: how to read the thread pointer (FSGSBASE or a system call). */
void xs_stackscan_init(void);

/*
 * Before a stop (agent thread, libc allowed): publish the ranges the stop
 * checks and the signal-return trampolines of every handler installed
 * now. Returns false (and turns the fast path off for this stop) when it
 * cannot: too many ranges or restorers.
 */
bool xs_stackscan_prepare(const struct xs_scan_range *r, unsigned n);
/* No fast path for the next stop (no ranges known). */
void xs_stackscan_off(void);

/*
 * In the park handler: true when the thread is certainly clear -- every
 * word from the signal frame (ucontext) to the top of the stack was read
 * and none lies in [lo, hi] of a checked range nor equals a signal
 * restorer. false: unwind (the fallback decides). main: the thread is the
 * process's main thread (its top is __libc_stack_end).
 */
bool xs_stackscan_clear(const void *ucontext, bool main);

/* For tests: the top of the calling thread's stack as the fast path sees
 * it (0 when it would not trust it), and the thread pointer. */
uintptr_t xs_stackscan_top(uintptr_t from, bool main);
uintptr_t xs_stackscan_thread_pointer(void);

#endif
