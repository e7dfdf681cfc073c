/* SPDX-License-Identifier: MIT */
/*
 * xsplice-build: source patch -> live patch payload (docs/build.md).
 * The command line, then build(): a pipeline of phases over one struct
 * build_ctx -- copy DIR, build it with the capturing compiler wrapper,
 * snapshot the objects, apply the patch (line-neutral), rebuild, compare the
 * recompiled objects with the snapshot, select, report, write the parts,
 * `ld -r --build-id` -- with one cleanup, build_ctx_free().
 *
 * Threading: xsplice-build is single-threaded throughout (the compiler
 * wrapper mode too); nothing in src/build locks, and the global state
 * (xb_verbose, the stripped-twin search, the environment) assumes it.
 */
#include "build.h"
#include "common/clock.h"
#include "common/elfnote.h"
#include "common/hex.h"
#include "common/text.h"
#include "xsplice/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *srcdir, *patch, *target, *build_cmd, *name, *depends, *out, *workdir;
	const char *description, *payload_version;
	const char *cache;      /* --cache DIR (or $XSPLICE_BUILD_CACHE): reuse the original build */
	int jobs;
	bool keep, no_line_fixup, jobs_given, no_expect;
	bool allow_compiler_mismatch; /* --allow-compiler-mismatch: a warning, not a refusal */
	struct xb_type_allow allow_types; /* --allow-type-change NAME, repeatable */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xsplice-build --srcdir DIR --patch FIX.patch --target BINARY\n"
		"                     [--build-cmd CMD] [--name NAME] [--depends BUILD-ID]\n"
		"                     [-j N] [--work-dir DIR] [--keep-work] [--no-line-fixup]\n"
		"                     [--description TEXT] [--payload-version V] [--no-expect]\n"
		"                     [--cache DIR] [--allow-compiler-mismatch]\n"
		"                     [--allow-type-change TYPE]...\n"
		"                     [--verbose] -o OUT.livepatch\n"
		"       xsplice-build --dump PAYLOAD\n"
		"       xsplice-build --print-cflags\n"
		"       xsplice-build --wrap -- CMD...   (build the running binary the same way)\n"
		"\n"
		"Builds DIR (a copy; DIR is never modified) with a compiler wrapper that adds\n"
		"  " XB_WRAP_CFLAGS "\n"
		"  and the compiler's flag for external data through the GOT (GCC 12:\n"
		"  -mno-direct-extern-access; see --print-cflags)\n"
		"then applies the patch, rebuilds, and turns the changed functions into a\n"
		"payload for BINARY (the running executable or library, built from DIR with\n"
		"the same flags). Exit: 0 ok, 1 failure, 2 usage, 3 the patch changes no\n"
		"function, 4 refused (unsafe change, or a patched file the build did not\n"
		"recompile).\n"
		"--description/--payload-version go to the payload's .modinfo (xsplice list).\n"
		"Each function entry expects the old function's first bytes (the agent refuses\n"
		"to patch other code); --no-expect leaves them out (a payload stacked on\n"
		"another, --depends, has none).\n"
		"A struct/union/class whose size or layout the patch changes is refused (live\n"
		"objects keep the old layout); --allow-type-change TYPE (\"struct rec\" or\n"
		"\"rec\") makes it a note, for a type no old object of reaches new code.\n");
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

/* ---- the pipeline's state ---- */

/* Everything one run of the pipeline holds. Each phase reads what the
 * earlier ones left and adds its own; build_ctx_free() releases it all,
 * whichever phase the run stopped at. */
struct build_ctx {
	const struct opts *o;
	struct xs_err err;
	int exit_code;          /* of a failed run: XB_EXIT_FAIL unless a phase said otherwise */

	/* Inputs (absolute paths). */
	char *srcdir, *patch_path, *target_path, *out;
	struct xb_target target;
	uint8_t depends[XS_BUILD_ID_MAX];
	size_t depends_len;
	struct xb_patch patch;
	struct xb_copies copies; /* patched files the build compiles as copies */

	/* The work directory and what lives in it. */
	char *work;
	bool made_work;         /* a fresh temporary one: removed unless --keep-work */
	struct xb_cache cache;  /* --cache: the work dir is the entry's, at a fixed path */
	bool cached;            /* the original build comes from the cache */
	char *bindir;           /* the wrapper's compiler-named symlinks */
	char *tree;             /* the copy of DIR that is built and patched */
	char *orig_cclog, *patched_cclog;       /* what the wrapper compiled */
	char *orig_buildlog, *patched_buildlog; /* the build command's output */
	char *snapdir, *partdir;
	char *build_cmd;

	/* The builds: the objects each compiled, and copies of the original ones. */
	struct xb_compile *orig_objs, *patched_objs;
	size_t norig_objs, npatched_objs;
	char **snapshots;       /* one per orig_objs entry; NULL: the object was missing */
	struct xb_links links;  /* what the original build linked and archived */
	char **linkset;         /* the target's objects (canonical), NULL: link not seen */
	size_t nlinkset;
	char *linked_out;       /* the original build's output that is the target */
	struct xb_dep *deps;    /* original compiles: sources and headers read */
	size_t ndeps;

	/* The diff and the payload. */
	struct xb_pair *pairs;  /* one per changed object */
	size_t npairs;
	struct xb_result res;
	char **parts;           /* relocatable files to link: one per object, then meta */
	size_t nparts;
	uint64_t diff_start_ns; /* the summary times what comes after the builds */
};

