/* SPDX-License-Identifier: MIT */
/*
 * The park handler's stack scan (stackscan.h; the reasoning is in
 * docs/decisions.md, "A stack scan before the unwinder").
 *
 * What it relies on, each guarded (a guard that fails means "unwind"):
 * - glibc threads (x86-64, TLS_TCB_AT_TP): the thread pointer is the
 *   struct pthread, placed at the top of the thread's stack block with the
 *   static TLS below it, so every frame lies below it. Checked: the TCB's
 *   two self pointers (tcbhead_t.tcb at 0, .self at 0x10) hold it.
 * - the main thread: every frame lies below __libc_stack_end (the stack
 *   pointer at process entry, set by the dynamic loader).
 * - the bound is above the signal frame and at most XS_SCAN_MAX_BYTES
 *   away, and every page in between is readable (one process_vm_readv of
 *   a byte per page), so the scan cannot fault on a gap or a guard page.
 * - a thread interrupted inside another signal handler (perhaps on an
 *   alternate stack, whose frames continue elsewhere) has that handler's
 *   return address -- a signal restorer -- on the scanned stack: every
 *   restorer installed at prepare time is in the filter, so it unwinds.
 *
 * Threading: see stackscan.h. The filter is written by the agent before
 * the stop's first signal and only read by handlers.
 */
#include "stackscan.h"

#include <asm/prctl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/syscall.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

extern void *__libc_stack_end;

/* Sorted, disjoint, inclusive intervals [lo, hi]: a word in one of them
 * may be a return address (or PC) in a checked range, or a restorer. */
struct interval {
	uintptr_t lo, hi;
};
static struct interval g_filter[XS_SCAN_MAX_RANGES + XS_SCAN_MAX_RESTORERS];
static _Atomic int g_nfilter = -1; /* -1: off */
static bool g_fsgsbase;
static pid_t g_pid;

void xs_stackscan_init(void)
{
	g_fsgsbase = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
	g_pid = getpid();
}

void xs_stackscan_off(void)
{
	atomic_store(&g_nfilter, -1);
}

static void insert_sorted(struct interval *v, unsigned *n, uintptr_t lo, uintptr_t hi)
{
	unsigned i = *n;
	while (i > 0 && v[i - 1].lo > lo) {
		v[i] = v[i - 1];
		i--;
	}
	v[i] = (struct interval){ lo, hi };
	(*n)++;
}

bool xs_stackscan_prepare(const struct xs_scan_range *r, unsigned n)
{
	static struct interval tmp[XS_SCAN_MAX_RANGES + XS_SCAN_MAX_RESTORERS];
	unsigned nt = 0, nrest = 0;
	uintptr_t rest[XS_SCAN_MAX_RESTORERS];

	atomic_store(&g_nfilter, -1);
	g_pid = getpid();
	if (n > XS_SCAN_MAX_RANGES)
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (r[i].hi <= r[i].lo)
			continue;
		/* A frame's return address is tested as pc - 1 in [lo, hi), a
		 * PC in [lo, hi), a trampoline's bytes strictly inside:
		 * [lo, hi] holds every word any of them can match. */
		insert_sorted(tmp, &nt, r[i].lo, r[i].hi);
	}
	/* Every installed handler's return trampoline: its address on a
	 * stack means a signal frame, whose interrupted frames may lie on
	 * another stack (sigaltstack). */
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0)
			continue;
		if (!(sa.sa_flags & SA_SIGINFO) &&
		    (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;
		/* x86-64 delivers a handler only with a restorer (SA_RESTORER,
		 * which glibc sets and reports back). */
		uintptr_t a = (uintptr_t)sa.sa_restorer;
		if (!a)
			continue;
		bool seen = false;
		for (unsigned k = 0; k < nrest && !seen; k++)
			seen = rest[k] == a;
		if (seen)
			continue;
		if (nrest == XS_SCAN_MAX_RESTORERS)
			return false;
		rest[nrest++] = a;
		insert_sorted(tmp, &nt, a, a);
	}
	/* Merge overlapping or touching intervals. */
	unsigned m = 0;
	for (unsigned i = 0; i < nt; i++) {
		if (m && tmp[i].lo <= g_filter[m - 1].hi + 1) {
			if (tmp[i].hi > g_filter[m - 1].hi)
				g_filter[m - 1].hi = tmp[i].hi;
			continue;
		}
		g_filter[m++] = tmp[i];
	}
	atomic_store(&g_nfilter, (int)m);
	return true;
}

