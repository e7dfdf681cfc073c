/* SPDX-License-Identifier: MIT */
/*
 * xs_attach (inject.h): the refusals checked before anything is touched
 * (/proc: state, architecture, libc, seccomp, Yama), the lookup of libc's
 * functions in the target (its own libc file, build-id checked against
 * the one in memory), the choice of a thread at a safe point, and the
 * injection: two pages, a memfd holding the agent, a loader thread started
 * with pthread_create that dlopens /proc/self/fd/N. docs/decisions.md,
 * "Attach", says why each step is the way it is.
 *
 * Threading: one caller thread; SIGCHLD is blocked in it while threads of
 * the target are traced (hijack.c waits for it), then the mask restored.
 */
#include "inject.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/elfnote.h"
#include "ctl/xsplice-ctl.h"
#include "inject/blob.h"
#include "inject/deps.h"
#include "inject/dynsym.h"
#include "inject/hijack.h"
#include "inject/seccomp.h"

extern const uint8_t xs_inject_blob_start[], xs_inject_blob_end[];

#define DEFAULT_TIMEOUT_MS 10000u
#define PROBE_MS 3000u  /* at most this long looking for a thread at a safe point */
#define STOP_MS 1000u   /* a thread must stop this soon after PTRACE_INTERRUPT */
/*
 * How long the injected pthread_create may take. It ends in an int3: a
 * thread we stopped waiting for and left to reach it untraced would die of
 * SIGTRAP, killing the program. So the bound is not a quick "is it stuck"
 * check but far above any real pthread_create (seen: over 2 s on a 2-core
 * machine at load average 500), and its expiry is the last resort. The
 * attach's own deadline, if later, is waited for too.
 */
#define RUN_MS 30000u
#define NAP_NS 100000   /* the loader thread looks for GO every 100 us ... */
#define NAPS_MAX 100000 /* ... for at most ~10 s (more under load), then ends */

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

struct range {
	uint64_t lo, hi;
};

struct target {
	int pid;
	int mem;                 /* /proc/PID/mem */
	char libc_path[PATH_MAX];
	uint64_t libc_base, libc_map_lo, libc_map_hi;
	struct range text[8];    /* executable mappings of libc and ld.so */
	int ntext;
	struct range ld_text[4]; /* those of ld.so alone */
	int nld;
	bool dynamic;            /* the executable has a PT_INTERP */
	uint64_t deadline;       /* xs_mono_ns() by which the attach must be done */
	dev_t exe_dev;           /* the executable, to tell an exec during the attach */
	ino_t exe_ino;
	bool agent_mapped;
	uint64_t fn[7];
	/* What the loader thread dlopens in order: the agent's dependencies
	 * the target lacks, then the agent (last). */
	int nlib;
	int lib_fd[XSD_LIBS_MAX];       /* open here, copied into the memfds */
	char lib_name[XSD_LIBS_MAX][64]; /* SONAME, or "agent" */
};

enum { F_DLOPEN, F_DLERROR, F_CREATE, F_DETACH, F_SELF, F_ERRNO, F_SYSCALL, F_N };
static const char *const fn_names[F_N] = {
	"dlopen", "dlerror", "pthread_create", "pthread_detach", "pthread_self",
	"__errno_location", "syscall",
};

/* ---- /proc ---- */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return (int)n;
}

/* A "Name:\tvalue" line of /proc/PID/status as a number; -1 if absent. */
static long status_field(int pid, const char *name)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	size_t nl = strlen(name);
	for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, nl) && p[nl] == ':')
			return strtol(p + nl + 1, NULL, 10);
	return -1;
}

