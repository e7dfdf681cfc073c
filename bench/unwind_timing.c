/* SPDX-License-Identifier: MIT */
/*
 * Profiling shim for bench-pause --profile (never for production): preload
 * it next to the agent and it interposes libunwind's local unw_init_local2
 * and unw_step (the agent calls them through its PLT, bound at load time
 * with -z now, so a preloaded definition wins). Each park-handler run
 * gets a record with timestamps in a shared file, BENCH_UNWIND_LOG.
 *
 * BENCH_UNWIND_SKIP=1 makes unw_init_local2 fail at once: the handler then
 * records only the interrupted PC and parks. That removes the unwinding
 * from the rendezvous (and weakens the stack check, which then sees only
 * the PC), so the difference of the two runs is what unwinding costs.
 *
 * Everything here runs inside the signal handler: raw clock_gettime
 * (vDSO), atomics, no locks, no allocation.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <fcntl.h>
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "unwind_timing.h"

typedef int (*init_fn)(unw_cursor_t *, unw_context_t *, int);
typedef int (*step_fn)(unw_cursor_t *);

static init_fn real_init;
static step_fn real_step;
static struct bench_unw_log *g_log;
static int g_skip;
static __thread struct bench_unw_rec *t_cur;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((constructor)) static void shim_init(void)
{
	/* The macro names resolve to _ULx86_64_init_local2 / _ULx86_64_step. */
	real_init = (init_fn)dlsym(RTLD_NEXT, "_ULx86_64_init_local2");
	real_step = (step_fn)dlsym(RTLD_NEXT, "_ULx86_64_step");
	const char *skip = getenv("BENCH_UNWIND_SKIP");
	g_skip = skip && *skip && strcmp(skip, "0") != 0;
	const char *path = getenv("BENCH_UNWIND_LOG");
	if (!path || !*path)
		return;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	void *m = mmap(NULL, BENCH_UNW_LOG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m != MAP_FAILED)
		g_log = m;
}

static struct bench_unw_rec *claim(void)
{
	if (!g_log || g_log->magic != BENCH_UNW_MAGIC)
		return NULL;
	uint64_t i = atomic_fetch_add(&g_log->n, 1);
	return &g_log->rec[i % g_log->cap];
}

int _ULx86_64_init_local2(unw_cursor_t *c, unw_context_t *uc, int flag)
{
	uint64_t t0 = now_ns();
	struct bench_unw_rec *r = claim();
	t_cur = r;
	int rc = g_skip || !real_init ? -UNW_EUNSPEC : real_init(c, uc, flag);
	if (r) {
		uint64_t t1 = now_ns();
		r->tid = (uint32_t)gettid();
		r->nsteps = 0;
		r->t_enter = t0;
		r->t_init = t1;
		r->t_last = t1;
	}
	return rc;
}

int _ULx86_64_step(unw_cursor_t *c)
{
	int rc = real_step ? real_step(c) : -UNW_EUNSPEC;
	struct bench_unw_rec *r = t_cur;
	if (r) {
		r->nsteps++;
		r->t_last = now_ns();
	}
	return rc;
}
