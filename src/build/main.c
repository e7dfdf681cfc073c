/* SPDX-License-Identifier: MIT */
/*
 * xsplice-build: source patch -> live patch payload.
 *   copy DIR, build it with the capturing compiler wrapper, snapshot the
 *   objects, apply the patch (line-neutral), rebuild, diff the recompiled
 *   objects against the snapshot, write parts, `ld -r --build-id`.
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct opts {
	const char *srcdir, *patch, *target, *build_cmd, *name, *depends, *out, *workdir;
	int jobs;
	bool keep, no_line_fixup, jobs_given;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xsplice-build --srcdir DIR --patch FIX.patch --target BINARY\n"
		"                     [--build-cmd CMD] [--name NAME] [--depends BUILD-ID]\n"
		"                     [-j N] [--work-dir DIR] [--keep-work] [--no-line-fixup]\n"
		"                     [--verbose] -o OUT.livepatch\n"
		"       xsplice-build --dump PAYLOAD\n"
		"       xsplice-build --print-cflags\n"
		"       xsplice-build --wrap -- CMD...   (build the running binary the same way)\n"
		"\n"
		"Builds DIR (a copy; DIR is never modified) with a compiler wrapper that adds\n"
		"  " XB_WRAP_CFLAGS "\n"
		"then applies the patch, rebuilds, and turns the changed functions into a\n"
		"payload for BINARY (the running executable or library, built from DIR with\n"
		"the same flags). Exit: 0 ok, 1 failure, 2 usage, 4 refused (unsafe change).\n");
}

static char *abspath(const char *p)
{
	char buf[PATH_MAX];
	if (realpath(p, buf))
		return xb_strdup(buf);
	/* Not there yet (the output): resolve its directory. */
	char *d = xb_strdup(p), *slash = strrchr(d, '/');
	const char *b = p;
	if (slash) {
		*slash = '\0';
		b = p + (slash - d) + 1;
	} else {
		free(d);
		d = xb_strdup(".");
	}
	char *r = realpath(*d ? d : "/", buf) ? xb_asprintf("%s/%s", buf, b) : xb_strdup(p);
	free(d);
	return r;
}

static int parse_hex(const char *s, uint8_t *out, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2 || n == 0 || n / 2 > 64)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int setup_env(const char *work, const char *bindir, const char *srcdir)
{
	const char *path = getenv("PATH");
	char *np = xb_asprintf("%s:%s", bindir, path ? path : "/usr/bin:/bin");
	char *map = xb_asprintf("%s/tree=%s", work, srcdir);
	int rc = setenv("PATH", np, 1) || setenv("XSPLICE_WRAP_DIR", bindir, 1) ||
		 setenv("XSPLICE_PREFIX_MAP", map, 1);
	free(np);
	free(map);
	return rc ? -errno : 0;
}

/* ---- finding an unstripped twin of a stripped BINARY ---- */

static const uint8_t *want_id;
static size_t want_len;
static const char *want_base;
static char *found_by_id, *found_by_name;

static int scan_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode) || st->st_size < 64)
		return 0;
	uint8_t id[64];
	size_t len;
	bool symtab = false;
	if (xb_file_build_id(path, id, &len, &symtab) || !symtab)
		return 0;
	if (len == want_len && !memcmp(id, want_id, len) && !found_by_id)
		found_by_id = xb_strdup(path);
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	if (!strcmp(b, want_base) && !found_by_name)
		found_by_name = xb_strdup(path);
	return found_by_id ? 1 : 0;
}

