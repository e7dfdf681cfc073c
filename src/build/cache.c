/* SPDX-License-Identifier: MIT */
/*
 * The build cache (--cache DIR): the original tree's build is reused when
 * nothing that matters changed. The key hashes the source tree (every
 * file's relative path, mode and contents, in path order), DIR's path (it
 * is in the -ffile-prefix-map), the build command, the -j-independent
 * environment that steers builds (CC, CFLAGS, ...), the compiler (the
 * `cc`/`gcc`/`g++` found in PATH: path, size, mtime) and xsplice-build
 * itself. An entry is a work directory at a fixed path, CACHE/KEY/work, so
 * that the absolute paths a build system records (CMakeCache.txt,
 * libtool's .la files) stay right, plus CACHE/KEY/built, the tree as the
 * original build left it; a later run restores work/tree from built and
 * goes straight to the patch. Entries are locked (flock) while used.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Two independent 64-bit FNV-1a lanes: a 128-bit key, not a security
 * boundary (the cache is the user's own directory). */
struct hash {
	uint64_t a, b;
};

static void hash_init(struct hash *h)
{
	h->a = 0xcbf29ce484222325ULL;
	h->b = 0x84222325cbf29ce4ULL;
}

static void hash_bytes(struct hash *h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h->a = (h->a ^ c[i]) * 0x100000001b3ULL;
		h->b = (h->b ^ c[i]) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
	}
}

static void hash_str(struct hash *h, const char *s)
{
	hash_bytes(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file under dir/rel, relative paths, sorted. */
static void list_files(const char *dir, const char *rel, char ***v, size_t *n)
{
	char *path = *rel ? xb_asprintf("%s/%s", dir, rel) : xb_strdup(dir);
	DIR *d = opendir(path);
	free(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *r = *rel ? xb_asprintf("%s/%s", rel, e->d_name) : xb_strdup(e->d_name);
		char *full = xb_asprintf("%s/%s", dir, r);
		struct stat st;
		if (!lstat(full, &st) && S_ISDIR(st.st_mode)) {
			list_files(dir, r, v, n);
			free(r);
		} else {
			*v = xb_realloc(*v, *n + 1, sizeof(**v));
			(*v)[(*n)++] = r;
		}
		free(full);
	}
	closedir(d);
}

static void hash_file(struct hash *h, const char *path)
{
	struct stat st;
	if (lstat(path, &st)) {
		hash_str(h, "?");
		return;
	}
	hash_bytes(h, &st.st_mode, sizeof(st.st_mode));
	if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX];
		ssize_t n = readlink(path, t, sizeof(t) - 1);
		t[n > 0 ? n : 0] = '\0';
		hash_str(h, t);
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		hash_bytes(h, buf, (size_t)n);
	close(fd);
}

/* What identifies a program file cheaply: path, size, mtime. */
static void hash_program(struct hash *h, const char *path)
{
	char rp[PATH_MAX];
	struct stat st;
	hash_str(h, path);
	if (path && realpath(path, rp) && !stat(rp, &st)) {
		hash_str(h, rp);
		hash_bytes(h, &st.st_size, sizeof(st.st_size));
		hash_bytes(h, &st.st_mtim, sizeof(st.st_mtim));
	}
}

static char *in_path(const char *name, const char *skipdir)
{
	const char *path = getenv("PATH");
	char *copy = xb_strdup(path ? path : "/usr/bin:/bin"), *save = NULL, *found = NULL;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		if (skipdir && !strcmp(d, skipdir))
			continue;
		char *c = xb_asprintf("%s/%s", d, name);
		if (!access(c, X_OK))
			found = c;
		else
			free(c);
	}
	free(copy);
	return found;
}

void xb_cache_key(const char *srcdir, const char *build_cmd, const char *wrapdir,
		  char key[XB_CACHE_KEY_LEN + 1])
{
	struct hash h;
	hash_init(&h);
	hash_str(&h, "xsplice-build cache 1");
	hash_str(&h, srcdir);
	hash_str(&h, build_cmd);
	static const char *const env[] = { "CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS",
					   "LDFLAGS", "DEB_BUILD_MAINT_OPTIONS", "DEB_CFLAGS_MAINT_APPEND",
					   "DEB_LDFLAGS_MAINT_APPEND", "SOURCE_DATE_EPOCH", NULL };
	for (size_t i = 0; env[i]; i++) {
		hash_str(&h, env[i]);
		hash_str(&h, getenv(env[i]));
	}
	static const char *const progs[] = { "cc", "gcc", "g++", "ld", "make", "cmake", NULL };
	for (size_t i = 0; progs[i]; i++) {
		char *p = in_path(progs[i], wrapdir);
		hash_program(&h, p);
		free(p);
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	hash_program(&h, self);
	char **files = NULL;
	size_t nfiles = 0;
	list_files(srcdir, "", &files, &nfiles);
	qsort(files, nfiles, sizeof(*files), cmp_str);
	for (size_t i = 0; i < nfiles; i++) {
		char *full = xb_asprintf("%s/%s", srcdir, files[i]);
		hash_str(&h, files[i]);
		hash_file(&h, full);
		free(full);
		free(files[i]);
	}
	free(files);
	snprintf(key, XB_CACHE_KEY_LEN + 1, "%016llx%016llx", (unsigned long long)h.a,
		 (unsigned long long)h.b);
}

int xb_cache_open(struct xb_cache *c, const char *dir, const char *key, struct xs_err *err)
{
	memset(c, 0, sizeof(*c));
	c->lockfd = -1;
	c->entry = xb_asprintf("%s/%s", dir, key);
	c->work = xb_asprintf("%s/work", c->entry);
	c->built = xb_asprintf("%s/built", c->entry);
	int rc = xb_mkdir_p(c->work, err);
	if (rc)
		return rc;
	char *lock = xb_asprintf("%s/lock", c->entry);
	c->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(lock);
	if (c->lockfd < 0)
		return xs_fail(err, -errno, "cache %s: %s", c->entry, strerror(errno));
	if (flock(c->lockfd, LOCK_EX | LOCK_NB) < 0) {
		xb_info("cache entry %s is in use by another xsplice-build: waiting", c->entry);
		if (flock(c->lockfd, LOCK_EX) < 0)
			return xs_fail(err, -errno, "cache %s: lock: %s", c->entry, strerror(errno));
	}
	char *done = xb_asprintf("%s/built.complete", c->entry);
	c->hit = !access(done, F_OK);
	free(done);
	return 0;
}

int xb_cache_restore(struct xb_cache *c, const char *tree, struct xs_err *err)
{
	xb_remove_tree(tree);
	return xb_copy_tree(c->built, tree, err);
}

int xb_cache_store(struct xb_cache *c, const char *tree, struct xs_err *err)
{
	char *done = xb_asprintf("%s/built.complete", c->entry);
	unlink(done);
	xb_remove_tree(c->built);
	int rc = xb_copy_tree(tree, c->built, err);
	if (rc) {
		free(done);
		return rc;
	}
	int fd = open(done, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	free(done);
	if (fd < 0)
		return xs_fail(err, -errno, "cache %s: %s", c->built, strerror(errno));
	close(fd);
	return 0;
}

void xb_cache_close(struct xb_cache *c)
{
	if (c->lockfd >= 0)
		close(c->lockfd);
	free(c->entry);
	free(c->work);
	free(c->built);
	memset(c, 0, sizeof(*c));
	c->lockfd = -1;
}
