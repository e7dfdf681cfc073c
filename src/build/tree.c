/* SPDX-License-Identifier: MIT */
/* Work tree: running builds, copying trees, parsing and applying the patch,
 * and the line-neutral rewrite of patched sources (#line after each hunk).
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int xb_run(char *const argv[], const char *cwd, const char *logfile, struct xs_err *err)
{
	if (xb_verbose) {
		fprintf(stderr, "xsplice-build: run:");
		for (size_t i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "%s%s\n", cwd ? " (in " : "", cwd ? cwd : "");
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return xs_fail(err, -errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (cwd && chdir(cwd) < 0) {
			fprintf(stderr, "xsplice-build: %s: %s\n", cwd, strerror(errno));
			_exit(127);
		}
		if (logfile) {
			int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
				_exit(127);
			int nul = open("/dev/null", O_RDONLY);
			if (nul >= 0)
				dup2(nul, 0);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "xsplice-build: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return xs_fail(err, -errno, "waitpid: %s", strerror(errno));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return xs_fail(err, -ECHILD, "%s exited with status %d", argv[0], WEXITSTATUS(st));
	return xs_fail(err, -ECHILD, "%s killed by signal %d", argv[0],
		       WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int xb_run_shell(const char *cmd, const char *cwd, const char *logfile, struct xs_err *err)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	int rc = xb_run(argv, cwd, logfile, err);
	if (rc)
		return xs_fail(err, rc, "`%s` failed%s%s", cmd, logfile ? ", see " : "",
			       logfile ? logfile : "");
	return 0;
}

int xb_mkdir_p(const char *path, struct xs_err *err)
{
	char *p = xb_strdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			int rc = xs_fail(err, -errno, "mkdir %s: %s", p, strerror(errno));
			free(p);
			return rc;
		}
		*s = '/';
	}
	int rc = 0;
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		rc = xs_fail(err, -errno, "mkdir %s: %s", p, strerror(errno));
	free(p);
	return rc;
}

int xb_copy_tree(const char *src, const char *dst, struct xs_err *err)
{
	int rc = xb_mkdir_p(dst, err);
	if (rc)
		return rc;
	char *s = xb_asprintf("%s/.", src);
	char *argv[] = { "cp", "-a", s, (char *)dst, NULL };
	rc = xb_run(argv, NULL, NULL, err);
	free(s);
	return rc ? xs_fail_prefix(err, rc, "copying %s", src) : 0;
}

int xb_remove_tree(const char *dir)
{
	char *argv[] = { "rm", "-rf", "--", (char *)dir, NULL };
	return xb_run(argv, NULL, NULL, NULL);
}

int xb_copy_file(const char *src, const char *dst, struct xs_err *err)
{
	char *argv[] = { "cp", "-p", "--", (char *)src, (char *)dst, NULL };
	return xb_run(argv, NULL, NULL, err);
}

/* ---- patch ---- */

static char *strip_path(const char *p, int n)
{
	while (n-- > 0) {
		const char *s = strchr(p, '/');
		if (!s)
			return NULL;
		p = s + 1;
		while (*p == '/')
			p++;
	}
	return xb_strdup(p);
}

int xb_patch_parse(const char *patchfile, struct xb_patch *p, struct xs_err *err)
{
	memset(p, 0, sizeof(*p));
	FILE *f = fopen(patchfile, "re");
	if (!f)
		return xs_fail(err, -errno, "%s: %s", patchfile, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct xb_pfile *cur = NULL;
	struct xb_hunk *h = NULL;
	long ol = 0, nl = 0, oleft = 0, nleft = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (h && (oleft > 0 || nleft > 0)) {
			char c = line[0];
			if ((c == '-' || c == '+') && !h->first_new)
				h->first_new = nl;
			if (c == ' ' || c == '\0') {
				ol++, nl++, oleft--, nleft--;
			} else if (c == '-') {
				ol++, oleft--;
				h->resync_old = ol, h->resync_new = nl;
			} else if (c == '+') {
				nl++, nleft--;
				h->resync_old = ol, h->resync_new = nl;
			} else if (c == '\\') {
				continue;
			} else {
				h = NULL;
			}
			if (h && c != ' ' && c != '\0') {
				/* resync_* point at the line after the change */
				h->resync_old = ol;
				h->resync_new = nl;
			}
			continue;
		}
		if (!strncmp(line, "+++ ", 4)) {
			char *path = line + 4;
			char *t = strchr(path, '\t');
			if (t)
				*t = '\0';
			cur = NULL;
			h = NULL;
			if (!strcmp(path, "/dev/null"))
				continue;
			p->files = xb_realloc(p->files, p->nfiles + 1, sizeof(*p->files));
			cur = &p->files[p->nfiles++];
			memset(cur, 0, sizeof(*cur));
			cur->path = xb_strdup(path);
			continue;
		}
		long a, b = 1, c, d = 1;
		if (cur && !strncmp(line, "@@ -", 4)) {
			const char *s = line + 4;
			char *e;
			a = strtol(s, &e, 10);
			if (*e == ',')
				b = strtol(e + 1, &e, 10);
			if (strncmp(e, " +", 2))
				continue;
			c = strtol(e + 2, &e, 10);
			if (*e == ',')
				d = strtol(e + 1, &e, 10);
			cur->hunks = xb_realloc(cur->hunks, cur->nhunks + 1, sizeof(*cur->hunks));
			h = &cur->hunks[cur->nhunks++];
			h->old_start = a, h->old_len = b, h->new_start = c, h->new_len = d;
			h->resync_old = h->resync_new = h->first_new = 0;
			ol = b ? a : a + 1;
			nl = d ? c : c + 1;
			oleft = b, nleft = d;
		}
	}
	free(line);
	fclose(f);
	/* resync = the first line after the last change: ol/nl were advanced past
	 * it when recorded, so they already name that next line. */
	if (!p->nfiles)
		return xs_fail(err, -EINVAL, "%s: no files in patch", patchfile);
	return 0;
}

