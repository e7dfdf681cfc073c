/* SPDX-License-Identifier: MIT */
/*
 * The processes of the host for `xsplice ps` and `--all` (docs/cli.md
 * "Every process on the host", docs/decisions.md "issue 9: fleet"):
 * /proc/PID/stat for the command, state, parent and start time, the maps
 * for the objects mapped, /proc/PID/map_files/LO-HI to read an object's
 * build-id. map_files is the object the process really maps, whatever its
 * mount namespace and even when the file was deleted or replaced on disk
 * (it needs CAP_SYS_ADMIN; without it /proc/PID/root/PATH, then PATH).
 *
 * A host runs hundreds of processes mapping the same few dozen files: the
 * build-id of each (device, inode) is read once per scan.
 *
 * Threading: no global state; one scan at a time per caller.
 */
#include "cli/procscan.h"

#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/elfnote.h"
#include "ctl/xsplice-ctl.h"

#define PF_KTHREAD_FLAG 0x00200000u /* include/linux/sched.h PF_KTHREAD */

/* ---- small /proc readers ---- */

/* Read a whole /proc file into a malloc'ed NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len_out, int *rc_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*rc_out = -errno;
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			close(fd);
			*rc_out = -ENOMEM;
			return NULL;
		}
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + len, cap - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			*rc_out = -errno;
			free(buf);
			close(fd);
			return NULL;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	*rc_out = 0;
	return buf;
}

/* The fields of /proc/PID/stat we use; -ESRCH when the process is gone. */
static int read_stat(int pid, struct xs_proc *p)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return -ESRCH;
	buf[k] = '\0';
	/* "pid (comm) state ppid ...": comm may hold ')' and spaces. */
	char *open_p = strchr(buf, '('), *close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -ESRCH;
	size_t cl = (size_t)(close_p - open_p - 1);
	if (cl >= sizeof(p->comm))
		cl = sizeof(p->comm) - 1;
	memcpy(p->comm, open_p + 1, cl);
	p->comm[cl] = '\0';
	char *s = close_p + 2, *tok, *save = NULL;
	int i = 0;
	for (tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++) {
		if (i == 0)
			p->state = tok[0];
		else if (i == 1)
			p->ppid = atoi(tok);
		else if (i == 6)
			p->flags = (unsigned)strtoul(tok, NULL, 10);
		else if (i == 19) {
			p->start = strtoull(tok, NULL, 10);
			break;
		}
	}
	p->pid = pid;
	return i == 19 ? 0 : -ESRCH;
}

/* Uid and TracerPid from /proc/PID/status. */
static void read_status(int pid, uid_t *uid, int *tracer)
{
	char path[64];
	int rc;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	char *s = slurp(path, NULL, &rc);
	*uid = (uid_t)-1;
	*tracer = 0;
	if (!s)
		return;
	char *l = strstr(s, "\nUid:");
	if (l)
		*uid = (uid_t)strtoul(l + 5, NULL, 10);
	l = strstr(s, "\nTracerPid:");
	if (l)
		*tracer = atoi(l + 11);
	free(s);
}

/* ---- the build-id cache: (device, inode) -> maps the id or not ---- */

struct bid_slot {
	unsigned long dev, ino; /* ino 0: empty slot */
	signed char verdict;    /* 1 the id, 0 another or none */
};

struct bid_cache {
	struct bid_slot *slot;
	size_t cap; /* a power of two */
	size_t used;
};

static struct bid_slot *cache_find(struct bid_cache *c, unsigned long dev, unsigned long ino)
{
	size_t h = (size_t)((dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xc2b2ae3d27d4eb4full));
	for (size_t i = 0;; i++) {
		struct bid_slot *s = &c->slot[(h + i) & (c->cap - 1)];
		if (!s->ino || (s->dev == dev && s->ino == ino))
			return s;
	}
}

static int cache_grow(struct bid_cache *c)
{
	struct bid_cache n = { calloc(c->cap * 2, sizeof(struct bid_slot)), c->cap * 2, 0 };
	if (!n.slot)
		return -ENOMEM;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slot[i].ino) {
			*cache_find(&n, c->slot[i].dev, c->slot[i].ino) = c->slot[i];
			n.used++;
		}
	free(c->slot);
	*c = n;
	return 0;
}

