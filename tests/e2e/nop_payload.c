/* SPDX-License-Identifier: MIT */
/*
 * NOP patching (the seed's new_addr == 0): remove the first 2 bytes of
 * feature_enabled (its jump to the disabled path), with an expectation that
 * they are that jump (eb 06) -- or, built with -DNOP_BAD, another jump.
 */
#include <xsplice/livepatch.h>

static const char name[] = "feature_enabled";

#ifdef NOP_BAD
#define JUMP 0xeb, 0x07
#else
#define JUMP 0xeb, 0x06
#endif

struct livepatch_func livepatch_nop LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION_2,
	.name = name,
	.new_addr = 0,
	.old_addr = (void *)OLD_ADDR_feature_enabled,
	.new_size = 2,
	.old_size = OLD_SIZE_feature_enabled,
	.v2 = { .expect_len = 2, .expect = { JUMP } },
};
