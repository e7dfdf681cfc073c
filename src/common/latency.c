/* SPDX-License-Identifier: MIT */
/*
 * The agent's own threads (and the xsplice command) wait for a CPU among the program's (docs/
 * performance.md, "The whole command"): with 16 busy threads on 2 CPUs a
 * woken control or action thread waited 4-40 ms for its turn, once per
 * request and once after every stop. A short EEVDF slice (sched_setattr
 * with sched_runtime, SCHED_NORMAL/BATCH only) moves its virtual deadline
 * forward so it is picked, or preempts, right after it wakes; its share
 * of the CPU stays what its nice value gives it, so it cannot starve the
 * program. No privilege is needed, no real-time policy is used.
 *
 * Threading: each thread changes only itself.
 */
#include "common/latency.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* <linux/sched/types.h> clashes with <sched.h>: the kernel's layout. */
struct sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif

/* The shortest slice the kernel accepts (it clamps to 0.1..100 ms). */
#define XS_SLICE_NS 100000ull

int xs_thread_prefer_latency(void)
{
	/* XSPLICE_SHORT_SLICE=0: keep the default slice (to measure). */
	const char *env = getenv("XSPLICE_SHORT_SLICE");
	if (env && strcmp(env, "0") == 0)
		return 0;
	struct sched_attr a;
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) < 0)
		return -errno;
	/* Real-time or deadline threads: the program chose; leave them. */
	if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH)
		return -EPERM;
	a.size = sizeof(a);
	a.sched_runtime = XS_SLICE_NS;
	a.sched_flags = 0;
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		return -errno;
	return 0;
}

bool xs_thread_boost(pid_t tid)
{
	const char *env = getenv("XSPLICE_RT_BOOST");
	if (env && strcmp(env, "0") == 0)
		return false;
	struct sched_attr a;
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, tid, &a, sizeof(a), 0) < 0)
		return false;
	if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH)
		return false;
	struct sched_attr rt;
	memset(&rt, 0, sizeof(rt));
	rt.size = sizeof(rt);
	rt.sched_policy = SCHED_FIFO;
	rt.sched_priority = 1;
	/* Not inherited by anything the thread might create. */
	rt.sched_flags = SCHED_FLAG_RESET_ON_FORK;
	return syscall(SYS_sched_setattr, tid, &rt, 0) == 0;
}

void xs_thread_unboost(pid_t tid)
{
	struct sched_attr a;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = SCHED_OTHER;
	/* The nice value is the thread's own: kept by the kernel across the
	 * real-time period (sched_nice is applied anew here, so read it). */
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)(tid ? tid : (pid_t)syscall(SYS_gettid)));
	a.sched_nice = errno ? 0 : nice;
	a.sched_runtime = XS_SLICE_NS;
	if (syscall(SYS_sched_setattr, tid, &a, 0) < 0) {
		a.sched_runtime = 0; /* a kernel without custom slices */
		syscall(SYS_sched_setattr, tid, &a, 0);
	}
}
