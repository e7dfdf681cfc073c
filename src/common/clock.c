/* SPDX-License-Identifier: MIT */
/* CLOCK_MONOTONIC readings; thread-safe, no state. */
#include "common/clock.h"

#include <time.h>

uint64_t xs_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t xs_mono_ms(void)
{
	return xs_mono_ns() / 1000000u;
}