static char proc_state(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

#define PF_EXITING_ 0x00000004ul
#define PF_KTHREAD_ 0x00200000ul

/* The state and the flags (PF_*) of /proc/PATH/stat; 0 if unreadable. */
static char stat_flags(const char *path, unsigned long *flags)
{
	char buf[1024];
	*flags = 0;
	if (read_text(path, buf, sizeof(buf)) < 0)
		return 0;
	char *p = strrchr(buf, ')');
	char st = 0;
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %lu", &st, flags) != 2)
		return 0;
	return st;
}

static bool is_kernel_thread(int pid)
{
	char path[64];
	unsigned long flags;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return stat_flags(path, &flags) && (flags & PF_KTHREAD_);
}

/* No thread of the process left that is neither a zombie nor PF_EXITING. */
static bool all_exiting(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return true;
	bool exiting = true;
	struct dirent *e;
	while (exiting && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char tpath[96];
		unsigned long flags;
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%.16s/stat", pid, e->d_name);
		char st = stat_flags(tpath, &flags);
		if (st && st != 'Z' && st != 'X' && !(flags & PF_EXITING_))
			exiting = false;
	}
	closedir(d);
	return exiting;
}

/*
 * Is the process on its way out, now or within looks x 5 ms (a step that
 * failed because the process is exiting may fail before the kernel marks
 * it)?
 * Every thread must be a zombie or PF_EXITING: the main thread alone
 * having called pthread_exit does not count.
 */
static bool process_exiting(int pid, int looks)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < looks; i++) {
		unsigned long flags;
		char st = stat_flags(path, &flags);
		if ((!st || st == 'Z' || st == 'X' || (flags & PF_EXITING_)) && all_exiting(pid))
			return true;
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Yama's setting, -1 without Yama. XSPLICE_YAMA_PATH replaces the sysctl's
 * path for the tests on kernels without Yama (the messages are what they
 * check; the kernel's decision is not faked). */
static int yama_scope(void)
{
	char buf[16];
	const char *path = getenv("XSPLICE_YAMA_PATH");
	if (!path || !*path)
		path = "/proc/sys/kernel/yama/ptrace_scope";
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	return atoi(buf);
}

/* Is pid a descendant of this process (Yama's ptrace_scope 1 rule)? */
static bool our_descendant(int pid)
{
	for (int i = 0; i < 4096 && pid > 1; i++) {
		long pp = status_field(pid, "PPid");
		if (pp == getpid())
			return true;
		if (pp <= 0)
			return false;
		pid = (int)pp;
	}
	return false;
}

/* Why we may not ptrace pid: the setting or property that forbids it. */
static int explain_denied(int pid, int rc, const char *what, struct xs_err *err)
{
	int scope = yama_scope();
	long tracer = status_field(pid, "TracerPid");
	long uid = status_field(pid, "Uid");
	struct stat st;
	char path[64];
	/* The files of a non-dumpable process belong to root (the /proc/PID
	 * directory itself does not). */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (tracer > 0)
		return xs_fail(err, -EBUSY, "process %d is already traced by process %ld (a "
			       "debugger?): detach it first", pid, tracer);
	if (scope == 3)
		return xs_fail(err, rc, "kernel.yama.ptrace_scope = 3: ptrace is disabled on "
			       "this system until reboot; start the program with "
			       "LD_PRELOAD=libxsplice.so instead");
	if (scope == 2 && geteuid() != 0)
		return xs_fail(err, rc, "kernel.yama.ptrace_scope = 2: only root "
			       "(CAP_SYS_PTRACE) may attach; run xsplice as root");
	if (scope == 1 && geteuid() != 0 && !our_descendant(pid))
		return xs_fail(err, rc, "kernel.yama.ptrace_scope = 1: only a parent may ptrace "
			       "its descendants (or a tracer the program named with "
			       "PR_SET_PTRACER); run as root (CAP_SYS_PTRACE) or set "
			       "kernel.yama.ptrace_scope = 0");
	if (uid >= 0 && (uid_t)uid != geteuid() && geteuid() != 0)
		return xs_fail(err, rc, "process %d belongs to uid %ld, not to us (uid %u): "
			       "run as root or as that user", pid, uid, (unsigned)geteuid());
	if (stat(path, &st) == 0 && uid >= 0 && st.st_uid != (uid_t)uid && geteuid() != 0)
		return xs_fail(err, rc, "process %d is not dumpable (PR_SET_DUMPABLE 0, setuid "
			       "or file capabilities): only root (CAP_SYS_PTRACE) may attach", pid);
	return xs_fail(err, rc, "%s of process %d: %s", what, pid, strerror(-rc));
}

static bool base_is(const char *path, const char *prefix)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return !strncmp(b, prefix, strlen(prefix));
}

static int read_maps(struct target *t, struct xs_err *err)
{
	char path[64], line[PATH_MAX + 128];
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? xs_fail(err, -ESRCH, "no process %d", t->pid)
				       : explain_denied(t->pid, -errno, "reading the maps", err);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &lo, &hi, perms, &off, &pos) < 4 ||
		    !pos)
			continue;
		char *p = line + pos;
		p[strcspn(p, "\n")] = '\0';
		if (strstr(p, "libxsplice.so") || strstr(p, "memfd:xsplice-agent"))
			t->agent_mapped = true;
		bool libc = p[0] == '/' && (base_is(p, "libc.so.6") || base_is(p, "libc-2."));
		bool ld = p[0] == '/' && base_is(p, "ld-linux");
		if (libc && off == 0 && !t->libc_base) {
			t->libc_base = lo;
			t->libc_map_lo = lo;
			t->libc_map_hi = hi;
			snprintf(t->libc_path, sizeof(t->libc_path), "%s", p);
		}
		if ((libc || ld) && perms[2] == 'x' && t->ntext < 8)
			t->text[t->ntext++] = (struct range){ lo, hi };
		if (ld && perms[2] == 'x' && t->nld < 4)
			t->ld_text[t->nld++] = (struct range){ lo, hi };
	}
	fclose(f);
	return 0;
}

