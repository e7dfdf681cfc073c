/* SPDX-License-Identifier: MIT */
/* slow_function() -> 2, without sleeping. */
#include <xsplice/livepatch.h>

#include "../transition_funcs.h"

static long slow_new(long ms)
{
	(void)ms;
	return SLOW_NEW;
}

static const char name_slow[] = "slow_function";

struct livepatch_func livepatch_slow LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name_slow,
	.new_addr = slow_new,
	.old_addr = (void *)OLD_ADDR_slow_function,
	.new_size = NEW_SIZE_slow_new,
	.old_size = OLD_SIZE_slow_function,
};
