/* SPDX-License-Identifier: MIT */
/*
 * The park handler's stack scan (src/agent/stackscan.c): the glibc facts it
 * relies on, checked on this glibc, and its answers from a real signal
 * handler: clear when no word of the stack is in a checked range, not
 * clear (unwind) for a thread inside a checked function, for a stale
 * pointer into one left in a local, and for a thread interrupted on an
 * alternate signal stack. Also prints what it costs against libunwind.
 */
#define UNW_LOCAL_ONLY
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/stackscan.h"

extern void *__libc_stack_end;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Functions whose address ranges the tests check (noinline, noclone; their
 * extent from the dynamic symbol table: the test links with -rdynamic). */
__attribute__((noinline, noclone)) void scan_far_away(void)
{
	__asm__ volatile("nop; nop; nop; nop");
}

static struct xs_scan_range range_of(void (*f)(void))
{
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	assert_true(dladdr1((void *)f, &info, (void **)&sym, RTLD_DL_SYMENT) != 0);
	assert_non_null(sym);
	assert_true(sym->st_size > 0);
	uintptr_t lo = (uintptr_t)f;
	return (struct xs_scan_range){ lo, lo + sym->st_size };
}

/* What the handler saw. */
static volatile int g_clear = -1;
static volatile bool g_main;
static volatile uint64_t g_scan_ns, g_unwind_ns;
static volatile int g_unwind_frames;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	g_clear = xs_stackscan_clear(uc, g_main);
}

/* Cost of the scan against an unwind from the same context. */
static void on_usr1_timed(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	enum { N = 200 };
	uint64_t t0 = mono_ns();
	int c = 0;
	for (int i = 0; i < N; i++)
		c += xs_stackscan_clear(uc, g_main);
	uint64_t t1 = mono_ns();
	int frames = 0;
	for (int i = 0; i < N; i++) {
		unw_cursor_t cur;
		frames = 0;
		if (unw_init_local2(&cur, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) < 0)
			break;
		while (unw_step(&cur) > 0)
			frames++;
	}
	uint64_t t2 = mono_ns();
	g_clear = c == N;
	g_scan_ns = (t1 - t0) / N;
	g_unwind_ns = (t2 - t1) / N;
	g_unwind_frames = frames;
}

static void install(void (*h)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO | flags;
	sigfillset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* A "patched" function a thread is inside when the signal comes. */
__attribute__((noinline, noclone)) void scan_busy_inside(void)
{
	raise(SIGUSR1);
	__asm__ volatile("nop");
}

/* A function that is not running, but a local of a live frame holds a
 * stale pointer into it (as a callback table, a saved return address). */
__attribute__((noinline, noclone)) void scan_stale_target(void)
{
	__asm__ volatile("nop; nop");
}

__attribute__((noinline, noclone)) static void raise_with_stale_local(void)
{
	volatile uintptr_t stale = (uintptr_t)scan_stale_target + 1;
	raise(SIGUSR1);
	(void)stale;
}

struct thread_facts {
	uintptr_t fs, self, tcb0, tcb16, local, stack_lo, stack_hi, top;
};

static void *facts_thread(void *arg)
{
	struct thread_facts *f = arg;
	volatile int here = 0;
	f->local = (uintptr_t)&here;
	f->fs = xs_stackscan_thread_pointer();
	f->self = (uintptr_t)pthread_self();
	f->tcb0 = ((uintptr_t *)f->fs)[0];
	f->tcb16 = ((uintptr_t *)f->fs)[2];
	pthread_attr_t at;
	void *addr;
	size_t size;
	assert_int_equal(pthread_getattr_np(pthread_self(), &at), 0);
	assert_int_equal(pthread_attr_getstack(&at, &addr, &size), 0);
	pthread_attr_destroy(&at);
	f->stack_lo = (uintptr_t)addr;
	f->stack_hi = (uintptr_t)addr + size;
	f->top = xs_stackscan_top(f->local & ~(uintptr_t)7, false);
	return NULL;
}

/* The facts of stackscan.c's header comment, on this glibc. */
static void test_glibc_facts(void **state)
{
	(void)state;
	xs_stackscan_init();
	struct thread_facts f;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, facts_thread, &f), 0);
	pthread_join(t, NULL);
	/* The thread pointer is the struct pthread, its own TCB self pointers. */
	assert_true(f.fs == f.self);
	assert_true(f.tcb0 == f.fs && f.tcb16 == f.fs);
	/* ... above every frame of the thread, inside its stack block. */
	assert_true(f.local < f.fs);
	assert_true(f.fs - f.local < XS_SCAN_MAX_BYTES);
	assert_true(f.local >= f.stack_lo && f.local < f.stack_hi);
	assert_true(f.fs >= f.stack_hi - 65536 && f.fs < f.stack_hi + 65536);
	assert_true(f.top == (f.fs & ~(uintptr_t)7));
	/* The main thread: frames below __libc_stack_end; its TCB is not on
	 * the stack (so it is bounded by __libc_stack_end instead). */
	volatile int here = 0;
	uintptr_t local = (uintptr_t)&here;
	assert_true(local < (uintptr_t)__libc_stack_end);
	assert_true(xs_stackscan_top(local & ~(uintptr_t)7, true) != 0);
	assert_true(xs_stackscan_thread_pointer() == (uintptr_t)pthread_self());
	/* A bound that is not above, or too far: not trusted. */
	assert_true(xs_stackscan_top((uintptr_t)__libc_stack_end + 8, true) == 0);
	assert_true(xs_stackscan_top(local - 2 * XS_SCAN_MAX_BYTES, true) == 0);
}

