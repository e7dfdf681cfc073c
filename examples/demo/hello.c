/* SPDX-License-Identifier: MIT */
/* The seed's xen_hello_world, for a process: extra_version() -> "Hello World".
 * OLD_ADDR_/OLD_SIZE_/NEW_SIZE_ values come from mkpayload.sh, which reads
 * them from the target binary and the compiled payload. */
#include <xsplice/livepatch.h>

static const char *hello_world(void)
{
	return "Hello World";
}

static const char hello_world_name[] = "extra_version";

struct livepatch_func livepatch_hello_world LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = hello_world_name,
	.new_addr = hello_world,
	.old_addr = (void *)OLD_ADDR_extra_version,
	.new_size = NEW_SIZE_hello_world,
	.old_size = OLD_SIZE_extra_version,
};
