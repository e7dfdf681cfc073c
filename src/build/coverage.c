/* SPDX-License-Identifier: MIT */
/*
 * Every file the patch changes must end up compiled and compared. The
 * wrapper records, for each compile of the original build, its source and
 * the tree's headers it read (-H); after the patched build, each object of
 * the target that was compiled from or included a patched file must have
 * been recompiled. When the build system does not recompile it (a stamp
 * file, a bundled dependency built once, no header dependencies), the
 * payload would silently lack part of the fix: the file is refused instead.
 * A build that copies the tree into a build directory first compiles copies
 * of the patched files: those count when their contents are the patched
 * file's (copies_of).
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct deps_read {
	struct xb_dep **out;
	size_t *n;
};

static void deps_line(char *line, void *arg)
{
	struct deps_read *dr = arg;
	char *save = NULL, *obj = strtok_r(line, "\t", &save), *src = strtok_r(NULL, "\t", &save);
	if (!obj || !src)
		return;
	*dr->out = xb_realloc(*dr->out, *dr->n + 1, sizeof(**dr->out));
	struct xb_dep *d = &(*dr->out)[(*dr->n)++];
	memset(d, 0, sizeof(*d));
	d->obj = xb_canon_path(obj);
	d->src = xb_canon_path(src);
	for (char *h = strtok_r(NULL, "\t", &save); h; h = strtok_r(NULL, "\t", &save)) {
		d->headers = xb_realloc(d->headers, d->nheaders + 1, sizeof(*d->headers));
		d->headers[d->nheaders++] = xb_strdup(h);
	}
}

int xb_read_deps(const char *path, struct xb_dep **out, size_t *n, struct xs_err *err)
{
	*out = NULL;
	*n = 0;
	struct deps_read dr = { out, n };
	return xb_each_line(path, deps_line, &dr, err);
}

void xb_deps_free(struct xb_dep *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].obj);
		free(d[i].src);
		for (size_t k = 0; k < d[i].nheaders; k++)
			free(d[i].headers[k]);
		free(d[i].headers);
	}
	free(d);
}

static bool uses(const struct xb_dep *d, const char *file)
{
	if (!strcmp(d->src, file))
		return true;
	for (size_t k = 0; k < d->nheaders; k++)
		if (!strcmp(d->headers[k], file))
			return true;
	return false;
}

/* Code that is not part of a program: tests, fuzzers, examples, docs. */
static bool auxiliary_path(const char *rel)
{
	static const char *const dirs[] = { "test", "tests", "testsuite", "t", "fuzz", "fuzzing",
					    "oss-fuzz", "examples", "example", "doc", "docs",
					    "bench", "benchmarks", "unittests", "unit-tests", NULL };
	char *copy = xb_strdup(rel), *save = NULL;
	bool aux = false;
	for (char *c = strtok_r(copy, "/", &save); c && !aux; c = strtok_r(NULL, "/", &save)) {
		if (!save || !*save)
			break; /* the file name itself */
		for (size_t i = 0; dirs[i]; i++)
			aux |= !strcmp(c, dirs[i]);
	}
	free(copy);
	return aux;
}

static bool c_family(const char *path)
{
	static const char *const ext[] = { ".c", ".h", ".cc", ".cpp", ".cxx", ".c++", ".hh",
					   ".hpp", ".hxx", ".C", ".H", ".inc", ".def", ".S", NULL };
	return xb_has_extension(path, ext);
}

static bool same_contents(const char *a, const char *b)
{
	char *x = NULL, *y = NULL;
	size_t la = 0, lb = 0;
	bool same = !xb_read_file(a, &x, &la) && !xb_read_file(b, &y, &lb) && la == lb &&
		    !memcmp(x, y, la);
	free(x);
	free(y);
	return same;
}

/* Copies of the patched file REL (canonical path FILE) that the original
 * build compiled or included instead of it: builds that first copy the
 * source tree into a build directory (curl's debian/rules: `tar` into
 * debian/build, one copy per TLS flavour) compile DIR/debian/build/lib/x.c,
 * never DIR/lib/x.c. A copy is a file of the tree the compiles read whose
 * path ends in "/REL" and whose contents after the patched build are the
 * patched file's: the path alone would also match an unrelated file of the
 * same name, or a copy the build did not refresh (then the object compiled
 * from it was not recompiled either, and is refused below). */
