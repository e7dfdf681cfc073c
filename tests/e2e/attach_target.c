/* SPDX-License-Identifier: MIT */
/*
 * Targets for the attach test (attach.sh), started without the agent:
 *
 *   attach_target read            block in read(0): print "got: LINE" and exit
 *   attach_target busy N          N threads computing a known checksum over
 *                                 and over; on a line (or EOF) on stdin print
 *                                 "rounds=R bad=B" and exit
 *   attach_target churn LIB READY N threads that malloc/free and one that
 *                                 dlopens/dlcloses LIB without pause; touch
 *                                 READY when running; run until killed
 *
 * Threading: as each mode says; the main thread waits on stdin or sleeps.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong rounds, bad;

static uint64_t checksum(void)
{
	uint64_t h = 1469598103934665603ull;
	for (uint64_t i = 0; i < 200000; i++)
		h = (h ^ (i * i + 7)) * 1099511628211ull;
	return h;
}

static uint64_t expected;

static void *busy(void *arg)
{
	(void)arg;
	for (;;) {
		/* Floating point too: the attach must restore SSE state. */
		volatile double x = 1.0;
		for (int i = 0; i < 1000; i++)
			x = x * 1.0000001 + 0.5;
		if (checksum() != expected || x < 1.0)
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&rounds, 1);
	}
	return NULL;
}

static const char *lib;

static void *churn_malloc(void *arg)
{
	(void)arg;
	for (unsigned i = 0;; i++) {
		void *p = malloc(16 + (i % 4096));
		void *q = malloc(100000 + (i % 7) * 4096); /* mmap'ed: the malloc locks in syscalls */
		free(p);
		free(q);
	}
	return NULL;
}

static void *churn_dl(void *arg)
{
	(void)arg;
	for (;;) {
		void *h = dlopen(lib, RTLD_NOW);
		if (h)
			dlclose(h);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char line[256];
	if (argc >= 2 && !strcmp(argv[1], "read")) {
		ssize_t n = read(0, line, sizeof(line) - 1);
		if (n < 0) {
			perror("read");
			return 1;
		}
		line[n] = '\0';
		line[strcspn(line, "\n")] = '\0';
		printf("got: %s\n", line);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "busy")) {
		expected = checksum();
		int n = atoi(argv[2]);
		pthread_t t;
		for (int i = 0; i < n; i++)
			pthread_create(&t, NULL, busy, NULL);
		ssize_t r = read(0, line, sizeof(line));
		(void)r;
		printf("rounds=%lu bad=%lu\n", atomic_load(&rounds), atomic_load(&bad));
		fflush(stdout);
		_exit(0);
	}
	if (argc >= 4 && !strcmp(argv[1], "churn")) {
		lib = argv[2];
		pthread_t t;
		for (int i = 0; i < 3; i++)
			pthread_create(&t, NULL, churn_malloc, NULL);
		pthread_create(&t, NULL, churn_dl, NULL);
		int fd = open(argv[3], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		for (;;)
			pause();
	}
	fprintf(stderr, "usage: %s read | busy N | churn LIB READY\n", argv[0]);
	return 2;
}