/* Does the file behind this mapping carry the build-id? */
static bool object_has_id(int pid, unsigned long lo, unsigned long hi, const char *path,
			  const struct xs_scan_opts *o)
{
	uint8_t id[XS_BUILD_ID_MAX];
	size_t n = 0;
	char p[PATH_MAX + 64];
	struct xs_err e;

	snprintf(p, sizeof(p), "/proc/%d/map_files/%lx-%lx", pid, lo, hi);
	int rc = xs_file_build_id(p, id, sizeof(id), &n, &e);
	if ((rc == -EPERM || rc == -EACCES) && path[0] == '/') {
		snprintf(p, sizeof(p), "/proc/%d/root%s", pid, path);
		rc = xs_file_build_id(p, id, sizeof(id), &n, &e);
		if (rc == -EPERM || rc == -EACCES || rc == -ENOENT)
			rc = xs_file_build_id(path, id, sizeof(id), &n, &e);
	}
	return !rc && n == o->build_id_len && !memcmp(id, o->build_id, n);
}

static bool base_is(const char *path, const char *prefix)
{
	const char *b = strrchr(path, '/');
	return !strncmp(b ? b + 1 : path, prefix, strlen(prefix));
}

struct maps_facts {
	bool agent, libc, match;
	char object[256];
};

/* Walk the maps: the agent, libc, and (with a build-id) the object. */
static int read_maps(struct xs_proc *p, const struct xs_scan_opts *o, struct bid_cache *cache,
		     struct maps_facts *f)
{
	char path[64];
	int rc;
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	char *m = slurp(path, NULL, &rc);
	memset(f, 0, sizeof(*f));
	if (!m)
		return rc == -ENOENT ? -ESRCH : rc;
	for (char *line = m, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		unsigned long lo, hi, off, ino;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &lo, &hi, perms, &off, &maj, &min,
			   &ino, &pos) < 7 || !pos)
			continue;
		const char *file = line + pos;
		if (strstr(file, "libxsplice.so") || strstr(file, "memfd:xsplice-agent"))
			f->agent = true;
		if (file[0] == '/' && (base_is(file, "libc.so.6") || base_is(file, "libc-2.")))
			f->libc = true;
		/* Each ELF object's first mapping is at offset 0. */
		if (!o->build_id || f->match || !ino || off != 0)
			continue;
		unsigned long dev = ((unsigned long)maj << 20) | min;
		struct bid_slot *s = cache_find(cache, dev, ino);
		if (!s->ino) {
			s->dev = dev;
			s->ino = ino;
			s->verdict = object_has_id(p->pid, lo, hi, file, o);
			if (++cache->used * 2 > cache->cap && cache_grow(cache)) {
				free(m);
				return -ENOMEM;
			}
			s = cache_find(cache, dev, ino);
		}
		if (s->verdict == 1) {
			f->match = true;
			snprintf(f->object, sizeof(f->object), "%s", file);
		}
	}
	free(m);
	return 0;
}

/*
 * What the executable is: e_machine and class (0 when it cannot be read),
 * and whether it has a PT_INTERP (dynamically linked). Read from
 * /proc/PID/exe, not guessed from the maps: a process still starting has
 * not mapped its libraries yet.
 */
static unsigned exe_kind(int pid, unsigned char *class, bool *dynamic)
{
	char path[64];
	Elf64_Ehdr eh;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	*dynamic = true; /* unknown: let the attach decide */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t k = pread(fd, &eh, sizeof(eh), 0);
	if (k < 20 || memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		close(fd);
		return 0;
	}
	*class = eh.e_ident[EI_CLASS];
	unsigned mach = eh.e_machine;
	if (k == (ssize_t)sizeof(eh) && *class == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
	    eh.e_phnum > 0 && eh.e_phnum < 256) {
		Elf64_Phdr ph[256];
		size_t want = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
		if (pread(fd, ph, want, (off_t)eh.e_phoff) == (ssize_t)want) {
			*dynamic = false;
			for (unsigned i = 0; i < eh.e_phnum; i++)
				if (ph[i].p_type == PT_INTERP)
					*dynamic = true;
		}
	}
	close(fd);
	return mach;
}