static int check_exe(int pid, bool *dynamic, dev_t *dev, ino_t *ino, struct xs_err *err)
{
	*dynamic = false;
	char path[64];
	unsigned char h[EI_NIDENT + 4];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* kernel thread, or no access: the ptrace step explains */
	struct stat st;
	if (fstat(fd, &st) == 0)
		*dev = st.st_dev, *ino = st.st_ino;
	ssize_t n = pread(fd, h, sizeof(h), 0);
	Elf64_Ehdr eh;
	if (n == (ssize_t)sizeof(h) && h[EI_CLASS] == ELFCLASS64 &&
	    pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && eh.e_phnum < 256) {
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) ==
			    (ssize_t)sizeof(ph) && ph.p_type == PT_INTERP)
				*dynamic = true;
		}
	}
	close(fd);
	if (n < (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0)
		return xs_fail(err, -ENOEXEC, "process %d: its executable is not an ELF file", pid);
	unsigned machine = h[EI_DATA] == ELFDATA2LSB ? (unsigned)(h[18] | h[19] << 8)
						     : (unsigned)(h[18] << 8 | h[19]);
	if (h[EI_CLASS] != ELFCLASS64 || machine != EM_X86_64)
		return xs_fail(err, -ENOEXEC, "process %d is not an x86-64 process (ELF class %d, "
			       "e_machine %u): attach supports x86-64 only", pid, h[EI_CLASS],
			       machine);
	return 0;
}

/* ---- libc in the target ---- */

static int mem_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = pread(t->mem, buf, len, (off_t)addr);
	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
}

static int mem_write(struct target *t, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(t->mem, buf, len, (off_t)addr);
	return n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
}

/* The build-id of the libc image in memory (its PT_NOTE segments). */
static int mem_build_id(struct target *t, uint8_t *out, size_t max, size_t *n)
{
	Elf64_Ehdr eh;
	if (mem_read(t, t->libc_base, &eh, sizeof(eh)) || eh.e_phnum > 64)
		return -EIO;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (mem_read(t, t->libc_base + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)))
			return -EIO;
		if (ph.p_type != PT_NOTE || ph.p_filesz > 4096)
			continue;
		uint8_t notes[4096];
		if (mem_read(t, t->libc_base + ph.p_vaddr, notes, ph.p_filesz))
			continue;
		if (xs_notes_build_id(notes, ph.p_filesz, ph.p_align, false, out, max, n, NULL) == 0)
			return 0;
	}
	return -ENODATA;
}

static int find_libc_functions(struct target *t, struct xs_err *err)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", t->pid,
		 (unsigned long)t->libc_map_lo, (unsigned long)t->libc_map_hi);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", t->pid, t->libc_path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return xs_fail(err, -errno, "cannot open the target's libc %s: %s", t->libc_path,
			       strerror(errno));
	uint8_t fid[64], mid[64];
	size_t fn = 0, mn = 0;
	int rc = xs_file_build_id(path, fid, sizeof(fid), &fn, err);
	if (!rc && mem_build_id(t, mid, sizeof(mid), &mn) == 0 &&
	    (fn != mn || memcmp(fid, mid, fn) != 0))
		rc = xs_fail(err, -ESTALE, "the target's libc file %s is not the one it has "
			     "mapped (build-ids differ: upgraded on disk?)", t->libc_path);
	if (!rc)
		rc = xs_dynsym_lookup(fd, fn_names, t->fn, F_N, err);
	close(fd);
	if (rc)
		return xs_fail_prefix(err, rc, "libc of process %d (%s)", t->pid, t->libc_path);
	if (!t->fn[F_DLOPEN] || !t->fn[F_CREATE])
		return xs_fail(err, -ENOTSUP, "the libc of process %d (%s) has no dlopen or "
			       "pthread_create: glibc older than 2.34 is not supported; start "
			       "the program with LD_PRELOAD=libxsplice.so instead", t->pid,
			       t->libc_path);
	for (int i = 0; i < F_N; i++) {
		if (!t->fn[i])
			return xs_fail(err, -ENOTSUP, "the libc of process %d has no %s", t->pid,
				       fn_names[i]);
		t->fn[i] += t->libc_base;
	}
	/* A syscall instruction: the one inside libc's syscall(). */
	uint8_t code[64];
	if (mem_read(t, t->fn[F_SYSCALL], code, sizeof(code)) != 0)
		return xs_fail(err, -EIO, "cannot read the code of libc's syscall() in process %d",
			       t->pid);
	{
		for (size_t i = 0; i + 1 < sizeof(code); i++) {
			if (code[i] == 0x0f && code[i + 1] == 0x05) {
				t->fn[F_SYSCALL] += i;
				return 0;
			}
		}
	}
	return xs_fail(err, -ENOTSUP, "no syscall instruction found in libc's syscall()");
}

/* ---- what is carried into the target ---- */

/* Does the target map an object whose file name starts with soname (the
 * loader then finds it there by its SONAME: nothing to carry)? */
