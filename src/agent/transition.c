/* SPDX-License-Identifier: MIT */
/*
 * Thread rendezvous (DESIGN §5). Everything between the first signal and
 * the release runs on raw system calls and our own loops: a parked thread
 * may hold a libc lock (malloc, stdio, the loader's), and a payload may be
 * replacing libc code at that very moment.
 */
#define UNW_LOCAL_ONLY
#include "transition.h"

#include <link.h>
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

/*
 * One slot per signalled thread. Its word holds (attempt << 32 | state) and
 * only moves by compare-and-swap, so a signal that arrives late (the thread
 * had it blocked, or the attempt gave up on it) can never touch a slot
 * that belongs to another attempt:
 *   agent: SENT -> ABANDONED (gave up on it, or the thread is gone)
 *   agent: SENT -> ASLEEP (blocks the signal, sleeps in a system call)
 *   handler: SENT -> RECORDING -> ARRIVED -> DEPARTED
 */
enum {
	SLOT_FREE,
	SLOT_SENT,
	SLOT_RECORDING,
	SLOT_ARRIVED,
	SLOT_DEPARTED,
	SLOT_ABANDONED,
	SLOT_ASLEEP, /* blocks the signal, sleeps in a system call: accepted as is */
};

struct park_slot {
	_Atomic uint64_t word;
	struct xs_thread_stack st;
};

static int g_signo;
static pid_t g_pid;
static _Atomic uint32_t g_release;   /* futex: threads of attempt N sleep until >= N */
static _Atomic uint32_t g_arrived;   /* futex: bumped on each arrival, wakes the agent */
static _Atomic uint32_t g_expect;    /* arrivals the agent waits for */
static struct park_slot *_Atomic g_slots;
static _Atomic uint32_t g_cap;
static uint32_t g_gen;               /* agent only */
static bool g_strict;                /* XSPLICE_STRICT_PARK: never accept ASLEEP */
static uid_t g_uid;                  /* read before parking: getuid is libc */
static uintptr_t g_self_lo, g_self_hi; /* the agent's own code */
/* Threads seen blocking the park signal: not signalled again while they
 * still block it (each queued signal would stay pending forever and count
 * against RLIMIT_SIGPENDING). */
#define XS_BLOCKERS_MAX 64
static pid_t g_blockers[XS_BLOCKERS_MAX];

static inline uint64_t slot_word(uint32_t gen, uint32_t state)
{
	return (uint64_t)gen << 32 | state;
}

static inline uint32_t slot_state(uint64_t w)
{
	return (uint32_t)w;
}

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
	st->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
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
	if (si->si_code != SI_QUEUE || si->si_pid != g_pid)
		goto out;
	uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
	uint32_t gen = (uint32_t)(v >> 32), idx = (uint32_t)v;
	struct park_slot *slots = atomic_load(&g_slots);
	if (!slots || idx >= atomic_load(&g_cap))
		goto out;
	struct park_slot *s = &slots[idx];
	uint64_t expect = slot_word(gen, SLOT_SENT);
	if (!atomic_compare_exchange_strong(&s->word, &expect, slot_word(gen, SLOT_RECORDING)))
		goto out; /* not for this attempt any more */
	record_stack(&s->st, ucv);
	expect = slot_word(gen, SLOT_RECORDING);
	if (!atomic_compare_exchange_strong(&s->word, &expect, slot_word(gen, SLOT_ARRIVED)))
		goto out;
	/* Wake the agent only for the last thread it waits for. */
	if (atomic_fetch_add(&g_arrived, 1) + 1 >= atomic_load(&g_expect))
		futex_wake(&g_arrived, 1);

	uint32_t r;
	while ((int32_t)((r = atomic_load(&g_release)) - gen) < 0)
		futex_wait(&g_release, r, NULL);

	/* Cross-modifying code: serialise before running possibly new code. */
	xs_arch_serialize();
	/* Nothing waits for this: the slot may already serve a later attempt,
	 * in which case the exchange fails and nothing is touched. */
	expect = slot_word(gen, SLOT_ARRIVED);
	atomic_compare_exchange_strong(&s->word, &expect, slot_word(gen, SLOT_DEPARTED));
