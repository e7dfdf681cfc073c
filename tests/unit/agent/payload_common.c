/* SPDX-License-Identifier: MIT */
/* Built with -fcommon: the loader must refuse the common symbol. */
#include "xsplice/livepatch.h"

int lp_common_var;

int lp_read_common(void)
{
	return lp_common_var;
}

struct livepatch_func lp_funcs[] LIVEPATCH_FUNC_ATTR = {
	{ .name = "xt_old_func", .new_addr = lp_read_common, .new_size = 16, .old_size = 16,
	  .version = LIVEPATCH_PAYLOAD_VERSION },
};
