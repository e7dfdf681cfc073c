/* SPDX-License-Identifier: MIT */
/*
 * The agent's control socket: the socket directory (created and checked
 * without following symlinks), the socket's name for this pid, and the
 * identity checks that tell whether an fd number is still our socket (the
 * program may close every fd and reuse the numbers: docs/decisions.md,
 * "Process life cycle").
 *
 * Threading: called from the control thread (and at start-up and exit);
 * no state of its own, so no locking. It never closes or unlinks anything
 * it has not made sure is its own.
 */
#include "agent.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/socket_path.h"
#include "xsplice/protocol.h"

bool xs_fd_is(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	return S_ISSOCK(st.st_mode) && st.st_dev == dev && st.st_ino == ino;
}

/* Close a temporary fd of ours only if the program has not closed it and
 * reused its number meanwhile (it may close every fd at any time). */
static void close_own(int fd, const struct stat *st)
{
	struct stat now;
	if (fd >= 0 && fstat(fd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		close(fd);
}

static int open_dir_fd(int at, const char *path, int flags, struct stat *st)
{
	int fd = at >= 0 ? openat(at, path, flags) : open(path, flags);
	if (fd >= 0 && fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

bool xs_sock_is_ours(const struct xs_sock *s)
{
	return xs_fd_is(s->fd, s->dev, s->ino);
}

/* mkdir -p of the parents (they may be symlinks: /tmp, $XDG_RUNTIME_DIR
 * are the user's choice), then the last component by mkdirat and openat
 * with O_NOFOLLOW: that one is ours and must be a real directory. Returns
 * the directory's fd or -errno. */
static int open_dir(const char *dir, struct xs_err *err)
{
	char tmp[256];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return xs_fail(err, -ENAMETOOLONG, "socket directory name %s is too long", dir);
	size_t len = strlen(tmp);
	while (len > 1 && tmp[len - 1] == '/')
		tmp[--len] = '\0';
	char *slash = strrchr(tmp, '/');
	const char *base = tmp;
	struct stat pst;
	int pfd;
	if (slash) {
		for (char *s = tmp + 1; s < slash; s++) {
			if (*s != '/')
				continue;
			*s = '\0';
			mkdir(tmp, 0755);
			*s = '/';
		}
		*slash = '\0';
		pfd = open_dir_fd(-1, slash == tmp ? "/" : tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC, &pst);
		if (pfd < 0 && errno == ENOENT && mkdir(tmp, 0755) == 0)
			pfd = open_dir_fd(-1, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC, &pst);
		if (pfd < 0)
			return xs_fail(err, -errno, "cannot open %s (the parent of the socket "
				       "directory): %s", slash == tmp ? "/" : tmp, strerror(errno));
		base = slash + 1;
	} else {
		pfd = open_dir_fd(-1, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, &pst);
		if (pfd < 0)
			return xs_fail(err, -errno, "cannot open the current directory: %s",
				       strerror(errno));
	}
	if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		close_own(pfd, &pst);
		return xs_fail(err, -e, "cannot create %s: %s", dir, strerror(e));
	}
	struct stat st;
	int dfd = open_dir_fd(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, &st);
	int e = errno;
	close_own(pfd, &pst);
	if (dfd < 0) {
		if (e == ELOOP || (e == ENOTDIR && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)))
			return xs_fail(err, -ELOOP, "socket directory %s is a symbolic link (someone "
				       "may be redirecting the agent's socket): remove it, or set "
				       "XSPLICE_SOCKET_DIR to a directory of your own", dir);
		return xs_fail(err, -e, "cannot open the socket directory %s: %s", dir,
			       strerror(e));
	}
	/* Only its owner may enter: others cannot even reach the socket. */
	if (st.st_uid != geteuid()) {
		close_own(dfd, &st);
		return xs_fail(err, -EPERM, "socket directory %s belongs to uid %u, not to us "
			       "(uid %u): remove it, or set XSPLICE_SOCKET_DIR", dir,
			       (unsigned)st.st_uid, (unsigned)geteuid());
	}
	if ((st.st_mode & 0077) && fchmod(dfd, 0700) < 0) {
		e = errno;
		close_own(dfd, &st);
		return xs_fail(err, -e, "cannot restrict %s to its owner: %s", dir, strerror(e));
	}
	return dfd;
}

/* Does a live socket answer at path? (Then it is someone else's: another
 * process with our pid number in another pid namespace, say.) */
static bool answers(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return true; /* cannot tell: do not remove it */
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return true;
	}
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close_own(fd, &st);
	/* EAGAIN: a listener whose backlog is full is alive too. */
	return rc == 0 || e == EAGAIN || e == EINPROGRESS;
}

/* Remove a socket file nobody listens on. 0 if the name is free now. */
static int clear_name(int dfd, const char *name, const char *path)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST; /* not a socket: not ours to remove */
	if (answers(path))
		return -EADDRINUSE;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * The fallback: an abstract socket "\0xsplice-PID" (or "...PID.N" when a
 * process of another pid namespace holds that name). It needs no
 * directory, so a process that dropped root before it forked (memcached
 * -d) or whose directory is gone is still reachable; only root and its own
 * uid are served (the peer check), and the client checks that the pid
 * behind it is the one it asked for.
 */
static int open_abstract(struct xs_sock *s, struct xs_err *err)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return xs_fail(err, -errno, "socket: %s", strerror(errno));
	struct stat sst;
	if (fstat(fd, &sst) < 0) {
		int rc = xs_fail(err, -errno, "fstat of our socket: %s", strerror(errno));
		close(fd);
		return rc;
	}
	for (int n = 0; n < 8; n++) {
		char name[48]; /* "@xsplice-PID[.N]"; the '@' becomes the NUL */
		int k = xs_socket_abstract_name((int)getpid(), n, name, sizeof(name));
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		memcpy(sa.sun_path + 1, name + 1, (size_t)k - 1);
		socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)k);
		if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
			if (errno == EADDRINUSE)
				continue;
			break;
		}
		if (listen(fd, 16) < 0)
			break;
		s->fd = fd;
		s->dev = sst.st_dev;
		s->ino = sst.st_ino;
		s->abstract = true;
		snprintf(s->path, sizeof(s->path), "%s", name);
		return 0;
	}
	int rc = xs_fail(err, -errno, "cannot bind the abstract socket @xsplice-%d: %s",
			 (int)getpid(), strerror(errno));
	close_own(fd, &sst);
	return rc;
}

