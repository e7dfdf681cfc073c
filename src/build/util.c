/* SPDX-License-Identifier: MIT */
/*
 * Small helpers of xsplice-build: progress messages on stderr, allocation
 * that exits on ENOMEM (a build tool has nothing better to do), path names,
 * and the result lists of the diff.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int xb_verbose;

static void vmessage(const char *fmt, va_list ap)
{
	fputs("xsplice-build: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void xb_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void xb_debug(const char *fmt, ...)
{
	if (!xb_verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

const char *xb_base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

bool xb_has_extension(const char *path, const char *const *exts)
{
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && exts[i]; i++)
		if (!strcmp(dot, exts[i]))
			return true;
	return false;
}

static void oom(void)
{
	fputs("xsplice-build: out of memory\n", stderr);
	exit(XB_EXIT_FAIL);
}

char *xb_strdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		oom();
	return d;
}

void *xb_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xb_realloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom();
	size_t bytes = n * size;
	void *q = realloc(p, bytes ? bytes : 1);
	if (!q)
		oom();
	return q;
}

char *xb_vasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *xb_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xb_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void xb_list_add(struct xb_list *l, const char *name, const char *file, const char *reason)
{
	l->v = xb_realloc(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].name = xb_strdup(name);
	l->v[l->n].file = file ? xb_strdup(file) : NULL;
	l->v[l->n].reason = reason ? xb_strdup(reason) : NULL;
	l->n++;
}

void xb_list_free(struct xb_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].file);
		free(l->v[i].reason);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void xb_result_free(struct xb_result *r)
{
	xb_list_free(&r->changed);
	xb_list_free(&r->added);
	xb_list_free(&r->refused);
	xb_list_free(&r->notes);
	for (size_t i = 0; i < r->next; i++)
		free(r->ext[i].name);
	free(r->ext);
	for (size_t i = 0; i < r->nfuncs; i++)
		free(r->funcs[i].name);
	free(r->funcs);
	memset(r, 0, sizeof(*r));
}

int xb_each_line(const char *path, void (*fn)(char *line, void *arg), void *arg,
		 struct xs_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		fn(line, arg);
	}
	free(line);
	fclose(f);
	return 0;
}

int xb_read_file(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*len = (size_t)st.st_size;
	*buf = xb_calloc(*len + 1, 1);
	size_t got = 0;
	while (got < *len) {
		ssize_t r = read(fd, *buf + got, *len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != *len) {
		free(*buf);
		*buf = NULL;
		return -EIO;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **xb_files_read(const char *tree, const struct xb_dep *deps, size_t ndeps, size_t *n)
{
	size_t cap = 0;
	char **v = NULL;
	size_t tl = strlen(tree);
	*n = 0;
	for (size_t i = 0; i < ndeps; i++) {
		for (size_t k = 0; k <= deps[i].nheaders; k++) {
			const char *f = k < deps[i].nheaders ? deps[i].headers[k] : deps[i].src;
			if (strncmp(f, tree, tl) || f[tl] != '/')
				continue;
			if (*n == cap) {
				cap = cap ? 2 * cap : 64;
				v = xb_realloc(v, cap, sizeof(*v));
			}
			v[(*n)++] = xb_strdup(f);
		}
	}
	if (!*n)
		return v;
	qsort(v, *n, sizeof(*v), cmp_str);
	size_t u = 1;
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(v[i], v[u - 1]))
			v[u++] = v[i];
		else
			free(v[i]);
	}
	*n = u;
	return v;
}

