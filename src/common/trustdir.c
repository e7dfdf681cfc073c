/* SPDX-License-Identifier: MIT */
/*
 * The trust directory (docs/security.md, "Trust"): certificate files and
 * the "revoked" denylist, read as bytes with plain libc so that the agent
 * can read them at start, before the program can chroot or drop access,
 * without any crypto library. Threading: no shared state.
 */
#include "sigcheck.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"

#define XS_TRUST_MAX_CERTS 256
#define XS_TRUST_MAX_FILE (1u << 20)
#define XS_TRUST_MAX_REVOKED 4096

/* ---- the trust directory (plain libc) ---- */

static int read_small(int dfd, const char *name, uint8_t **data, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > XS_TRUST_MAX_FILE) {
		close(fd);
		return -EINVAL;
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (b && got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!b)
		return -ENOMEM;
	b[got] = '\0';
	*data = b;
	*len = got;
	return 0;
}

static int parse_revoked(struct xs_trust *t, char *text, struct xs_err *err)
{
	unsigned line = 0;
	for (char *s = text, *nl; s && *s; s = nl) {
		nl = strchr(s, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		char *hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		char hex[65];
		size_t n = 0;
		bool bad = false;
		for (char *q = s; *q; q++) {
			if (*q == ':' || isspace((unsigned char)*q))
				continue;
			if (!isxdigit((unsigned char)*q) || n >= 64) {
				bad = true;
				break;
			}
			hex[n++] = (char)tolower((unsigned char)*q);
		}
		hex[n] = '\0';
		if (!n && !bad)
			continue;
		size_t got = 0;
		if (bad || n != 64 || t->nrevoked >= XS_TRUST_MAX_REVOKED ||
		    xs_hex_decode(hex, t->revoked[t->nrevoked], 32, &got) != 0 || got != 32)
			return xs_fail(err, -EINVAL, "%s/revoked line %u: not a SHA-256 certificate "
				       "fingerprint (64 hex digits, colons allowed)", t->dir, line);
		t->nrevoked++;
	}
	return 0;
}

int xs_trust_read(struct xs_trust *t, const char *dir, struct xs_err *err)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0
		       : xs_fail(err, -errno, "cannot open the trust directory %s: %s", dir,
				 strerror(errno));
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return xs_fail(err, -ENOMEM, "out of memory");
	}
	int rc = 0;
	t->certs = calloc(XS_TRUST_MAX_CERTS, sizeof(*t->certs));
	t->revoked = calloc(XS_TRUST_MAX_REVOKED, sizeof(*t->revoked));
	if (!t->certs || !t->revoked)
		rc = xs_fail(err, -ENOMEM, "out of memory");
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		uint8_t *data = NULL;
		size_t len = 0;
		int r = read_small(dirfd(d), de->d_name, &data, &len);
		if (r == -EINVAL)
			continue; /* not a regular file, or too large */
		if (r) {
			rc = xs_fail(err, r, "cannot read %s/%s: %s", dir, de->d_name, strerror(-r));
			break;
		}
		if (strcmp(de->d_name, "revoked") == 0) {
			rc = parse_revoked(t, (char *)data, err);
			free(data);
			continue;
		}
		if (t->ncerts == XS_TRUST_MAX_CERTS) {
			free(data);
			rc = xs_fail(err, -E2BIG, "%s: more than %d certificate files", dir,
				     XS_TRUST_MAX_CERTS);
			break;
		}
		struct xs_cert_blob *b = &t->certs[t->ncerts++];
		snprintf(b->name, sizeof(b->name), "%s", de->d_name);
		b->data = data;
		b->len = len;
	}
	closedir(d);
	if (rc)
		xs_trust_free(t);
	return rc;
}

void xs_trust_free(struct xs_trust *t)
{
	for (size_t i = 0; t->certs && i < t->ncerts; i++)
		free(t->certs[i].data);
	free(t->certs);
	free(t->revoked);
	t->certs = NULL;
	t->revoked = NULL;
	t->ncerts = t->nrevoked = 0;
}
