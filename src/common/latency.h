/* SPDX-License-Identifier: MIT */
#ifndef XS_COMMON_LATENCY_H
#define XS_COMMON_LATENCY_H

/*
 * Ask the scheduler to run the calling thread soon after it wakes
 * (EEVDF custom slice, Linux 6.12+). Same policy, same nice, same share of
 * the CPU: only its time slice is shortened, which gives it an earlier
 * deadline when it becomes runnable. Unprivileged; silently nothing on an
 * older kernel. Returns 0 or -errno (for tests and benchmarks only).
 */
int xs_thread_prefer_latency(void);

/*
 * For the length of an action only (docs/decisions.md, "Real-time priority
 * during an action"): put thread tid (0: the caller) on SCHED_FIFO 1, the
 * lowest real-time priority, when the process may (CAP_SYS_NICE or
 * RLIMIT_RTPRIO) and the thread is on the normal policy; never raises the
 * priority of a thread the program made real-time. $XSPLICE_RT_BOOST=0
 * turns it off. true when it was raised: then xs_thread_unboost(tid)
 * must follow, which puts it back to SCHED_OTHER with its nice value and
 * the short slice.
 */
#include <stdbool.h>
#include <sys/types.h>
bool xs_thread_boost(pid_t tid);
void xs_thread_unboost(pid_t tid);

#endif
