/* SPDX-License-Identifier: MIT */
/* answer_function() -> 2: the demo-style hello payload of the target. */
#include <xsplice/livepatch.h>

#include "../transition_funcs.h"

static long answer_new(void)
{
	return ANSWER_NEW;
}

static const char name_answer[] = "answer_function";

struct livepatch_func livepatch_answer LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name_answer,
	.new_addr = answer_new,
	.old_addr = (void *)OLD_ADDR_answer_function,
	.new_size = NEW_SIZE_answer_new,
	.old_size = OLD_SIZE_answer_function,
};