struct run {
	struct xs_scan_range r[2];
	unsigned n;
	void (*body)(void);
	int clear;
};

static struct run g_run;

static void *run_thread(void *arg)
{
	(void)arg;
	struct run *rn = &g_run;
	g_clear = -1;
	rn->body();
	rn->clear = g_clear;
	return NULL;
}

static int on_thread(void (*body)(void), struct xs_scan_range r)
{
	g_run = (struct run){ .r = { r }, .n = 1, .body = body };
	struct run *rn = &g_run;
	/* Prepared by another thread, as the agent's action thread does:
	 * prepare's own dead frame would leave the very words it publishes
	 * on this thread's stack. */
	g_main = false;
	assert_true(xs_stackscan_prepare(rn->r, rn->n));
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_thread, rn), 0);
	pthread_join(t, NULL);
	return rn->clear;
}

static void raise_plain(void)
{
	raise(SIGUSR1);
}

/* Ranges live here, not in locals: a local holding one would be the very
 * stale word the scan is meant to notice. */
static struct xs_scan_range far, inside, stale;

static void test_clear_and_not(void **state)
{
	(void)state;
	xs_stackscan_init();
	install(on_usr1, 0);
	far = range_of(scan_far_away);
	inside = range_of(scan_busy_inside);
	stale = range_of(scan_stale_target);
	/* No word of the stack is in a function nobody runs: clear. */
	assert_int_equal(on_thread(raise_plain, far), 1);
	/* Inside the checked function: its return address is on the stack. */
	assert_int_equal(on_thread(scan_busy_inside, inside), 0);
	/* A stale pointer into a function that does not run: not clear here
	 * (the unwinder decides, and finds nothing). */
	assert_int_equal(on_thread(raise_with_stale_local, stale), 0);
	assert_int_equal(on_thread(raise_plain, stale), 1);
	/* The main thread, bounded by __libc_stack_end. */
	g_main = true;
	assert_true(xs_stackscan_prepare(&far, 1));
	g_clear = -1;
	raise_plain();
	assert_int_equal(g_clear, 1);
	assert_true(xs_stackscan_prepare(&inside, 1));
	g_clear = -1;
	scan_busy_inside();
	assert_int_equal(g_clear, 0);
	/* Off: never clear. */
	xs_stackscan_off();
	g_clear = -1;
	raise_plain();
	assert_int_equal(g_clear, 0);
	/* Too many ranges: refused, off. */
	struct xs_scan_range *many = calloc(XS_SCAN_MAX_RANGES + 1, sizeof(*many));
	assert_non_null(many);
	for (unsigned i = 0; i <= XS_SCAN_MAX_RANGES; i++)
		many[i] = (struct xs_scan_range){ 0x1000 + 32 * i, 0x1010 + 32 * i };
	assert_false(xs_stackscan_prepare(many, XS_SCAN_MAX_RANGES + 1));
	free(many);
	g_clear = -1;
	raise_plain();
	assert_int_equal(g_clear, 0);
}

/* A thread interrupted inside a handler running on an alternate stack:
 * its frames continue on the thread's stack, which the scan from the
 * alternate stack would not reach: never clear. */
static void on_usr2_onstack(int sig)
{
	(void)sig;
	raise(SIGUSR1);
}

static void *altstack_thread(void *arg)
{
	int *out = arg;
	stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 };
	assert_non_null(ss.ss_sp);
	assert_int_equal(sigaltstack(&ss, NULL), 0);
	g_clear = -1;
	raise(SIGUSR2);
	*out = g_clear;
	void *mem = ss.ss_sp;
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	free(mem);
	return NULL;
}

static void test_altstack_unwinds(void **state)
{
	(void)state;
	xs_stackscan_init();
	install(on_usr1, 0);
	int clear = -1;
	pthread_t t;
	g_main = false;
	far = range_of(scan_far_away);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2_onstack;
	sa.sa_flags = SA_ONSTACK;
	assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
	assert_true(xs_stackscan_prepare(&far, 1));
	assert_int_equal(pthread_create(&t, NULL, altstack_thread, &clear), 0);
	pthread_join(t, NULL);
	assert_int_equal(clear, 0);
	signal(SIGUSR2, SIG_DFL);
}

static void test_cost(void **state)
{
	(void)state;
	xs_stackscan_init();
	install(on_usr1_timed, 0);
	far = range_of(scan_far_away);
	on_thread(raise_plain, far);
	assert_int_equal(g_clear, 1);
	printf("# stack scan %llu ns, libunwind %llu ns (%d steps) per thread\n",
	       (unsigned long long)g_scan_ns, (unsigned long long)g_unwind_ns, g_unwind_frames);
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glibc_facts),
		cmocka_unit_test(test_clear_and_not),
		cmocka_unit_test(test_altstack_unwinds),
		cmocka_unit_test(test_cost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
