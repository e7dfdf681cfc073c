/* SPDX-License-Identifier: MIT */
/*
 * Target of bench-pause: THREADS threads (the main thread is one of them)
 * that are either busy or idle, with the agent preloaded.
 *
 *   busy: CPU-bound loop; once per ~20 us of work elsewhere it calls the
 *         patched function bench_hook(), so a parked thread is almost
 *         never inside it (no stack-check retries).
 *   idle: every thread blocks in epoll_wait on its own epoll set (an
 *         eventfd nobody writes); the park signal interrupts it, the loop
 *         goes back to waiting.
 *
 *   bench-target busy|idle THREADS
 *
 * Prints "ready" on stdout once every thread runs its loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static atomic_int started;
static volatile long sink;

/* The function the payload replaces. */
__attribute__((noipa)) long bench_hook(long x)
{
	return x * 3 + 1;
}

/* Where the busy threads spend their time. */
__attribute__((noipa)) long bench_elsewhere(long x)
{
	long s = x;
	for (long i = 0; i < 20000; i++)
		s = s * 6364136223846793005L + 1442695040888963407L;
	return s;
}

static void *busy(void *arg)
{
	long x = (long)(uintptr_t)arg;
	atomic_fetch_add(&started, 1);
	for (;;) {
		x = bench_elsewhere(x);
		x += bench_hook(x) & 1;
		sink = x;
	}
	return NULL;
}

static void *idle(void *arg)
{
	(void)arg;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int ev = eventfd(0, EFD_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN, .data.fd = ev };
	if (ep < 0 || ev < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) < 0) {
		perror("bench-target: epoll");
		exit(1);
	}
	atomic_fetch_add(&started, 1);
	for (;;) {
		struct epoll_event out;
		int n = epoll_wait(ep, &out, 1, -1);
		if (n < 0 && errno != EINTR) {
			perror("bench-target: epoll_wait");
			exit(1);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "busy") && strcmp(argv[1], "idle")) || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: %s busy|idle THREADS\n", argv[0]);
		return 2;
	}
	void *(*fn)(void *) = strcmp(argv[1], "busy") == 0 ? busy : idle;
	int n = atoi(argv[2]);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 1; i < n; i++) {
		pthread_t t;
		int rc = pthread_create(&t, &attr, fn, (void *)(uintptr_t)(i + 1));
		if (rc) {
			fprintf(stderr, "bench-target: thread %d: %s\n", i, strerror(rc));
			return 1;
		}
	}
	/* Announce readiness from a helper so the main thread can join in. */
	while (atomic_load(&started) < n - 1)
		usleep(1000);
	printf("ready\n");
	fflush(stdout);
	fn((void *)(uintptr_t)1);
	return 0;
}
