/* SPDX-License-Identifier: MIT */
/* head_call, version-2 entry WITH LIVEPATCH_FUNC_NO_STACK_CHECK: answers 2
 * without calling anything. */
#include <xsplice/livepatch.h>

static long head_call_new(long (*callee)(void))
{
	(void)callee;
	return 2;
}

static const char name_head[] = "head_call";

struct livepatch_func livepatch_head LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION_2,
	.name = name_head,
	.new_addr = head_call_new,
	.old_addr = (void *)OLD_ADDR_head_call,
	.new_size = NEW_SIZE_head_call_new,
	.old_size = OLD_SIZE_head_call,
	.v2 = { .flags = LIVEPATCH_FUNC_NO_STACK_CHECK },
};
