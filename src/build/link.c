/* SPDX-License-Identifier: MIT */
/*
 * What is linked into the target: the wrapper logs every link
 * ("L<TAB>output<TAB>input...") and every archive update
 * ("A<TAB>archive<TAB>member...") of the original build; the link whose
 * output is BINARY (same build-id, else same file name) names the objects
 * that make up the target, archives expanded to their members (a member
 * copied from another archive and since deleted, as libtool's convenience
 * archives have them: the object whose bytes it holds). Objects are
 * then matched to the target by what was linked, not by source file name
 * (libtool's PIC and non-PIC copies, debug builds, test programs).
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"
#include "common/elfnote.h"
#include "xsplice/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *xb_canon_path(const char *p)
{
	char buf[PATH_MAX];
	if (realpath(p, buf))
		return xb_strdup(buf);
	/* Gone (a temporary object): lexically, "." and ".." removed. */
	char *out = xb_calloc(strlen(p) + 2, 1), *copy = xb_strdup(p), *save = NULL;
	size_t len = 0;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		out[len++] = '/';
		strcpy(out + len, c);
		len += strlen(c);
	}
	if (!len)
		strcpy(out, "/");
	free(copy);
	return out;
}

static void link_line(char *line, void *arg)
{
	struct xb_links *l = arg;
	if ((line[0] != 'L' && line[0] != 'A') || line[1] != '\t')
		return;
	l->v = xb_realloc(l->v, l->n + 1, sizeof(*l->v));
	struct xb_link_rec *r = &l->v[l->n++];
	memset(r, 0, sizeof(*r));
	r->kind = line[0];
	char *save = NULL;
	for (char *t = strtok_r(line + 2, "\t", &save); t; t = strtok_r(NULL, "\t", &save)) {
		char *v = t[0] == '-' ? xb_strdup(t) : xb_canon_path(t);
		if (!r->out) {
			r->out = v;
			continue;
		}
		r->in = xb_realloc(r->in, r->nin + 1, sizeof(*r->in));
		r->in[r->nin++] = v;
	}
	if (!r->out)
		l->n--;
}

int xb_read_links(const char *path, struct xb_links *l, struct xs_err *err)
{
	memset(l, 0, sizeof(*l));
	return xb_each_line(path, link_line, l, err);
}

void xb_links_free(struct xb_links *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].out);
		for (size_t k = 0; k < l->v[i].nin; k++)
			free(l->v[i].in[k]);
		free(l->v[i].in);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool xb_set_has(char *const *set, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i], path))
			return true;
	return false;
}

static void set_add(char ***set, size_t *n, const char *path)
{
	if (xb_set_has(*set, *n, path))
		return;
	*set = xb_realloc(*set, *n + 1, sizeof(**set));
	(*set)[(*n)++] = xb_strdup(path);
}

/* "libfoo.so.1.2.3" and "libfoo.so.1" name one library: compare up to ".so". */
static bool same_library_name(const char *a, const char *b)
{
	const char *sa = strstr(a, ".so"), *sb = strstr(b, ".so");
	if (!sa || !sb || sa - a != sb - b)
		return false;
	return !strncmp(a, b, (size_t)(sa - a) + 3);
}

/*
 * The bytes of the occurrence-th member named name (0 = the first) of the
 * archive ar, or NULL. ar(1) stores a member's file verbatim.
 */