static void build_ctx_init(struct build_ctx *c, const struct opts *o)
{
	memset(c, 0, sizeof(*c));
	c->o = o;
	c->exit_code = XB_EXIT_FAIL;
	c->target.fd = c->target.symfd = -1;
	c->cache.lockfd = -1;
	c->srcdir = abspath(o->srcdir);
	c->patch_path = abspath(o->patch);
	c->target_path = abspath(o->target);
	c->out = abspath(o->out);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void build_ctx_free(struct build_ctx *c)
{
	for (size_t i = 0; i < c->npairs; i++) {
		xb_obj_close(&c->pairs[i].orig);
		xb_obj_close(&c->pairs[i].patched);
	}
	free(c->pairs);
	free_strings(c->parts, c->nparts);
	free_strings(c->snapshots, c->snapshots ? c->norig_objs : 0);
	xb_free_log(c->orig_objs, c->norig_objs);
	xb_links_free(&c->links);
	free_strings(c->linkset, c->nlinkset);
	free(c->linked_out);
	xb_deps_free(c->deps, c->ndeps);
	xb_free_log(c->patched_objs, c->npatched_objs);
	xb_result_free(&c->res);
	xb_patch_free(&c->patch);
	xb_copies_free(&c->copies);
	xb_target_close(&c->target);
	xb_cache_close(&c->cache);
	if (c->work && c->made_work && !c->o->keep)
		xb_remove_tree(c->work);
	else if (c->work && c->exit_code != XB_EXIT_OK)
		xb_info("work dir kept: %s", c->work);
	char *strings[] = { c->srcdir, c->patch_path, c->target_path, c->out, c->work,
			    c->bindir, c->tree, c->orig_cclog, c->patched_cclog,
			    c->orig_buildlog, c->patched_buildlog, c->snapdir, c->partdir,
			    c->build_cmd };
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(strings[i]);
	memset(c, 0, sizeof(*c));
}

/* ---- finding an unstripped twin of a stripped BINARY ---- */

/* nftw() passes its callback no context: the search's state while it runs. */
static struct {
	const uint8_t *id;
	size_t id_len;
	const char *base;
	char *by_id, *by_name; /* first file with the same build-id / base name */
} twin_search;

static int twin_search_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw; /* nftw's signature */
	if (flag != FTW_F || !S_ISREG(st->st_mode) || st->st_size < 64)
		return 0;
	uint8_t id[XS_BUILD_ID_MAX];
	size_t len;
	if (xs_file_build_id(path, id, sizeof(id), &len, NULL) || !xb_file_has_symtab(path))
		return 0;
	if (len == twin_search.id_len && !memcmp(id, twin_search.id, len) && !twin_search.by_id)
		twin_search.by_id = xb_strdup(path);
	if (!strcmp(xb_base_name(path), twin_search.base) && !twin_search.by_name)
		twin_search.by_name = xb_strdup(path);
	return twin_search.by_id ? 1 : 0;
}

/* Symbols for a stripped BINARY: its debug file, else a file of the
 * original build with its build-id, else one with its name (warning). */
static int stripped_symbols(struct xb_target *t, const char *tree, const char *work,
			    struct xs_err *err)
{
	char hexid[2 * XS_BUILD_ID_MAX + 1];
	xs_hex_encode(t->build_id, t->build_id_len, hexid);
	char *dbg = xb_asprintf("/usr/lib/debug/.build-id/%.2s/%s.debug", hexid, hexid + 2);
	if (!access(dbg, R_OK)) {
		xb_info("%s is stripped: symbols from %s", t->path, dbg);
		int rc = xb_target_use_symbols(t, dbg, err);
		free(dbg);
		return rc;
	}
	free(dbg);
	twin_search.id = t->build_id;
	twin_search.id_len = t->build_id_len;
	twin_search.base = xb_base_name(t->path);
	nftw(tree, twin_search_visit, 16, FTW_PHYS);
	const char *src = twin_search.by_id ? twin_search.by_id : twin_search.by_name;
	int rc;
	if (!src) {
		rc = xs_fail(err, -ENOENT,
			     "%s is stripped and no unstripped file with its build-id was found "
			     "(install its debug file or build it from the same tree)",
			     t->path);
	} else {
		if (!twin_search.by_id)
			xb_info("warning: %s is stripped; taking symbols from %s of the original build, "
				"whose build-id differs (the target must come from the same sources and flags)",
				t->path, src);
		else
			xb_info("%s is stripped: symbols from %s (same build-id)", t->path, src);
		char *copy = xb_asprintf("%s/orig-linked", work);
		rc = xb_copy_file(src, copy, err);
		if (!rc)
			rc = xb_target_use_symbols(t, copy, err);
		free(copy);
	}
	free(twin_search.by_id);
	free(twin_search.by_name);
	memset(&twin_search, 0, sizeof(twin_search));
	return rc;
}

/* ---- small helpers of the phases ---- */

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

/* "what: NAME (FILE): REASON", the file and reason when there are;
 * nofile stands in for a missing file (NULL: leave it out). */
static void print_items(const char *what, const struct xb_list *l, const char *nofile)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct xb_item *it = &l->v[i];
		const char *file = it->file ? it->file : nofile;
		printf("%s: %s", what, it->name);
		if (file)
			printf(" (%s)", file);
		if (it->reason)
			printf(": %s", it->reason);
		putchar('\n');
	}
}

