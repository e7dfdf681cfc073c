/* SPDX-License-Identifier: MIT */
/*
 * /proc readers for the rendezvous: raw system calls and hand-written
 * parsers only (see procfs.h for why). Per-process files are read through
 * /proc/thread-self: when the program's main thread has exited (a zombie
 * thread group leader), /proc/self/maps of the dead leader is empty.
 */
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/syscall.h"

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * /proc, opened when the agent starts: a program that chroots afterwards
 * (haproxy, dnsmasq, bind) has no /proc in its new root. Used while it is
 * still the same directory (a program that closes every fd may have given
 * the number to something else); else the path.
 */
static int g_proc_fd = -1;
static uint64_t g_proc_dev, g_proc_ino;

void xs_procfs_init(void)
{
	int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	g_proc_dev = st.st_dev;
	g_proc_ino = st.st_ino;
	g_proc_fd = fd;
}

static int open_below_proc(const char *rel, int flags)
{
	if (g_proc_fd >= 0) {
		struct stat st;
		if (xs_sys3(SYS_fstat, g_proc_fd, (long)&st, 0) == 0 && st.st_dev == g_proc_dev &&
		    st.st_ino == g_proc_ino)
			return (int)xs_sys4(SYS_openat, g_proc_fd, (long)rel, flags | O_CLOEXEC, 0);
	}
	char path[128];
	static const char pre[] = "/proc/";
	size_t k = 0;
	for (size_t i = 0; pre[i]; i++)
		path[k++] = pre[i];
	for (size_t i = 0; rel[i] && k + 1 < sizeof(path); i++)
		path[k++] = rel[i];
	path[k] = '\0';
	return (int)xs_sys3(SYS_open, (long)path, flags | O_CLOEXEC, 0);
}

/*
 * A process that changed its credentials (a daemon that dropped root) is
 * not dumpable, and its /proc files then belong to root: mem and
 * task/TID/syscall (0400) cannot be opened. Permission is checked at open
 * only, so the process is dumpable for the length of that one open
 * (docs/decisions.md). Raw system calls: this runs during the stop too.
 */
