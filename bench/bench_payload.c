/* SPDX-License-Identifier: MIT */
/* bench-pause payload: bench_hook() -> a different constant. */
#include <xsplice/livepatch.h>

static long bench_hook_v2(long x)
{
	return x * 3 + 7;
}

static const char bench_hook_name[] = "bench_hook";

struct livepatch_func livepatch_bench_hook LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = bench_hook_name,
	.new_addr = bench_hook_v2,
	.old_addr = (void *)OLD_ADDR_bench_hook,
	.new_size = NEW_SIZE_bench_hook_v2,
	.old_size = OLD_SIZE_bench_hook,
};
