/* SPDX-License-Identifier: MIT */
/* Test payload for the .livepatch.funcs checks (test_funcs.c): one good
 * entry; the test copies the table and breaks one field at a time. */
#include "xsplice/livepatch.h"

extern int xt_f_old(int);

int lp_f_new(int x)
{
	return x + 2;
}

const int lp_f_data[64] = { 1, 2, 3 };

struct livepatch_func lp_funcs[] LIVEPATCH_FUNC_ATTR = {
	{ .name = "xt_f_old", .new_addr = lp_f_new, .old_addr = xt_f_old,
	  .new_size = 1, .old_size = 16, .version = LIVEPATCH_PAYLOAD_VERSION },
};