int xs_procfs_open(const char *rel, int flags)
{
	int fd = open_below_proc(rel, flags);
	if (fd != -EACCES || xs_sys3(SYS_prctl, PR_GET_DUMPABLE, 0, 0) != 0)
		return fd;
	if (xs_sys3(SYS_prctl, PR_SET_DUMPABLE, 1, 0) != 0)
		return fd;
	fd = open_below_proc(rel, flags);
	xs_sys3(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
	return fd;
}

long xs_procfs_readlink(const char *rel, char *buf, size_t len)
{
	int fd = xs_procfs_open(rel, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return fd;
	long n = xs_sys4(SYS_readlinkat, fd, (long)"", (long)buf, (long)len);
	xs_sys3(SYS_close, fd, 0, 0);
	return n;
}

/* Read a small /proc file (path relative to /proc) into buf
 * (NUL-terminated): length or -errno. */
static long read_small(const char *path, char *buf, size_t len)
{
	long fd = xs_procfs_open(path, O_RDONLY);
	if (fd < 0)
		return fd;
	long n = xs_sys3(SYS_read, fd, (long)buf, (long)len - 1);
	xs_sys3(SYS_close, fd, 0, 0);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return n;
}

/* "self/task/<tid>/<leaf>" (relative to /proc) without snprintf. */
static void task_path(char *out, pid_t tid, const char *leaf)
{
	static const char pre[] = "self/task/";
	char digits[16];
	int nd = 0;
	unsigned v = (unsigned)tid;
	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	size_t k = 0;
	for (size_t i = 0; pre[i]; i++)
		out[k++] = pre[i];
	while (nd)
		out[k++] = digits[--nd];
	out[k++] = '/';
	for (size_t i = 0; leaf[i]; i++)
		out[k++] = leaf[i];
	out[k] = '\0';
}

static uint64_t parse_hex(const char **pp)
{
	const char *p = *pp;
	uint64_t v = 0;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	for (;; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		v = v << 4 | (uint64_t)d;
	}
	*pp = p;
	return v;
}

int xs_procfs_list_tasks(pid_t self, pid_t *tids, uint32_t cap)
{
	static char buf[8192];
	long fd = xs_procfs_open("self/task", O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return (int)fd;
	uint32_t n = 0;
	int rc = 0;
	for (;;) {
		long got = xs_sys3(SYS_getdents64, fd, (long)buf, sizeof(buf));
		if (got < 0) {
			rc = (int)got;
			break;
		}
		if (got == 0)
			break;
		for (long off = 0; off < got;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			long v = 0;
			for (const char *p = d->d_name; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (*p - '0');
			if ((pid_t)v == self)
				continue;
			if (n == cap) {
				rc = -E2BIG;
				break;
			}
			tids[n++] = (pid_t)v;
		}
		if (rc)
			break;
	}
	xs_sys3(SYS_close, fd, 0, 0);
	return rc ? rc : (int)n;
}

/* Bit signo of a signal mask line ("SigBlk:", "SigPnd:") of its status. */
static bool status_mask_has(pid_t tid, const char *key, int signo)
{
	char path[64], buf[2048];
	task_path(path, tid, "status");
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	for (const char *p = buf; *p; p++) {
		if (p != buf && p[-1] != '\n')
			continue;
		size_t k = 0;
		while (key[k] && p[k] == key[k])
			k++;
		if (key[k])
			continue;
		p += k;
		while (*p == ' ' || *p == '\t')
			p++;
		uint64_t mask = parse_hex(&p);
		return (mask >> (signo - 1)) & 1;
	}
	return false;
}

bool xs_procfs_task_blocks(pid_t tid, int signo)
{
	return status_mask_has(tid, "SigBlk:", signo);
}

bool xs_procfs_task_pending(pid_t tid, int signo)
{
	return status_mask_has(tid, "SigPnd:", signo);
}

char xs_procfs_task_state(pid_t tid)
{
	char path[64], buf[512];
	task_path(path, tid, "stat");
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* The name in parentheses may itself hold ')': the last one counts. */
	const char *close = NULL;
	for (const char *p = buf; *p; p++)
		if (*p == ')')
			close = p;
	return close && close[1] == ' ' ? close[2] : 0;
}

/* /proc/.../syscall is "nr a1 .. a6 sp pc", "running", or "-1 sp pc". */
bool xs_procfs_task_syscall_regs(pid_t tid, uintptr_t *sp, uintptr_t *pc)
{
	char path[64], buf[256];
	task_path(path, tid, "syscall");
	if (read_small(path, buf, sizeof(buf)) <= 0 || buf[0] < '0' || buf[0] > '9')
		return false;
	uint64_t v[9];
	const char *p = buf;
	for (int i = 0; i < 9; i++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return false;
		v[i] = parse_hex(&p);
	}
	*sp = (uintptr_t)v[7];
	*pc = (uintptr_t)v[8];
	return true;
}

void xs_procfs_task_name(pid_t tid, char *buf, size_t len)
{
	char path[64], tmp[64];
	task_path(path, tid, "comm");
	long n = read_small(path, tmp, sizeof(tmp));
	size_t k = 0;
	for (long i = 0; i < n && tmp[i] != '\n' && k + 1 < len; i++)
		buf[k++] = tmp[i];
	if (len)
		buf[k] = '\0';
}

static char g_maps[1024 * 1024];
static size_t g_maps_len;

int xs_procfs_maps_snapshot(void)
{
	g_maps_len = 0;
	g_maps[0] = '\0';
	long fd = xs_procfs_open("thread-self/maps", O_RDONLY);
	if (fd < 0)
		return (int)fd;
	int rc = 0;
	for (;;) {
		if (g_maps_len == sizeof(g_maps) - 1) {
			rc = -E2BIG; /* more mappings than fit */
			break;
		}
		long n = xs_sys3(SYS_read, fd, (long)(g_maps + g_maps_len),
				 (long)(sizeof(g_maps) - 1 - g_maps_len));
		if (n == -EINTR)
			continue;
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0)
			break;
		g_maps_len += (size_t)n;
	}
	xs_sys3(SYS_close, fd, 0, 0);
	g_maps[g_maps_len] = '\0';
	return rc;
}

uintptr_t xs_procfs_mapping_end(uintptr_t addr)
{
	for (const char *line = g_maps; *line;) {
		const char *p = line;
		uintptr_t lo = (uintptr_t)parse_hex(&p);
		if (*p == '-') {
			p++;
			uintptr_t hi = (uintptr_t)parse_hex(&p);
			if (addr >= lo && addr < hi)
				return hi;
		}
		while (*line && *line != '\n')
			line++;
		if (*line)
			line++;
	}
	return 0;
}