static double seconds_since(uint64_t start_ns)
{
	return (double)(xs_mono_ns() - start_ns) / 1e9;
}

/* Run the build command in the tree, the wrapper logging to cclog. */
static int run_build(struct build_ctx *c, const char *cclog, const char *buildlog)
{
	setenv("XSPLICE_CC_LOG", cclog, 1);
	return xb_run_shell(c->build_cmd, c->tree, buildlog, &c->err);
}

/* The snapshot of the original build's object obj, NULL if it had none. */
static const char *snapshot_of(const struct build_ctx *c, const char *obj)
{
	for (size_t k = 0; k < c->norig_objs; k++)
		if (!strcmp(c->orig_objs[k].obj, obj))
			return c->snapshots[k];
	return NULL;
}

static struct xb_pair *add_pair(struct build_ctx *c)
{
	c->pairs = xb_realloc(c->pairs, c->npairs + 1, sizeof(*c->pairs));
	struct xb_pair *p = &c->pairs[c->npairs++];
	memset(p, 0, sizeof(*p));
	p->orig.fd = p->patched.fd = -1;
	return p;
}

/* Open a changed object and its original (none: a new object). */
static int open_pair(struct xb_pair *p, const char *obj, const char *snapshot, struct xs_err *err)
{
	p->is_new_obj = !snapshot;
	int rc = xb_obj_open(&p->patched, obj, err);
	if (rc)
		return rc;
	if (p->is_new_obj) {
		xb_info("new object %s: all its functions are new", obj);
		p->orig.file = p->patched.file ? xb_strdup(p->patched.file) : NULL;
		return 0;
	}
	if ((rc = xb_obj_open(&p->orig, snapshot, err)))
		return rc;
	/* Report and look up by the patched object's own file name. */
	p->orig.disk_path = p->orig.path;
	p->orig.path = xb_strdup(obj);
	return 0;
}

static const char *add_part(struct build_ctx *c, char *path)
{
	c->parts = xb_realloc(c->parts, c->nparts + 1, sizeof(*c->parts));
	c->parts[c->nparts++] = path;
	return path;
}

/* ---- the phases, in pipeline order ---- */

/* BINARY (build-id, symbols), the build-id to depend on, the patch's hunks. */
static int read_inputs(struct build_ctx *c)
{
	int rc = xb_target_open(&c->target, c->target_path, &c->err);
	if (rc)
		return rc;
	if (c->o->depends) {
		if (xs_hex_decode(c->o->depends, c->depends, sizeof(c->depends), &c->depends_len) ||
		    !c->depends_len) {
			fprintf(stderr, "xsplice-build: --depends wants a hex build-id\n");
			c->exit_code = XB_EXIT_USAGE;
			return -EINVAL;
		}
	} else {
		memcpy(c->depends, c->target.build_id, c->target.build_id_len);
		c->depends_len = c->target.build_id_len;
	}
	return xb_patch_parse(c->patch_path, &c->patch, &c->err);
}

