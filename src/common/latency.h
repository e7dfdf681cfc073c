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

#endif
