/* SPDX-License-Identifier: MIT */
/*
 * The stop-the-world rendezvous (docs/architecture.md, "The stop"): park
 * every other thread with the reserved real-time signal, hand their stacks
 * to the caller's critical function, release. Everything between the
 * first signal and the release runs on raw system calls and our own loops:
 * a parked thread may hold a libc lock (malloc, stdio, the loader's), and a
 * payload may be replacing libc code at that very moment.
 *
 * Threading: xs_rendezvous_run is called by one thread at a time (the
 * agent's action thread). The park handler runs on every other thread and
 * shares only the slot array with it, through compare-and-swap.
 */
#define UNW_LOCAL_ONLY
#include "rendezvous.h"

#include <link.h>
#include <errno.h>
#include <libunwind.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/syscall.h"
#include "loader_snapshot.h"
#include "procfs.h"
#include "stackscan.h"

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
static bool g_snapshot_in_use;       /* agent only: a handler may read the object list */
static _Atomic uint32_t g_current;   /* the attempt in progress, for late signals */
static bool g_strict;                /* XSPLICE_STRICT_PARK: never accept ASLEEP */
static uid_t g_uid;                  /* read before parking: getuid is libc */
static uintptr_t g_self_lo, g_self_hi; /* the agent's own code */
/* Threads whose park signal of an earlier attempt was never handled
 * (they block it, or are stopped): not signalled again while it is still
 * pending, so retries never pile up queued signals against
 * RLIMIT_SIGPENDING. The pending one parks them for the current attempt
 * when it is finally delivered (the handler looks its slot up by tid). */
#define XS_OWED_MAX 64
static pid_t g_owed[XS_OWED_MAX];

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
	st->pcs[st->nframes++] = xs_arch_context_pc(uc);
	st->sp = xs_arch_context_sp(uc);
	/* No word of the live stack can be a checked address: nothing an
	 * unwind could find is in the way (stackscan.h). */
	st->scanned = xs_stackscan_clear(uc, st->tid == g_pid);
	if (st->scanned)
		return;
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
	/* cap, array, cap again: a consistent pair even while the arrays
	 * grow (the agent zeroes the capacity before it swaps them). */
	uint32_t cap = atomic_load(&g_cap);
	struct park_slot *slots = atomic_load(&g_slots);
	if (!slots || !cap || cap != atomic_load(&g_cap) || idx >= cap)
		goto out;
	struct park_slot *s = &slots[idx];
	uint64_t expect = slot_word(gen, SLOT_SENT);
	if (!atomic_compare_exchange_strong(&s->word, &expect, slot_word(gen, SLOT_RECORDING))) {
		/* A signal of an earlier attempt, delivered late: it still
		 * parks this thread if the current attempt counts on it. */
		gen = atomic_load(&g_current);
		pid_t me = raw_gettid();
		s = NULL;
		for (uint32_t j = 0; j < cap && !s; j++) {
			expect = slot_word(gen, SLOT_SENT);
			if (slots[j].st.tid == me &&
			    atomic_compare_exchange_strong(&slots[j].word, &expect,
							   slot_word(gen, SLOT_RECORDING)))
				s = &slots[j];
		}
		if (!s)
			goto out; /* not for this attempt any more */
	}
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

/*
 * libunwind checks the addresses it is unsure of (its frame-pointer
 * fallback, signal-frame and PLT probes) by writing them into a pipe it
 * opened at start; when a program closes every fd, it re-opens the pipe
 * by closing the two numbers again, which by then are the program's (and
 * reads a byte from one first). Its local accessor for memory is replaced
 * by one that reads through process_vm_readv on our own pid: an invalid
 * address is an error, and no fd is involved.
 */
