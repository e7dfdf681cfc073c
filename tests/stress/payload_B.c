/* SPDX-License-Identifier: MIT */
/* Stress payload B: all three functions give version 2's answers. */
#include <xsplice/livepatch.h>

#include "stress_funcs.h"

long stress_helper(long x);

static long leaf_B(long x)
{
	return STRESS_LEAF(x, 2);
}

static long mid_B(long x)
{
	return STRESS_MID(stress_helper(x), x, 2);
}

static long loop_B(long x)
{
	long s = 0;
	for (long i = 0; i < 64; i++)
		s ^= x * i;
	return STRESS_LOOP(s, 2);
}

static const char n_leaf[] = "stress_leaf", n_mid[] = "stress_mid", n_loop[] = "stress_loop";

struct livepatch_func stress_funcs_B[] LIVEPATCH_FUNC_ATTR = {
	{ .version = 1, .name = n_leaf, .new_addr = leaf_B, .old_addr = (void *)OLD_ADDR_stress_leaf,
	  .new_size = NEW_SIZE_leaf_B, .old_size = OLD_SIZE_stress_leaf },
	{ .version = 1, .name = n_mid, .new_addr = mid_B, .old_addr = (void *)OLD_ADDR_stress_mid,
	  .new_size = NEW_SIZE_mid_B, .old_size = OLD_SIZE_stress_mid },
	{ .version = 1, .name = n_loop, .new_addr = loop_B, .old_addr = (void *)OLD_ADDR_stress_loop,
	  .new_size = NEW_SIZE_loop_B, .old_size = OLD_SIZE_stress_loop },
};