static char *archive_member(const char *ar, const char *name, size_t occurrence, size_t *len)
{
	int fd = open(ar, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *out = NULL;
	/* Mapped: with ELF_C_READ, elfutils 0.188 leaks the copy it reads
	 * in of each member (LeakSanitizer, build-convenience_archive). */
	Elf *a = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (a && elf_kind(a) == ELF_K_AR) {
		Elf *m;
		while (!out && (m = elf_begin(fd, ELF_C_READ_MMAP, a))) {
			Elf_Arhdr *h = elf_getarhdr(m);
			size_t size = 0;
			char *raw = h && h->ar_name && !strcmp(h->ar_name, name) ? elf_rawfile(m, &size)
										 : NULL;
			if (raw && occurrence-- == 0) {
				out = xb_calloc(size + 1, 1);
				memcpy(out, raw, size);
				*len = size;
			}
			elf_next(m);
			elf_end(m);
		}
	}
	elf_end(a);
	close(fd);
	return out;
}

/*
 * A member recorded under a path that is gone. libtool makes a convenience
 * archive of others (squid's libauth.la of libbasic.la, libdigest.la, ...)
 * by extracting their members into a temporary NAME.lax/ (renamed
 * ltN-FILE.o where names repeat), archiving the copies and deleting them.
 * The copy is byte for byte an object still in the tree (a member of the
 * archive it came from): find which by content, never by name. Returns the
 * object's path, or NULL.
 */
static char *gone_member_origin(const struct xb_links *l, const struct xb_link_rec *rec,
				size_t k)
{
	const char *base = xb_base_name(rec->in[k]);
	size_t occurrence = 0, len = 0;
	for (size_t j = 0; j < k; j++)
		if (!strcmp(xb_base_name(rec->in[j]), base))
			occurrence++;
	char *bytes = archive_member(rec->out, base, occurrence, &len);
	if (!bytes)
		return NULL;
	char *found = NULL;
	for (size_t i = 0; i < l->n && !found; i++) {
		const struct xb_link_rec *r = &l->v[i];
		if (r->kind != 'A' || r == rec)
			continue;
		for (size_t j = 0; j < r->nin && !found; j++) {
			struct stat st;
			if (stat(r->in[j], &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size != len)
				continue;
			char *other = NULL;
			size_t olen = 0;
			if (!xb_read_file(r->in[j], &other, &olen) && olen == len &&
			    !memcmp(other, bytes, len))
				found = xb_strdup(r->in[j]);
			free(other);
		}
	}
	free(bytes);
	return found;
}

static void add_archive(const struct xb_links *l, const char *ar, char ***set, size_t *n)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct xb_link_rec *r = &l->v[i];
		if (r->kind != 'A' || strcmp(r->out, ar))
			continue;
		for (size_t k = 0; k < r->nin; k++) {
			char *origin = access(r->in[k], F_OK) ? gone_member_origin(l, r, k) : NULL;
			set_add(set, n, origin ? origin : r->in[k]);
			free(origin);
		}
	}
}

static void expand_link(const struct xb_links *l, const struct xb_link_rec *r, char ***set,
			size_t *n)
{
	const char *dirs[64];
	size_t ndirs = 0;
	for (size_t k = 0; k < r->nin; k++)
		if (!strncmp(r->in[k], "-L", 2) && ndirs < 64)
			dirs[ndirs++] = r->in[k] + 2;
	for (size_t k = 0; k < r->nin; k++) {
		const char *in = r->in[k];
		if (!strncmp(in, "-l", 2)) {
			/* -lNAME from a -L dir of the tree: the linker takes the .so
			 * if there is one, else the archive. */
			for (size_t d = 0; d < ndirs; d++) {
				char *so = xb_asprintf("%s/lib%s.so", dirs[d], in + 2);
				char *a = xb_asprintf("%s/lib%s.a", dirs[d], in + 2);
				bool has_so = !access(so, F_OK), has_a = !access(a, F_OK);
				if (has_a && !has_so) {
					char *c = xb_canon_path(a);
					add_archive(l, c, set, n);
					free(c);
				}
				free(so);
				free(a);
				if (has_so || has_a)
					break;
			}
			continue;
		}
		if (in[0] == '-')
			continue;
		size_t len = strlen(in);
		if (len > 2 && !strcmp(in + len - 2, ".a"))
			add_archive(l, in, set, n);
		else if (len > 2 && (!strcmp(in + len - 2, ".o") || !strcmp(in + len - 3, ".lo")))
			set_add(set, n, in);
	}
}

int xb_target_link_set(const struct xb_links *l, const struct xb_target *t, char ***set,
		       size_t *nset, char **linked)
{
	*set = NULL;
	*nset = 0;
	*linked = NULL;
	const struct xb_link_rec *by_id = NULL, *by_name = NULL, *by_lib = NULL;
	const char *tb = xb_base_name(t->path);
	for (size_t i = 0; i < l->n; i++) {
		const struct xb_link_rec *r = &l->v[i];
		if (r->kind != 'L' || access(r->out, R_OK))
			continue;
		uint8_t id[XS_BUILD_ID_MAX];
		size_t len = 0;
		if (!xs_file_build_id(r->out, id, sizeof(id), &len, NULL) && len == t->build_id_len &&
		    !memcmp(id, t->build_id, len))
			by_id = r;
		if (!strcmp(xb_base_name(r->out), tb))
			by_name = r;
		else if (same_library_name(xb_base_name(r->out), tb))
			by_lib = r;
	}
	const struct xb_link_rec *r = by_id ? by_id : by_name ? by_name : by_lib;
	if (!r)
		return -ENOENT;
	expand_link(l, r, set, nset);
	*linked = xb_strdup(r->out);
	return 0;
}