static bool maps_object(int pid, const char *soname)
{
	char path[64], line[PATH_MAX + 128];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "re");
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');
		if (p) {
			p[strcspn(p, "\n")] = '\0';
			found = base_is(p, soname);
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* t->lib_fd/lib_name: the agent's dependencies the target does not map
 * (deps.h: a container may lack the files), then the agent. */
static int carry_list(struct target *t, const char *agent_path, struct xs_err *err)
{
	struct xs_dep deps[XS_DEPS_MAX];
	int n = 0;
	int rc = xs_agent_deps(agent_path, deps, XS_DEPS_MAX, &n, err);
	if (rc)
		return xs_fail_prefix(err, rc, "the agent %s", agent_path);
	for (int i = 0; i < n; i++) {
		if (maps_object(t->pid, deps[i].soname))
			continue;
		int fd = open(deps[i].path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return xs_fail(err, -errno, "cannot open %s (needed by the agent): %s",
				       deps[i].path, strerror(errno));
		snprintf(t->lib_name[t->nlib], sizeof(t->lib_name[0]), "%s", deps[i].soname);
		t->lib_fd[t->nlib++] = fd;
	}
	int fd = open(agent_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xs_fail(err, -errno, "cannot open the agent %s: %s", agent_path,
			       strerror(errno));
	snprintf(t->lib_name[t->nlib], sizeof(t->lib_name[0]), "agent");
	t->lib_fd[t->nlib++] = fd;
	return 0;
}

/* ---- the safe point ---- */

static const char *syscall_name(long nr)
{
	static const struct { long nr; const char *name; } t[] = {
		{ 0, "read" }, { 1, "write" }, { 7, "poll" }, { 9, "mmap" }, { 10, "mprotect" },
		{ 11, "munmap" }, { 12, "brk" }, { 23, "select" }, { 25, "mremap" },
		{ 28, "madvise" }, { 35, "nanosleep" }, { 43, "accept" }, { 45, "recvfrom" },
		{ 47, "recvmsg" }, { 56, "clone" }, { 57, "fork" }, { 58, "vfork" },
		{ 59, "execve" }, { 60, "exit" }, { 61, "wait4" }, { 202, "futex" },
		{ 219, "restart_syscall" }, { 230, "clock_nanosleep" }, { 231, "exit_group" },
		{ 232, "epoll_wait" }, { 234, "tgkill" }, { 257, "openat" }, { 270, "pselect6" },
		{ 271, "ppoll" }, { 281, "epoll_pwait" }, { 288, "accept4" }, { 435, "clone3" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].nr == nr)
			return t[i].name;
	return NULL;
}

/*
 * May this thread call pthread_create now? Not if it may hold a lock that
 * pthread_create takes (malloc's arena locks, the thread-stack cache lock,
 * all malloc locks around fork): those are held only while running libc
 * code or in the system calls libc makes while holding them. NULL: safe.
 */
static const char *unsafe_reason(const struct user_regs_struct *r, const struct target *t,
				 char *where, size_t wlen)
{
	long nr = xs_regs_syscall_nr(r);
	if (nr >= 0) {
		const char *n = syscall_name(nr);
		if (n)
			snprintf(where, wlen, "%s", n);
		else
			snprintf(where, wlen, "syscall %ld", nr);
		for (int i = 0; i < t->nld; i++)
			if (r->rip >= t->ld_text[i].lo && r->rip < t->ld_text[i].hi)
				return "in a system call of the dynamic loader (starting, or dlopen)";
		switch (nr) {
		case 9: case 10: case 11: case 12: case 25: case 28: /* memory: malloc, stacks */
		case 56: case 57: case 58: case 435:                 /* fork holds malloc's locks */
		case 59: case 60: case 231: case 234:                /* exec, exit, setxid */
			return "in a system call that libc may make holding a lock";
		default:
			return NULL;
		}
	}
	snprintf(where, wlen, "user code");
	for (int i = 0; i < t->ntext; i++)
		if (r->rip >= t->text[i].lo && r->rip < t->text[i].hi)
			return "running libc or ld.so code";
	return NULL;
}

/* ---- the injection ---- */

static int rsys(struct xs_hijack *h, struct target *t, long nr, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, long *ret, struct xs_err *err)
{
	const uint64_t args[6] = { a0, a1, a2, a3, 0, 0 };
	return xs_hijack_syscall(h, t->fn[F_SYSCALL], nr, args, ret, err);
}

static int copy_agent(int pid, long fd, int src, struct xs_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", pid, fd);
	int dst = open(path, O_WRONLY | O_CLOEXEC);
	if (dst < 0)
		return xs_fail(err, -errno, "cannot open the target's memfd %s: %s", path,
			       strerror(errno));
	off_t off = 0;
	struct stat st;
	int rc = fstat(src, &st) < 0 ? -errno : 0;
	while (!rc && off < st.st_size) {
		ssize_t n = sendfile(dst, src, &off, (size_t)(st.st_size - off));
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
	}
	close(dst);
	return rc ? xs_fail(err, rc, "copying the agent into the target's memfd: %s",
			    strerror(-rc)) : 0;
}

/* Everything done on the hijacked thread; h is released by the caller. */
static int inject(struct xs_hijack *h, struct target *t, uint64_t *pages,
		  struct xs_err *err)
{
	long addr = 0, r;
	int rc = xs_hijack_save(h, err);
	if (rc)
		return rc;
	rc = rsys(h, t, SYS_mmap, 0, XS_BLOB_SIZE, PROT_READ | PROT_EXEC,
		  MAP_PRIVATE | MAP_ANONYMOUS, &addr, err);
	if (!rc && addr < 0 && addr > -4096)
		return xs_fail(err, (int)addr, "mmap in the target failed: %s (a seccomp filter "
			       "or MemoryDenyWriteExecute?)", strerror((int)-addr));
	if (rc)
		return rc;
	uint64_t data = (uint64_t)addr + XS_BLOB_PAGE;
	uint8_t d[XSD_SIZE] = { 0 };
	snprintf((char *)d + XSD_NAME, 32, "xsplice-attach");
	size_t code_len = (size_t)(xs_inject_blob_end - xs_inject_blob_start);
	if (!rc)
		rc = rsys(h, t, SYS_mprotect, data, XS_BLOB_PAGE, PROT_READ | PROT_WRITE, 0, &r, err);
	if (!rc && r < 0)
		rc = xs_fail(err, (int)r, "mprotect in the target failed: %s", strerror((int)-r));
	if (!rc && (mem_write(t, (uint64_t)addr, xs_inject_blob_start, code_len) ||
		    mem_write(t, data, d, sizeof(d))))
		rc = xs_fail(err, -EIO, "cannot write into the target's memory: %s",
			     strerror(errno));
	/* One memfd per object, made by the loader thread (so that neither
	 * its creation nor the copy is part of the pause), named so that
	 * /proc/PID/maps tells them apart: "xsplice-agent" (what the next
	 * attach looks for) and "xsplice-lib-SONAME" for a dependency. */
	int32_t nlib = (int32_t)t->nlib, failed = -1, naps = NAPS_MAX;
	memcpy(d + XSD_NLIB, &nlib, 4);
	memcpy(d + XSD_FAILED, &failed, 4);
	memcpy(d + XSD_NAPS_MAX, &naps, 4);
	const struct timespec nap = { 0, NAP_NS };
	memcpy(d + XSD_NAP, &nap, sizeof(nap));
	for (int i = 0; i < t->nlib; i++)
		snprintf((char *)d + XSD_LIBS + i * XSD_LIB_SIZE + XSD_LIB_NAME, 32,
			 i == t->nlib - 1 ? "xsplice-agent" : "xsplice-lib-%s", t->lib_name[i]);
	if (!rc) {
		const int slot[F_N] = { XSD_DLOPEN, XSD_DLERROR, XSD_CREATE, XSD_DETACH, XSD_SELF,
					XSD_ERRNO, -1 };
		for (int i = 0; i < F_N; i++)
			if (slot[i] >= 0)
				memcpy(d + slot[i], &t->fn[i], 8);
		if (mem_write(t, data, d, sizeof(d)))
			rc = xs_fail(err, -EIO, "cannot write into the target's memory: %s",
				     strerror(errno));
	}
	if (!rc)
		{
			/* On a loaded machine the thread may wait long for a core. */
			uint64_t now = xs_mono_ns();
			uint64_t left = t->deadline > now ? (t->deadline - now) / 1000000u : 0;
			rc = xs_hijack_run(h, (uint64_t)addr, left > RUN_MS ? (unsigned)left : RUN_MS,
					   err);
		}
	if (rc == -ETIMEDOUT)
		return xs_fail_prefix(err, rc, "pthread_create in the target did not return "
				      "(a lock held elsewhere?); the thread is left running it");
	int32_t crc = 0;
	if (!rc && mem_read(t, data + XSD_CREATE_RC, &crc, 4))
		rc = xs_fail(err, -EIO, "cannot read the target's memory");
	if (!rc && crc)
		rc = xs_fail(err, -crc, "pthread_create in the target failed: %s", strerror(crc));
	if (rc && h->seized && h->saved) {
		/* Undo: nothing of ours may stay but what is already running. */
		struct xs_err ignore;
		rsys(h, t, SYS_munmap, (uint64_t)addr, XS_BLOB_SIZE, 0, 0, &r, &ignore);
		return rc;
	}
	*pages = (uint64_t)addr;
	return rc;
}

static bool alive(int pid);

/*
 * Once the loader thread has made its memfds (READY), copy each object into
 * its memfd through /proc/PID/fd/N, write their /proc/self/fd/N paths and
 * say GO; on any failure say "give up" (GO = 2: the loader closes them).
 */
static int fill_memfds(struct target *t, uint64_t data, uint64_t deadline, struct xs_err *err)
{
	int32_t ready = 0;
	for (;;) {
		if (mem_read(t, data + XSD_READY, &ready, 4))
			return xs_fail(err, alive(t->pid) ? -EIO : -ESRCH, "cannot read the "
				       "target's memory");
		if (ready)
			break;
		if (xs_mono_ns() >= deadline)
			return xs_fail(err, -ETIMEDOUT, "the loader thread in process %d did not "
				       "start in time", t->pid);
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
	int rc = 0;
	for (int i = 0; !rc && i < t->nlib; i++) {
		uint64_t e = data + XSD_LIBS + (uint64_t)i * XSD_LIB_SIZE;
		int32_t fd;
		if (mem_read(t, e + XSD_LIB_FD, &fd, 4)) {
			rc = xs_fail(err, -EIO, "cannot read the target's memory");
			break;
		}
		if (fd < 0) {
			rc = xs_fail(err, fd, "memfd_create in the target failed: %s", strerror(-fd));
			break;
		}
		if ((rc = copy_agent(t->pid, fd, t->lib_fd[i], err))) {
			if (i < t->nlib - 1)
				xs_fail_prefix(err, rc, "%s", t->lib_name[i]);
			break;
		}
		char path[28];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (mem_write(t, e + XSD_LIB_PATH, path, sizeof(path)))
			rc = xs_fail(err, -EIO, "cannot write into the target's memory");
	}
	int32_t go = rc ? 2 : 1;
	if (mem_write(t, data + XSD_GO, &go, 4) && !rc)
		rc = xs_fail(err, -EIO, "cannot write into the target's memory");
	return rc;
}

static int list_tasks(int pid, int *tids, int max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		int tid = atoi(e->d_name);
		if (tid > 0)
			tids[n++] = tid;
	}
	closedir(d);
	/* The main thread first: it is the one most often waiting in a call. */
	for (int i = 1; i < n; i++)
		if (tids[i] == pid) {
			tids[i] = tids[0];
			tids[0] = pid;
		}
	return n;
}

static bool alive(int pid)
{
	char s = proc_state(pid);
	return s && s != 'Z' && s != 'X';
}

/* Is what we read before seizing (the executable, libc's place) still the
 * process's image? An exec in between (a shell's child becoming the
 * program) would make every address wrong. Checked with a thread stopped:
 * a stopped thread cannot exec. */
static bool same_image(const struct target *t)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	if (stat(path, &st) != 0 || st.st_dev != t->exe_dev || st.st_ino != t->exe_ino)
		return false;
	struct target now = { .pid = t->pid, .mem = -1 };
	return read_maps(&now, NULL) == 0 && now.libc_base == t->libc_base;
}

/* The seccomp mode of one thread (filters are per thread). */
static long task_seccomp(int pid, int tid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (read_text(path, buf, sizeof(buf)) < 0)
		return -1;
	char *p = strstr(buf, "\nSeccomp:");
	return p ? strtol(p + 9, NULL, 10) : -1;
}

/* Stop threads one after the other until one is at a safe point, and do
 * the injection there. */
static int hijack_one(struct target *t, struct xs_attach_result *res,
		      struct xs_err *err)
{
	int tids[256];
	uint64_t deadline = xs_mono_ns() + (uint64_t)PROBE_MS * 1000000u;
	const char *why = "no thread";
	for (unsigned round = 0;; round++) {
		int n = list_tasks(t->pid, tids, 256);
		if (n <= 0)
			return xs_fail(err, -ESRCH, "process %d exited during the attach", t->pid);
		for (int i = 0; i < n; i++) {
			struct xs_hijack h;
			int rc = xs_hijack_seize(&h, t->pid, tids[i], STOP_MS, err);
			if (rc == -ESRCH && alive(t->pid))
				continue; /* that thread ended */
			/* (the kernel refuses to attach to an exiting task with EPERM) */
			if ((rc == -EPERM || rc == -EACCES) && process_exiting(t->pid, 50))
				return xs_fail(err, -ESRCH, "process %d exited during the attach",
					       t->pid);
			if (rc == -EPERM || rc == -EACCES)
				return explain_denied(t->pid, rc, "PTRACE_SEIZE", err);
			if (rc) {
				xs_hijack_release(&h, NULL);
				return rc;
			}
			struct user_regs_struct regs;
			if (ptrace(PTRACE_GETREGS, h.tid, NULL, &regs) < 0) {
				rc = -errno;
				xs_hijack_release(&h, NULL);
				if (!alive(t->pid))
					return xs_fail(err, -ESRCH, "process %d exited during the "
						       "attach", t->pid);
				continue;
			}
			why = unsafe_reason(&regs, t, res->where, sizeof(res->where));
			if (why) {
				xs_hijack_release(&h, NULL);
				res->probes++;
				res->probe_ns += h.t_release - h.t_interrupt;
				continue;
			}
			if (!same_image(t)) {
				xs_hijack_release(&h, NULL);
				return xs_fail(err, -EXDEV, "process %d started another program "
					       "(exec) during the attach", t->pid);
			}
			res->tid = h.tid;
			rc = task_seccomp(t->pid, h.tid) == 2
				     ? xs_seccomp_check(h.tid, t->fn[F_SYSCALL], err) : 0;
			if (!rc)
				rc = inject(&h, t, &res->scratch, err);
			struct xs_err rerr = { "" };
			int rrc = xs_hijack_release(&h, &rerr);
			res->pause_ns = h.t_release - h.t_interrupt;
			if (!rc && rrc)
				rc = xs_fail(err, rrc, "%s", rerr.msg);
			return rc;
		}
		if (xs_mono_ns() >= deadline)
			return xs_fail(err, -EBUSY, "no thread of process %d was at a safe point "
				       "within %u ms (%u tries; last: %s, %s): try again", t->pid,
				       PROBE_MS, res->probes, res->where, why ? why : "?");
		/* Let the threads run a little before the next round. */
		struct timespec ts = { 0, 200000 + (long)(round % 8) * 50000 };
		nanosleep(&ts, NULL);
	}
}

static int attach(int pid, const char *agent_path, unsigned timeout_ms,
		  struct xs_attach_result *res, struct xs_err *err)
{
	uint64_t t0 = xs_mono_ns();
	uint64_t deadline = t0 + (uint64_t)(timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS) * 1000000u;
	if (pid <= 0)
		return xs_fail(err, -EINVAL, "%d is not a process id", pid);
	if (pid == getpid())
		return xs_fail(err, -EINVAL, "process %d is this xsplice command itself", pid);
	char state = proc_state(pid);
	if (!state)
		return xs_fail(err, -ESRCH, "no process %d", pid);
	if (is_kernel_thread(pid))
		return xs_fail(err, -EINVAL, "process %d is a kernel thread: there is no user "
			       "space to attach to", pid);
	if (pid == 1)
		return xs_fail(err, -ENOTSUP, "process 1 is init: a failure there would bring the "
			       "whole system (or container) down, so attach refuses it; start "
			       "it with the agent (LD_PRELOAD) instead");
	if (state == 'Z' || state == 'X')
		return xs_fail(err, -ESRCH, "process %d is exiting (state %c)", pid, state);
	struct xs_ctl *ctl = NULL;
	if (xs_ctl_connect_pid(pid, &ctl, NULL) == 0) {
		xs_ctl_close(ctl);
		res->already = true;
		return 0;
	}
	if (state == 'T')
		return xs_fail(err, -EAGAIN, "process %d is stopped (SIGSTOP or job control): "
			       "left stopped; resume it (kill -CONT %d) and attach again", pid, pid);
	if (state == 't' || status_field(pid, "TracerPid") > 0)
		return explain_denied(pid, -EBUSY, "attach", err);

	struct target t = { .pid = pid, .mem = -1 };
	int rc = read_maps(&t, err);
	if (rc)
		return rc;
	if ((rc = check_exe(pid, &t.dynamic, &t.exe_dev, &t.exe_ino, err)))
		return rc;
	/* A dynamic executable whose loader has not mapped libc yet is
	 * starting: wait for it (bounded), it is not "static". */
	for (unsigned i = 0; !t.libc_base && t.dynamic && !t.agent_mapped && i < 200; i++) {
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
		t = (struct target){ .pid = pid, .mem = -1, .dynamic = true, .exe_dev = t.exe_dev,
				     .exe_ino = t.exe_ino };
		if ((rc = read_maps(&t, err)))
			return rc;
	}
	if (t.agent_mapped)
		return xs_fail(err, -EEXIST, "process %d has the agent loaded but it does not "
			       "answer (disabled with XSPLICE_DISABLE, or it could not start: see "
			       "the program's stderr)", pid);
	if (!t.libc_base && t.dynamic)
		return xs_fail(err, -ENOEXEC, "process %d maps no libc.so.6 (not glibc, or still "
			       "starting after 1 s); attach needs glibc 2.34 or later", pid);
	if (!t.libc_base)
		return xs_fail(err, -ENOEXEC, "process %d maps no libc.so.6: statically linked "
			       "(no dynamic loader to load the agent with); start the program "
			       "with the agent instead, if it can load one", pid);
	long seccomp = status_field(pid, "Seccomp");
	if (seccomp == 1)
		return xs_fail(err, -ENOTSUP, "process %d runs in strict seccomp mode: it may not "
			       "make the system calls the attach needs", pid);
	int scope = yama_scope();
	if (scope == 3 || (scope == 2 && geteuid() != 0))
		return explain_denied(pid, -EPERM, "attach", err);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	t.mem = open(path, O_RDWR | O_CLOEXEC);
	if (t.mem < 0)
		return errno == ENOENT ? xs_fail(err, -ESRCH, "process %d exited during the attach",
						 pid)
				       : explain_denied(pid, -errno, "opening the memory", err);
	char agent[PATH_MAX];
	if (!agent_path) {
		if ((rc = xs_attach_agent_path(agent, sizeof(agent), err)))
			goto out;
		agent_path = agent;
	}
	if ((rc = carry_list(&t, agent_path, err)))
		goto out_agent;
	if ((rc = find_libc_functions(&t, err)))
		goto out_agent;

	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	t.deadline = deadline;
	rc = hijack_one(&t, res, err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc)
		goto out_agent;

	/* The loader thread runs on its own now: fill its memfds, say GO. */
	uint64_t data = res->scratch + XS_BLOB_PAGE;
	if ((rc = fill_memfds(&t, data, deadline, err)))
		goto out_agent;
	/* dlopen returns when the agent's constructor has started the agent. */
	for (;;) {
		int32_t done = 0;
		if (mem_read(&t, data + XSD_DONE, &done, 4)) {
			rc = alive(pid) ? xs_fail(err, -EIO, "cannot read the target's memory")
					: xs_fail(err, -ESRCH, "process %d exited during the attach",
						  pid);
			goto out_agent;
		}
		if (done)
			break;
		if (xs_mono_ns() >= deadline) {
			rc = xs_fail(err, -ETIMEDOUT, "the agent's dlopen in process %d did not "
				     "return in time (its constructor blocked?)", pid);
			goto out_agent;
		}
		struct timespec ts = { 0, 500000 };
		nanosleep(&ts, NULL);
	}
	uint64_t handle = 0;
	mem_read(&t, data + XSD_HANDLE, &handle, 8);
	if (!handle) {
		char msg[XSD_ERRMSG_MAX] = "";
		int32_t failed = -1;
		mem_read(&t, data + XSD_ERRMSG, msg, sizeof(msg));
		mem_read(&t, data + XSD_FAILED, &failed, 4);
		msg[sizeof(msg) - 1] = '\0';
		rc = xs_fail(err, -ENOEXEC, "dlopen of %s in process %d failed: %s",
			     failed >= 0 && failed < t.nlib - 1 ? t.lib_name[failed] : "the agent",
			     pid, msg[0] ? msg : "(no reason given)");
		goto out_agent;
	}
	for (;;) {
		struct xs_err cerr = { "" };
		if (xs_ctl_connect_pid(pid, &ctl, &cerr) == 0) {
			xs_ctl_close(ctl);
			break;
		}
		if (!alive(pid)) {
			rc = xs_fail(err, -ESRCH, "process %d exited during the attach", pid);
			goto out_agent;
		}
		if (xs_mono_ns() >= deadline) {
			rc = xs_fail(err, -ETIMEDOUT, "the agent was loaded into process %d but does "
				     "not answer (%s); see the program's stderr", pid, cerr.msg);
			goto out_agent;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	res->total_ns = xs_mono_ns() - t0;
out_agent:
	for (int i = 0; i < t.nlib; i++)
		close(t.lib_fd[i]);
out:
	close(t.mem);
	return rc;
}

int xs_attach(int pid, const char *agent_path, unsigned timeout_ms,
	      struct xs_attach_result *res, struct xs_err *err)
{
	memset(res, 0, sizeof(*res));
	struct xs_err e = { "" };
	int rc = attach(pid, agent_path, timeout_ms, res, &e);
	/* An exec during the attach: everything read is stale; once more, with
	 * the new program (its /proc/PID/mem too). */
	for (int i = 0; rc == -EXDEV && i < 3; i++) {
		memset(res, 0, sizeof(*res));
		rc = attach(pid, agent_path, timeout_ms, res, &e);
	}
	if (rc == -EXDEV)
		rc = -EAGAIN;
	/* Whatever step failed (no libc in the maps, a vanished file, a
	 * thread killed under us): if the process is on its way out, that is
	 * the reason to give. */
	/* (a refusal is looked at once; a failure that an exit can cause, for
	 * up to 250 ms) */
	bool refusal = rc == -EPERM || rc == -EACCES || rc == -ENOTSUP || rc == -EINVAL ||
		       rc == -EAGAIN || rc == -EEXIST || rc == -EBUSY;
	if (rc && !strstr(e.msg, "exited during the attach") && pid > 0 && pid != getpid() &&
	    process_exiting(pid, refusal ? 1 : 50))
		return xs_fail(err, -ESRCH, "process %d exited during the attach (%s)", pid, e.msg);
	if (rc)
		return xs_fail(err, rc, "%s", e.msg);
	return 0;
}

int xs_attach_agent_path(char *buf, size_t len, struct xs_err *err)
{
	const char *env = getenv("XSPLICE_AGENT");
	if (env && *env) {
		if (snprintf(buf, len, "%s", env) >= (int)len)
			return xs_fail(err, -ENAMETOOLONG, "XSPLICE_AGENT is too long");
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		static const char *const rel[] = { "../agent/libxsplice.so", "../lib/libxsplice.so",
						   "../lib64/libxsplice.so" };
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(buf, len, "%s/%s", exe, rel[i]);
			if (access(buf, R_OK) == 0)
				return 0;
		}
	}
	return xs_fail(err, -ENOENT, "cannot find libxsplice.so next to the xsplice command; "
		       "set XSPLICE_AGENT to its path");
}