static size_t copies_of(const struct xb_coverage_in *in, const char *rel, const char *file,
			char ***out)
{
	char *tail = xb_asprintf("/%s", rel), *tree = xb_canon_path(in->tree);
	size_t tl = strlen(tail), n = 0, nread = 0;
	char **read = xb_files_read(tree, in->deps, in->ndeps, &nread);
	*out = NULL;
	for (size_t i = 0; i < nread; i++) {
		size_t fl = strlen(read[i]);
		if (fl > tl && !strcmp(read[i] + fl - tl, tail) && strcmp(read[i], file) &&
		    same_contents(read[i], file)) {
			*out = xb_realloc(*out, n + 1, sizeof(**out));
			(*out)[n++] = read[i];
		} else {
			free(read[i]);
		}
	}
	free(read);
	free(tail);
	free(tree);
	return n;
}

/* The compiles that read FILE: how many, how many of the target's, and the
 * first object of the target that the patched build did not recompile. */
static void users_of(const struct xb_coverage_in *in, const char *file, size_t *nusers,
		     size_t *ntarget, const struct xb_dep **missing)
{
	for (size_t k = 0; k < in->ndeps; k++) {
		const struct xb_dep *d = &in->deps[k];
		if (!uses(d, file))
			continue;
		(*nusers)++;
		if (in->linkset && !xb_set_has(in->linkset, in->nlinkset, d->obj))
			continue;
		(*ntarget)++;
		if (!xb_set_has(in->recompiled, in->nrecompiled, d->obj) && !*missing)
			*missing = d;
	}
}

void xb_check_coverage(const struct xb_coverage_in *in, struct xb_result *r)
{
	for (size_t i = 0; i < in->patch->nfiles; i++) {
		const char *rel = in->patch->files[i].path;
		if (!rel || !strcmp(rel, "/dev/null"))
			continue;
		char *abs = xb_asprintf("%s/%s", in->tree, rel);
		if (access(abs, F_OK)) {
			free(abs);
			continue; /* deleted by the patch */
		}
		char *file = xb_canon_path(abs);
		free(abs);
		size_t nusers = 0, ntarget = 0;
		const struct xb_dep *missing = NULL;
		users_of(in, file, &nusers, &ntarget, &missing);
		/* Compiled only as copies (copies.c): what the copies' users say. */
		bool self = nusers > 0;
		for (size_t c = 0; !self && in->copies && c < in->copies->n; c++) {
			if (strcmp(in->copies->v[c].rel, rel))
				continue;
			size_t cu = 0;
			users_of(in, in->copies->v[c].copy, &cu, &ntarget, &missing);
			char *n = xb_asprintf("not compiled itself; copied by the build as %s "
					      "(the same contents before the patch): patched there too",
					      in->copies->v[c].copy + strlen(in->tree) + 1);
			xb_list_add(&r->notes, rel, NULL, n);
			free(n);
			nusers += cu;
		}
		/* Copies the build itself refreshes: the same contents as the
		 * patched file after the patched build (copies_of). */
		if (!nusers) {
			char **copies = NULL;
			size_t ncopies = copies_of(in, rel, file, &copies);
			for (size_t c = 0; c < ncopies; c++) {
				users_of(in, copies[c], &nusers, &ntarget, &missing);
				char *why = xb_asprintf("compiled as its copy %s", copies[c]);
				xb_list_add(&r->notes, rel, NULL, why);
				free(why);
				free(copies[c]);
			}
			free(copies);
		}
		if (missing) {
			char *why = xb_asprintf(
				"changed, but %s (compiled from %s) was not recompiled by the build "
				"command: a stamp file or a dependency built once? The payload would "
				"lack this part of the fix",
				missing->obj, missing->src);
			xb_list_add(&r->refused, rel, "patched file", why);
			free(why);
		} else if (!nusers && c_family(rel) && !auxiliary_path(rel)) {
			xb_list_add(&r->refused, rel, "patched file",
				    "changed, but the original build neither compiled nor included it "
				    "through the wrapper (built once, by a stamp, or outside the build "
				    "command?): the payload would lack this part of the fix");
		} else if (!nusers) {
			xb_list_add(&r->notes, rel, NULL,
				    c_family(rel) ? "test or example code the build does not compile: not checked"
						  : "not C or C++ source: not compared");
		} else if (!ntarget) {
			xb_list_add(&r->notes, rel, NULL,
				    "only in objects that are not linked into the target: not compared");
		}
		free(file);
	}
}
