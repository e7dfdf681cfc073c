/* SPDX-License-Identifier: MIT */
/* A payload that exports a function for payloads stacked on it:
 * extra_version() -> "Provided World"; lp_provider_word() -> "Provided". */
#include <xsplice/livepatch.h>

const char *lp_provider_word(void)
{
	return "Provided";
}

static const char *provided_world(void)
{
	return "Provided World";
}

static const char provided_name[] = "extra_version";

struct livepatch_func livepatch_provided LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = provided_name,
	.new_addr = provided_world,
	.old_addr = (void *)OLD_ADDR_extra_version,
	.new_size = NEW_SIZE_provided_world,
	.old_size = OLD_SIZE_extra_version,
};
