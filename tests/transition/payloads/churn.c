/* SPDX-License-Identifier: MIT */
/* churn_function(x) -> version 1's answer. */
#include <xsplice/livepatch.h>

#include "../transition_funcs.h"

static long churn_new(long x)
{
	return CHURN(x, 1);
}

static const char name_churn[] = "churn_function";

struct livepatch_func livepatch_churn LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name_churn,
	.new_addr = churn_new,
	.old_addr = (void *)OLD_ADDR_churn_function,
	.new_size = NEW_SIZE_churn_new,
	.old_size = OLD_SIZE_churn_function,
};
