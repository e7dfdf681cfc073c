/* SPDX-License-Identifier: MIT */
/*
 * Expectations (version-2 entries): extra_version -> "Expected World", but
 * only if the function starts with the bytes the payload was built against
 * (EXPECT_extra_version, read from the target by mkpayload.sh). Built with
 * -DWANT_BAD_EXPECTATION (expect_bad_payload.c) the first expected byte is flipped.
 */
#include <xsplice/livepatch.h>

static const char *expected_world(void)
{
	return "Expected World";
}

#define FLIP_FIRST(...) FLIP_FIRST_(__VA_ARGS__)
#define FLIP_FIRST_(a, ...) (a) ^ 0xff, __VA_ARGS__
#ifdef WANT_BAD_EXPECTATION
#define EXPECTED FLIP_FIRST(EXPECT_extra_version)
#else
#define EXPECTED EXPECT_extra_version
#endif

static const char name[] = "extra_version";

struct livepatch_func livepatch_expect LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION_2,
	.name = name,
	.new_addr = expected_world,
	.old_addr = (void *)OLD_ADDR_extra_version,
	.new_size = NEW_SIZE_expected_world,
	.old_size = OLD_SIZE_extra_version,
	.v2 = { .expect_len = EXPECT_LEN_extra_version, .expect = { EXPECTED } },
};