/* WORK, the wrapper in WORK/bin first in PATH, the build command. */
static int make_work_dir(struct build_ctx *c)
{
	int rc;
	c->build_cmd = c->o->build_cmd ? xb_strdup(c->o->build_cmd)
				       : xb_asprintf("make -j%d", c->o->jobs);
	if (c->o->cache) {
		char key[XB_CACHE_KEY_LEN + 1];
		char *cachedir = abspath(c->o->cache);
		/* -j does not change what is built: the default command's is not
		 * part of the key. */
		xb_cache_key(c->srcdir, c->o->build_cmd ? c->o->build_cmd : "make", NULL, key);
		rc = xb_cache_open(&c->cache, cachedir, key, &c->err);
		free(cachedir);
		if (rc)
			return rc;
		c->work = xb_strdup(c->cache.work);
		c->cached = c->cache.hit;
		xb_info("build cache %s: %s", c->cache.entry,
			c->cached ? "the original build is reused" : "new entry");
	} else if (c->o->workdir) {
		c->work = abspath(c->o->workdir);
		if ((rc = xb_mkdir_p(c->work, &c->err)))
			return rc;
	} else {
		const char *tmp = getenv("TMPDIR");
		c->work = xb_asprintf("%s/xsplice-build.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(c->work))
			return xs_fail(&c->err, -errno, "mkdtemp: %s", strerror(errno));
		c->made_work = true;
	}
	xb_info("work dir %s", c->work);
	c->bindir = xb_asprintf("%s/bin", c->work);
	c->tree = xb_asprintf("%s/tree", c->work);
	c->orig_cclog = xb_asprintf("%s/orig.cclog", c->work);
	c->patched_cclog = xb_asprintf("%s/patched.cclog", c->work);
	c->orig_buildlog = xb_asprintf("%s/build-orig.log", c->work);
	c->patched_buildlog = xb_asprintf("%s/build-patched.log", c->work);
	if (!c->cached) {
		char *logs[] = { c->orig_cclog, xb_asprintf("%s.deps", c->orig_cclog),
				 xb_asprintf("%s.links", c->orig_cclog) };
		for (size_t i = 0; i < 3; i++)
			unlink(logs[i]);
		free(logs[1]);
		free(logs[2]);
	}
	unlink(c->patched_cclog);
	{
		char *logs[] = { xb_asprintf("%s.deps", c->patched_cclog),
				 xb_asprintf("%s.links", c->patched_cclog) };
		unlink(logs[0]);
		unlink(logs[1]);
		free(logs[0]);
		free(logs[1]);
	}
	if ((rc = xb_install_wrapper(c->bindir, &c->err)) ||
	    (rc = setup_env(c->work, c->bindir, c->srcdir))) {
		if (!c->err.msg[0])
			xs_fail(&c->err, rc, "environment: %s", strerror(-rc));
		return rc;
	}
	if (c->o->build_cmd && c->o->jobs_given) {
		char *mf = xb_asprintf("-j%d", c->o->jobs);
		setenv("MAKEFLAGS", mf, 1);
		free(mf);
	}
	return 0;
}

/* nftw() passes no context: the time sources are set to. */
static struct timespec touch_now[2];

static int touch_source(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	static const char *const ext[] = { ".c", ".cc", ".cpp", ".cxx", ".c++", ".C", ".S",
					   ".s", ".h", ".hh", ".hpp", ".hxx", ".inc", NULL };
	if (flag == FTW_F && S_ISREG(st->st_mode) && xb_has_extension(path, ext))
		utimensat(AT_FDCWD, path, touch_now, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* DIR -> WORK/tree. An already built DIR keeps its objects, stamps and
 * libtool files (deleting them breaks build systems that keep stamps or
 * link prebuilt objects); instead every C/C++ source and header is made
 * newer than them, so the build recompiles -- and the wrapper captures --
 * whatever the build system does recompile, and what it does not is
 * caught by the coverage check after the patched build. */
static int copy_tree(struct build_ctx *c)
{
	if (c->cached) {
		xb_info("restoring the original build from %s", c->cache.built);
		return xb_cache_restore(&c->cache, c->tree, &c->err);
	}
	xb_info("copying %s", c->srcdir);
	xb_remove_tree(c->tree);
	int rc = xb_copy_tree(c->srcdir, c->tree, &c->err);
	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &touch_now[0]);
	touch_now[1] = touch_now[0];
	nftw(c->tree, touch_source, 16, FTW_PHYS);
	return 0;
}

static int build_original(struct build_ctx *c)
{
	uint64_t start = xs_mono_ns();
	int rc = 0;
	if (c->cached)
		xb_info("original build: from the cache (log %s)", c->orig_buildlog);
	else
		xb_info("building original tree: %s (log %s)", c->build_cmd, c->orig_buildlog);
	if (!c->cached) {
		unlink(c->orig_buildlog);
		rc = run_build(c, c->orig_cclog, c->orig_buildlog);
	}
	if (!rc)
		rc = xb_read_log(c->orig_cclog, &c->orig_objs, &c->norig_objs, &c->err);
	if (rc)
		return rc;
	xb_info("original build: %zu objects in %.1f s", c->norig_objs, seconds_since(start));
	if (!c->norig_objs)
		return xs_fail(&c->err, -ENOENT,
			       "the original build compiled nothing through the wrapper (log %s): "
			       "the build command must compile the tree with cc/gcc/g++ found in "
			       "PATH (not an absolute path such as CC=/usr/bin/gcc in a configured "
			       "tree), and a build system that decides by content hashes instead of "
			       "file times does not recompile the copy",
			       c->orig_buildlog);
	char *deplog = xb_asprintf("%s.deps", c->orig_cclog);
	rc = xb_read_deps(deplog, &c->deps, &c->ndeps, &c->err);
	free(deplog);
	return rc;
}

/* Copy the original objects to WORK/orig: the patched build overwrites them. */
static int snapshot_objects(struct build_ctx *c)
{
	c->snapshots = xb_calloc(c->norig_objs, sizeof(*c->snapshots));
	c->snapdir = xb_asprintf("%s/orig", c->work);
	xb_mkdir_p(c->snapdir, NULL);
	for (size_t i = 0; i < c->norig_objs; i++) {
		if (access(c->orig_objs[i].obj, R_OK))
			continue;
		c->snapshots[i] = xb_asprintf("%s/%zu.o", c->snapdir, i);
		if (c->cached && !access(c->snapshots[i], R_OK))
			continue; /* taken when the entry was made */
		int rc = xb_copy_file(c->orig_objs[i].obj, c->snapshots[i], &c->err);
		if (rc)
			return rc;
	}
	if (c->o->cache && !c->cached) {
		xb_info("saving the original build in %s", c->cache.built);
		return xb_cache_store(&c->cache, c->tree, &c->err);
	}
	return 0;
}

/* A stripped BINARY takes its symbols from elsewhere (now that the original
 * build's files exist to search). */
static int find_target_symbols(struct build_ctx *c)
{
	if (c->target.has_symtab)
		return 0;
	return stripped_symbols(&c->target, c->tree, c->work, &c->err);
}

/* Which of the original build's objects are linked into the target: from
 * the captured link of the target (none seen: decided per object later). */
static int find_target_link(struct build_ctx *c)
{
	char *linklog = xb_asprintf("%s.links", c->orig_cclog);
	int rc = xb_read_links(linklog, &c->links, &c->err);
	free(linklog);
	if (rc)
		return rc;
	if (xb_target_link_set(&c->links, &c->target, &c->linkset, &c->nlinkset, &c->linked_out)) {
		xb_info("no link of %s seen in the original build: objects are matched to it by "
			"their symbols", xb_base_name(c->target.path));
		return 0;
	}
	xb_info("target linked as %s from %zu objects", c->linked_out, c->nlinkset);
	return 0;
}

/* The patch, then the line-neutral rewrite (#line after each hunk). */
static int apply_patch(struct build_ctx *c)
{
	/* Patched files the original build compiled only as copies made
	 * behind a stamp (copies.c): found before the patch changes them. */
	char rtree[PATH_MAX];
	const char *tree = realpath(c->tree, rtree) ? rtree : c->tree;
	xb_find_copies(tree, &c->patch, c->deps, c->ndeps, &c->copies);
	xb_info("applying %s", c->patch_path);
	int rc = xb_patch_apply(c->tree, c->patch_path, &c->patch, &c->err);
	if (rc)
		return rc;
	unsigned nfix = 0;
	if (!c->o->no_line_fixup && (rc = xb_line_fixup(c->tree, &c->patch, &nfix, &c->err)))
		return rc;
	if (nfix)
		xb_info("line-neutral rewrite: %u #line directive%s", nfix, nfix == 1 ? "" : "s");
	for (size_t i = 0; i < c->copies.n; i++)
		xb_info("%s: compiled as its copy %s: patched there too", c->copies.v[i].rel,
			c->copies.v[i].copy + strlen(tree) + 1);
	return xb_update_copies(c->tree, &c->copies, &c->err);
}

/* The same tree again: make recompiles what the patch touched. */
static int build_patched(struct build_ctx *c)
{
	uint64_t start = xs_mono_ns();
	xb_info("building patched tree (log %s)", c->patched_buildlog);
	int rc = run_build(c, c->patched_cclog, c->patched_buildlog);
	if (!rc)
		rc = xb_read_log(c->patched_cclog, &c->patched_objs, &c->npatched_objs, &c->err);
	if (rc)
		return rc;
	xb_info("patched build: %zu objects recompiled in %.1f s", c->npatched_objs,
		seconds_since(start));
	return 0;
}

/* Every file the patch changes reached the payload's comparison: each
 * target object compiled from or including it was recompiled. */
static int check_coverage(struct build_ctx *c)
{
	char **rec = xb_calloc(c->npatched_objs + 1, sizeof(*rec));
	for (size_t i = 0; i < c->npatched_objs; i++)
		rec[i] = xb_canon_path(c->patched_objs[i].obj);
	struct xb_coverage_in in = { .tree = c->tree,
				     .patch = &c->patch,
				     .copies = &c->copies,
				     .deps = c->deps,
				     .ndeps = c->ndeps,
				     .recompiled = rec,
				     .nrecompiled = c->npatched_objs,
				     .linkset = c->linkset,
				     .nlinkset = c->nlinkset };
	char rtree[PATH_MAX];
	if (realpath(c->tree, rtree))
		in.tree = rtree;
	xb_check_coverage(&in, &c->res);
	free_strings(rec, c->npatched_objs);
	return 0;
}

/* Is obj linked into the target? From the captured link when there is one. */
static bool linked_into_target(struct build_ctx *c, struct xb_pair *p, const char *obj)
{
	if (!c->linkset)
		return xb_obj_in_target(p, &c->target);
	char *o = xb_canon_path(obj);
	bool in = xb_set_has(c->linkset, c->nlinkset, o);
	free(o);
	return in;
}

/* Each recompiled object whose bytes differ, against its snapshot. */
static int compare(struct build_ctx *c)
{
	c->diff_start_ns = xs_mono_ns();
	for (size_t i = 0; i < c->npatched_objs; i++) {
		const char *obj = c->patched_objs[i].obj;
		if (access(obj, R_OK))
			continue;
		const char *snapshot = snapshot_of(c, obj);
		if (snapshot && same_file(snapshot, obj))
			continue;
		struct xb_pair *p = add_pair(c);
		int rc = open_pair(p, obj, snapshot, &c->err);
		if (rc)
			return rc;
		if (!linked_into_target(c, p, obj)) {
			/* e.g. a client program's object in the same tree */
			xb_list_add(&c->res.notes, p->patched.file ? p->patched.file : obj, NULL,
				    "changed, but not linked into the target: skipped");
			continue;
		}
		xb_debug("diffing %s", obj);
		xb_diff(p, &c->res);
		/* A struct or union the patch reshapes is used by live data
		 * laid out the old way. */
		xb_check_types(p, &c->o->allow_types, &c->res);
	}
	return 0;
}

/* The option list of a DW_AT_producer without what does not change the
 * code: the prefix maps and the wrapper's section/LTO flags. */
static char *producer_key(const char *p)
{
	static const char *const ignore_prefix[] = { "-ffile-prefix-map=", "-fdebug-prefix-map=",
						     "-fmacro-prefix-map=", NULL };
	static const char *const ignore[] = { "-ffunction-sections", "-fdata-sections",
					      "-fno-common", "-fno-lto", "-fno-direct-extern-access",
					      "-mno-direct-extern-access",
					      "-fno-direct-access-external-data", NULL };
	char *copy = xb_strdup(p), *save = NULL;
	size_t cap = strlen(p) + 2, len = 0;
	char *out = xb_calloc(cap, 1);
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		bool skip = false;
		for (size_t i = 0; ignore_prefix[i]; i++)
			skip |= !strncmp(t, ignore_prefix[i], strlen(ignore_prefix[i]));
		for (size_t i = 0; ignore[i]; i++)
			skip |= !strcmp(t, ignore[i]);
		if (skip)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? " " : "", t);
	}
	free(copy);
	return out;
}

