/* SPDX-License-Identifier: MIT */
/*
 * The patch directory: listing, installing, uninstalling and marking bad
 * the payloads that new processes get at start (see patchdir.h for the
 * layout). Every change is a rename of a complete, synced temporary file in
 * the same directory, so an agent scanning the directory while an operator
 * installs sees the old or the new file, never a part of one. Trust is
 * judged on open descriptors (fstat after O_NOFOLLOW), not on paths checked
 * before opening, so a file swapped between check and use is not trusted.
 *
 * C library only; no output, no exit: this runs inside targets too.
 * Threading: no shared state; each call uses only its arguments.
 */
#include "common/patchdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/payload_ident.h"
#include "xsplice/protocol.h"

#define TMP_PREFIX ".tmp-"

int xs_patchdir_default(char *buf, size_t len)
{
	const char *env = secure_getenv(XS_PATCHDIR_ENV);
	const char *dir = env && *env ? env : XS_PATCHDIR_DEFAULT;
	size_t n = strlen(dir);
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	return 0;
}

int xs_patchdir_check_name(const char *name, struct xs_err *err)
{
	size_t n = strlen(name);
	if (n == 0)
		return xs_fail(err, -EINVAL, "the payload name is empty");
	if (n >= XS_NAME_SIZE)
		return xs_fail(err, -EINVAL, "the payload name is %zu bytes, at most %d allowed", n,
			       XS_NAME_SIZE - 1);
	if (name[0] == '.')
		return xs_fail(err, -EINVAL, "the payload name '%s' starts with '.'", name);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/')
			return xs_fail(err, -EINVAL, "the payload name '%s' contains '/'", name);
		if (c < 0x20 || c == 0x7f)
			return xs_fail(err, -EINVAL,
				       "the payload name contains the control character 0x%02x", c);
	}
	return 0;
}

int xs_patchdir_path(const char *dir, const char *name, const char *suffix, char *buf,
		     size_t len, struct xs_err *err)
{
	int n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= len)
		return xs_fail(err, -ENAMETOOLONG, "the path %s/%s%s is too long", dir, name, suffix);
	return 0;
}

/* The trust rule for the directory and its files (docs/user-guide.md). */
static int trusted_stat(const struct stat *st, const char *what, const char *path,
			struct xs_err *err)
{
	uid_t me = geteuid();
	if (st->st_uid != 0 && st->st_uid != me)
		return xs_fail(err, -EPERM, "%s %s is owned by uid %u, not by root or uid %u", what,
			       path, (unsigned)st->st_uid, (unsigned)me);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return xs_fail(err, -EPERM, "%s %s is writable by %s (mode %04o)", what, path,
			       st->st_mode & S_IWOTH ? "everyone" : "its group",
			       (unsigned)(st->st_mode & 07777));
	return 0;
}

int xs_patchdir_trusted(const char *dir, struct xs_err *err)
{
	struct stat st;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP || (e == ENOTDIR && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)))
			return xs_fail(err, -EPERM, "patch directory %s is a symbolic link", dir);
		return xs_fail(err, -e, "cannot open the patch directory %s: %s", dir, strerror(e));
	}
	int rc = fstat(fd, &st) < 0 ? xs_fail(err, -errno, "cannot stat %s: %s", dir,
					      strerror(errno))
				    : trusted_stat(&st, "patch directory", dir, err);
	close(fd);
	return rc;
}

