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
 *   attach_target sleep MS        one nanosleep of MS ms in the main thread:
 *                                 print "rc=R slept=S" (S: ms measured)
 *   attach_target futex           the main thread in one raw FUTEX_WAIT, a
 *                                 thread in pthread_cond_wait; a line on
 *                                 stdin wakes both: "futex rc=R errno=E
 *                                 word=W cond=C"
 *   attach_target epoll           the main thread in one epoll_wait on stdin
 *                                 (no timeout): "epoll n=N errno=E line=L"
 *   attach_target allbusy N       N threads and the main thread computing;
 *                                 after MS=3000 ms print "rounds=R bad=B"
 *   attach_target exit MS         exit after MS ms (threads busy meanwhile)
 *   attach_target nondump         PR_SET_DUMPABLE 0, then as "read"
 *   attach_target seccomp-kill    a filter that kills the process on
 *                                 memfd_create and on mmap with PROT_EXEC,
 *                                 then as "read"
 *
 * Threading: as each mode says; the main thread waits on stdin or sleeps.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
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

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static atomic_int futex_word;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cond_flag, cond_seen;

static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!cond_flag)
		pthread_cond_wait(&cv, &mu);
	cond_seen = 1;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *stdin_waker(void *arg)
{
	char line[64];
	(void)arg;
	ssize_t r = read(0, line, sizeof(line));
	(void)r;
	pthread_mutex_lock(&mu);
	cond_flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	atomic_store(&futex_word, 1);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

static void *busy_forever(void *arg)
{
	(void)arg;
	for (;;)
		if (checksum() != expected)
			atomic_fetch_add(&bad, 1);
	return NULL;
}

static int seccomp_kill(void)
{
#define ARG_LO(n) (offsetof(struct seccomp_data, args[n]))
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("seccomp");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char line[256];
	if (argc >= 2 && !strcmp(argv[1], "nondump") && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		perror("prctl");
		return 1;
	}
	if (argc >= 2 && !strcmp(argv[1], "seccomp-kill") && seccomp_kill())
		return 1;
	if (argc >= 2 && (!strcmp(argv[1], "read") || !strcmp(argv[1], "nondump") ||
			  !strcmp(argv[1], "seccomp-kill"))) {
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
	if (argc >= 3 && !strcmp(argv[1], "sleep")) {
		long ms = atol(argv[2]);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
		double t0 = now_ms();
		int rc = nanosleep(&ts, NULL);
		printf("rc=%d slept=%.0f\n", rc, now_ms() - t0);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "futex")) {
		pthread_t w, k;
		pthread_create(&w, NULL, cond_waiter, NULL);
		pthread_create(&k, NULL, stdin_waker, NULL);
		long rc = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
		int e = rc < 0 ? errno : 0;
		pthread_join(w, NULL);
		printf("futex rc=%ld errno=%d word=%d cond=%d\n", rc, e, atomic_load(&futex_word),
		       cond_seen);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "epoll")) {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN }, out;
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev)) {
			perror("epoll");
			return 1;
		}
		int n = epoll_wait(ep, &out, 1, -1);
		int e = n < 0 ? errno : 0;
		ssize_t r = n == 1 ? read(0, line, sizeof(line) - 1) : 0;
		line[r > 0 ? r : 0] = '\0';
		line[strcspn(line, "\n")] = '\0';
		printf("epoll n=%d errno=%d line=%s\n", n, e, line);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "allbusy")) {
		expected = checksum();
		int n = atoi(argv[2]);
		pthread_t t;
		for (int i = 0; i < n; i++)
			pthread_create(&t, NULL, busy, NULL);
		double end = now_ms() + 3000;
		while (now_ms() < end) {
			if (checksum() != expected)
				atomic_fetch_add(&bad, 1);
			atomic_fetch_add(&rounds, 1);
		}
		printf("rounds=%lu bad=%lu\n", atomic_load(&rounds), atomic_load(&bad));
		fflush(stdout);
		_exit(0);
	}
	if (argc >= 3 && !strcmp(argv[1], "exit")) {
		expected = checksum();
		pthread_t t;
		for (int i = 0; i < 2; i++)
			pthread_create(&t, NULL, busy_forever, NULL);
		struct timespec ts = { 0, atol(argv[2]) * 1000000 };
		nanosleep(&ts, NULL);
		_exit(0);
	}
	fprintf(stderr, "usage: %s read | busy N | churn LIB READY | sleep MS | futex | epoll | "
		"allbusy N | exit MS | nondump | seccomp-kill\n", argv[0]);
	return 2;
}
