/* SPDX-License-Identifier: MIT */
/*
 * The corpus harness loop (tests/corpus/README.md): a long-running process
 * linking the real library, which every 100 ms runs the case's reproducer
 * in a forked child (a crash is a result, not the end of the harness) and
 * prints one line
 *     repro: RESULT  load: N ok, M bad
 * while LOAD_THREADS threads keep calling the library with inputs whose
 * right answer is known (the "still correct under load" check).
 * A package harness (C, or C++ in NAME.cc) defines repro(mode) (prints its RESULT to stdout and
 * exits 0) and load_once() (true when the library's answer was right).
 */
#ifndef CORPUS_HARNESS_H
#define CORPUS_HARNESS_H

#include <pthread.h>
#include <signal.h>
#ifdef __cplusplus
/* A C++ harness (harness/NAME.cc, compiled with c++): the same loop. */
#include <atomic>
typedef std::atomic<unsigned long> atomic_ulong;
using std::atomic_fetch_add;
using std::atomic_load;
#else
#include <stdatomic.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOAD_THREADS 2

static void repro(const char *mode);
static bool load_once(void);

static atomic_ulong load_ok, load_bad;
/* Held by the load threads around each call and by main across fork():
 * a library's own locks (libxml2's dictionary mutex) held by a load
 * thread at the fork would stay locked forever in the child. */
static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;

static void *load_thread(void *arg)
{
	(void)arg;
	/* Busy, but not a CPU hog on a shared machine: 1 ms off every 200 calls. */
	for (unsigned long i = 1;; i++) {
		if (i % 200 == 0)
			usleep(1000);
		pthread_mutex_lock(&fork_lock);
		bool right = load_once();
		pthread_mutex_unlock(&fork_lock);
		if (right)
			atomic_fetch_add(&load_ok, 1);
		else
			atomic_fetch_add(&load_bad, 1);
	}
	return NULL;
}

/* len bytes of s placed so that the next byte is an inaccessible page: an
 * out-of-bounds read by one byte faults instead of going unseen. */
static char *at_page_end(const char *s, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t span = ((len + (size_t)pg - 1) / (size_t)pg + 1) * (size_t)pg;
	char *m = (char *)mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	mprotect(m + span - pg, (size_t)pg, PROT_NONE);
	char *p = m + span - pg - len;
	memcpy(p, s, len);
	return p;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s MODE [ITERATIONS]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	long n = argc > 2 ? atol(argv[2]) : -1;
	pthread_t t[LOAD_THREADS];
	for (int i = 0; i < LOAD_THREADS; i++)
		pthread_create(&t[i], NULL, load_thread, NULL);
	for (long i = 0; n < 0 || i < n; i++) {
		int pfd[2];
		if (pipe(pfd))
			return 1;
		fflush(stdout);
		pthread_mutex_lock(&fork_lock);
		pid_t pid = fork();
		pthread_mutex_unlock(&fork_lock);
		if (pid == 0) {
			alarm(20); /* a hang is a result too, not the end of the harness */
			/* A crash is a result: no core dump to wait for. */
			struct rlimit nocore = { 0, 0 };
			setrlimit(RLIMIT_CORE, &nocore);
			dup2(pfd[1], 1);
			close(pfd[0]);
			repro(argv[1]);
			fflush(stdout);
			_exit(0);
		}
		close(pfd[1]);
		char buf[512] = "";
		ssize_t got = read(pfd[0], buf, sizeof(buf) - 1);
		buf[got > 0 ? got : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		close(pfd[0]);
		int st = 0;
		waitpid(pid, &st, 0);
		char res[600];
		if (WIFSIGNALED(st))
			snprintf(res, sizeof(res), "crash %s", strsignal(WTERMSIG(st)));
		else
			snprintf(res, sizeof(res), "%s", buf[0] ? buf : "(nothing)");
		printf("repro: %s  load: %lu ok, %lu bad\n", res, atomic_load(&load_ok),
		       atomic_load(&load_bad));
		usleep(100000);
	}
	return 0;
}

#endif
