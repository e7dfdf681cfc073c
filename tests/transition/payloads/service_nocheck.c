/* SPDX-License-Identifier: MIT */
/* service_loop, version-2 entry WITH LIVEPATCH_FUNC_NO_STACK_CHECK: the
 * running loop keeps the old body, new calls take the new one. */
#include <xsplice/livepatch.h>

#include "service_new.h"

struct livepatch_func livepatch_service LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION_2,
	.name = name_service,
	.new_addr = service_loop_new,
	.old_addr = (void *)OLD_ADDR_service_loop,
	.new_size = NEW_SIZE_service_loop_new,
	.old_size = OLD_SIZE_service_loop,
	.v2 = { .flags = LIVEPATCH_FUNC_NO_STACK_CHECK },
};