/* Why p cannot be patched ("" when it can), from what the scan saw. */
static void classify(struct xs_proc *p, int maps_rc, const struct maps_facts *f)
{
	int tracer;
	uid_t me = geteuid();

	p->reason[0] = '\0';
	if (p->flags & PF_KTHREAD_FLAG) {
		p->kthread = true;
		snprintf(p->reason, sizeof(p->reason), "kernel thread");
		return;
	}
	if (p->state == 'Z' || p->state == 'X') {
		snprintf(p->reason, sizeof(p->reason), "zombie: it has exited and waits for its "
			 "parent to reap it");
		return;
	}
	read_status(p->pid, &p->uid, &tracer);
	if (me != 0 && p->uid != me) {
		snprintf(p->reason, sizeof(p->reason), "another user's (uid %u): run as root",
			 (unsigned)p->uid);
		return;
	}
	if (maps_rc) {
		snprintf(p->reason, sizeof(p->reason), "cannot read its maps: %s",
			 strerror(-maps_rc));
		return;
	}
	if (p->state == 'T' || p->state == 't') {
		snprintf(p->reason, sizeof(p->reason), p->state == 'T'
			 ? "stopped by a signal (state T): continue it (SIGCONT) first"
			 : "stopped by a debugger (state t)");
		return;
	}
	if (f->agent)
		return;
	unsigned char cls = 0;
	bool dynamic;
	unsigned mach = exe_kind(p->pid, &cls, &dynamic);
	if (mach && (mach != EM_X86_64 || cls != ELFCLASS64)) {
		snprintf(p->reason, sizeof(p->reason), "not an x86-64 program (ELF machine %u, "
			 "class %u)", mach, cls);
		return;
	}
	if (!dynamic || (!mach && !f->libc)) {
		snprintf(p->reason, sizeof(p->reason), "statically linked (%s): the agent cannot be "
			 "loaded", dynamic ? "no libc.so.6 mapped" : "no program interpreter");
		return;
	}
	if (tracer) {
		snprintf(p->reason, sizeof(p->reason), "traced by process %d (a debugger?): "
			 "attach needs ptrace", tracer);
		return;
	}
}

/* ---- the scan ---- */

