/* SPDX-License-Identifier: MIT */
/* greet() -> "patched", for cet_target (whose greet starts with endbr64). */
#include <xsplice/livepatch.h>

static const char *greet_patched(void)
{
	return "patched";
}

static const char name[] = "greet";

struct livepatch_func livepatch_cet LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION_2,
	.name = name,
	.new_addr = greet_patched,
	.old_addr = (void *)OLD_ADDR_greet,
	.new_size = NEW_SIZE_greet_patched,
	.old_size = OLD_SIZE_greet,
	/* the function's first bytes, endbr64 included */
	.v2 = { .expect_len = EXPECT_LEN_greet, .expect = { EXPECT_greet } },
};
