/* SPDX-License-Identifier: MIT */
#include "build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int xb_verbose;

void xb_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("xsplice-build: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void xb_debug(const char *fmt, ...)
{
	if (!xb_verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("xsplice-build: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

double xb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

char *xb_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
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
