/* SPDX-License-Identifier: MIT */
/* For REPLACE: old_addr is 0, so the agent finds extra_version by name.
 * extra_version() -> "Hello Again World". */
#include <xsplice/livepatch.h>

static const char *hello_again_world(void)
{
	return "Hello Again World";
}

static const char hello_again_name[] = "extra_version";

struct livepatch_func livepatch_hello_again LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = hello_again_name,
	.new_addr = hello_again_world,
	.old_addr = 0,
	.new_size = NEW_SIZE_hello_again_world,
	.old_size = OLD_SIZE_extra_version,
};
