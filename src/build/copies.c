/* SPDX-License-Identifier: MIT */
/*
 * Sources the build compiles as copies. Some builds copy the tree's
 * sources elsewhere once, behind a stamp, and compile the copies (expat's
 * debian/rules tars expat/ into src/ and srcw/, one per flavour): a patched
 * expat/lib/xmlparse.c never reaches the compiler, and the patched build
 * recompiles nothing. Before the patch, each C/C++ file of the patch that
 * no compile of the original build read is looked for among the files the
 * compiles did read: one with the same contents is a copy. After the patch
 * the patched file's new contents are written over its copies (whose old
 * contents were the same bytes, so this is the patch applied to them), the
 * build recompiles them, and the coverage check follows the copies.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool c_source(const char *path)
{
	static const char *const ext[] = { ".c", ".h", ".cc", ".cpp", ".cxx", ".c++", ".hh",
					   ".hpp", ".hxx", ".C", ".H", ".inc", ".def", NULL };
	return xb_has_extension(path, ext);
}

static bool read_by_a_compile(const struct xb_dep *deps, size_t ndeps, const char *file)
{
	for (size_t i = 0; i < ndeps; i++) {
		if (!strcmp(deps[i].src, file))
			return true;
		for (size_t k = 0; k < deps[i].nheaders; k++)
			if (!strcmp(deps[i].headers[k], file))
				return true;
	}
	return false;
}

/* The path of a patch's file in the tree, as patch -p1, -p0 or -p2 (the
 * levels xb_patch_apply tries) would find it; NULL if none exists. */
static const char *existing(const char *tree, const char *path)
{
	static const int levels[] = { 1, 0, 2 };
	if (!path || !strcmp(path, "/dev/null"))
		return NULL;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		const char *rel = path;
		for (int n = levels[i]; n > 0 && rel; n--) {
			rel = strchr(rel, '/');
			rel = rel ? rel + 1 : NULL;
		}
		if (!rel || !*rel)
			continue;
		char *abs = xb_asprintf("%s/%s", tree, rel);
		bool ok = !access(abs, F_OK);
		free(abs);
		if (ok)
			return rel;
	}
	return NULL;
}

static bool is_patched(const char *tree, const struct xb_patch *p, const char *file)
{
	size_t tl = strlen(tree);
	if (strncmp(file, tree, tl) || file[tl] != '/')
		return false;
	for (size_t i = 0; i < p->nfiles; i++) {
		const char *rel = existing(tree, p->files[i].path);
		if (rel && !strcmp(rel, file + tl + 1))
			return true;
	}
	return false;
}

int xb_find_copies(const char *tree, const struct xb_patch *p, const struct xb_dep *deps,
		   size_t ndeps, struct xb_copies *out)
{
	memset(out, 0, sizeof(*out));
	size_t nread = 0;
	char **read = NULL;
	for (size_t i = 0; i < p->nfiles; i++) {
		/* Before the patch is applied its paths are not stripped yet. */
		const char *rel = existing(tree, p->files[i].path);
		if (!rel || !c_source(rel))
			continue;
		char *abs = xb_asprintf("%s/%s", tree, rel);
		char *file = xb_canon_path(abs);
		free(abs);
		char *body = NULL;
		size_t len = 0;
		struct stat st;
		if (read_by_a_compile(deps, ndeps, file) || xb_read_file(file, &body, &len)) {
			free(file);
			continue; /* compiled itself, or new: nothing to follow */
		}
		if (!read)
			read = xb_files_read(tree, deps, ndeps, &nread);
		for (size_t k = 0; k < nread; k++) {
			char *cb = NULL;
			size_t cl = 0;
			if (!strcmp(read[k], file) || is_patched(tree, p, read[k]) ||
			    stat(read[k], &st) || (size_t)st.st_size != len || xb_read_file(read[k], &cb, &cl))
				continue;
			if (cl == len && !memcmp(cb, body, len)) {
				out->v = xb_realloc(out->v, out->n + 1, sizeof(*out->v));
				out->v[out->n].rel = xb_strdup(rel);
				out->v[out->n].copy = xb_strdup(read[k]);
				out->n++;
			}
			free(cb);
		}
		free(body);
		free(file);
	}
	for (size_t k = 0; k < nread; k++)
		free(read[k]);
	free(read);
	return 0;
}

int xb_update_copies(const char *tree, const struct xb_copies *c, struct xs_err *err)
{
	for (size_t i = 0; i < c->n; i++) {
		char *src = xb_asprintf("%s/%s", tree, c->v[i].rel);
		char *body = NULL;
		size_t len = 0;
		int rc = xb_read_file(src, &body, &len);
		free(src);
		if (rc == -ENOENT)
			continue; /* deleted by the patch: the copy stays, coverage says so */
		if (rc)
			return xs_fail(err, rc, "%s: cannot read the patched file", c->v[i].rel);
		/* Replace, not rewrite in place: a copy may be a hard link to
		 * something outside the build. */
		char *tmp = xb_asprintf("%s.xsplice-tmp", c->v[i].copy);
		struct stat st;
		mode_t mode = stat(c->v[i].copy, &st) ? 0644 : (st.st_mode & 07777);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
		size_t put = 0;
		while (fd >= 0 && put < len) {
			ssize_t w = write(fd, body + put, len - put);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			put += (size_t)w;
		}
		rc = fd < 0 ? -errno : 0;
		if (fd >= 0 && (close(fd) || put != len))
			rc = -EIO;
		if (!rc && rename(tmp, c->v[i].copy))
			rc = -errno;
		free(body);
		if (rc) {
			unlink(tmp);
			free(tmp);
			return xs_fail(err, rc, "%s: cannot update its copy %s", c->v[i].rel,
				       c->v[i].copy);
		}
		free(tmp);
	}
	return 0;
}

void xb_copies_free(struct xb_copies *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].rel);
		free(c->v[i].copy);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}