uintptr_t xs_stackscan_thread_pointer(void)
{
	uintptr_t fs = 0;
	if (g_fsgsbase)
		__asm__ volatile("rdfsbase %0" : "=r"(fs));
	else if (xs_sys3(SYS_arch_prctl, ARCH_GET_FS, (long)&fs, 0) != 0)
		return 0;
	return fs;
}

/* Is every page of [lo, hi) readable? One process_vm_readv of one byte
 * per page: it stops at the first that is not. */
static bool readable(uintptr_t lo, uintptr_t hi)
{
	enum { MAXV = XS_SCAN_MAX_BYTES / 4096 + 3 };
	struct iovec rv[MAXV], lv;
	char sink[MAXV];
	unsigned nv = 0;
	for (uintptr_t a = lo; a < hi && nv < MAXV; a = (a | 4095) + 1)
		rv[nv++] = (struct iovec){ (void *)a, 1 };
	if (nv == MAXV)
		return false;
	lv = (struct iovec){ sink, nv };
	return xs_sys6(SYS_process_vm_readv, g_pid, (long)&lv, 1, (long)rv, nv, 0) == (long)nv;
}

__attribute__((no_sanitize("address"))) uintptr_t xs_stackscan_top(uintptr_t from, bool main)
{
	uintptr_t top, need;
	if (main) {
		top = (uintptr_t)__libc_stack_end;
		need = top;
	} else {
		top = xs_stackscan_thread_pointer();
		need = top + 0x18; /* the TCB's self pointers */
	}
	if (!top || top <= from || top - from > XS_SCAN_MAX_BYTES || need < top ||
	    !readable(from, need))
		return 0;
	if (!main) {
		const volatile uintptr_t *tcb = (const volatile uintptr_t *)top;
		if (tcb[0] != top || tcb[2] != top)
			return 0; /* not a glibc thread control block */
	}
	return top & ~(uintptr_t)7;
}

/* Does v fall in a filter interval? (binary search, no libc) */
static inline bool hit(const struct interval *f, int n, uintptr_t v)
{
	if (v < f[0].lo || v > f[n - 1].hi)
		return false;
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (v < f[mid].lo)
			hi = mid - 1;
		else if (v > f[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Reads the calling thread's own live stack above its frames: no ASan. */
__attribute__((no_sanitize("address"))) bool xs_stackscan_clear(const void *ucontext, bool main)
{
	int n = atomic_load(&g_nfilter);
	if (n < 0)
		return false;
	/* From the signal frame's ucontext: above it are the interrupted
	 * registers (the PC among them) and every frame of the thread. */
	uintptr_t from = (uintptr_t)ucontext & ~(uintptr_t)7;
	uintptr_t sp = xs_arch_context_sp(ucontext);
	uintptr_t top = xs_stackscan_top(from, main);
	/* The interrupted SP must be on the scanned stack (not on an
	 * alternate stack or a coroutine stack elsewhere). */
	if (!top || sp < from || sp >= top)
		return false;
	if (n == 0)
		return true;
	/* The frame's saved FPU/vector registers are register values, never
	 * a place an unwinder finds a return address; a vector register may
	 * well hold a copy of a code pointer (a struct sigaction just copied):
	 * not scanned. */
	uintptr_t fp_lo, fp_hi;
	xs_arch_context_fpstate(ucontext, &fp_lo, &fp_hi);
	for (uintptr_t w = from; w < top; w += 8) {
		if (w >= fp_lo && w < fp_hi) {
			w = ((fp_hi + 7) & ~(uintptr_t)7) - 8;
			continue;
		}
		if (hit(g_filter, n, *(const volatile uintptr_t *)w))
			return false;
	}
	return true;
}
