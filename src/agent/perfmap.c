/* SPDX-License-Identifier: MIT */
/*
 * perf's map file for code without an ELF object: /tmp/perf-PID.map, one
 * "START SIZE NAME" line (hex) per function, read by `perf report` (also
 * after the process has exited: the file is left in place, as JITs do).
 * Written by the agent, so in the target's own /tmp (its mount namespace)
 * and owned by the process's user. Created with O_EXCL | O_NOFOLLOW; a file
 * already there is appended to only if it is a regular file owned by this
 * user with one link (another JIT of this process writes the same file by
 * convention) -- a symlink or someone else's file is left alone (logged).
 * Payload functions are named "NAME [payload]" so a report says whose.
 *
 * Threading: control thread, table locked (no state but the error flag).
 */
#include "visibility.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

static bool g_warned;

static int open_map(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0 || errno != EEXIST)
		return fd >= 0 ? fd : -errno;
	fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

void xs_perfmap_add(const struct xs_loaded *ld, const char *name)
{
	if (!ld->nfsyms)
		return;
	int fd = open_map();
	if (fd < 0) {
		if (!g_warned)
			xs_agent_log("xsplice: pid %d: no perf map for payload code: /tmp/perf-%d.map: "
				     "%s\n", (int)getpid(), (int)getpid(),
				     fd == -EPERM ? "exists and is not this user's own regular file"
						  : strerror(-fd));
		g_warned = true;
		return;
	}
	for (unsigned i = 0; i < ld->nfsyms; i++) {
		char line[XS_NAME_SIZE * 2 + 64];
		const struct xs_payload_symbol *f = &ld->fsyms[i];
		int n = snprintf(line, sizeof(line), "%lx %lx %s [%s]\n", (unsigned long)f->addr,
				 (unsigned long)(f->size ? f->size : 1), f->name, name);
		if (n > 0 && write(fd, line, (size_t)n) < 0)
			break;
	}
	close(fd);
}
