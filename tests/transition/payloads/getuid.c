/* SPDX-License-Identifier: MIT */
/*
 * A payload for libc's getuid: same answer, but each call takes 20 ms. If
 * the agent calls getuid while threads are parked (DESIGN §5.4 says it must
 * not call patchable libc code in that window), the pause of every later
 * action grows by 20 ms per call, which `xsplice --json info` shows.
 * Raw system calls only: the replacement needs nothing from libc.
 */
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>

#include <xsplice/livepatch.h>

static long raw2(long nr, long a1, long a2)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a1), "S"(a2) : "rcx", "r11", "memory");
	return ret;
}

static uid_t getuid_slow(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	raw2(SYS_nanosleep, (long)&ts, 0);
	return (uid_t)raw2(SYS_getuid, 0, 0);
}

static const char name_getuid[] = "getuid";

struct livepatch_func livepatch_getuid LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name_getuid,
	.new_addr = getuid_slow,
	.old_addr = (void *)LIBC_ADDR_getuid,
	.new_size = NEW_SIZE_getuid_slow,
	.old_size = LIBC_SIZE_getuid,
};
