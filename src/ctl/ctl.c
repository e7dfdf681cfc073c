/* SPDX-License-Identifier: MIT */
/*
 * libxsplice-ctl: the client side of the control protocol (the libxc
 * xc_livepatch_* of xsplice): find a process's agent socket, connect, and
 * turn each call into one request and its one reply, in lock step
 * (docs/protocol.md).
 *
 * Threading: one connection per handle and no lock in it. A handle must be
 * used by one thread at a time (a caller that shares it between threads
 * serialises the calls with its own lock), or a second thread's request
 * would read the first one's reply. Separate handles are independent and
 * may be used in parallel: the library has no global state. It never
 * raises SIGPIPE (writes use MSG_NOSIGNAL). The calls block: every reply
 * is bounded by the handle's I/O timeout, xs_ctl_wait by its wait_ms.
 */
#include "ctl/xsplice-ctl.h"

#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/socket_path.h"

#define DEFAULT_IO_TIMEOUT_MS 10000u
/* xs_ctl_wait polls GET after 100 us, then backs off (x2) to 10 ms: an
 * action usually ends within a millisecond, a long one costs one GET per
 * 10 ms (docs/performance.md, "The whole command"). */
#define WAIT_POLL_FIRST_US 100
#define WAIT_POLL_MAX_US 10000
/* Pages of LIST restarted at most this often when the set keeps changing. */
#define LIST_RESTARTS 100

struct xs_ctl {
	int fd;
	int pid; /* 0 when connected by path */
	struct ucred peer; /* the agent's SO_PEERCRED at connect */
	unsigned io_timeout_ms;
	char path[XS_PATH_SIZE];
};

/* ---- finding the socket of a process ---- */

static bool proc_exists(int pid)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d", pid);
	return access(p, F_OK) == 0;
}

/* The pid in a socket's name "<pid>.sock" or "<pid>.<n>.sock" (the agent
 * picks the second when a live socket of another process holds the first);
 * 0 when the name is neither. */
static int sock_name_pid(const char *name)
{
	int pid = 0, n = 0, k = 0;
	if (sscanf(name, "%d.sock%n", &pid, &n) == 1 && n > 0 && !name[n])
		return pid > 0 ? pid : 0;
	n = 0;
	if (sscanf(name, "%d.%d.sock%n", &pid, &k, &n) == 2 && n > 0 && !name[n])
		return pid > 0 ? pid : 0;
	return 0;
}

/* Does s end in "/<pid>.sock" or "/<pid>.<n>.sock"? */
static bool path_is_for_pid(const char *s, int pid)
{
	const char *base = strrchr(s, '/');
	return base && sock_name_pid(base + 1) == pid;
}

/* Dead for certain: kill(pid, 0) says no such process. */
static bool pid_dead(int pid)
{
	return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

/*
 * The peer behind a connected socket must be the process asked for (pid,
 * when not 0) and run as root or as the target's user: a socket file may
 * be someone else's (a recycled pid, another pid namespace sharing the
 * directory, a planted file).
 */
static int check_peer(int fd, int pid, const char *path, struct ucred *credp, struct xs_err *err)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return xs_fail(err, -errno, "cannot read the credentials of the agent at %s: %s",
			       path, strerror(errno));
	if (pid > 0 && cred.pid != pid)
		return xs_fail(err, -ESRCH, "the socket %s is served by process %d, not by process "
			       "%d: refusing to talk to it (a recycled pid or another pid "
			       "namespace's socket; the agent of %d is not reachable there)",
			       path, (int)cred.pid, pid, pid);
	uid_t want = geteuid();
	if (pid > 0) {
		char p[64];
		struct stat st;
		snprintf(p, sizeof(p), "/proc/%d", pid);
		if (stat(p, &st) == 0)
			want = st.st_uid;
	}
	if (cred.uid != 0 && cred.uid != want && cred.uid != geteuid())
		return xs_fail(err, -EPERM, "the agent at %s runs as uid %u, neither root nor the "
			       "target's uid %u: refusing to talk to it", path,
			       (unsigned)cred.uid, (unsigned)want);
	*credp = cred;
	return 0;
}

