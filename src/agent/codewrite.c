/* SPDX-License-Identifier: MIT */
/*
 * Writing code through /proc/thread-self/mem (see codewrite.h). The write
 * and the byte helpers run while threads are parked: raw system calls and
 * volatile byte loops, no libc. Any thread may call them; the agent calls
 * them from its action thread only.
 */
#include "codewrite.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "arch/syscall.h"
#include "procfs.h"

int xs_code_open(struct xs_err *err)
{
	/* thread-self: a main thread that exited leaves /proc/self/mem
	 * without an address space. */
	int fd = xs_procfs_open("thread-self/mem", O_RDWR);
	if (fd < 0)
		return xs_fail(err, fd, "cannot open /proc/thread-self/mem for writing code: %s",
			       strerror(-fd));
	return fd;
}

void xs_code_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

void xs_bytes_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	/* volatile: keep the compiler from turning this into a memcpy call */
	volatile uint8_t *d = dst;
	for (size_t i = 0; i < n; i++)
		d[i] = src[i];
}

int xs_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	const volatile uint8_t *va = a;
	for (size_t i = 0; i < n; i++)
		if (va[i] != b[i])
			return 0;
	return 1;
}

int xs_code_write(int fd, uintptr_t addr, const uint8_t *bytes, size_t len)
{
	size_t done = 0;
	while (done < len) {
		long n = xs_sys4(SYS_pwrite64, fd, (long)(bytes + done), (long)(len - done),
				 (long)(addr + done));
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	/* The page is shared with the file's page cache only copy-on-write; a
	 * read-back proves the write reached our mapping. */
	return xs_bytes_equal((const uint8_t *)addr, bytes, len) ? 0 : -EIO;
}