static int stripped_symbols(struct xb_target *t, const char *tree, const char *work,
			    struct xs_err *err)
{
	/* A debug file installed for this build-id. */
	char hexid[129] = "";
	for (size_t i = 0; i < t->build_id_len; i++)
		snprintf(hexid + 2 * i, 3, "%02x", t->build_id[i]);
	char *dbg = xb_asprintf("/usr/lib/debug/.build-id/%.2s/%s.debug", hexid, hexid + 2);
	if (!access(dbg, R_OK)) {
		xb_info("%s is stripped: symbols from %s", t->path, dbg);
		int rc = xb_target_use_symbols(t, dbg, err);
		free(dbg);
		return rc;
	}
	free(dbg);
	want_id = t->build_id;
	want_len = t->build_id_len;
	want_base = strrchr(t->path, '/') ? strrchr(t->path, '/') + 1 : t->path;
	nftw(tree, scan_cb, 16, FTW_PHYS);
	const char *src = found_by_id ? found_by_id : found_by_name;
	if (!src)
		return xs_fail(err, -ENOENT,
			       "%s is stripped and no unstripped file with its build-id was found "
			       "(install its debug file or build it from the same tree)",
			       t->path);
	if (!found_by_id)
		xb_info("warning: %s is stripped; taking symbols from %s of the original build, "
			"whose build-id differs (the target must come from the same sources and flags)",
			t->path, src);
	else
		xb_info("%s is stripped: symbols from %s (same build-id)", t->path, src);
	char *copy = xb_asprintf("%s/orig-linked", work);
	int rc = xb_copy_file(src, copy, err);
	if (!rc)
		rc = xb_target_use_symbols(t, copy, err);
	free(copy);
	free(found_by_id);
	free(found_by_name);
	return rc;
}

