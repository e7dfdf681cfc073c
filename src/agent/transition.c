/* SPDX-License-Identifier: MIT */
/*
 * Thread rendezvous (DESIGN §5). Everything between the first signal and
 * the release runs on raw system calls and our own loops: a parked thread
 * may hold a libc lock (malloc, stdio, the loader's), and a payload may be
 * replacing libc code at that very moment.
 */
#define UNW_LOCAL_ONLY
#include "transition.h"

#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/syscall.h"

/* Shared with the handler: all atomics or written before the signals. */
static int g_signo;
static _Atomic uint32_t g_gen;          /* current attempt; handler ignores others */
static _Atomic uint32_t g_release;      /* futex: threads sleep until == their gen */
static _Atomic uint32_t g_arrived;      /* futex: the agent sleeps on it */
static _Atomic uint32_t g_departed;     /* futex: threads that left the handler */
static _Atomic uint32_t g_nslots;
static struct xs_thread_stack *g_slots; /* g_cap entries */
static uint32_t g_cap;
static pid_t *g_sent, *g_scratch;       /* agent-side arrays, g_cap entries */

static long futex_wait(_Atomic uint32_t *addr, uint32_t val, const struct timespec *ts)
{
	return xs_sys4(SYS_futex, (long)addr, FUTEX_WAIT_PRIVATE, (long)val, (long)ts);
}

static long futex_wake(_Atomic uint32_t *addr, int n)
{
	return xs_sys3(SYS_futex, (long)addr, FUTEX_WAKE_PRIVATE, n);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	xs_sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static pid_t raw_gettid(void)
{
	return (pid_t)xs_sys3(SYS_gettid, 0, 0, 0);
}

static void record_stack(struct xs_thread_stack *st, void *ucv)
{
	unw_cursor_t cursor;
	unw_word_t ip;
	ucontext_t *uc = ucv;

	st->nframes = 0;
	st->truncated = false;
	/* The interrupted PC straight from the signal context: exact even if
	 * the unwinder fails below. */
	st->pcs[st->nframes++] = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	if (unw_init_local2(&cursor, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) < 0) {
		st->truncated = true;
		return;
	}
	for (;;) {
		int r = unw_step(&cursor);
		if (r == 0)
			break;
		if (r < 0 || st->nframes == XS_STACK_MAX) {
			st->truncated = true;
			break;
		}
		if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		st->pcs[st->nframes++] = (uintptr_t)ip;
	}
}

static void park_handler(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	int saved_errno = errno;
	uint32_t gen = atomic_load(&g_gen);

	/* Only our own queued signal for the attempt in progress parks; a late
	 * one (thread had it blocked, attempt over) is ignored. */
	if (si->si_code != SI_QUEUE || si->si_pid != getpid() ||
	    (uint32_t)si->si_value.sival_int != gen || atomic_load(&g_release) == gen) {
		errno = saved_errno;
		return;
	}
	uint32_t slot = atomic_fetch_add(&g_nslots, 1);
	if (slot < g_cap) {
		g_slots[slot].tid = raw_gettid();
		record_stack(&g_slots[slot], ucv);
	}
	atomic_fetch_add(&g_arrived, 1);
	futex_wake(&g_arrived, 1);

	uint32_t r;
	while ((r = atomic_load(&g_release)) != gen)
		futex_wait(&g_release, r, NULL);

	/* Cross-modifying code: serialise before running possibly new code. */
	xs_arch_serialize();
	atomic_fetch_add(&g_departed, 1);
	futex_wake(&g_departed, 1);
	errno = saved_errno;
}

int xs_transition_signal(void)
{
	return g_signo;
}

int xs_transition_init(struct xs_err *err)
{
	int signo = SIGRTMIN + XS_DEFAULT_SIGNAL_OFFSET;
	const char *env = getenv("XSPLICE_SIGNAL");
	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (*end || v < SIGRTMIN || v > SIGRTMAX)
			return xs_fail(err, -EINVAL,
				       "XSPLICE_SIGNAL=%s: must be a real-time signal number %d..%d",
				       env, SIGRTMIN, SIGRTMAX);
		signo = (int)v;
	}
	struct sigaction old;
	if (sigaction(signo, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO ?
						   old.sa_sigaction != NULL :
						   (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)))
		return xs_fail(err, -EBUSY,
			       "signal %d is already used by the program; choose another with "
			       "XSPLICE_SIGNAL", signo);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = park_handler;
	/* SA_RESTART: most interrupted system calls resume transparently.
	 * Block everything else meanwhile: another handler could run code that
	 * is being patched. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0)
		return xs_fail(err, -errno, "cannot install the handler for signal %d: %s", signo,
			       strerror(errno));
	/* Per-thread caches keep unw_step away from global locks in handlers. */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	g_signo = signo;
	return 0;
}

