/* SPDX-License-Identifier: MIT */
/*
 * work() of vis_target, replaced: spin ~20 ms in busy_payload (a hot
 * payload function for perf), sleep ~200 ms in nap_payload (where gdb finds
 * the thread), then thrower(-1), whose C++ exception unwinds through this
 * frame (the payload's .eh_frame, registered by the agent).
 */
#include <errno.h>
#include <time.h>
#include <xsplice/livepatch.h>

void thrower(int i);

__attribute__((noinline)) static unsigned long busy_payload(void)
{
	struct timespec a, b;
	unsigned long n = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int k = 0; k < 1000; k++)
			__asm__ __volatile__("" : "+r"(n));
		n++;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 20000000L);
	return n;
}

__attribute__((noinline)) static void nap_payload(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	/* the whole nap, signals (the agent's park signal) or not */
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int work_payload(int i)
{
	busy_payload();
	nap_payload();
	thrower(-1);
	return i; /* not reached */
}

static const char name[] = "work";

struct livepatch_func livepatch_vis LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name,
	.new_addr = work_payload,
	.old_addr = (void *)OLD_ADDR_work,
	.new_size = NEW_SIZE_work_payload,
	.old_size = OLD_SIZE_work,
};