static int by_pid(const void *a, const void *b)
{
	const struct xs_proc *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static const struct xs_proc *find_pid(const struct xs_proc *v, size_t n, int pid)
{
	struct xs_proc key = { .pid = pid };
	return bsearch(&key, v, n, sizeof(*v), by_pid);
}

static bool in_tree(const struct xs_proc *all, size_t n, const struct xs_proc *p, int root)
{
	for (int depth = 0; p && depth < 4096; depth++) {
		if (p->pid == root)
			return true;
		if (p->ppid <= 0 || p->ppid == p->pid)
			return false;
		p = find_pid(all, n, p->ppid);
	}
	return false;
}

int xs_proc_scan(const struct xs_scan_opts *o, struct xs_proc **out, size_t *nout,
		 struct xs_err *err)
{
	DIR *d = opendir("/proc");
	struct xs_proc *all = NULL;
	size_t n = 0, cap = 0;
	int self = getpid();

	*out = NULL;
	*nout = 0;
	if (!d)
		return xs_fail(err, -errno, "cannot read /proc: %s", strerror(errno));
	/* Pass 1: every process's stat (the tree filter needs all parents). */
	for (struct dirent *e; (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid == self)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 512;
			struct xs_proc *na = realloc(all, nc * sizeof(*all));
			if (!na) {
				closedir(d);
				free(all);
				return xs_fail(err, -ENOMEM, "out of memory");
			}
			all = na;
			cap = nc;
		}
		memset(&all[n], 0, sizeof(all[n]));
		if (read_stat(pid, &all[n]) == 0)
			n++;
	}
	closedir(d);
	qsort(all, n, sizeof(*all), by_pid);

	struct bid_cache cache = { calloc(256, sizeof(struct bid_slot)), 256, 0 };
	struct xs_proc *res = malloc((n ? n : 1) * sizeof(*res));
	size_t k = 0;
	int rc = 0;
	if (!cache.slot || !res) {
		rc = xs_fail(err, -ENOMEM, "out of memory");
		goto done;
	}
	/* Pass 2: the filters, then the maps and the verdict. */
	for (size_t i = 0; i < n; i++) {
		struct xs_proc *p = &all[i];
		if (o->tree > 0 && !in_tree(all, n, p, o->tree))
			continue;
		if (o->comm && strcmp(o->comm, p->comm))
			continue;
		struct maps_facts f = { 0 };
		int mrc = 0;
		bool kthread = p->flags & PF_KTHREAD_FLAG;
		if (!kthread && p->state != 'Z' && p->state != 'X') {
			mrc = read_maps(p, o, &cache, &f);
			if (mrc == -ESRCH)
				continue; /* exited meanwhile */
			if (mrc == -ENOMEM) {
				rc = xs_fail(err, mrc, "out of memory");
				goto done;
			}
		}
		if (o->build_id && !f.match)
			continue;
		if (!o->build_id && o->agents_only && !f.agent)
			continue;
		p->agent = f.agent;
		p->match = f.match;
		snprintf(p->object, sizeof(p->object), "%s", f.object);
		classify(p, mrc, &f);
		res[k++] = *p;
	}
done:
	free(cache.slot);
	free(all);
	if (rc) {
		free(res);
		return rc;
	}
	*out = res;
	*nout = k;
	return 0;
}

/* The pid a socket name stands for: "<dir>/<pid>.sock", "@xsplice-<pid>[.n]". */
static int sock_pid(const char *p)
{
	const char *s;
	char *end;
	if (p[0] == '@') {
		if (strncmp(p, "@xsplice-", 9))
			return 0;
		s = p + 9;
	} else {
		s = strrchr(p, '/');
		if (!s)
			return 0;
		s++;
	}
	if (!isdigit((unsigned char)*s))
		return 0;
	long v = strtol(s, &end, 10);
	if (p[0] == '@' ? (*end && *end != '.') : strcmp(end, ".sock"))
		return 0;
	return v > 0 && v <= INT32_MAX ? (int)v : 0;
}

void xs_proc_agent_sockets(struct xs_proc *v, size_t n)
{
	int rc;
	char *m = slurp("/proc/self/net/unix", NULL, &rc);
	if (!m)
		return;
	for (char *line = m, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		unsigned long flags, type, st, ino;
		int off = 0;
		/* "Num RefCount Protocol Flags Type St Inode Path" */
		if (sscanf(line, "%*s %*s %*s %lx %lx %lx %lu %n", &flags, &type, &st, &ino,
			   &off) < 4 || !off)
			continue;
		/* __SO_ACCEPTCON (listening), SOCK_STREAM */
		if (!(flags & 0x10000) || type != 1)
			continue;
		const char *path = line + off;
		int pid = sock_pid(path);
		struct xs_proc *p = pid ? (struct xs_proc *)find_pid(v, n, pid) : NULL;
		if (p && strlen(path) < sizeof(p->sock))
			snprintf(p->sock, sizeof(p->sock), "%s", path);
	}
	free(m);
}

int xs_proc_connect(const struct xs_proc *p, bool scan, struct xs_ctl **ctl,
		    struct xs_err *err)
{
	int rc = -ENOENT;
	if (p->sock[0])
		rc = xs_ctl_connect_pid_at(p->pid, p->sock, ctl, err);
	if (rc && scan) {
		err->msg[0] = '\0';
		rc = xs_ctl_connect_pid(p->pid, ctl, err);
	}
	return rc;
}

bool xs_proc_alive(const struct xs_proc *p)
{
	struct xs_proc now = { 0 };
	if (read_stat(p->pid, &now))
		return false;
	return now.start == p->start && now.state != 'Z' && now.state != 'X';
}