/* ---- task listing with raw syscalls ---- */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Fill tids (excluding self). Returns count, or -E2BIG if cap too small. */
static int list_tasks(pid_t self, pid_t *tids, uint32_t cap)
{
	static char buf[8192];
	long fd = xs_sys3(SYS_open, (long)"/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	uint32_t n = 0;
	int rc = 0;
	for (;;) {
		long got = xs_sys3(SYS_getdents64, fd, (long)buf, sizeof(buf));
		if (got < 0) {
			rc = (int)got;
			break;
		}
		if (got == 0)
			break;
		for (long off = 0; off < got;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			long v = 0;
			for (const char *p = d->d_name; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (*p - '0');
			if ((pid_t)v == self)
				continue;
			if (n == cap) {
				rc = -E2BIG;
				break;
			}
			tids[n++] = (pid_t)v;
		}
		if (rc)
			break;
	}
	xs_sys3(SYS_close, fd, 0, 0);
	return rc ? rc : (int)n;
}

static int send_park(pid_t pid, pid_t tid, uint32_t gen)
{
	siginfo_t si;
	for (size_t i = 0; i < sizeof(si); i++)
		((volatile char *)&si)[i] = 0;
	si.si_signo = g_signo;
	si.si_code = SI_QUEUE;
	si.si_pid = pid;
	si.si_uid = getuid();
	si.si_value.sival_int = (int)gen;
	return (int)xs_sys4(SYS_rt_tgsigqueueinfo, pid, tid, g_signo, (long)&si);
}

static bool tid_arrived(pid_t tid, uint32_t nslots)
{
	for (uint32_t i = 0; i < nslots && i < g_cap; i++)
		if (g_slots[i].tid == tid)
			return true;
	return false;
}

struct attempt {
	pid_t *sent;       /* threads signalled this attempt */
	uint32_t nsent;
	pid_t *scratch;
	uint32_t cap;
	pid_t missing;     /* a thread that did not arrive in time */
	uint64_t t_first_signal, t_arrived;
};

/*
 * Signal every thread we have not signalled yet. Returns number newly sent,
 * or -E2BIG when the arrays are too small.
 */
static int signal_new_threads(struct attempt *a, pid_t self, pid_t pid, uint32_t gen)
{
	int n = list_tasks(self, a->scratch, a->cap);
	if (n < 0)
		return n;
	int fresh = 0;
	for (int i = 0; i < n; i++) {
		bool known = false;
		for (uint32_t j = 0; j < a->nsent; j++)
			if (a->sent[j] == a->scratch[i]) {
				known = true;
				break;
			}
		if (known)
			continue;
		if (a->nsent == a->cap)
			return -E2BIG;
		if (!a->t_first_signal)
			a->t_first_signal = now_ns();
		int r = send_park(pid, a->scratch[i], gen);
		if (r == -ESRCH || r == -EAGAIN)
			continue; /* exited meanwhile (or gone zombie) */
		if (r < 0)
			return r;
		a->sent[a->nsent++] = a->scratch[i];
		fresh++;
	}
	return fresh;
}

/* Wait until every signalled thread arrived (dropping those that exited),
 * or the deadline: 0 or -ETIMEDOUT with a->missing set. */
static int wait_arrivals(struct attempt *a, pid_t pid, uint64_t deadline)
{
	for (;;) {
		uint32_t arrived = atomic_load(&g_arrived);
		if (arrived >= a->nsent)
			return 0;
		uint64_t t = now_ns();
		if (t >= deadline) {
			uint32_t ns = atomic_load(&g_nslots);
			for (uint32_t j = 0; j < a->nsent; j++)
				if (!tid_arrived(a->sent[j], ns)) {
					a->missing = a->sent[j];
					break;
				}
			return -ETIMEDOUT;
		}
		/* Short slices so threads that exit after being signalled are
		 * noticed instead of awaited. */
		uint64_t slice = deadline - t;
		if (slice > 2000000)
			slice = 2000000;
		struct timespec ts = { 0, (long)slice };
		long r = futex_wait(&g_arrived, arrived, &ts);
		if (r == -ETIMEDOUT) {
			uint32_t ns = atomic_load(&g_nslots);
			for (uint32_t j = 0; j < a->nsent; j++) {
				if (tid_arrived(a->sent[j], ns))
					continue;
				if (xs_sys3(SYS_tgkill, pid, a->sent[j], 0) == -ESRCH) {
					a->sent[j] = a->sent[--a->nsent];
					j--;
				}
			}
		}
	}
}

static void release_all(uint32_t gen, uint32_t parked)
{
	atomic_store(&g_release, gen);
	futex_wake(&g_release, INT_MAX);
	/* Wait for everyone to leave the handler, so the next attempt starts
	 * clean; they are awake and only run a few instructions. */
	uint64_t deadline = now_ns() + 1000000000ull;
	uint32_t d;
	while ((d = atomic_load(&g_departed)) < parked && now_ns() < deadline) {
		struct timespec ts = { 0, 1000000 };
		futex_wait(&g_departed, d, &ts);
	}
}

static void thread_name(pid_t tid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
}

int xs_transition_run(xs_critical_fn fn, void *ctx, unsigned timeout_ms,
		      struct xs_transition_stats *stats, struct xs_err *err)
{
	if (!g_signo)
		return xs_fail(err, -ENOSYS, "the thread rendezvous is not initialised");
	pid_t self = raw_gettid();
	pid_t pid = getpid();
	uint64_t start = now_ns();
	uint64_t deadline = start + (uint64_t)timeout_ms * 1000000ull;
	uint32_t cap = 256;
	unsigned backoff_us = 100;
	struct xs_err conflict = { "" };
	int rc = -EBUSY;
	unsigned attempts = 0;

	for (;;) {
		/* Allocate before parking: no malloc with threads parked. Slot
		 * arrays are kept (and only grow) because a late handler may
		 * still be writing into the previous one. */
		if (g_cap < cap) {
			struct xs_thread_stack *slots = calloc(cap, sizeof(*slots));
			pid_t *sent = calloc(cap, sizeof(pid_t));
			pid_t *scratch = calloc(cap, sizeof(pid_t));
			if (!slots || !sent || !scratch) {
				free(slots);
				free(sent);
				free(scratch);
				return xs_fail(err, -ENOMEM, "out of memory for %u thread records", cap);
			}
			free(g_sent);
			free(g_scratch);
			g_sent = sent;
			g_scratch = scratch;
			g_slots = slots;
			g_cap = cap;
		}
		struct attempt a = { 0 };
		a.cap = g_cap;
		a.sent = g_sent;
		a.scratch = g_scratch;
		attempts++;
		atomic_store(&g_nslots, 0);
		atomic_store(&g_arrived, 0);
		atomic_store(&g_departed, 0);
		uint32_t gen = atomic_fetch_add(&g_gen, 1) + 1;

		int r;
		bool grow = false;
		for (;;) {
			r = signal_new_threads(&a, self, pid, gen);
			if (r <= 0)
				break;
			r = wait_arrivals(&a, pid, deadline);
			if (r < 0)
				break;
			/* Everyone signalled so far arrived: re-list to catch
			 * threads created meanwhile (loop ends when none are new). */
		}
		if (r == -E2BIG) {
			grow = true;
		} else if (r == 0) {
			a.t_arrived = now_ns();
			uint32_t parked = atomic_load(&g_arrived);
			uint32_t nslots = atomic_load(&g_nslots);
			struct xs_err werr = { "" };
			r = fn(ctx, g_slots, nslots < g_cap ? nslots : g_cap, &werr);
			release_all(gen, parked);
			uint64_t t_release = now_ns();
			if (r != -EAGAIN) {
				if (stats) {
					stats->pause_ns = a.t_first_signal ? t_release - a.t_first_signal : 0;
					stats->park_ns = a.t_first_signal ? a.t_arrived - a.t_first_signal : 0;
					stats->threads = parked;
					stats->attempts = attempts;
				}
				if (r < 0 && err)
					*err = werr;
				return r;
			}
			conflict = werr;
			rc = -EBUSY;
		} else {
			release_all(gen, atomic_load(&g_arrived));
			if (r == -ETIMEDOUT && a.missing) {
				char name[32];
				thread_name(a.missing, name, sizeof(name));
				xs_fail(&conflict, -EBUSY,
					"thread %d (%s) did not stop within %u ms: it blocks signal %d "
					"or is stopped", (int)a.missing, name, timeout_ms, g_signo);
				rc = -EBUSY;
			} else {
				xs_fail(&conflict, r, "parking threads failed: %s", strerror(-r));
				rc = r;
			}
		}
		if (grow) {
			cap *= 4;
			if (cap > (1u << 20))
				return xs_fail(err, -E2BIG, "too many threads to park");
			continue;
		}
		if (rc != -EBUSY || now_ns() >= deadline) {
			if (stats)
				stats->attempts = attempts;
			if (err)
				xs_fail(err, rc, "%s", conflict.msg);
			return rc;
		}
		/* Back off so the thread in the way can leave the function. */
		struct timespec ts = { 0, (long)backoff_us * 1000 };
		nanosleep(&ts, NULL);
		if (backoff_us < 5000)
			backoff_us *= 2;
	}
}
