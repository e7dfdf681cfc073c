/* SPDX-License-Identifier: MIT */
/* Three functions in one payload; the third entry expects old bytes that
 * are not there (as if its code had been changed behind the agent's back):
 * the apply must fail as a whole, the first two stay unpatched. */
#include <xsplice/livepatch.h>

#include "../transition_funcs.h"

static long triple_a_new(void)
{
	return TRIPLE_NEW_BASE + TRIPLE_A_OLD;
}

static long triple_b_new(void)
{
	return TRIPLE_NEW_BASE + TRIPLE_B_OLD;
}

static long triple_c_new(void)
{
	return TRIPLE_NEW_BASE + TRIPLE_C_OLD;
}

static const char name_a[] = "triple_a", name_b[] = "triple_b", name_c[] = "triple_c";

struct livepatch_func livepatch_triple[] LIVEPATCH_FUNC_ATTR = {
	{ .version = LIVEPATCH_PAYLOAD_VERSION_2, .name = name_a, .new_addr = triple_a_new,
	  .old_addr = (void *)OLD_ADDR_triple_a, .new_size = NEW_SIZE_triple_a_new,
	  .old_size = OLD_SIZE_triple_a },
	{ .version = LIVEPATCH_PAYLOAD_VERSION_2, .name = name_b, .new_addr = triple_b_new,
	  .old_addr = (void *)OLD_ADDR_triple_b, .new_size = NEW_SIZE_triple_b_new,
	  .old_size = OLD_SIZE_triple_b },
	{ .version = LIVEPATCH_PAYLOAD_VERSION_2, .name = name_c, .new_addr = triple_c_new,
	  .old_addr = (void *)OLD_ADDR_triple_c, .new_size = NEW_SIZE_triple_c_new,
	  .old_size = OLD_SIZE_triple_c,
	  /* No x86-64 function of ours starts with int3 x4. */
	  .v2 = { .expect_len = 4, .expect = { 0xcc, 0xcc, 0xcc, 0xcc } } },
};
