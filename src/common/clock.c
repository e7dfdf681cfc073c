/* SPDX-License-Identifier: MIT */
/*
 * The one monotonic clock of xsplice (clock.h): CLOCK_MONOTONIC readings.
 *
 * Threading: no state; safe from any thread.
 */
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
