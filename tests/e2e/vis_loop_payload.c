/* SPDX-License-Identifier: MIT */
/*
 * A replacement of vis_target's run_loop(): the agent must refuse to apply
 * it while run_loop is on the main thread's stack -- below a payload frame
 * (vis_payload's nap), which the agent's own unwinder has to cross.
 */
#include <time.h>
#include <xsplice/livepatch.h>

int work(int i);

void run_loop_payload(long ticks)
{
	for (long t = 0; !ticks || t < ticks; t++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static const char name[] = "run_loop";

#ifdef WANT_BAD_EXPECTATION
/* vis_loop_bad_payload.c: an expectation with its first byte flipped. */
#define FLIP_FIRST(...) FLIP_FIRST_(__VA_ARGS__)
#define FLIP_FIRST_(a, ...) (a) ^ 0xff, __VA_ARGS__
struct livepatch_func livepatch_vis_loop LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION_2,
	.name = name,
	.new_addr = run_loop_payload,
	.old_addr = (void *)OLD_ADDR_run_loop,
	.new_size = NEW_SIZE_run_loop_payload,
	.old_size = OLD_SIZE_run_loop,
	.v2 = { .expect_len = EXPECT_LEN_run_loop, .expect = { FLIP_FIRST(EXPECT_run_loop) } },
};
#else
struct livepatch_func livepatch_vis_loop LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name,
	.new_addr = run_loop_payload,
	.old_addr = (void *)OLD_ADDR_run_loop,
	.new_size = NEW_SIZE_run_loop_payload,
	.old_size = OLD_SIZE_run_loop,
};
#endif