out:
	errno = saved_errno;
}

/* The executable segment holding park_handler: the agent's own code. */
static int find_own_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	uintptr_t me = (uintptr_t)park_handler;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo &&
		    me < lo + ph->p_memsz) {
			g_self_lo = lo;
			g_self_hi = lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
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
	const char *strict = getenv("XSPLICE_STRICT_PARK");
	g_strict = strict && *strict && strcmp(strict, "0") != 0;
	dl_iterate_phdr(find_own_text, NULL);
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

/* ---- threads that block the park signal (raw syscalls only) ---- */

/* Read a small /proc file into buf (NUL-terminated). */
static long read_proc(const char *path, char *buf, size_t len)
{
	long fd = xs_sys3(SYS_open, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	long n = xs_sys3(SYS_read, fd, (long)buf, (long)len - 1);
	xs_sys3(SYS_close, fd, 0, 0);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

static void task_path(char *out, pid_t tid, const char *leaf)
{
	static const char pre[] = "/proc/self/task/";
	char digits[16];
	int nd = 0;
	unsigned v = (unsigned)tid;
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	size_t k = 0;
	for (size_t i = 0; pre[i]; i++)
		out[k++] = pre[i];
	while (nd)
		out[k++] = digits[--nd];
	out[k++] = '/';
	for (size_t i = 0; leaf[i]; i++)
		out[k++] = leaf[i];
	out[k] = '\0';
}

static uint64_t parse_hex(const char **pp)
{
	const char *p = *pp;
	uint64_t v = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (;; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		v = v << 4 | (uint64_t)d;
	}
	*pp = p;
	return v;
}

/* Does the thread block signo (SigBlk in its status)? */
static bool task_blocks_signal(pid_t tid, int signo)
{
	char path[64], buf[2048];
	task_path(path, tid, "status");
	if (read_proc(path, buf, sizeof(buf)) <= 0)
		return false;
	for (const char *p = buf; *p; p++) {
		if ((p == buf || p[-1] == '\n') && p[0] == 'S' && p[1] == 'i' && p[2] == 'g' &&
		    p[3] == 'B' && p[4] == 'l' && p[5] == 'k' && p[6] == ':') {
			p += 7;
			while (*p == ' ' || *p == '\t')
				p++;
			uint64_t mask = parse_hex(&p);
			return (mask >> (signo - 1)) & 1;
		}
	}
	return false;
}

/* The thread's scheduler state letter ('R', 'S', 'D', 'T', ...), 0 if gone. */
static char task_state(pid_t tid)
{
	char path[64], buf[512];
	task_path(path, tid, "stat");
	long n = read_proc(path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	const char *close = NULL;
	for (const char *p = buf; *p; p++)
		if (*p == ')')
			close = p;
	return close && close[1] == ' ' ? close[2] : 0;
}

/* PC and SP of a thread sleeping in a system call (/proc/.../syscall is
 * "nr a1 .. a6 sp pc"); false if it is running or not in a call. */
static bool task_syscall_regs(pid_t tid, uintptr_t *sp, uintptr_t *pc)
{
	char path[64], buf[256];
	task_path(path, tid, "syscall");
	if (read_proc(path, buf, sizeof(buf)) <= 0 || buf[0] < '0' || buf[0] > '9')
		return false; /* "running", or "-1 ..." when not inside a call */
	uint64_t v[9];
	const char *p = buf;
	for (int i = 0; i < 9; i++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return false;
		v[i] = parse_hex(&p);
	}
	*sp = (uintptr_t)v[7];
	*pc = (uintptr_t)v[8];
	return true;
}

/*
 * The end of the mapping that holds addr (a thread's stack top), 0 if none.
 * /proc/self/maps is read once per attempt (mappings do not change while
 * everyone is parked), into a static buffer: no allocation while parked.
 */
static char g_maps[256 * 1024];
static size_t g_maps_len;
static uint32_t g_maps_gen; /* attempt the buffer was read for; 0 = none */

static uintptr_t mapping_end(uintptr_t addr)
{
	if (g_maps_gen != g_gen) {
		g_maps_len = 0;
		long fd = xs_sys3(SYS_open, (long)"/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			return 0;
		for (;;) {
			long n = xs_sys3(SYS_read, fd, (long)(g_maps + g_maps_len),
					 (long)(sizeof(g_maps) - 1 - g_maps_len));
			if (n <= 0)
				break;
			g_maps_len += (size_t)n;
			if (g_maps_len == sizeof(g_maps) - 1)
				break; /* more mappings than fit: the rest is not searched */
		}
		xs_sys3(SYS_close, fd, 0, 0);
		g_maps[g_maps_len] = '\0';
		g_maps_gen = g_gen;
	}
	for (const char *line = g_maps; *line;) {
		const char *p = line;
		uintptr_t lo = (uintptr_t)parse_hex(&p);
		if (*p == '-') {
			p++;
			uintptr_t hi = (uintptr_t)parse_hex(&p);
			if (addr >= lo && addr < hi)
				return hi;
		}
		while (*line && *line != '\n')
			line++;
		if (*line)
			line++;
	}
	return 0;
}

static bool known_blocker(pid_t tid)
{
	for (unsigned i = 0; i < XS_BLOCKERS_MAX; i++)
		if (g_blockers[i] == tid)
			return true;
	return false;
}

static void remember_blocker(pid_t tid)
{
	static unsigned next;
	if (!known_blocker(tid))
		g_blockers[next++ % XS_BLOCKERS_MAX] = tid;
}

/*
 * A thread that did not arrive: if it blocks the park signal and sleeps in
 * a system call, take it as quiescent (it cannot run until the call
 * returns) and record what the stack check needs. Only then SENT -> ASLEEP.
 */
static void probe_absent(struct park_slot *s, uint32_t gen)
{
	if (g_strict || !task_blocks_signal(s->st.tid, g_signo))
		return;
	char st = task_state(s->st.tid);
	if (st != 'S' && st != 'D')
		return;
	uintptr_t sp, pc, hi;
	if (!task_syscall_regs(s->st.tid, &sp, &pc) || !(hi = mapping_end(sp)) || hi <= sp)
		return;
	/* Inside our own handler (signals blocked there): it is about to
	 * park or leave, not a thread that blocks the signal. */
	if (pc >= g_self_lo && pc < g_self_hi)
		return;
	remember_blocker(s->st.tid);
	s->st.conservative = true;
	s->st.sp = sp;
	s->st.stack_hi = hi;
	s->st.pcs[0] = pc;
	s->st.nframes = 1;
	s->st.truncated = false;
	uint64_t w = slot_word(gen, SLOT_SENT);
	atomic_compare_exchange_strong(&s->word, &w, slot_word(gen, SLOT_ASLEEP));
}

/* Still asleep in the same call? (checked with everyone else parked) */
static bool still_asleep(const struct park_slot *s)
{
	uintptr_t sp, pc;
	char st = task_state(s->st.tid);
	return (st == 'S' || st == 'D') && task_syscall_regs(s->st.tid, &sp, &pc) &&
	       sp == s->st.sp && pc == s->st.pcs[0];
}

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

/* Queue the park signal carrying (attempt, slot). */
static int send_park(pid_t tid, uint32_t gen, uint32_t idx)
{
	siginfo_t si;
	for (size_t i = 0; i < sizeof(si); i++)
		((volatile char *)&si)[i] = 0;
	si.si_signo = g_signo;
	si.si_code = SI_QUEUE;
	si.si_pid = g_pid;
	si.si_uid = g_uid;
	si.si_value.sival_ptr = (void *)(uintptr_t)((uint64_t)gen << 32 | idx);
	return (int)xs_sys4(SYS_rt_tgsigqueueinfo, g_pid, tid, g_signo, (long)&si);
}

struct attempt {
	uint32_t gen;
	struct park_slot *slots;
	uint32_t cap;
	uint32_t nsent;     /* slots 0..nsent-1 are in use this attempt */
	pid_t *scratch;     /* task listing */
	pid_t missing;      /* a thread that did not arrive in time */
	uint64_t t_first_signal, t_arrived;
};

/* Signal every thread that has no slot yet. Returns the number newly
 * signalled, or -E2BIG when the arrays are too small. */
static int signal_new_threads(struct attempt *a, pid_t self)
{
	int n = list_tasks(self, a->scratch, a->cap);
	if (n < 0)
		return n;
	int fresh = 0;
	for (int i = 0; i < n; i++) {
		pid_t tid = a->scratch[i];
		bool known = false;
		for (uint32_t j = 0; j < a->nsent && !known; j++)
			known = a->slots[j].st.tid == tid;
		if (known)
			continue;
		if (a->nsent == a->cap)
			return -E2BIG;
		struct park_slot *s = &a->slots[a->nsent];
		s->st.tid = tid;
		s->st.nframes = 0;
		s->st.conservative = false;
		atomic_store(&s->word, slot_word(a->gen, SLOT_SENT));
		if (!a->t_first_signal)
			a->t_first_signal = now_ns();
		if (known_blocker(tid) && task_blocks_signal(tid, g_signo)) {
			/* Its earlier signal is still pending: look, don't queue. */
			a->nsent++;
			probe_absent(s, a->gen);
			continue;
		}
		int r = send_park(tid, a->gen, a->nsent);
		if (r == -ESRCH) {
			/* exited meanwhile */
			atomic_store(&s->word, slot_word(a->gen, SLOT_ABANDONED));
			s->st.tid = 0;
			continue;
		}
		if (r < 0) {
			/* -EAGAIN: RLIMIT_SIGPENDING reached. Never go on without
			 * a thread: the attempt fails. */
			atomic_store(&s->word, slot_word(a->gen, SLOT_ABANDONED));
			return r;
		}
		a->nsent++;
		fresh++;
	}
	return fresh;
}

/* Wait until every signalled thread arrived (dropping those that exited),
 * or the deadline: 0 or -ETIMEDOUT with a->missing set. */
static int wait_arrivals(struct attempt *a, uint64_t deadline)
{
	unsigned slices = 0;
	for (;;) {
		uint32_t seen = atomic_load(&g_arrived);
		pid_t pending = 0;
		uint32_t npending = 0;
		for (uint32_t j = 0; j < a->nsent; j++) {
			uint32_t st = slot_state(atomic_load(&a->slots[j].word));
			if (st == SLOT_SENT || st == SLOT_RECORDING) {
				if (!pending)
					pending = a->slots[j].st.tid;
				npending++;
			}
		}
		if (!pending)
			return 0;
		/* g_arrived counts this attempt's arrivals; the last pending
		 * one wakes us. */
		atomic_store(&g_expect, seen + npending);
		uint64_t t = now_ns();
		if (t >= deadline) {
			a->missing = pending;
			return -ETIMEDOUT;
		}
		/* Short slices so threads that exit after being signalled are
		 * noticed instead of awaited. */
		uint64_t slice = deadline - t;
		if (slice > 500000)
			slice = 500000;
		struct timespec ts = { 0, (long)slice };
		if (futex_wait(&g_arrived, seen, &ts) != -ETIMEDOUT)
			continue;
		/* Reading /proc costs: look at late threads after the first
		 * slice, then every few milliseconds. */
		if (slices++ % 8)
			continue;
		for (uint32_t j = 0; j < a->nsent; j++) {
			struct park_slot *s = &a->slots[j];
			uint64_t w = slot_word(a->gen, SLOT_SENT);
			if (slot_state(atomic_load(&s->word)) != SLOT_SENT)
				continue;
			if (xs_sys3(SYS_tgkill, g_pid, s->st.tid, 0) == -ESRCH)
				atomic_compare_exchange_strong(&s->word, &w,
							       slot_word(a->gen, SLOT_ABANDONED));
			else
				probe_absent(s, a->gen);
		}
	}
}

/*
 * Release the attempt: wake the parked, give up on the ones that never
 * came, and wait until no handler touches the slots any more so the next
 * attempt can reuse them. Returns false if some handler is still inside
 * after a second (then the slots must not be reused).
 */
static bool release_all(struct attempt *a)
{
	atomic_store(&g_release, a->gen);
	futex_wake(&g_release, INT_MAX);
	for (uint32_t j = 0; j < a->nsent; j++) {
		uint64_t w = slot_word(a->gen, SLOT_SENT);
		atomic_compare_exchange_strong(&a->slots[j].word, &w,
					       slot_word(a->gen, SLOT_ABANDONED));
	}
	/* Released threads never touch their slot's record again, so only a
	 * handler still recording a stack keeps the slots from being reused.
	 * Not waiting for the released ones to run again keeps the pause to
	 * the stop itself, however long the scheduler takes to run them. */
	uint64_t deadline = now_ns() + 1000000000ull;
	for (;;) {
		uint32_t seen = atomic_load(&g_arrived);
		bool busy = false;
		for (uint32_t j = 0; j < a->nsent && !busy; j++)
			busy = slot_state(atomic_load(&a->slots[j].word)) == SLOT_RECORDING;
		if (!busy)
			return true;
		if (now_ns() >= deadline)
			return false;
		atomic_store(&g_expect, 0);
		struct timespec ts = { 0, 1000000 };
		futex_wait(&g_arrived, seen, &ts);
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

/* Slot arrays only grow; an array a stuck handler may still write into is
 * abandoned (leaked), never reused. */
static pid_t *g_scratch;
static const struct xs_thread_stack **g_stacks;

static int ensure_capacity(uint32_t cap, bool fresh, struct xs_err *err)
{
	if (!fresh && atomic_load(&g_cap) >= cap)
		return 0;
	if (cap < atomic_load(&g_cap))
		cap = atomic_load(&g_cap);
	struct park_slot *slots = calloc(cap, sizeof(*slots));
	pid_t *scratch = calloc(cap, sizeof(pid_t));
	const struct xs_thread_stack **stacks = calloc(cap, sizeof(*stacks));
	if (!slots || !scratch || !stacks) {
		free(slots);
		free(scratch);
		free(stacks);
		return xs_fail(err, -ENOMEM, "out of memory for %u thread records", cap);
	}
	/* Publish the larger array before its capacity. */
	atomic_store(&g_cap, 0);
	atomic_store(&g_slots, slots);
	atomic_store(&g_cap, cap);
	free(g_scratch);
	free(g_stacks);
	g_scratch = scratch;
	g_stacks = stacks;
	return 0;
}

int xs_transition_run(xs_critical_fn fn, void *ctx, unsigned timeout_ms,
		      struct xs_transition_stats *stats, struct xs_err *err)
{
	if (!g_signo)
		return xs_fail(err, -ENOSYS, "the thread rendezvous is not initialised");
	pid_t self = raw_gettid();
	g_pid = getpid();
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	uint32_t cap = 256;
	bool fresh = false;
	unsigned backoff_us = 100;
	struct xs_err conflict = { "" };
	unsigned attempts = 0;
	bool had_conflict = false;
	g_uid = getuid();

	for (;;) {
		/* Allocate before parking: no malloc with threads parked. */
		int rc = ensure_capacity(cap, fresh, err);
		if (rc)
			return rc;
		fresh = false;
		struct attempt a = { 0 };
		a.gen = ++g_gen;
		a.slots = atomic_load(&g_slots);
		a.cap = atomic_load(&g_cap);
		a.scratch = g_scratch;
		attempts++;

		int r;
		for (;;) {
			r = signal_new_threads(&a, self);
			if (r <= 0)
				break;
			r = wait_arrivals(&a, deadline);
			if (r < 0)
				break;
			/* Everyone signalled so far arrived: list again to catch
			 * threads created meanwhile, until none are new. */
		}
		if (r == 0) {
			a.t_arrived = now_ns();
			unsigned n = 0;
			bool woke = false;
			for (uint32_t j = 0; j < a.nsent; j++) {
				uint32_t st = slot_state(atomic_load(&a.slots[j].word));
				if (st == SLOT_ASLEEP && !still_asleep(&a.slots[j]))
					woke = true;
				/* An unwind that stopped early may hide a return
				 * address: check the whole stack word by word. */
				if (st == SLOT_ARRIVED && a.slots[j].st.truncated &&
				    !a.slots[j].st.conservative) {
					uintptr_t hi = mapping_end(a.slots[j].st.sp);
					a.slots[j].st.conservative = hi > a.slots[j].st.sp;
					a.slots[j].st.stack_hi = hi;
				}
				if (st == SLOT_ARRIVED || st == SLOT_ASLEEP)
					g_stacks[n++] = &a.slots[j].st;
			}
			struct xs_err werr = { "" };
			/* A thread we could not park woke up meanwhile: try again. */
			r = woke ? xs_fail(&werr, -EAGAIN, "a thread that blocks signal %d woke up "
					   "during the stop", g_signo)
				 : fn(ctx, g_stacks, n, &werr);
			/* The pause ends when the release is issued; how soon each
			 * thread then gets a CPU is up to the scheduler. */
			uint64_t t_release = now_ns();
			fresh = !release_all(&a);
			if (r != -EAGAIN) {
				if (stats) {
					stats->pause_ns = t_release - a.t_first_signal;
					stats->park_ns = a.t_arrived - a.t_first_signal;
					stats->threads = n;
					stats->attempts = attempts;
				}
				if (r < 0 && err)
					*err = werr;
				return r;
			}
			conflict = werr;
			had_conflict = true;
			rc = -EBUSY;
		} else {
			fresh = !release_all(&a);
			if (r == -E2BIG) {
				cap *= 4;
				if (cap > (1u << 20))
					return xs_fail(err, -E2BIG, "too many threads to park");
				continue;
			}
			if (r == -ETIMEDOUT && had_conflict) {
				/* Time ran out during a retry: the stack conflict
				 * that forced the retries is the real reason (the
				 * caller words it). */
				rc = -EBUSY;
			} else if (r == -ETIMEDOUT && a.missing) {
				char name[32];
				thread_name(a.missing, name, sizeof(name));
				char st = task_state(a.missing);
				bool blocks = task_blocks_signal(a.missing, g_signo);
				xs_fail(&conflict, -EBUSY, "thread %d (%s) did not stop within %u ms: %s",
					(int)a.missing, name, timeout_ms,
					st == 'T' || st == 't' ? "it is stopped (SIGSTOP or a debugger)" :
					blocks && g_strict ? "it blocks the park signal (XSPLICE_STRICT_PARK is set)" :
					blocks ? "it blocks the park signal and keeps running (not asleep in a system call)" :
					"it did not handle the park signal in time");
				rc = -EBUSY;
			} else {
				xs_fail(&conflict, r, "parking threads failed: %s", strerror(-r));
				rc = r;
			}
		}
		if (rc != -EBUSY || now_ns() >= deadline) {
			if (stats)
				stats->attempts = attempts;
			if (err)
				xs_fail(err, rc, "%s", conflict.msg);
			return rc;
		}
		/* Back off so the thread in the way can leave the function, but
		 * not past the deadline. */
		uint64_t left = deadline - now_ns();
		uint64_t pause_ns = (uint64_t)backoff_us * 1000;
		struct timespec ts = { 0, (long)(pause_ns < left ? pause_ns : left) };
		nanosleep(&ts, NULL);
		if (now_ns() >= deadline) {
			if (stats)
				stats->attempts = attempts;
			if (err)
				xs_fail(err, -EBUSY, "%s", conflict.msg);
			return -EBUSY;
		}
		if (backoff_us < 5000)
			backoff_us *= 2;
	}
}
