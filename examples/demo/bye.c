/* SPDX-License-Identifier: MIT */
/* Stacked on hello (its .livepatch.depends is hello's build-id):
 * extra_version() -> "Bye World". */
#include <xsplice/livepatch.h>

static const char *bye_world(void)
{
	return "Bye World";
}

static const char bye_world_name[] = "extra_version";

struct livepatch_func livepatch_bye_world LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = bye_world_name,
	.new_addr = bye_world,
	.old_addr = (void *)OLD_ADDR_extra_version,
	.new_size = NEW_SIZE_bye_world,
	.old_size = OLD_SIZE_extra_version,
};
