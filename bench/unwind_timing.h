/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory log written by libbench-unwind-timing.so (preloaded next
 * to the agent, profiling only) and read by bench-pause --profile.
 * One record per park-handler run that reached the unwinder.
 */
#ifndef BENCH_UNWIND_TIMING_H
#define BENCH_UNWIND_TIMING_H

#include <stdatomic.h>
#include <stdint.h>

#define BENCH_UNW_MAGIC 0x574e5542u /* "BUNW" */
#define BENCH_UNW_CAP   (1u << 20)

struct bench_unw_rec {
	uint64_t t_enter;  /* CLOCK_MONOTONIC ns: unw_init_local2 called */
	uint64_t t_init;   /* unw_init_local2 returned */
	uint64_t t_last;   /* last unw_step returned */
	uint32_t tid;
	uint32_t nsteps;
};

struct bench_unw_log {
	uint32_t magic;
	uint32_t cap;
	_Atomic uint64_t n; /* records claimed (may exceed cap: then wrapped) */
	struct bench_unw_rec rec[];
};

#define BENCH_UNW_LOG_SIZE \
	(sizeof(struct bench_unw_log) + (size_t)BENCH_UNW_CAP * sizeof(struct bench_unw_rec))

#endif