static int safe_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			   void *arg)
{
	(void)as;
	(void)arg;
	if (write) {
		*(unw_word_t *)addr = *val; /* libunwind writes only its own records */
		return 0;
	}
	struct iovec local = { val, sizeof(*val) };
	struct iovec remote = { (void *)addr, sizeof(*val) };
	long n = xs_sys6(SYS_process_vm_readv, g_pid, (long)&local, 1, (long)&remote, 1, 0);
	return n == (long)sizeof(*val) ? 0 : -UNW_EINVAL;
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

static int install_handler(int signo, struct xs_err *err)
{
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
	return 0;
}

static bool handler_is_programs(const struct sigaction *sa)
{
	if (sa->sa_flags & SA_SIGINFO)
		return sa->sa_sigaction != NULL;
	return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

/*
 * Before every stop: the park signal must still be handled by the agent.
 * A program that reset it (SIG_DFL, as daemons and fork children do, or
 * SIG_IGN) does not use it: take it back. One that installed its own
 * handler must never receive it from us: refuse.
 */
static int check_handler(struct xs_err *err)
{
	struct sigaction cur;
	if (sigaction(g_signo, NULL, &cur) < 0)
		return xs_fail(err, -errno, "cannot read the handler of signal %d: %s", g_signo,
			       strerror(errno));
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == park_handler)
		return 0;
	if (!handler_is_programs(&cur))
		return install_handler(g_signo, err);
	return xs_fail(err, -EBUSY,
		       "the program installed its own handler for signal %d (SIGRTMIN+%d), which the "
		       "agent uses to park threads; nothing was sent. Start the program with "
		       "XSPLICE_SIGNAL set to a real-time signal it leaves alone (%d..%d)",
		       g_signo, g_signo - SIGRTMIN, SIGRTMIN, SIGRTMAX);
}

bool xs_rendezvous_handler_ours(void)
{
	struct sigaction cur;
	return g_signo && sigaction(g_signo, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
	       cur.sa_sigaction == park_handler;
}

bool xs_rendezvous_in_handler(void)
{
	uint32_t cap = atomic_load(&g_cap);
	struct park_slot *slots = atomic_load(&g_slots);
	if (!slots || !cap || cap != atomic_load(&g_cap))
		return false;
	pid_t me = raw_gettid();
	for (uint32_t j = 0; j < cap; j++)
		if (slots[j].st.tid == me &&
		    slot_state(atomic_load(&slots[j].word)) == SLOT_RECORDING)
			return true;
	return false;
}

int xs_rendezvous_signal(void)
{
	return g_signo;
}

int xs_rendezvous_init(struct xs_err *err)
{
	xs_procfs_init();
	xs_loader_snapshot_init();
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
	if (sigaction(signo, NULL, &old) == 0 && handler_is_programs(&old)) {
		if (env && *env)
			return xs_fail(err, -EBUSY,
				       "signal %d (XSPLICE_SIGNAL) is already used by the program; "
				       "choose another real-time signal (%d..%d)", signo, SIGRTMIN,
				       SIGRTMAX);
		/* The default is taken: the first real-time signal nobody uses. */
		int pick = 0;
		for (int k = SIGRTMIN + XS_DEFAULT_SIGNAL_OFFSET; k <= SIGRTMAX && !pick; k++)
			if (sigaction(k, NULL, &old) == 0 && !handler_is_programs(&old))
				pick = k;
		if (!pick)
			return xs_fail(err, -EBUSY, "every real-time signal from SIGRTMIN+%d is "
				       "used by the program; set XSPLICE_SIGNAL to a free one",
				       XS_DEFAULT_SIGNAL_OFFSET);
		signo = pick;
	}

	int rc = install_handler(signo, err);
	if (rc)
		return rc;
	/* Per-thread caches keep unw_step away from global locks in handlers. */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	g_pid = getpid();
	unw_accessors_t *acc = unw_get_accessors(unw_local_addr_space);
	if (acc)
		acc->access_mem = safe_access_mem;
	xs_stackscan_init();
	const char *strict = getenv("XSPLICE_STRICT_PARK");
	g_strict = strict && *strict && strcmp(strict, "0") != 0;
	dl_iterate_phdr(find_own_text, NULL);
	g_signo = signo;
	return 0;
}

static bool owes_signal(pid_t tid)
{
	for (unsigned i = 0; i < XS_OWED_MAX; i++)
		if (g_owed[i] == tid)
			return true;
	return false;
}

static void remember_owed(pid_t tid)
{
	static unsigned next;
	if (!owes_signal(tid))
		g_owed[next++ % XS_OWED_MAX] = tid;
}

/* The end of the stack mapping holding sp, from this attempt's snapshot
 * of the mappings; 0 when unknown (then the stack cannot be checked). */
static uint32_t g_maps_gen;
static int g_maps_rc;

static uintptr_t stack_end(uintptr_t sp)
{
	if (g_maps_gen != g_gen) {
		g_maps_rc = xs_procfs_maps_snapshot();
		g_maps_gen = g_gen;
	}
	uintptr_t hi = xs_procfs_mapping_end(sp);
	/* An incomplete snapshot may miss the stack, or cut it short. */
	return g_maps_rc == 0 && hi > sp ? hi : 0;
}

/*
 * A thread that did not arrive: if it blocks the park signal and sleeps in
 * a system call, take it as quiescent (it cannot run until the call
 * returns) and record what the stack check needs. Only then SENT -> ASLEEP.
 */
static void probe_absent(struct park_slot *s, uint32_t gen)
{
	if (g_strict || !xs_procfs_task_blocks(s->st.tid, g_signo))
		return;
	char st = xs_procfs_task_state(s->st.tid);
	if (st != 'S' && st != 'D')
		return;
	uintptr_t sp, pc, hi;
	if (!xs_procfs_task_syscall_regs(s->st.tid, &sp, &pc) || !(hi = stack_end(sp)))
		return;
	/* Inside our own handler (signals blocked there): it is about to
	 * park or leave, not a thread that blocks the signal. */
	if (pc >= g_self_lo && pc < g_self_hi)
		return;
	remember_owed(s->st.tid);
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
	char st = xs_procfs_task_state(s->st.tid);
	return (st == 'S' || st == 'D') && xs_procfs_task_syscall_regs(s->st.tid, &sp, &pc) &&
	       sp == s->st.sp && pc == s->st.pcs[0];
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

#define XS_PROBES_PER_ROUND 16

struct attempt {
	uint32_t gen;
	struct park_slot *slots;
	uint32_t cap;
	uint32_t nsent;     /* slots 0..nsent-1 are in use this attempt */
	pid_t *scratch;     /* task listing */
	pid_t missing;      /* a thread that did not arrive in time */
	uint32_t probe_next; /* where the next round of /proc probes starts */
	uint64_t t_first_signal, t_arrived;
};

/* Signal every thread that has no slot yet. Returns the number newly
 * signalled, or -E2BIG when the arrays are too small. */
static int signal_new_threads(struct attempt *a, pid_t self)
{
	int n = xs_procfs_list_tasks(self, a->scratch, a->cap);
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
		/* A main thread that called pthread_exit stays listed as a
		 * zombie while the others serve: nothing to park there. */
		if (tid == g_pid && xs_procfs_task_state(tid) == 'Z')
			continue;
		if (a->nsent == a->cap)
			return -E2BIG;
		struct park_slot *s = &a->slots[a->nsent];
		s->st.tid = tid;
		s->st.nframes = 0;
		s->st.conservative = false;
		s->st.scanned = false;
		atomic_store(&s->word, slot_word(a->gen, SLOT_SENT));
		if (!a->t_first_signal)
			a->t_first_signal = now_ns();
		if (owes_signal(tid) && xs_procfs_task_pending(tid, g_signo)) {
			/* Its earlier signal is still pending: don't queue
			 * another. It parks on that one, or is looked at. */
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
		 * slice, then every few milliseconds, and at most
		 * XS_PROBES_PER_ROUND of them per round (rotating): with 1,000
		 * busy threads still on their way, reading two /proc files for
		 * each of them every round kept this thread from ever being
		 * done (issue 14). A thread that exited costs one tgkill. */
		if (slices++ % 8)
			continue;
		unsigned probed = 0;
		for (uint32_t k = 0; k < a->nsent && probed < XS_PROBES_PER_ROUND; k++) {
			uint32_t j = (a->probe_next + k) % a->nsent;
			struct park_slot *s = &a->slots[j];
			uint64_t w = slot_word(a->gen, SLOT_SENT);
			if (slot_state(atomic_load(&s->word)) != SLOT_SENT)
				continue;
			if (xs_sys3(SYS_tgkill, g_pid, s->st.tid, 0) == -ESRCH) {
				atomic_compare_exchange_strong(&s->word, &w,
							       slot_word(a->gen, SLOT_ABANDONED));
				continue;
			}
			probe_absent(s, a->gen);
			probed++;
			a->probe_next = j + 1;
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
		if (atomic_compare_exchange_strong(&a->slots[j].word, &w,
						   slot_word(a->gen, SLOT_ABANDONED)))
			remember_owed(a->slots[j].st.tid); /* its signal may still be pending */
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

int xs_rendezvous_run(xs_critical_fn fn, void *ctx, const struct xs_scan_range *watch,
		      unsigned nwatch, unsigned timeout_ms, const _Atomic bool *cancel,
		      struct xs_rendezvous_stats *stats, struct xs_err *err)
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
	int hrc = check_handler(err);
	if (hrc)
		return hrc;
	/* The handlers' fast path for this stop; not rewritten while a
	 * handler of an earlier stop may still be recording. */
	if (watch && !g_snapshot_in_use)
		xs_stackscan_prepare(watch, nwatch);
	else
		xs_stackscan_off();

	for (;;) {
		/* Allocate before parking: no malloc with threads parked. */
		int rc = ensure_capacity(cap, fresh, err);
		if (rc)
			return rc;
		fresh = false;
		struct attempt a = { 0 };
		a.gen = ++g_gen;
		atomic_store(&g_current, a.gen);
		a.slots = atomic_load(&g_slots);
		a.cap = atomic_load(&g_cap);
		a.scratch = g_scratch;
		attempts++;
		/* One attempt waits for arrivals a quarter of the bound at most
		 * (100 ms at least): a thread that cannot arrive now (its handler
		 * waits for a lock a parked thread holds, e.g. the loader's while
		 * it unwinds) gets its chance after a release, not never. */
		uint64_t park_bound = (uint64_t)timeout_ms * 1000000ull / 4;
		if (park_bound < 100000000ull)
			park_bound = 100000000ull;
		uint64_t attempt_deadline = now_ns() + park_bound;
		if (attempt_deadline > deadline)
			attempt_deadline = deadline;

		/* The handlers' view of the loaded objects (loader_snapshot.h);
		 * kept as it is while a handler from a stuck attempt may still
		 * read it. */
		if (!g_snapshot_in_use)
			xs_loader_snapshot_take();
		xs_loader_snapshot_active(true);
		g_snapshot_in_use = true;

		int r;
		for (;;) {
			r = signal_new_threads(&a, self);
			if (r <= 0)
				break;
			r = wait_arrivals(&a, attempt_deadline);
			if (r < 0)
				break;
			/* Everyone signalled so far arrived: list again to catch
			 * threads created meanwhile, until none are new. */
		}
		if (r == 0) {
			a.t_arrived = now_ns();
			unsigned n = 0, nscanned = 0;
			/* Why this stop cannot go on (worded after the release:
			 * no formatting while threads are parked). */
			enum { STOP_OK, STOP_WOKE, STOP_UNCHECKABLE } why = STOP_OK;
			pid_t why_tid = 0;
			for (uint32_t j = 0; j < a.nsent; j++) {
				struct park_slot *sl = &a.slots[j];
				uint32_t st = slot_state(atomic_load(&sl->word));
				if (st == SLOT_ASLEEP && !still_asleep(sl) && !why) {
					why = STOP_WOKE; /* blocks the signal, woke meanwhile */
					why_tid = sl->st.tid;
				}
				/* An unwind that stopped early may hide a return
				 * address: check the whole stack word by word, and
				 * refuse when the stack's extent is unknown. */
				if (st == SLOT_ARRIVED && sl->st.truncated && !sl->st.conservative) {
					uintptr_t hi = stack_end(sl->st.sp);
					sl->st.conservative = hi != 0;
					sl->st.stack_hi = hi;
					if (!hi && !why) {
						why = STOP_UNCHECKABLE;
						why_tid = sl->st.tid;
					}
				}
				if (st == SLOT_ARRIVED || st == SLOT_ASLEEP) {
					g_stacks[n++] = &sl->st;
					nscanned += st == SLOT_ARRIVED && sl->st.scanned;
				}
			}
			struct xs_err werr = { "" };
			r = why ? -EAGAIN : fn(ctx, g_stacks, n);
			/* The pause ends when the release is issued; how soon each
			 * thread then gets a CPU is up to the scheduler. */
			uint64_t t_release = now_ns();
			/* Success only, written while every reader is parked. */
			if (r == 0 && stats) {
				stats->pause_ns = t_release - a.t_first_signal;
				stats->park_ns = a.t_arrived - a.t_first_signal;
				stats->threads = n;
				stats->scanned = nscanned;
				stats->attempts = attempts;
			}
			fresh = !release_all(&a);
			g_snapshot_in_use = fresh;
			if (!fresh)
				xs_loader_snapshot_active(false);
			if (why == STOP_WOKE)
				xs_fail(&werr, -EAGAIN, "thread %d blocks signal %d and woke up during "
					"the stop", (int)why_tid, g_signo);
			else if (why == STOP_UNCHECKABLE)
				xs_fail(&werr, -EAGAIN, "the stack of thread %d could not be checked: its "
					"unwind stopped early and its stack mapping was not found in the "
					"process's maps; refusing rather than risk a thread in patched code",
					(int)why_tid);
			if (r != -EAGAIN) {
				if (r < 0 && err)
					*err = werr;
				return r;
			}
			conflict = werr;
			had_conflict = true;
			rc = -EBUSY;
		} else {
			fresh = !release_all(&a);
			g_snapshot_in_use = fresh;
			if (!fresh)
				xs_loader_snapshot_active(false);
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
				xs_procfs_task_name(a.missing, name, sizeof(name));
				char st = xs_procfs_task_state(a.missing);
				bool blocks = xs_procfs_task_blocks(a.missing, g_signo);
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
			if (err)
				xs_fail(err, rc, "%s", conflict.msg);
			return rc;
		}
		if (cancel && atomic_load(cancel)) {
			return xs_fail(err, -ECANCELED, "cancelled by a client after %u attempt%s; "
				       "nothing changed (last obstacle: %s)", attempts,
				       attempts == 1 ? "" : "s", conflict.msg[0] ? conflict.msg :
				       "a thread inside a function being patched");
		}
		/* Back off so the thread in the way can leave the function, but
		 * not past the deadline. */
		uint64_t left = deadline - now_ns();
		uint64_t pause_ns = (uint64_t)backoff_us * 1000;
		struct timespec ts = { 0, (long)(pause_ns < left ? pause_ns : left) };
		nanosleep(&ts, NULL);
		if (now_ns() >= deadline) {
			if (err)
				xs_fail(err, -EBUSY, "%s", conflict.msg);
			return -EBUSY;
		}
		if (backoff_us < 5000)
			backoff_us *= 2;
	}
}