int xs_patchdir_open(const char *path, struct xs_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			return xs_fail(err, -EPERM, "payload file %s is a symbolic link", path);
		return xs_fail(err, -e, "cannot open %s: %s", path, strerror(e));
	}
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = xs_fail(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = xs_fail(err, -EPERM, "payload file %s is not a regular file", path);
	else
		rc = trusted_stat(&st, "payload file", path, err);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* ---- scan ---- */

struct entry {
	char *name;
	bool bad;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static bool has_suffix(const char *s, size_t n, const char *suffix, size_t *stem)
{
	size_t k = strlen(suffix);
	if (n <= k || memcmp(s + n - k, suffix, k) != 0)
		return false;
	*stem = n - k;
	return true;
}

int xs_patchdir_scan(const char *dir,
		     void (*cb)(const char *name, const char *path, bool bad, void *arg),
		     void *arg, struct xs_err *err)
{
	struct entry *v = NULL;
	size_t nv = 0, cap = 0;
	int rc = 0;
	DIR *d = opendir(dir);

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return xs_fail(err, -errno, "cannot read the patch directory %s: %s", dir,
			       strerror(errno));
	}
	/* First the payloads, then the bad marks: readdir's order is arbitrary. */
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno)
				rc = xs_fail(err, -errno, "cannot read the patch directory %s: %s", dir,
					     strerror(errno));
			break;
		}
		size_t n = strlen(de->d_name), stem;
		if (!has_suffix(de->d_name, n, XS_PATCHDIR_SUFFIX, &stem))
			continue;
		char name[XS_NAME_SIZE + sizeof(XS_PATCHDIR_SUFFIX)];
		if (stem >= XS_NAME_SIZE)
			continue;
		memcpy(name, de->d_name, stem);
		name[stem] = '\0';
		if (xs_patchdir_check_name(name, NULL))
			continue; /* ".tmp-…" of an install in progress, or not ours */
		if (nv == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct entry *nw = realloc(v, ncap * sizeof(*v));
			if (!nw) {
				rc = xs_fail(err, -ENOMEM, "out of memory listing %s", dir);
				break;
			}
			v = nw;
			cap = ncap;
		}
		if (!(v[nv].name = strdup(name))) {
			rc = xs_fail(err, -ENOMEM, "out of memory listing %s", dir);
			break;
		}
		v[nv++].bad = false;
	}
	int dfd = dirfd(d);
	if (!rc && nv) {
		qsort(v, nv, sizeof(*v), by_name);
		for (size_t i = 0; i < nv; i++) {
			char bad[XS_NAME_SIZE + sizeof(XS_PATCHDIR_BAD)];
			struct stat st;
			snprintf(bad, sizeof(bad), "%s%s", v[i].name, XS_PATCHDIR_BAD);
			v[i].bad = fstatat(dfd, bad, &st, AT_SYMLINK_NOFOLLOW) == 0;
		}
		for (size_t i = 0; i < nv; i++) {
			char path[4096];
			if (xs_patchdir_path(dir, v[i].name, XS_PATCHDIR_SUFFIX, path, sizeof(path),
					     NULL))
				continue; /* cannot be opened by anyone either */
			cb(v[i].name, path, v[i].bad, arg);
		}
	}
	for (size_t i = 0; i < nv; i++)
		free(v[i].name);
	free(v);
	closedir(d);
	return rc;
}

/* ---- changes ---- */