static int open_in_dir(struct xs_sock *s, struct xs_err *err);

int xs_sock_open(struct xs_sock *s, struct xs_err *err)
{
	s->abstract = false;
	int rc = open_in_dir(s, err);
	if (rc == 0)
		return 0;
	/* The directory is not usable (not ours to write any more, missing
	 * in a chroot, a symlink planted by someone else): the abstract name
	 * needs none, and the clients find it. */
	struct xs_err aerr = { "" };
	if (open_abstract(s, &aerr) == 0) {
		/* Said once, on stderr: why the socket is not where it is
		 * usually looked for (the clients find it all the same). */
		xs_agent_log("xsplice: agent in pid %d: %s; listening on the abstract socket %s "
			     "instead\n", (int)getpid(), err ? err->msg : "socket directory unusable",
			     s->path);
		return 0;
	}
	return rc;
}

static int open_in_dir(struct xs_sock *s, struct xs_err *err)
{
	char dir[200];
	int rc = xs_socket_dir(dir, sizeof(dir), err);
	if (rc)
		return rc;
	int dfd = open_dir(dir, err);
	if (dfd < 0)
		return dfd;
	struct stat dfd_st;
	if (fstat(dfd, &dfd_st) < 0)
		return xs_fail(err, -errno, "the socket directory's fd went away");
	char name[64];
	/* <pid>.sock, or <pid>.<n>.sock when a live socket of another
	 * process (same pid number, other pid namespace) holds that one. */
	for (int n = 0;; n++) {
		if (n)
			snprintf(name, sizeof(name), "%d.%d.sock", (int)getpid(), n);
		else
			snprintf(name, sizeof(name), "%d.sock", (int)getpid());
		rc = xs_socket_path_for(dir, getpid(), s->path, sizeof(s->path), err);
		if (rc)
			goto out;
		if (n && snprintf(s->path, sizeof(s->path), "%s/%s", dir, name) >= (int)sizeof(s->path)) {
			rc = xs_fail(err, -ENAMETOOLONG, "socket path %s/%s is too long", dir, name);
			goto out;
		}
		rc = clear_name(dfd, name, s->path);
		if (rc == 0)
			break;
		if (n == 8) {
			rc = xs_fail(err, rc, "cannot find a free socket name in %s: %s (live sockets "
				     "of other processes hold %d.sock and its variants)", dir,
				     strerror(-rc), (int)getpid());
			goto out;
		}
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = xs_fail(err, -errno, "socket: %s", strerror(errno));
		goto out;
	}
	struct stat sst, st, dst, lst;
	if (fstat(fd, &sst) < 0) {
		rc = xs_fail(err, -errno, "fstat of our socket: %s", strerror(errno));
		close(fd);
		goto out;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = xs_fail(err, -errno, "cannot bind %s: %s", s->path, strerror(errno));
		close_own(fd, &sst);
		goto out;
	}
	/* bind resolved the path by name: make sure it landed in the
	 * directory we checked, as a socket, before anyone can use it. */
	if (fstat(dfd, &dst) < 0 || lstat(dir, &lst) < 0 || lst.st_dev != dst.st_dev ||
	    lst.st_ino != dst.st_ino || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		rc = xs_fail(err, -EXDEV, "the socket directory %s changed while the socket was "
			     "created; refusing it", dir);
		close_own(fd, &sst);
		goto out;
	}
	if (fchmodat(dfd, name, 0600, 0) < 0 || listen(fd, 16) < 0) {
		rc = xs_fail(err, -errno, "cannot listen on %s: %s", s->path, strerror(errno));
		close_own(fd, &sst);
		unlinkat(dfd, name, 0);
		goto out;
	}
	s->fd = fd;
	s->dev = sst.st_dev;
	s->ino = sst.st_ino;
	rc = 0;
out:
	close_own(dfd, &dfd_st);
	return rc;
}

void xs_sock_close(struct xs_sock *s, bool unlink_path)
{
	if (s->fd >= 0 && xs_sock_is_ours(s))
		close(s->fd);
	s->fd = -1;
	/* Our socket is closed now: a socket still answering at the path is
	 * someone else's and stays. An abstract one has no path. */
	if (unlink_path && s->path[0] && !s->abstract && !answers(s->path)) {
		struct stat st;
		if (lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(s->path);
	}
	s->path[0] = '\0';
}
