/* SPDX-License-Identifier: MIT */
/*
 * The universal daemon payload: libc's clock_gettime (also __clock_gettime,
 * same code) replaced by an equivalent body, a raw clock_gettime system
 * call instead of the vDSO. Every daemon under test calls it (event loops
 * compute timeouts with CLOCK_MONOTONIC), no thread ever blocks in it, and
 * it is a plain function in this glibc ('T' in nm -D, not an IFUNC like
 * time and gettimeofday). The answer is the same; only the path differs.
 * LIBC_ADDR_/LIBC_SIZE_ come from libc's dynamic symbols
 * (tests/transition/mklibcpayload.sh).
 */
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>

#include <xsplice/livepatch.h>

static int clock_gettime_raw(clockid_t id, struct timespec *ts)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)SYS_clock_gettime), "D"((long)id), "S"(ts)
			 : "rcx", "r11", "memory");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return 0;
}

static const char name_clock_gettime[] = "clock_gettime";

struct livepatch_func livepatch_clock_gettime LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name_clock_gettime,
	.new_addr = clock_gettime_raw,
	.old_addr = (void *)LIBC_ADDR_clock_gettime,
	.new_size = NEW_SIZE_clock_gettime_raw,
	.old_size = LIBC_SIZE_clock_gettime,
};