static void compiler_mismatch(struct build_ctx *c, const char *what, const char *file,
			      const char *why)
{
	if (c->o->allow_compiler_mismatch) {
		char *w = xb_asprintf("WARNING (--allow-compiler-mismatch): %s", why);
		xb_list_add(&c->res.notes, what, file, w);
		free(w);
	} else {
		char *w = xb_asprintf("%s (another compiler or other -O/-f/-m flags make other "
				      "inlining and layout decisions; --allow-compiler-mismatch "
				      "overrides)", why);
		xb_list_add(&c->res.refused, what, file, w);
		free(w);
	}
}

/* The rebuild must use BINARY's compiler and code-generation flags: its
 * .comment names the compiler, its DWARF (DW_AT_producer) each unit's
 * flags. Checked for the objects that contribute to the payload. */
static int check_compiler(struct build_ctx *c)
{
	char **tc = NULL;
	size_t ntc = 0;
	xb_comment_strings(c->target.sympath ? c->target.sympath : c->target.path, &tc, &ntc);
	if (!ntc && c->target.sympath)
		xb_comment_strings(c->target.path, &tc, &ntc);
	struct xb_producers tp;
	bool have_tp = !xb_dwarf_read(c->target.sympath ? c->target.sympath : c->target.path,
				      NULL, &tp) && tp.n;
	if (!have_tp)
		xb_list_add(&c->res.notes, xb_base_name(c->target.path), NULL,
			    "no DWARF producer in the target (no debug info): its compiler flags "
			    "are not checked");
	for (size_t i = 0; i < c->npairs; i++) {
		struct xb_pair *p = &c->pairs[i];
		if (!p->any)
			continue;
		const char *file = p->patched.file;
		char **oc = NULL;
		size_t noc = 0;
		xb_comment_strings(p->patched.path, &oc, &noc);
		for (size_t k = 0; k < noc && ntc; k++) {
			if (strncmp(oc[k], "GCC:", 4) && strncmp(oc[k], "clang", 5) &&
			    !strstr(oc[k], "clang version"))
				continue;
			if (!xb_set_has(tc, ntc, oc[k])) {
				char *why = xb_asprintf("built by \"%s\", the target by \"%s\"", oc[k],
							tc[0]);
				compiler_mismatch(c, "compiler", file, why);
				free(why);
			}
		}
		free_strings(oc, noc);
		struct xb_producers op;
		if (!have_tp || xb_dwarf_read(p->patched.path, NULL, &op))
			continue;
		for (size_t k = 0; k < op.n; k++) {
			const struct xb_producer *t = NULL;
			for (size_t j = 0; j < tp.n && !t; j++)
				if (!strcmp(tp.v[j].cu, op.v[k].cu))
					t = &tp.v[j];
			for (size_t j = 0; j < tp.n && !t; j++)
				if (!strcmp(xb_base_name(tp.v[j].cu), xb_base_name(op.v[k].cu)))
					t = &tp.v[j];
			if (!t)
				continue;
			char *a = producer_key(t->producer), *b = producer_key(op.v[k].producer);
			if (strcmp(a, b)) {
				char *why = xb_asprintf("compiled as \"%s\", the target's unit as \"%s\"",
							b, a);
				compiler_mismatch(c, "compiler flags", file, why);
				free(why);
			}
			free(a);
			free(b);
		}
		xb_producers_free(&op);
	}
	if (have_tp)
		xb_producers_free(&tp);
	free_strings(tc, ntc);
	return 0;
}