static bool same_file(const char *a, const char *b)
{
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	bool same = fa >= 0 && fb >= 0;
	char x[65536], y[65536];
	while (same) {
		ssize_t na = read(fa, x, sizeof(x)), nb = read(fb, y, sizeof(y));
		if (na != nb || na < 0 || memcmp(x, y, (size_t)na))
			same = false;
		if (na <= 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static void print_list(const char *what, const struct xb_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		printf("%s: %s%s%s%s%s\n", what, l->v[i].name, l->v[i].file ? " (" : "",
		       l->v[i].file ? l->v[i].file : "", l->v[i].file ? ")" : "",
		       l->v[i].reason ? "" : "");
}

static int build(const struct opts *o)
{
	struct xs_err err = { { 0 } };
	struct xb_target tgt;
	struct xb_patch patch = { 0 };
	struct xb_result res = { 0 };
	struct xb_compile *ol = NULL, *pl = NULL;
	size_t nol = 0, npl = 0;
	struct xb_pair *pairs = NULL;
	size_t npairs = 0;
	char **parts = NULL;
	size_t nparts = 0;
	int ret = XB_EXIT_FAIL, rc;
	char *work = NULL;
	bool made_work = false;

	char *srcdir = abspath(o->srcdir), *patchf = abspath(o->patch),
	     *target = abspath(o->target), *out = abspath(o->out);
	uint8_t dep[64];
	size_t deplen = 0;

	if ((rc = xb_target_open(&tgt, target, &err)))
		goto fail;
	if (o->depends) {
		if (parse_hex(o->depends, dep, &deplen)) {
			fprintf(stderr, "xsplice-build: --depends wants a hex build-id\n");
			ret = XB_EXIT_USAGE;
			goto done;
		}
	} else {
		memcpy(dep, tgt.build_id, tgt.build_id_len);
		deplen = tgt.build_id_len;
	}
	if ((rc = xb_patch_parse(patchf, &patch, &err)))
		goto fail;

	if (o->workdir) {
		work = abspath(o->workdir);
		if ((rc = xb_mkdir_p(work, &err)))
			goto fail;
	} else {
		const char *tmp = getenv("TMPDIR");
		work = xb_asprintf("%s/xsplice-build.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(work)) {
			rc = xs_fail(&err, -errno, "mkdtemp: %s", strerror(errno));
			goto fail;
		}
		made_work = true;
	}
	xb_info("work dir %s", work);
	char *bindir = xb_asprintf("%s/bin", work), *tree = xb_asprintf("%s/tree", work);
	char *ologf = xb_asprintf("%s/orig.cclog", work), *plogf = xb_asprintf("%s/patched.cclog", work);
	char *obuild = xb_asprintf("%s/build-orig.log", work),
	     *pbuild = xb_asprintf("%s/build-patched.log", work);
	char *cmd = o->build_cmd ? xb_strdup(o->build_cmd) : xb_asprintf("make -j%d", o->jobs);
	unlink(ologf);
	unlink(plogf);
	if ((rc = xb_install_wrapper(bindir, &err)) || (rc = setup_env(work, bindir, srcdir))) {
		if (rc && !err.msg[0])
			xs_fail(&err, rc, "environment: %s", strerror(-rc));
		goto fail_paths;
	}
	if (o->build_cmd && o->jobs_given) {
		char *mf = xb_asprintf("-j%d", o->jobs);
		setenv("MAKEFLAGS", mf, 1);
		free(mf);
	}

	xb_info("copying %s", srcdir);
	xb_remove_tree(tree);
	if ((rc = xb_copy_tree(srcdir, tree, &err)))
		goto fail_paths;
	{
		/* Objects left from an earlier build would not be recompiled with
		 * the wrapper's flags, nor captured. */
		char *argv[] = { "find", tree, "-name", "*.o", "-type", "f", "-delete", NULL };
		xb_run(argv, NULL, NULL, NULL);
	}
	double t0 = xb_now();
	xb_info("building original tree: %s (log %s)", cmd, obuild);
	setenv("XSPLICE_CC_LOG", ologf, 1);
	if ((rc = xb_run_shell(cmd, tree, obuild, &err)))
		goto fail_paths;
	if ((rc = xb_read_log(ologf, &ol, &nol, &err)))
		goto fail_paths;
	xb_info("original build: %zu objects in %.1f s", nol, xb_now() - t0);
	if (!nol) {
		rc = xs_fail(&err, -ENOENT,
			     "the build compiled nothing through the wrapper (does it call cc/gcc?)");
		goto fail_paths;
	}
	/* Snapshot the original objects: the patched build overwrites them. */
	char **snap = xb_calloc(nol, sizeof(*snap));
	char *snapdir = xb_asprintf("%s/orig", work);
	xb_mkdir_p(snapdir, NULL);
	for (size_t i = 0; i < nol; i++) {
		if (access(ol[i].obj, R_OK))
			continue;
		snap[i] = xb_asprintf("%s/%zu.o", snapdir, i);
		if ((rc = xb_copy_file(ol[i].obj, snap[i], &err)))
			goto fail_snap;
	}
	if (!tgt.has_symtab && (rc = stripped_symbols(&tgt, tree, work, &err)))
		goto fail_snap;

	xb_info("applying %s", patchf);
	if ((rc = xb_patch_apply(tree, patchf, &patch, &err)))
		goto fail_snap;
	if (!o->no_line_fixup) {
		unsigned nfix = 0;
		if ((rc = xb_line_fixup(tree, &patch, &nfix, &err)))
			goto fail_snap;
		if (nfix)
			xb_info("line-neutral rewrite: %u #line directive%s", nfix, nfix == 1 ? "" : "s");
	}
	double t1 = xb_now();
	xb_info("building patched tree (log %s)", pbuild);
	setenv("XSPLICE_CC_LOG", plogf, 1);
	if ((rc = xb_run_shell(cmd, tree, pbuild, &err)))
		goto fail_snap;
	if ((rc = xb_read_log(plogf, &pl, &npl, &err)))
		goto fail_snap;
	xb_info("patched build: %zu objects recompiled in %.1f s", npl, xb_now() - t1);

	double t2 = xb_now();
	for (size_t i = 0; i < npl; i++) {
		size_t k;
		for (k = 0; k < nol; k++)
			if (!strcmp(ol[k].obj, pl[i].obj))
				break;
		if (access(pl[i].obj, R_OK))
			continue;
		bool isnew = k == nol || !snap[k];
		if (!isnew && same_file(snap[k], pl[i].obj))
			continue;
		pairs = xb_realloc(pairs, npairs + 1, sizeof(*pairs));
		struct xb_pair *p = &pairs[npairs];
		memset(p, 0, sizeof(*p));
		p->orig.fd = p->patched.fd = -1;
		npairs++;
		p->is_new_obj = isnew;
		if ((rc = xb_obj_open(&p->patched, pl[i].obj, &err)))
			goto fail_snap;
		if (!isnew && (rc = xb_obj_open(&p->orig, snap[k], &err)))
			goto fail_snap;
		if (!isnew) {
			/* Report and look up by the patched object's own file name. */
			free(p->orig.path);
			p->orig.path = xb_strdup(pl[i].obj);
		} else {
			xb_info("new object %s: all its functions are new", pl[i].obj);
			p->orig.file = p->patched.file ? xb_strdup(p->patched.file) : NULL;
		}
		if (!xb_obj_in_target(p, &tgt)) {
			/* e.g. a client program's object in the same tree */
			xb_list_add(&res.notes, p->patched.file ? p->patched.file : pl[i].obj, NULL,
				    "changed, but not linked into the target: skipped");
			continue;
		}
		xb_debug("diffing %s", pl[i].obj);
		if ((rc = xb_diff(p, &res, &err)))
			goto fail_snap;
	}
	for (size_t i = 0; i < npairs; i++)
		if (pairs[i].any && (rc = xb_select(&pairs[i], &tgt, &res, &err)))
			goto fail_snap;

	print_list("changed", &res.changed);
	print_list("new", &res.added);
	for (size_t i = 0; i < res.notes.n; i++)
		printf("note: %s%s%s%s: %s\n", res.notes.v[i].name, res.notes.v[i].file ? " (" : "",
		       res.notes.v[i].file ? res.notes.v[i].file : "", res.notes.v[i].file ? ")" : "",
		       res.notes.v[i].reason);
	if (res.refused.n) {
		for (size_t i = 0; i < res.refused.n; i++)
			printf("refused: %s (%s): %s\n", res.refused.v[i].name,
			       res.refused.v[i].file ? res.refused.v[i].file : "?",
			       res.refused.v[i].reason);
		xb_info("refusing to build a payload: %zu unsafe change%s", res.refused.n,
			res.refused.n == 1 ? "" : "s");
		ret = XB_EXIT_REFUSED;
		goto done_snap;
	}
	if (!res.nfuncs && !res.added.n) {
		rc = xs_fail(&err, -ENODATA, "the patch changes no function (%zu objects recompiled)",
			     npl);
		goto fail_snap;
	}
	char *partdir = xb_asprintf("%s/parts", work);
	xb_mkdir_p(partdir, NULL);
	for (size_t i = 0; i < npairs; i++) {
		if (!pairs[i].any)
			continue;
		parts = xb_realloc(parts, nparts + 1, sizeof(*parts));
		parts[nparts] = xb_asprintf("%s/part%zu.o", partdir, i);
		if ((rc = xb_write_part(&pairs[i], &res, parts[nparts++], &err)))
			goto fail_part;
	}
	struct xb_payload_opts po = { .depends = dep, .depends_len = deplen, .name = o->name };
	parts = xb_realloc(parts, nparts + 1, sizeof(*parts));
	parts[nparts] = xb_asprintf("%s/meta.o", partdir);
	if ((rc = xb_write_meta(&res, &po, parts[nparts++], &err)))
		goto fail_part;
	if ((rc = xb_link(parts, nparts, out, &err)))
		goto fail_part;
	double t3 = xb_now();
	struct stat st;
	stat(out, &st);
	for (size_t i = 0; i < res.nfuncs; i++)
		printf("func: %s old_addr=0x%llx old_size=%llu new_size=%llu\n", res.funcs[i].name,
		       (unsigned long long)res.funcs[i].old_addr,
		       (unsigned long long)res.funcs[i].old_size,
		       (unsigned long long)res.funcs[i].sym->s.st_size);
	printf("payload: %s (%lld bytes, %zu function%s patched, %zu new)\n", out,
	       (long long)st.st_size, res.nfuncs, res.nfuncs == 1 ? "" : "s", res.added.n);
	printf("time beyond the builds (diff + link): %.3f s\n", t3 - t2);
	ret = XB_EXIT_OK;
	goto done_part;

fail_part:
done_part:
	free(partdir);
	if (ret == XB_EXIT_OK)
		goto done_snap;
fail_snap:
	if (ret != XB_EXIT_OK && ret != XB_EXIT_REFUSED)
		xb_info("error: %s", err.msg[0] ? err.msg : xs_errno_name(rc));
done_snap:
	for (size_t i = 0; i < nol; i++)
		free(snap[i]);
	free(snap);
	free(snapdir);
	goto done_paths;
fail_paths:
	xb_info("error: %s", err.msg[0] ? err.msg : xs_errno_name(rc));
done_paths:
	free(bindir);
	free(tree);
	free(ologf);
	free(plogf);
	free(obuild);
	free(pbuild);
	free(cmd);
	goto done;
fail:
	xb_info("error: %s", err.msg[0] ? err.msg : xs_errno_name(rc));
done:
	for (size_t i = 0; i < npairs; i++) {
		xb_obj_close(&pairs[i].orig);
		xb_obj_close(&pairs[i].patched);
	}
	free(pairs);
	for (size_t i = 0; i < nparts; i++)
		free(parts[i]);
	free(parts);
	xb_free_log(ol, nol);
	xb_free_log(pl, npl);
	xb_result_free(&res);
	xb_patch_free(&patch);
	xb_target_close(&tgt);
	if (work && made_work && !o->keep)
		xb_remove_tree(work);
	else if (work && ret != XB_EXIT_OK)
		xb_info("work dir kept: %s", work);
	free(work);
	free(srcdir);
	free(patchf);
	free(target);
	free(out);
	return ret;
}

/* Run a command with the wrapper first in PATH (no capture): how to build
 * the binary that will run, so its code matches what xsplice-build diffs. */
static int wrap_exec(char **argv)
{
	struct xs_err err = { { 0 } };
	const char *tmp = getenv("TMPDIR");
	char *dir = xb_asprintf("%s/xsplice-wrap.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || xb_install_wrapper(dir, &err)) {
		fprintf(stderr, "xsplice-build: %s\n", err.msg[0] ? err.msg : strerror(errno));
		return XB_EXIT_FAIL;
	}
	const char *path = getenv("PATH");
	char *np = xb_asprintf("%s:%s", dir, path ? path : "/usr/bin:/bin");
	setenv("PATH", np, 1);
	setenv("XSPLICE_WRAP_DIR", dir, 1);
	unsetenv("XSPLICE_CC_LOG");
	int rc = xb_run(argv, NULL, NULL, &err);
	xb_remove_tree(dir);
	free(dir);
	free(np);
	if (rc) {
		fprintf(stderr, "xsplice-build: %s\n", err.msg);
		return XB_EXIT_FAIL;
	}
	return XB_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (xb_is_wrapper(argv[0]))
		return xb_wrapper_main(argc, argv);
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fprintf(stderr, "xsplice-build: libelf too old\n");
		return XB_EXIT_FAIL;
	}
	enum { O_SRCDIR = 256, O_PATCH, O_TARGET, O_BUILDCMD, O_NAME, O_DEPENDS, O_KEEP, O_WORK,
	       O_NOLINE, O_DUMP, O_CFLAGS, O_WRAP };
	static const struct option lo[] = {
		{ "srcdir", required_argument, 0, O_SRCDIR },
		{ "patch", required_argument, 0, O_PATCH },
		{ "target", required_argument, 0, O_TARGET },
		{ "build-cmd", required_argument, 0, O_BUILDCMD },
		{ "name", required_argument, 0, O_NAME },
		{ "depends", required_argument, 0, O_DEPENDS },
		{ "output", required_argument, 0, 'o' },
		{ "jobs", required_argument, 0, 'j' },
		{ "keep-work", no_argument, 0, O_KEEP },
		{ "work-dir", required_argument, 0, O_WORK },
		{ "no-line-fixup", no_argument, 0, O_NOLINE },
		{ "dump", required_argument, 0, O_DUMP },
		{ "print-cflags", no_argument, 0, O_CFLAGS },
		{ "wrap", no_argument, 0, O_WRAP },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct opts o = { 0 };
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	o.jobs = n > 0 ? (int)n : 1;
	int c;
	while ((c = getopt_long(argc, argv, "+o:j:vh", lo, NULL)) != -1) {
		switch (c) {
		case O_SRCDIR: o.srcdir = optarg; break;
		case O_PATCH: o.patch = optarg; break;
		case O_TARGET: o.target = optarg; break;
		case O_BUILDCMD: o.build_cmd = optarg; break;
		case O_NAME: o.name = optarg; break;
		case O_DEPENDS: o.depends = optarg; break;
		case 'o': o.out = optarg; break;
		case 'j':
			o.jobs = atoi(optarg);
			o.jobs_given = true;
			if (o.jobs < 1) {
				fprintf(stderr, "xsplice-build: bad -j %s\n", optarg);
				return XB_EXIT_USAGE;
			}
			break;
		case O_KEEP: o.keep = true; break;
		case O_WORK: o.workdir = optarg; break;
		case O_NOLINE: o.no_line_fixup = true; break;
		case O_DUMP: {
			struct xs_err err = { { 0 } };
			if (xb_dump(optarg, &err)) {
				fprintf(stderr, "xsplice-build: %s\n", err.msg);
				return XB_EXIT_FAIL;
			}
			return XB_EXIT_OK;
		}
		case O_CFLAGS: puts(XB_WRAP_CFLAGS); return XB_EXIT_OK;
		case O_WRAP:
			if (optind < argc && !strcmp(argv[optind], "--"))
				optind++;
			if (optind >= argc) {
				usage(stderr);
				return XB_EXIT_USAGE;
			}
			return wrap_exec(argv + optind);
		case 'v': xb_verbose = 1; break;
		case 'h': usage(stdout); return XB_EXIT_OK;
		default: usage(stderr); return XB_EXIT_USAGE;
		}
	}
	if (optind != argc || !o.srcdir || !o.patch || !o.target || !o.out) {
		if (optind != argc)
			fprintf(stderr, "xsplice-build: unexpected argument %s\n", argv[optind]);
		else
			fprintf(stderr, "xsplice-build: --srcdir, --patch, --target and -o are required\n");
		usage(stderr);
		return XB_EXIT_USAGE;
	}
	struct stat st;
	if (stat(o.srcdir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xsplice-build: --srcdir %s: not a directory\n", o.srcdir);
		return XB_EXIT_USAGE;
	}
	if (access(o.patch, R_OK) || access(o.target, R_OK)) {
		fprintf(stderr, "xsplice-build: cannot read %s\n",
			access(o.patch, R_OK) ? o.patch : o.target);
		return XB_EXIT_USAGE;
	}
	if (!o.name) {
		/* Default name: output file name without its extension. */
		const char *b = strrchr(o.out, '/') ? strrchr(o.out, '/') + 1 : o.out;
		static char nb[128];
		snprintf(nb, sizeof(nb), "%s", b);
		char *dot = strchr(nb, '.');
		if (dot && dot != nb)
			*dot = '\0';
		o.name = nb;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return build(&o);
}
