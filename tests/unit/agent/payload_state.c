/* SPDX-License-Identifier: MIT */
/* Test payload for the state and plan tests: replaces two functions of
 * libxt_target.so (xt_target.c). */
#include "xsplice/livepatch.h"

extern int xt_old_func(int);
extern int xt_other_func(int);

int lp_new_old(int x)
{
	return x * 2;
}

int lp_new_other(int x)
{
	return x * 3;
}

/* new_size 1: the agent checks that new code lies inside one executable
 * section, and each function has its own (-ffunction-sections). */
struct livepatch_func lp_funcs[] LIVEPATCH_FUNC_ATTR = {
	{ .name = "xt_old_func", .new_addr = lp_new_old, .old_addr = xt_old_func,
	  .new_size = 1, .old_size = 16, .version = LIVEPATCH_PAYLOAD_VERSION },
	{ .name = "xt_other_func", .new_addr = lp_new_other, .old_addr = 0,
	  .new_size = 1, .old_size = 16, .version = LIVEPATCH_PAYLOAD_VERSION },
};