/* What each payload part holds; after every object is diffed, so that
 * references across objects are known. */
static int select_contents(struct build_ctx *c)
{
	for (size_t i = 0; i < c->npairs; i++)
		if (c->pairs[i].any)
			xb_select(&c->pairs[i], &c->target, &c->res);
	return 0;
}

/* changed:/new:/note:/refused: lines; a refusal or no change ends the run. */
static int report(struct build_ctx *c)
{
	const struct xb_result *r = &c->res;
	print_items("changed", &r->changed, NULL);
	print_items("new", &r->added, NULL);
	const struct xb_type_allow *al = &c->o->allow_types;
	for (size_t i = 0; i < al->n; i++)
		if (!al->used[i])
			printf("note: --allow-type-change %s: no type of that name changed layout\n",
			       al->names[i]);
	print_items("note", &r->notes, NULL);
	if (r->refused.n) {
		print_items("refused", &r->refused, "?");
		xb_info("refusing to build a payload: %zu unsafe change%s", r->refused.n,
			r->refused.n == 1 ? "" : "s");
		c->exit_code = XB_EXIT_REFUSED;
		return -EPERM;
	}
	if (!r->nfuncs && !r->added.n) {
		/* An answer, not a failure: its own exit code (docs/build.md). */
		printf("unchanged: the patch changes no function of %s (%zu object%s recompiled)\n",
		       xb_base_name(c->target.path), c->npatched_objs,
		       c->npatched_objs == 1 ? "" : "s");
		c->exit_code = XB_EXIT_NOCHANGE;
		return -ENODATA;
	}
	return 0;
}

