/* SPDX-License-Identifier: MIT */
/*
 * Stress target: worker threads call three patchable functions in tight
 * loops and check every answer is one that some version of the function
 * gives (original, payload A, payload B). On SIGTERM it prints
 * "calls=N wrong=M" and exits 0 only if nothing was wrong.
 *
 *   stress-target THREADS
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress_funcs.h"

static atomic_int stop;
static atomic_ulong calls, wrong;
static char first_wrong[160];

__attribute__((noipa)) long stress_leaf(long x)
{
	return STRESS_LEAF(x, 0);
}

/* Not patched: keeps return addresses inside stress_mid on the stack. */
__attribute__((noipa)) long stress_helper(long x)
{
	long s = 0;
	for (long i = 0; i < 16; i++)
		s += (x ^ i) & 0xff;
	return s;
}

__attribute__((noipa)) long stress_mid(long x)
{
	return STRESS_MID(stress_helper(x), x, 0);
}

__attribute__((noipa)) long stress_loop(long x)
{
	long s = 0;
	for (long i = 0; i < 64; i++)
		s ^= x * i;
	return STRESS_LOOP(s, 0);
}

/* Work outside the patched functions, as a real service spends most of
 * its time elsewhere: otherwise some thread is always inside one of them
 * and the stack check (rightly) never lets a patch in. */
__attribute__((noipa)) long stress_elsewhere(long x)
{
	unsigned long s = (unsigned long)x;
	for (long i = 0; i < 2000; i++)
		s = s * 6364136223846793005UL + 1442695040888963407UL;
	return (long)s;
}

static void check(const char *fn, long got, long v0, long v1, long v2)
{
	if (got == v0 || got == v1 || got == v2)
		return;
	if (atomic_fetch_add(&wrong, 1) == 0)
		snprintf(first_wrong, sizeof(first_wrong), "%s returned %ld, expected %ld/%ld/%ld",
			 fn, got, v0, v1, v2);
}

static void *worker(void *arg)
{
	long x = (long)(uintptr_t)arg * 1000;
	unsigned long n = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		x++;
		check("stress_leaf", stress_leaf(x), STRESS_LEAF(x, 0), STRESS_LEAF(x, 1),
		      STRESS_LEAF(x, 2));
		long h = stress_helper(x);
		check("stress_mid", stress_mid(x), STRESS_MID(h, x, 0), STRESS_MID(h, x, 1),
		      STRESS_MID(h, x, 2));
		long s = 0;
		for (long i = 0; i < 64; i++)
			s ^= x * i;
		check("stress_loop", stress_loop(x), STRESS_LOOP(s, 0), STRESS_LOOP(s, 1),
		      STRESS_LOOP(s, 2));
		n += 3;
		x += stress_elsewhere(x) & 1;
	}
	atomic_fetch_add(&calls, n);
	return NULL;
}

static void on_term(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 8;
	if (nthreads < 1 || nthreads > 1024) {
		fprintf(stderr, "usage: %s THREADS\n", argv[0]);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* SIGTERM for the main thread only, taken in sigsuspend: when a worker
	 * took it (pause() here), the workers ended and main paused forever --
	 * stress-500-cycles hung in 3 of 18 runs under ASan. */
	sigset_t term, waitmask;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	pthread_t *t = calloc((size_t)nthreads, sizeof(*t));
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	while (!atomic_load(&stop))
		sigsuspend(&waitmask);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	free(t);
	printf("calls=%lu wrong=%lu\n", atomic_load(&calls), atomic_load(&wrong));
	if (atomic_load(&wrong))
		printf("first wrong answer: %s\n", first_wrong);
	fflush(stdout);
	return atomic_load(&wrong) ? 1 : 0;
}