int xs_ctl_remove_if_stale(const char *path, int pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = rc < 0 ? errno : 0;
	close(fd);
	/* Only a socket nobody listens on, of a process that is gone. */
	if (rc == 0 || e != ECONNREFUSED)
		return -EADDRINUSE;
	if (!pid_dead(pid))
		return -EBUSY;
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -ENOENT;
	return unlink(path) < 0 ? -errno : 0;
}

int xs_ctl_scan(const char *dir, void (*found)(int pid, const char *path, void *arg), void *arg,
		unsigned *removed, struct xs_err *err)
{
	char dbuf[XS_PATH_SIZE];
	int rc;
	if (!dir) {
		if ((rc = xs_socket_dir(dbuf, sizeof(dbuf), err)))
			return rc;
		dir = dbuf;
	}
	if (removed)
		*removed = 0;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0; /* no agent ever ran here */
		return xs_fail(err, -errno, "cannot read the socket directory %s: %s", dir,
			       strerror(errno));
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = sock_name_pid(de->d_name);
		char path[XS_PATH_SIZE];
		if (!pid || snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		struct stat st;
		if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		if (xs_ctl_remove_if_stale(path, pid) == 0) {
			if (removed)
				(*removed)++;
			continue;
		}
		if (found && !pid_dead(pid))
			found(pid, path, arg);
	}
	closedir(d);
	return 0;
}

/*
 * The socket inodes among /proc/PID/fd. Returns how many (up to max), or
 * -errno when the directory cannot be read (not ours, process gone).
 */
static int pid_socket_inodes(int pid, unsigned long *inodes, int max)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		char link[PATH_MAX], target[64];
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		ssize_t k = readlink(link, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = '\0';
		unsigned long ino;
		if (sscanf(target, "socket:[%lu]", &ino) == 1)
			inodes[n++] = ino;
	}
	closedir(d);
	return n;
}

/*
 * Look in the target's /proc/PID/net/unix (its network namespace) for a
 * listening socket, owned by one of its fds, bound to ".../PID.sock".
 */
/* "@xsplice-PID" or "@xsplice-PID.N": the agent's abstract socket, used
 * when the process could not create one in the socket directory (it
 * dropped root before it forked: docs/decisions.md). */
static bool abstract_is_for_pid(const char *p, int pid)
{
	char want[32];
	int k = xs_socket_abstract_name(pid, 0, want, sizeof(want));
	return strncmp(p, want, (size_t)k) == 0 && (p[k] == '\0' || p[k] == '.');
}