/* WORK/parts: one relocatable part per object that contributes, and meta.o. */
static int write_parts(struct build_ctx *c)
{
	int rc;
	/* Expectations, unless asked not to or stacked on another payload
	 * (whose trampoline is what the function starts with then). */
	bool stacked = c->depends_len != c->target.build_id_len ||
		       memcmp(c->depends, c->target.build_id, c->depends_len) != 0;
	if (!c->o->no_expect && !stacked && (rc = xb_fill_expectations(&c->target, &c->res, &c->err)))
		return rc;
	c->partdir = xb_asprintf("%s/parts", c->work);
	xb_mkdir_p(c->partdir, NULL);
	for (size_t i = 0; i < c->npairs; i++) {
		if (!c->pairs[i].any)
			continue;
		const char *part = add_part(c, xb_asprintf("%s/part%zu.o", c->partdir, i));
		if ((rc = xb_write_part(&c->pairs[i], &c->res, part, &c->err)))
			return rc;
	}
	struct xb_payload_opts po = { .depends = c->depends,
				      .depends_len = c->depends_len,
				      .name = c->o->name,
				      .description = c->o->description,
				      .version = c->o->payload_version };
	const char *meta = add_part(c, xb_asprintf("%s/meta.o", c->partdir));
	return xb_write_meta(&c->res, &po, meta, &c->err);
}

/* `ld -r --build-id=sha1` the parts into OUT; the func:/payload: summary. */
static int link_payload(struct build_ctx *c)
{
	int rc = xb_link(c->parts, c->nparts, c->out, &c->err);
	if (rc)
		return rc;
	double seconds = seconds_since(c->diff_start_ns);
	const struct xb_result *r = &c->res;
	struct stat st = { 0 };
	stat(c->out, &st);
	for (size_t i = 0; i < r->nfuncs; i++)
		printf("func: %s old_addr=0x%llx old_size=%llu new_size=%llu\n", r->funcs[i].name,
		       (unsigned long long)r->funcs[i].old_addr,
		       (unsigned long long)r->funcs[i].old_size,
		       (unsigned long long)r->funcs[i].sym->s.st_size);
	printf("payload: %s (%lld bytes, %zu function%s patched, %zu new)\n", c->out,
	       (long long)st.st_size, r->nfuncs, r->nfuncs == 1 ? "" : "s", r->added.n);
	printf("time beyond the builds (diff + link): %.3f s\n", seconds);
	return 0;
}

/* The pipeline (docs/build.md "The pipeline"): the first phase that fails
 * ends it. */
static int run_phases(struct build_ctx *c)
{
	int rc;
	/* Inputs first: a bad target or patch fails before anything is built. */
	if ((rc = read_inputs(c)) || (rc = make_work_dir(c)))
		return rc;
	/* The original build, captured by the wrapper; its objects are kept
	 * aside because the patched build reuses the same tree. */
	if ((rc = copy_tree(c)) || (rc = build_original(c)) || (rc = snapshot_objects(c)) ||
	    (rc = find_target_symbols(c)) || (rc = find_target_link(c)))
		return rc;
	/* The patched build: make recompiles only what the patch touched, and
	 * must have recompiled everything the patch touched. */
	if ((rc = apply_patch(c)) || (rc = build_patched(c)) || (rc = check_coverage(c)))
		return rc;
	/* The diff: statuses and refusals per object, then the payload's
	 * contents across objects, reported before anything is written. */
	if ((rc = compare(c)) || (rc = check_compiler(c)) || (rc = select_contents(c)) ||
	    (rc = report(c)))
		return rc;
	/* The payload. */
	if ((rc = write_parts(c)) || (rc = link_payload(c)))
		return rc;
	return 0;
}