void xb_patch_free(struct xb_patch *p)
{
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].path);
		free(p->files[i].hunks);
	}
	free(p->files);
	memset(p, 0, sizeof(*p));
}

/* A hunk that applied at an offset moved both numberings by that much:
 * "patching file F" ... "Hunk #K succeeded at L (offset D lines)." */
static void apply_offsets(const char *log, struct xb_patch *p)
{
	FILE *f = fopen(log, "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	struct xb_pfile *cur = NULL;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "patching file ", 14)) {
			const char *name = line + 14;
			size_t nl = strlen(name);
			if (nl >= 2 && (name[0] == '\'' || name[0] == '"'))
				name++, nl -= 2;
			cur = NULL;
			for (size_t k = 0; k < p->nfiles; k++)
				if (strlen(p->files[k].path) == nl && !strncmp(p->files[k].path, name, nl))
					cur = &p->files[k];
			continue;
		}
		unsigned hk;
		long at, off;
		if (cur && sscanf(line, "Hunk #%u succeeded at %ld (offset %ld line", &hk, &at, &off) == 3 &&
		    hk >= 1 && hk <= cur->nhunks) {
			struct xb_hunk *h = &cur->hunks[hk - 1];
			h->resync_old += off;
			h->resync_new += off;
			if (h->first_new)
				h->first_new += off;
			xb_debug("%s: hunk %u applied at offset %ld", cur->path, hk, off);
		} else if (cur && strstr(line, "with fuzz")) {
			xb_debug("%s: %s", cur->path, line);
		}
	}
	free(line);
	fclose(f);
}

int xb_patch_apply(const char *tree, const char *patchfile, struct xb_patch *p,
		   struct xs_err *err)
{
	static const int levels[] = { 1, 0, 2 };
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		char lvl[8];
		snprintf(lvl, sizeof(lvl), "-p%d", levels[i]);
		char *dry[] = { "patch", "--dry-run", "--batch", "--forward", "-s", lvl, "-i",
				(char *)patchfile, NULL };
		char *log = xb_asprintf("%s/../patch.log", tree);
		if (xb_run(dry, tree, log, NULL)) {
			free(log);
			continue;
		}
		char *real[] = { "patch", "--batch", "--forward", "--no-backup-if-mismatch", lvl, "-i",
				 (char *)patchfile, NULL };
		unlink(log);
		int rc = xb_run(real, tree, log, err);
		if (rc) {
			free(log);
			return xs_fail_prefix(err, rc, "applying %s", patchfile);
		}
		p->strip = levels[i];
		for (size_t k = 0; k < p->nfiles; k++) {
			char *s = strip_path(p->files[k].path, p->strip);
			free(p->files[k].path);
			p->files[k].path = s ? s : xb_strdup("");
		}
		apply_offsets(log, p);
		free(log);
		return 0;
	}
	return xs_fail(err, -EINVAL, "%s does not apply to the source tree (tried -p1, -p0, -p2)",
		       patchfile);
}

/* ---- line-neutral rewrite ---- */

/* A C or C++ source or header: what the line-neutral rewrite touches. */
static bool c_like(const char *path)
{
	static const char *const ext[] = { ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".inc",
					   NULL };
	return xb_has_extension(path, ext);
}