static int find_socket_by_proc(int pid, char *out, size_t out_len)
{
	unsigned long inodes[1024];
	int n = pid_socket_inodes(pid, inodes, 1024);
	if (n <= 0)
		return n ? n : -ENOENT;

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/unix", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		f = fopen("/proc/net/unix", "re");
	if (!f)
		return -errno;
	char line[4096];
	int rc = -ENOENT;
	/* "Num RefCount Protocol Flags Type St Inode Path" */
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags, type, st, ino;
		int off = 0;
		if (sscanf(line, "%*s %*s %*s %lx %lx %lx %lu %n", &flags, &type, &st, &ino,
			   &off) < 4 || off == 0)
			continue;
		/* __SO_ACCEPTCON (listening), SOCK_STREAM */
		if (!(flags & 0x10000) || type != SOCK_STREAM)
			continue;
		char *p = line + off;
		p[strcspn(p, "\n")] = '\0';
		if (!(p[0] == '/' && path_is_for_pid(p, pid)) && !abstract_is_for_pid(p, pid))
			continue;
		bool ours = false;
		for (int i = 0; i < n && !ours; i++)
			ours = inodes[i] == ino;
		if (!ours || strlen(p) >= out_len)
			continue;
		strcpy(out, p);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

/* "@name" is the abstract socket "\0name" (as /proc/net/unix shows it). */
static int do_connect(const char *path, int *fdp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	socklen_t salen = sizeof(sa);
	if (path[0] == '@') {
		memcpy(sa.sun_path + 1, path + 1, n - 1);
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		strcpy(sa.sun_path, path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return -e;
	}
	*fdp = fd;
	return 0;
}

static int ctl_new(int fd, int pid, const struct ucred *peer, const char *path,
		   struct xs_ctl **out, struct xs_err *err)
{
	struct xs_ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return xs_fail(err, -ENOMEM, "out of memory");
	}
	c->fd = fd;
	c->pid = pid;
	c->peer = *peer;
	snprintf(c->path, sizeof(c->path), "%s", path);
	xs_ctl_set_io_timeout(c, DEFAULT_IO_TIMEOUT_MS);
	*out = c;
	return 0;
}

int xs_ctl_connect_path(const char *path, struct xs_ctl **out, struct xs_err *err)
{
	int fd, rc;
	struct ucred peer;

	*out = NULL;
	rc = do_connect(path, &fd);
	if (rc == -ENOENT)
		return xs_fail(err, rc, "no agent socket at %s", path);
	if (rc == -ECONNREFUSED)
		return xs_fail(err, rc, "nothing listens on %s (a stale socket?)", path);
	if (rc == -EACCES || rc == -EPERM)
		return xs_fail(err, rc, "permission denied connecting to %s: run as root or "
			       "as the target's user", path);
	if (rc)
		return xs_fail(err, rc, "connect to %s: %s", path, strerror(-rc));
	if ((rc = check_peer(fd, 0, path, &peer, err))) {
		close(fd);
		return rc;
	}
	return ctl_new(fd, 0, &peer, path, out, err);
}

int xs_ctl_connect_pid_at(int pid, const char *path, struct xs_ctl **out, struct xs_err *err)
{
	int fd, rc;
	struct ucred peer;

	*out = NULL;
	if (pid <= 0)
		return xs_fail(err, -ESRCH, "invalid process id %d", pid);
	rc = do_connect(path, &fd);
	if (rc)
		return xs_fail(err, rc, "connect to %s: %s", path, strerror(-rc));
	if ((rc = check_peer(fd, pid, path, &peer, err))) {
		close(fd);
		return rc;
	}
	return ctl_new(fd, pid, &peer, path, out, err);
}

int xs_ctl_connect_pid(int pid, struct xs_ctl **out, struct xs_err *err)
{
	char path[XS_PATH_SIZE], dir[XS_PATH_SIZE];
	int fd, rc;
	struct ucred peer;

	*out = NULL;
	if (pid <= 0)
		return xs_fail(err, -ESRCH, "invalid process id %d", pid);
	if (find_socket_by_proc(pid, path, sizeof(path)) != 0) {
		if ((rc = xs_socket_dir(dir, sizeof(dir), err)) ||
		    (rc = xs_socket_path_for(dir, pid, path, sizeof(path), err)))
			return rc;
	}
	rc = do_connect(path, &fd);
	if (rc == -ENOENT && path[0] == '/') {
		/* A process in another mount namespace or chroot (a container):
		 * its socket path is in its root, reached through /proc. */
		char in_root[XS_PATH_SIZE];
		if (snprintf(in_root, sizeof(in_root), "/proc/%d/root%s", pid, path) <
			    (int)sizeof(in_root) &&
		    do_connect(in_root, &fd) == 0) {
			snprintf(path, sizeof(path), "%s", in_root);
			rc = 0;
		}
	}
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		/* An agent that could not use the directory listens on its
		 * abstract name; the peer check below proves it is pid's. */
		char abs_path[64];
		xs_socket_abstract_name(pid, 0, abs_path, sizeof(abs_path));
		int arc = do_connect(abs_path, &fd);
		if (arc == 0) {
			snprintf(path, sizeof(path), "%s", abs_path);
			rc = 0;
		}
	}
	if (rc == 0) {
		if ((rc = check_peer(fd, pid, path, &peer, err))) {
			close(fd);
			return rc;
		}
		return ctl_new(fd, pid, &peer, path, out, err);
	}
	if (rc == -ECONNREFUSED && pid_dead(pid)) {
		/* Nobody listens and the process is gone: the file is litter. */
		if (xs_ctl_remove_if_stale(path, pid) == 0)
			return xs_fail(err, -ESRCH, "process %d is gone; removed its stale socket %s",
				       pid, path);
		return xs_fail(err, -ESRCH, "process %d is gone; could not remove its stale "
			       "socket %s: %s", pid, path, strerror(errno));
	}
	if (!proc_exists(pid))
		return xs_fail(err, -ESRCH, "no such process %d", pid);
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return xs_fail(err, -ENOENT,
			       "process %d has no xsplice agent (no socket listening at %s): start "
			       "it with LD_PRELOAD=/path/to/libxsplice.so, or set XSPLICE_SOCKET_DIR "
			       "to the directory the target uses", pid, path);
	if (rc == -EACCES || rc == -EPERM)
		return xs_fail(err, rc, "permission denied connecting to %s: run as root or as "
			       "the user of process %d", path, pid);
	return xs_fail(err, rc, "connect to %s: %s", path, strerror(-rc));
}