static int build(const struct opts *o)
{
	struct build_ctx c;
	build_ctx_init(&c, o);
	int rc = run_phases(&c);
	if (!rc)
		c.exit_code = XB_EXIT_OK;
	else if (c.exit_code == XB_EXIT_FAIL)
		xb_info("error: %s", c.err.msg[0] ? c.err.msg : xs_errno_name(rc));
	int code = c.exit_code;
	build_ctx_free(&c);
	return code;
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

/* Fill o from the command line. -1: go on and build; else the exit code
 * (a usage error, or a mode that has done its job: --dump, --wrap, ...). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_SRCDIR = 256, O_PATCH, O_TARGET, O_BUILDCMD, O_NAME, O_DEPENDS, O_KEEP, O_WORK,
	       O_NOLINE, O_DUMP, O_CFLAGS, O_WRAP, O_DESC, O_PVERSION, O_NOEXPECT, O_CACHE,
	       O_NOCACHE, O_ALLOWCC, O_ALLOWTYPE };
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
		{ "description", required_argument, 0, O_DESC },
		{ "payload-version", required_argument, 0, O_PVERSION },
		{ "no-expect", no_argument, 0, O_NOEXPECT },
		{ "cache", required_argument, 0, O_CACHE },
		{ "no-cache", no_argument, 0, O_NOCACHE },
		{ "allow-compiler-mismatch", no_argument, 0, O_ALLOWCC },
		{ "allow-type-change", required_argument, 0, O_ALLOWTYPE },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	o->jobs = n > 0 ? (int)n : 1;
	int c;
	while ((c = getopt_long(argc, argv, "+o:j:vh", lo, NULL)) != -1) {
		switch (c) {
		case O_SRCDIR: o->srcdir = optarg; break;
		case O_PATCH: o->patch = optarg; break;
		case O_TARGET: o->target = optarg; break;
		case O_BUILDCMD: o->build_cmd = optarg; break;
		case O_NAME: o->name = optarg; break;
		case O_DEPENDS: o->depends = optarg; break;
		case 'o': o->out = optarg; break;
		case 'j':
			o->jobs = atoi(optarg);
			o->jobs_given = true;
			if (o->jobs < 1) {
				fprintf(stderr, "xsplice-build: bad -j %s\n", optarg);
				return XB_EXIT_USAGE;
			}
			break;
		case O_KEEP: o->keep = true; break;
		case O_WORK: o->workdir = optarg; break;
		case O_NOLINE: o->no_line_fixup = true; break;
		case O_DESC: o->description = optarg; break;
		case O_PVERSION: o->payload_version = optarg; break;
		case O_NOEXPECT: o->no_expect = true; break;
		case O_CACHE: o->cache = optarg; break;
		case O_NOCACHE: o->cache = ""; break;
		case O_ALLOWCC: o->allow_compiler_mismatch = true; break;
		case O_ALLOWTYPE: {
			struct xb_type_allow *a = &o->allow_types;
			if (!*optarg) {
				fprintf(stderr, "xsplice-build: --allow-type-change needs a type name\n");
				return XB_EXIT_USAGE;
			}
			a->names = xb_realloc(a->names, a->n + 1, sizeof(*a->names));
			a->used = xb_realloc(a->used, a->n + 1, sizeof(*a->used));
			a->names[a->n] = optarg;
			a->used[a->n++] = false;
			break;
		}
		case O_DUMP: {
			struct xs_err err = { { 0 } };
			if (xb_dump(optarg, &err)) {
				fprintf(stderr, "xsplice-build: %s\n", err.msg);
				return XB_EXIT_FAIL;
			}
			return XB_EXIT_OK;
		}
		case O_CFLAGS: {
			/* What the wrapper adds for $CC (else cc) from PATH. */
			const char *cc = getenv("CC");
			if (!cc || !*cc)
				cc = "cc";
			char *real = strchr(cc, '/') ? xb_strdup(cc) : xb_find_in_path(cc);
			const char *ind = real ? xb_indirect_extern_flag(real, NULL) : NULL;
			printf("%s%s%s\n", XB_WRAP_CFLAGS, ind ? " " : "", ind ? ind : "");
			free(real);
			return XB_EXIT_OK;
		}
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
	if (!o->cache && getenv("XSPLICE_BUILD_CACHE") && *getenv("XSPLICE_BUILD_CACHE"))
		o->cache = getenv("XSPLICE_BUILD_CACHE");
	if (o->cache && !*o->cache)
		o->cache = NULL; /* --no-cache */
	if (o->cache && o->workdir) {
		fprintf(stderr, "xsplice-build: --cache and --work-dir exclude each other "
				"(a cache entry is its own work dir)\n");
		return XB_EXIT_USAGE;
	}
	if (optind != argc || !o->srcdir || !o->patch || !o->target || !o->out) {
		if (optind != argc)
			fprintf(stderr, "xsplice-build: unexpected argument %s\n", argv[optind]);
		else
			fprintf(stderr, "xsplice-build: --srcdir, --patch, --target and -o are required\n");
		usage(stderr);
		return XB_EXIT_USAGE;
	}
	struct stat st;
	if (stat(o->srcdir, &st) || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xsplice-build: --srcdir %s: not a directory\n", o->srcdir);
		return XB_EXIT_USAGE;
	}
	if (access(o->patch, R_OK) || access(o->target, R_OK)) {
		fprintf(stderr, "xsplice-build: cannot read %s\n",
			access(o->patch, R_OK) ? o->patch : o->target);
		return XB_EXIT_USAGE;
	}
	/* What the agent accepts (src/agent/metadata.c): printable, bounded. */
	const char *md[2] = { o->description, o->payload_version };
	const size_t mdmax[2] = { XS_DESC_SIZE - 1, XS_VERSION_SIZE - 1 };
	for (int k = 0; k < 2; k++) {
		if (!md[k])
			continue;
		bool ctl = !xs_text_printable(md[k], strlen(md[k]));
		if (ctl || strlen(md[k]) > mdmax[k]) {
			fprintf(stderr, "xsplice-build: --%s: at most %zu bytes of printable UTF-8\n",
				k ? "payload-version" : "description", mdmax[k]);
			return XB_EXIT_USAGE;
		}
	}
	if (!o->name) {
		/* Default name: output file name without its extension. */
		static char nb[128];
		snprintf(nb, sizeof(nb), "%s", xb_base_name(o->out));
		char *dot = strchr(nb, '.');
		if (dot && dot != nb)
			*dot = '\0';
		o->name = nb;
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (xb_is_wrapper(argv[0]))
		return xb_wrapper_main(argc, argv);
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fprintf(stderr, "xsplice-build: libelf too old\n");
		return XB_EXIT_FAIL;
	}
	struct opts o = { 0 };
	int code = parse_args(argc, argv, &o);
	if (code < 0) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		code = build(&o);
	}
	free(o.allow_types.names);
	free(o.allow_types.used);
	return code;
}