/* mkdir -p with mode 0755 for what it creates. */
static int make_dir(const char *dir, struct xs_err *err)
{
	char p[4096];
	size_t n = strlen(dir);
	if (n == 0)
		return xs_fail(err, -EINVAL, "the patch directory is an empty path");
	if (n >= sizeof(p))
		return xs_fail(err, -ENAMETOOLONG, "the patch directory path is too long");
	memcpy(p, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char c = p[i];
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return xs_fail(err, -errno, "cannot create the patch directory %s: %s", p,
				       strerror(errno));
		p[i] = c;
	}
	struct stat st;
	if (stat(dir, &st) < 0)
		return xs_fail(err, -errno, "cannot stat the patch directory %s: %s", dir,
			       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return xs_fail(err, -ENOTDIR, "the patch directory %s is not a directory", dir);
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Replace DIR/FINAL with the bytes produced by fill(fd): a temporary file in
 * DIR (so the rename stays in one file system), mode 0644, synced, renamed,
 * then the directory synced so the new name survives a crash.
 */
static int replace_file(const char *dir, const char *final,
			int (*fill)(int fd, void *arg, struct xs_err *err), void *arg,
			struct xs_err *err)
{
	char tmp[4096], dst[4096];
	int rc, fd;

	if ((rc = make_dir(dir, err)))
		return rc;
	if (snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "%s.XXXXXX", dir, final) >=
	    (int)sizeof(tmp) ||
	    snprintf(dst, sizeof(dst), "%s/%s", dir, final) >= (int)sizeof(dst))
		return xs_fail(err, -ENAMETOOLONG, "the path %s/%s is too long", dir, final);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return xs_fail(err, -errno, "cannot create a file in %s: %s", dir, strerror(errno));
	if (fchmod(fd, 0644) < 0) {
		rc = xs_fail(err, -errno, "cannot set the mode of %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((rc = fill(fd, arg, err)))
		goto fail;
	if (fsync(fd) < 0) {
		rc = xs_fail(err, -errno, "cannot sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = xs_fail(err, -errno, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) < 0) {
		rc = xs_fail(err, -errno, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
		goto fail;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* best effort: the file itself is complete either way */
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

struct copy_arg {
	int src;
	const char *file;
};

static int copy_fill(int fd, void *varg, struct xs_err *err)
{
	struct copy_arg *a = varg;
	char buf[65536];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(a->src, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xs_fail(err, -errno, "cannot read %s: %s", a->file, strerror(errno));
		if (n == 0)
			return 0;
		int rc = write_all(fd, buf, (size_t)n);
		if (rc)
			return xs_fail(err, rc, "cannot write the installed copy of %s: %s", a->file,
				       strerror(-rc));
		off += n;
	}
}

int xs_patchdir_install(const char *dir, const char *file, const char *name,
			struct xs_err *err)
{
	struct xs_payload_ident id;
	struct stat st;
	char final[XS_NAME_SIZE + sizeof(XS_PATCHDIR_SUFFIX)];
	int rc;

	if ((rc = xs_patchdir_check_name(name, err)))
		return rc;
	int src = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (src < 0)
		return xs_fail(err, -errno, "cannot open %s: %s", file, strerror(errno));
	if (fstat(src, &st) < 0) {
		rc = xs_fail(err, -errno, "cannot stat %s: %s", file, strerror(errno));
		goto out;
	}
	if (st.st_size > (off_t)XS_MAX_PAYLOAD) {
		rc = xs_fail(err, -EFBIG, "%s is %lld bytes, payloads are at most %u bytes", file,
			     (long long)st.st_size, XS_MAX_PAYLOAD);
		goto out;
	}
	if ((rc = xs_payload_ident_fd(src, &id, err))) {
		xs_fail_prefix(err, rc, "%s is not a payload", file);
		goto out;
	}
	snprintf(final, sizeof(final), "%s%s", name, XS_PATCHDIR_SUFFIX);
	struct copy_arg a = { src, file };
	rc = replace_file(dir, final, copy_fill, &a, err);
out:
	close(src);
	return rc;
}

int xs_patchdir_uninstall(const char *dir, const char *name, struct xs_err *err)
{
	char path[4096];
	int rc;

	if ((rc = xs_patchdir_check_name(name, err)) ||
	    (rc = xs_patchdir_path(dir, name, XS_PATCHDIR_SUFFIX, path, sizeof(path), err)))
		return rc;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return xs_fail(err, -ENOENT, "no payload '%s' is installed in %s", name, dir);
		return xs_fail(err, -errno, "cannot remove %s: %s", path, strerror(errno));
	}
	if ((rc = xs_patchdir_path(dir, name, XS_PATCHDIR_BAD, path, sizeof(path), err)))
		return rc;
	if (unlink(path) < 0 && errno != ENOENT)
		return xs_fail(err, -errno, "removed the payload, but cannot remove its bad mark "
			       "%s: %s", path, strerror(errno));
	return 0;
}

struct bad_arg {
	const char *reason;
};

static int bad_fill(int fd, void *varg, struct xs_err *err)
{
	struct bad_arg *a = varg;
	char line[XS_REASON_SIZE + 64], when[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t n = 0;

	/* One reason line: newlines in the reason would break the format. */
	for (const char *r = a->reason; *r && n < XS_REASON_SIZE; r++)
		line[n++] = *r == '\n' || *r == '\r' ? ' ' : *r;
	line[n++] = '\n';
	if (!gmtime_r(&now, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ\n", &tm))
		snprintf(when, sizeof(when), "%lld\n", (long long)now);
	int rc = write_all(fd, line, n);
	if (!rc)
		rc = write_all(fd, when, strlen(when));
	if (rc)
		return xs_fail(err, rc, "cannot write the bad mark: %s", strerror(-rc));
	return 0;
}

int xs_patchdir_mark_bad(const char *dir, const char *name, const char *reason,
			 struct xs_err *err)
{
	char final[XS_NAME_SIZE + sizeof(XS_PATCHDIR_BAD)];
	int rc;

	if ((rc = xs_patchdir_check_name(name, err)))
		return rc;
	snprintf(final, sizeof(final), "%s%s", name, XS_PATCHDIR_BAD);
	struct bad_arg a = { reason && *reason ? reason : "marked bad" };
	return replace_file(dir, final, bad_fill, &a, err);
}
