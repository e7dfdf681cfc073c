/* SPDX-License-Identifier: MIT */
/* Calls lp_provider_word() of the provider payload: extra_version() ->
 * "Provided". Built twice: stacked on the provider (binds), and on the
 * program itself (must not bind to a payload outside its depends chain). */
#include <xsplice/livepatch.h>

extern const char *lp_provider_word(void);

static const char *consumer_world(void)
{
	return lp_provider_word();
}

static const char consumer_name[] = "extra_version";

struct livepatch_func livepatch_consumer LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = consumer_name,
	.new_addr = consumer_world,
	.old_addr = (void *)OLD_ADDR_extra_version,
	.new_size = NEW_SIZE_consumer_world,
	.old_size = OLD_SIZE_extra_version,
};