struct line {
	char *s;
	bool in_comment; /* starts inside a block comment */
	bool continued;  /* the previous line ended with a backslash */
};

/* Mark, for each line, whether a directive could go right before it. */
static void lex(struct line *l, size_t n)
{
	enum { CODE, BLOCK, STR, CHR } st = CODE;
	bool cont = false;
	for (size_t i = 0; i < n; i++) {
		l[i].in_comment = st == BLOCK;
		l[i].continued = cont;
		const char *s = l[i].s;
		size_t len = strlen(s);
		cont = len && s[len - 1] == '\\';
		for (size_t k = 0; k < len; k++) {
			char c = s[k];
			if (st == CODE) {
				if (c == '/' && s[k + 1] == '*')
					st = BLOCK, k++;
				else if (c == '/' && s[k + 1] == '/')
					break;
				else if (c == '"')
					st = STR;
				else if (c == '\'')
					st = CHR;
			} else if (st == BLOCK) {
				if (c == '*' && s[k + 1] == '/')
					st = CODE, k++;
			} else if (c == '\\') {
				k++;
			} else if ((st == STR && c == '"') || (st == CHR && c == '\'')) {
				st = CODE;
			}
		}
		if ((st == STR || st == CHR) && !cont)
			st = CODE;
	}
}

static bool boundary(const struct line *l, size_t n, size_t idx)
{
	if (idx >= n || l[idx].in_comment || l[idx].continued)
		return false;
	if (idx == 0)
		return true;
	const char *p = l[idx - 1].s;
	size_t len = strlen(p);
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	const char *q = p;
	while (isspace((unsigned char)*q))
		q++;
	if (!len || *q == '#')
		return true;
	char c = p[len - 1];
	if (c == ';' || c == '{' || c == '}')
		return true;
	if (len >= 2 && p[len - 2] == '*' && c == '/')
		return !l[idx - 1].in_comment || strstr(p, "*/") != NULL;
	return false;
}

static int fixup_file(const char *path, const struct xb_pfile *pf, unsigned *ninserted,
		      struct xs_err *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	struct line *l = NULL;
	size_t n = 0;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	bool last_nl = true;
	while ((len = getline(&buf, &cap, f)) > 0) {
		last_nl = buf[len - 1] == '\n';
		if (last_nl)
			buf[--len] = '\0';
		l = xb_realloc(l, n + 1, sizeof(*l));
		l[n].s = xb_strdup(buf);
		n++;
	}
	free(buf);
	fclose(f);
	lex(l, n);
	/* before[i]: presumed line number to announce before physical line i (0: none) */
	long *before = xb_calloc(n + 1, sizeof(*before));
	long shift = 0; /* presumed - physical for lines after the last directive */
	for (size_t h = 0; h < pf->nhunks; h++) {
		const struct xb_hunk *hk = &pf->hunks[h];
		if (!hk->resync_new)
			continue;
		long lim = h + 1 < pf->nhunks && pf->hunks[h + 1].first_new
				   ? pf->hunks[h + 1].first_new
				   : (long)n + 1;
		long pn = hk->resync_new, po = hk->resync_old;
		while (pn < lim && pn <= (long)n && !boundary(l, n, (size_t)(pn - 1)))
			pn++, po++;
		if (pn > (long)n || pn >= lim)
			continue;
		if (pn + shift == po)
			continue;
		before[pn - 1] = po;
		shift = po - pn;
		(*ninserted)++;
	}
	int rc = 0;
	char *tmp = xb_asprintf("%s.xsplice-tmp", path);
	FILE *o = fopen(tmp, "we");
	if (!o) {
		rc = xs_fail(err, -errno, "%s: %s", tmp, strerror(errno));
	} else {
		for (size_t i = 0; i < n; i++) {
			if (before[i])
				fprintf(o, "#line %ld\n", before[i]);
			fputs(l[i].s, o);
			if (i + 1 < n || last_nl)
				fputc('\n', o);
		}
		if (fclose(o) || rename(tmp, path))
			rc = xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	}
	free(tmp);
	for (size_t i = 0; i < n; i++)
		free(l[i].s);
	free(l);
	free(before);
	return rc;
}

int xb_line_fixup(const char *tree, const struct xb_patch *p, unsigned *ninserted,
		  struct xs_err *err)
{
	*ninserted = 0;
	for (size_t i = 0; i < p->nfiles; i++) {
		const struct xb_pfile *pf = &p->files[i];
		if (!c_like(pf->path) || !pf->nhunks)
			continue;
		char *path = xb_asprintf("%s/%s", tree, pf->path);
		int rc = fixup_file(path, pf, ninserted, err);
		free(path);
		if (rc)
			return rc;
	}
	return 0;
}
