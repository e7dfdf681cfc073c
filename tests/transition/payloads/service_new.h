/* SPDX-License-Identifier: MIT */
/* The new body of service_loop: same loop, tag 2. */
#include <time.h>

#include "../transition_funcs.h"

long service_helper(long i); /* the target's, resolved at load */

static long service_loop_new(long max, volatile long *tag)
{
	long acc = 0;
	for (long i = 0; max == 0 || i < max; i++) {
		acc += service_helper(i);
		*tag = SERVICE_TAG_NEW;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return acc;
}

static const char name_service[] = "service_loop";