void xs_ctl_close(struct xs_ctl *ctl)
{
	if (!ctl)
		return;
	close(ctl->fd);
	free(ctl);
}

void xs_ctl_set_io_timeout(struct xs_ctl *ctl, unsigned ms)
{
	ctl->io_timeout_ms = ms;
	/* Bounds blocking sends too (xs_write_all reports -ETIMEDOUT). */
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	setsockopt(ctl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- one round trip ---- */

/*
 * A connection closed by the agent before it replied is, most of the time,
 * its peer-credential check refusing us: say so when the uids suggest it.
 */
static int explain_close(struct xs_ctl *ctl, int rc, struct xs_err *err)
{
	struct stat st;
	char p[64];
	/* The agent's pid from SO_PEERCRED (check_peer made it the one asked
	 * for, if any); its uid now is the owner of /proc/PID (a daemon may
	 * have changed uid since it listened). */
	int pid = (int)ctl->peer.pid;
	uid_t owner = ctl->peer.uid;

	snprintf(p, sizeof(p), "/proc/%d", pid);
	bool alive = pid > 0 && stat(p, &st) == 0;
	if (alive)
		owner = st.st_uid;
	if (geteuid() != 0 && owner != geteuid())
		return xs_fail(err, -EPERM, "the agent of process %d (%s) closed the connection: "
			       "only root or uid %u may control it, and we are uid %u", pid,
			       ctl->path, (unsigned)owner, (unsigned)geteuid());
	if (pid > 0 && !alive)
		return xs_fail(err, -ESRCH, "process %d exited", pid);
	return xs_fail_prefix(err, rc, "the agent closed the connection");
}

/*
 * A reply the agent sent without reading our request (it refused the
 * connection, e.g. too many clients): its error, or 0 if it is not one.
 */
static int agent_refusal(const struct xs_frame_header *h, const uint8_t *body,
			 struct xs_err *err)
{
	struct xs_response early;
	struct xs_err derr = { "" };
	int rc = 0;
	if (xs_decode_response(h->op & (uint16_t)~XS_OP_REPLY, body, h->length, &early, &derr) == 0 &&
	    early.ret < 0)
		rc = xs_fail(err, early.ret, "%s", early.reason);
	xs_response_free(&early);
	return rc;
}

/*
 * Send rq, read and decode the reply into rs. Returns the transport/decode
 * error, else the agent's ret (with its reason in err). rs must be freed
 * with xs_response_free by the caller whatever the result.
 */
static int roundtrip_once(struct xs_ctl *ctl, const struct xs_request *rq,
			  struct xs_response *rs, bool *unread, struct xs_err *err)
{
	uint8_t *frame, *body;
	size_t len;
	struct xs_frame_header h;
	int rc;

	memset(rs, 0, sizeof(*rs));
	rc = xs_encode_request(rq, &frame, &len, err);
	if (rc)
		return rc;
	rc = xs_write_all(ctl->fd, frame, len, err);
	free(frame);
	if (rc == -EPIPE || rc == -ECONNRESET) {
		/* The agent may have said why before closing (too many
		 * clients): prefer its words. */
		struct xs_err rerr = { "" };
		*unread = true; /* our bytes never reached it */
		if (xs_read_frame(ctl->fd, &h, &body, 1, 200, &rerr) == 0) {
			int refused = agent_refusal(&h, body, err);
			free(body);
			if (refused)
				return refused;
		}
		return explain_close(ctl, rc, err);
	}
	if (rc)
		return xs_fail_prefix(err, rc, "sending the request");
	rc = xs_read_frame(ctl->fd, &h, &body, 1, ctl->io_timeout_ms, err);
	/* A reset (not an orderly close) means the request was never read:
	 * data left unread, or a connection never accepted. */
	if (rc == -ECONNRESET)
		*unread = true;
	if (rc == -ENOTCONN || rc == -ECONNRESET)
		return explain_close(ctl, rc, err);
	if (rc == -ETIMEDOUT)
		return xs_fail_prefix(err, rc, "waiting for the agent");
	if (rc)
		return xs_fail_prefix(err, rc == -ENOMEM ? rc : -EPROTO, "bad reply from the agent");
	if ((h.op & (uint16_t)~XS_OP_REPLY) != rq->op) {
		/* Said before the agent read our request: too many clients,
		 * or it closed the connection as idle (ETIMEDOUT) just as we
		 * sent. Either way the request was not carried out. */
		int refused = agent_refusal(&h, body, err);
		free(body);
		if (refused == -ETIMEDOUT)
			*unread = true;
		if (refused)
			return refused;
		return xs_fail(err, -EPROTO, "bad reply from the agent: op %u answers op %u",
			       h.op & (uint16_t)~XS_OP_REPLY, rq->op);
	}
	rc = xs_decode_response(rq->op, body, h.length, rs, err);
	free(body);
	/* A malformed reply is our peer's fault, not a refusal: -EPROTO. */
	if (rc)
		return xs_fail_prefix(err, rc == -ENOMEM ? rc : -EPROTO, "bad reply from the agent");
	if (rs->ret) {
		xs_fail(err, rs->ret, "%s", rs->reason[0] ? rs->reason : strerror(-rs->ret));
		return rs->ret;
	}
	return 0;
}

/*
 * A program that closes every fd closes the agent's listening socket; the
 * agent notices when the next client connects (its control thread sleeps
 * without a timeout when no client is connected: no periodic wake-ups,
 * docs/decisions.md, "Issue 14"), makes a new socket and that first
 * connection is reset unread. Connect again, for a while, to the new one.
 */
static int reconnect(struct xs_ctl *ctl)
{
	for (int i = 0; i < 100; i++) {
		struct xs_ctl *n = NULL;
		struct xs_err e = { "" };
		int rc = ctl->pid ? xs_ctl_connect_pid(ctl->pid, &n, &e)
				  : xs_ctl_connect_path(ctl->path, &n, &e);
		if (rc == 0) {
			close(ctl->fd);
			ctl->fd = n->fd;
			ctl->peer = n->peer;
			snprintf(ctl->path, sizeof(ctl->path), "%s", n->path);
			free(n);
			xs_ctl_set_io_timeout(ctl, ctl->io_timeout_ms);
			return 0;
		}
		if (rc != -ENOENT && rc != -ECONNREFUSED)
			return rc;
		struct timespec ts = { 0, 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

static int roundtrip(struct xs_ctl *ctl, const struct xs_request *rq, struct xs_response *rs,
		     struct xs_err *err)
{
	bool unread = false;
	int rc = roundtrip_once(ctl, rq, rs, &unread, err);
	/* The agent provably did not read the request (a reset, a refused
	 * send, or its idle-close notice: the protocol is lock-step, so no
	 * earlier request of ours was pending): connect again and send it
	 * once more. Among too many clients (EBUSY) the refusal stands. */
	if (!unread || rc == -EBUSY || reconnect(ctl) != 0)
		return rc;
	xs_response_free(rs);
	if (err)
		err->msg[0] = '\0';
	return roundtrip_once(ctl, rq, rs, &unread, err);
}

static int set_name(struct xs_request *rq, const char *name, struct xs_err *err)
{
	size_t n = strlen(name);
	if (n == 0)
		return xs_fail(err, -EINVAL, "empty payload name");
	if (n >= XS_NAME_SIZE)
		return xs_fail(err, -ENAMETOOLONG, "payload name is %zu bytes, at most %d allowed",
			       n, XS_NAME_SIZE - 1);
	memcpy(rq->name, name, n + 1);
	return 0;
}

int xs_ctl_upload(struct xs_ctl *ctl, const char *name, const void *elf, size_t size,
		  struct xs_err *err)
{
	struct xs_request rq = { .op = XS_OP_UPLOAD };
	struct xs_response rs;
	int rc = set_name(&rq, name, err);
	if (rc)
		return rc;
	if (size > XS_MAX_PAYLOAD)
		return xs_fail(err, -EFBIG, "payload is %zu bytes, at most %u allowed", size,
			       XS_MAX_PAYLOAD);
	rq.payload = elf;
	rq.payload_size = (uint32_t)size;
	rc = roundtrip(ctl, &rq, &rs, err);
	xs_response_free(&rs);
	return rc;
}

int xs_ctl_get(struct xs_ctl *ctl, const char *name, uint32_t *state, int32_t *rcp,
	       char *rc_reason, struct xs_err *err)
{
	struct xs_request rq = { .op = XS_OP_GET };
	struct xs_response rs;
	int rc = set_name(&rq, name, err);
	if (rc)
		return rc;
	rc = roundtrip(ctl, &rq, &rs, err);
	if (!rc) {
		if (state)
			*state = rs.state;
		if (rcp)
			*rcp = rs.rc;
		if (rc_reason)
			snprintf(rc_reason, XS_REASON_SIZE, "%s", rs.rc_reason);
	}
	xs_response_free(&rs);
	return rc;
}

int xs_ctl_list(struct xs_ctl *ctl, uint32_t *version, uint32_t idx, uint32_t nr,
		struct xs_list_entry *entries, uint32_t *count, uint32_t *left, struct xs_err *err)
{
	struct xs_request rq = { .op = XS_OP_LIST, .list_version = *version, .list_idx = idx,
				 .list_nr = nr };
	struct xs_response rs;
	int rc = roundtrip(ctl, &rq, &rs, err);
	if (!rc) {
		if (rs.list_count > nr) {
			xs_response_free(&rs);
			return xs_fail(err, -EPROTO, "bad reply from the agent: %u entries for %u asked",
				       rs.list_count, nr);
		}
		if (rs.list_count)
			memcpy(entries, rs.list, rs.list_count * sizeof(*entries));
		*count = rs.list_count;
		*left = rs.list_left;
		*version = rs.list_version;
	}
	xs_response_free(&rs);
	return rc;
}

int xs_ctl_list_all(struct xs_ctl *ctl, struct xs_list_entry **entries, size_t *count,
		    struct xs_err *err)
{
	struct xs_list_entry page[XS_LIST_MAX];

	*entries = NULL;
	*count = 0;
	for (int attempt = 0; attempt < LIST_RESTARTS; attempt++) {
		struct xs_list_entry *all = NULL;
		size_t n = 0;
		uint32_t version = 0, first_version = 0, idx = 0, got, left;
		bool stale = false;
		for (;;) {
			int rc = xs_ctl_list(ctl, &version, idx, XS_LIST_MAX, page, &got, &left, err);
			if (rc) {
				free(all);
				return rc;
			}
			if (idx == 0)
				first_version = version;
			else if (version != first_version) {
				stale = true; /* the set changed under us: start over */
				break;
			}
			if (got) {
				struct xs_list_entry *na = realloc(all, (n + got) * sizeof(*all));
				if (!na) {
					free(all);
					return xs_fail(err, -ENOMEM, "out of memory listing payloads");
				}
				all = na;
				memcpy(all + n, page, got * sizeof(*all));
				n += got;
			}
			idx += got;
			if (!left)
				break;
			if (!got) {
				free(all);
				return xs_fail(err, -EPROTO, "bad reply from the agent: no entries "
					       "but %u left", left);
			}
		}
		if (!stale) {
			*entries = all;
			*count = n;
			return 0;
		}
		free(all);
	}
	return xs_fail(err, -EAGAIN, "the payload list kept changing while being read");
}

int xs_ctl_action(struct xs_ctl *ctl, const char *name, uint32_t cmd, uint32_t timeout_ms,
		  struct xs_err *err)
{
	struct xs_request rq = { .op = XS_OP_ACTION, .cmd = cmd, .timeout_ms = timeout_ms };
	struct xs_response rs;
	int rc = set_name(&rq, name, err);
	if (rc)
		return rc;
	if (!xs_action_name(cmd))
		return xs_fail(err, -EINVAL, "unknown action %u", cmd);
	rc = roundtrip(ctl, &rq, &rs, err);
	xs_response_free(&rs);
	return rc;
}

int xs_ctl_wait(struct xs_ctl *ctl, const char *name, uint32_t cmd, unsigned wait_ms,
		void (*progress)(void *arg), void *arg, struct xs_err *err)
{
	uint64_t deadline = wait_ms ? xs_mono_ms() + wait_ms : 0;
	char reason[XS_REASON_SIZE];
	long poll_us = WAIT_POLL_FIRST_US;

	for (;;) {
		uint32_t state;
		int32_t arc;
		int rc = xs_ctl_get(ctl, name, &state, &arc, reason, err);
		if (rc == -ENOENT && cmd == XS_ACTION_UNLOAD)
			return 0; /* unloaded: gone is what we asked for */
		if (rc)
			return rc;
		if (arc != -EAGAIN) {
			if (arc)
				return xs_fail(err, arc, "%s", reason[0] ? reason : strerror(-arc));
			return 0;
		}
		if (progress)
			progress(arg);
		if (deadline && xs_mono_ms() >= deadline)
			return xs_fail(err, -ETIMEDOUT, "%s of %s still running after %u ms",
				       xs_action_name(cmd) ? xs_action_name(cmd) : "action", name,
				       wait_ms);
		struct timespec ts = { 0, poll_us * 1000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		if ((poll_us *= 2) > WAIT_POLL_MAX_US)
			poll_us = WAIT_POLL_MAX_US;
	}
}

int xs_ctl_act(struct xs_ctl *ctl, const char *name, uint32_t cmd, uint32_t timeout_ms,
	       unsigned wait_ms, void (*progress)(void *arg), void *arg, struct xs_err *err)
{
	struct xs_request rq = { .op = XS_OP_ACTION, .cmd = cmd, .timeout_ms = timeout_ms,
				 .action_flags = XS_ACTION_F_WAIT };
	struct xs_response rs;
	int rc = set_name(&rq, name, err);
	if (rc)
		return rc;
	if (!xs_action_name(cmd))
		return xs_fail(err, -EINVAL, "unknown action %u", cmd);
	/* The reply comes when the action has ended: wait for it as long
	 * as the caller would have polled. */
	unsigned io = ctl->io_timeout_ms;
	if (wait_ms > io)
		ctl->io_timeout_ms = wait_ms;
	rc = roundtrip(ctl, &rq, &rs, err);
	ctl->io_timeout_ms = io;
	if (rc == -EBADMSG) {
		/* An agent from before the flag refuses the field: the
		 * original request, then GET until the end. */
		xs_response_free(&rs);
		if (err)
			err->msg[0] = '\0';
		rq.action_flags = 0;
		rc = roundtrip(ctl, &rq, &rs, err);
	}
	if (rc) {
		xs_response_free(&rs);
		return rc;
	}
	bool ended = rs.action_ended;
	int32_t arc = rs.rc;
	char reason[XS_REASON_SIZE];
	snprintf(reason, sizeof(reason), "%s", rs.rc_reason);
	xs_response_free(&rs);
	if (!ended) /* answered at once (UNLOAD, an old agent) */
		return xs_ctl_wait(ctl, name, cmd, wait_ms, progress, arg, err);
	if (arc)
		return xs_fail(err, arc, "%s", reason[0] ? reason : strerror(-arc));
	return 0;
}

int xs_ctl_info(struct xs_ctl *ctl, struct xs_info **info, struct xs_err *err)
{
	struct xs_request rq = { .op = XS_OP_INFO, .info_flags = XS_INFO_METADATA };
	struct xs_response rs;
	int rc = roundtrip(ctl, &rq, &rs, err);
	if (rc == -EBADMSG) {
		/* An agent from before the metadata flag: ask the old way. */
		rq.info_flags = 0;
		xs_response_free(&rs);
		rc = roundtrip(ctl, &rq, &rs, err);
	}
	*info = NULL;
	if (!rc) {
		*info = rs.info; /* hand over ownership */
		rs.info = NULL;
	}
	xs_response_free(&rs);
	return rc;
}

void xs_info_free(struct xs_info *info)
{
	struct xs_response rs = { .info = info };
	xs_response_free(&rs);
}
