/* SPDX-License-Identifier: MIT */
/*
 * A payload for libc itself: pwrite64 (pwrite is the same code, an alias)
 * and syscall now fail with EPERM. The agent must not need them while it
 * applies or reverts anything, this payload included. LIBC_ADDR_/LIBC_SIZE_
 * come from libc's dynamic symbols (mklibcpayload.sh), link-time values.
 */
#include <errno.h>
#include <sys/types.h>

#include <xsplice/livepatch.h>

static ssize_t pwrite64_eperm(int fd, const void *buf, size_t n, off_t off)
{
	(void)fd;
	(void)buf;
	(void)n;
	(void)off;
	errno = EPERM;
	return -1;
}

static long syscall_eperm(long nr, ...)
{
	(void)nr;
	errno = EPERM;
	return -1;
}

static const char name_pwrite64[] = "pwrite64", name_syscall[] = "syscall";

struct livepatch_func livepatch_libc[] LIVEPATCH_FUNC_ATTR = {
	{ .version = LIVEPATCH_PAYLOAD_VERSION, .name = name_pwrite64, .new_addr = pwrite64_eperm,
	  .old_addr = (void *)LIBC_ADDR_pwrite64, .new_size = NEW_SIZE_pwrite64_eperm,
	  .old_size = LIBC_SIZE_pwrite64 },
	{ .version = LIVEPATCH_PAYLOAD_VERSION, .name = name_syscall, .new_addr = syscall_eperm,
	  .old_addr = (void *)LIBC_ADDR_syscall, .new_size = NEW_SIZE_syscall_eperm,
	  .old_size = LIBC_SIZE_syscall },
};
