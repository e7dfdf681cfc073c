/* SPDX-License-Identifier: MIT */
/*
 * The installed payloads as status, mark-bad and watch read them: which
 * patch directory, the list (xs_patchdir_scan), a payload's bytes through
 * the trust-checked open, and a bad mark's reason.
 *
 * Threading: no state.
 */
#include "cli/installed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/patchdir.h"

int installed_dir(const struct ctx *c, char *buf, size_t len, struct xs_err *err)
{
	if (c->patch_dir) {
		if (strlen(c->patch_dir) >= len)
			return xs_fail(err, -ENAMETOOLONG, "--patch-dir is too long");
		snprintf(buf, len, "%s", c->patch_dir);
		return 0;
	}
	int rc = xs_patchdir_default(buf, len);
	return rc ? xs_fail(err, rc, "$%s is too long", XS_PATCHDIR_ENV) : 0;
}

struct collect {
	struct installed *v;
	size_t n, cap;
	int rc;
};

static void collect_one(const char *name, const char *path, bool bad, void *arg)
{
	struct collect *c = arg;
	if (c->rc)
		return;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 16;
		struct installed *nv = realloc(c->v, nc * sizeof(*nv));
		if (!nv) {
			c->rc = -ENOMEM;
			return;
		}
		c->v = nv;
		c->cap = nc;
	}
	struct installed *e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->bad = bad;
}

int installed_list(const char *dir, struct installed **out, size_t *n, struct xs_err *err)
{
	struct collect c = { 0 };
	*out = NULL;
	*n = 0;
	int rc = xs_patchdir_scan(dir, collect_one, &c, err);
	if (!rc && c.rc)
		rc = xs_fail(err, c.rc, "out of memory");
	if (rc) {
		free(c.v);
		return rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

int installed_read(const char *path, uint8_t **buf, size_t *len, struct xs_err *err)
{
	struct stat st;
	int fd = xs_patchdir_open(path, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > XS_MAX_PAYLOAD) {
		close(fd);
		return xs_fail(err, -EFBIG, "%s: empty, or larger than a payload may be", path);
	}
	uint8_t *b = malloc((size_t)st.st_size);
	size_t done = 0;
	if (!b) {
		close(fd);
		return xs_fail(err, -ENOMEM, "out of memory");
	}
	while (done < (size_t)st.st_size) {
		ssize_t k = read(fd, b + done, (size_t)st.st_size - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int rc = k < 0 ? -errno : -EIO;
			close(fd);
			free(b);
			return xs_fail(err, rc, "reading %s: %s", path,
				       k < 0 ? strerror(-rc) : "the file shrank");
		}
		done += (size_t)k;
	}
	close(fd);
	*buf = b;
	*len = done;
	return 0;
}

void installed_bad_reason(const char *dir, const char *name, char *out, size_t len)
{
	char path[4096];
	out[0] = '\0';
	if (xs_patchdir_path(dir, name, XS_PATCHDIR_BAD, path, sizeof(path), NULL))
		return;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}
