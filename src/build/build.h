/* SPDX-License-Identifier: MIT */
/*
 * xsplice-build internals: capture of compilations (wrapper), the work tree,
 * object files, the target binary, the object diff and the payload writer
 * (docs/build.md). Single-threaded: nothing here locks.
 */
#ifndef XS_BUILD_H
#define XS_BUILD_H

#include <gelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

/* Exit codes of xsplice-build. */
#define XB_EXIT_OK      0
#define XB_EXIT_FAIL    1
#define XB_EXIT_USAGE   2
#define XB_EXIT_NOCHANGE 3 /* the patch changes no function: an answer, not an error */
#define XB_EXIT_REFUSED 4

extern int xb_verbose;
void xb_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xb_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xb_strdup(const char *s);            /* aborts on ENOMEM: a build tool */
void *xb_calloc(size_t n, size_t size);
void *xb_realloc(void *p, size_t n, size_t size);
char *xb_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *xb_base_name(const char *path); /* after the last '/' */
/* Does path end in ".ext" for one of exts (a NULL-terminated list)? */
bool xb_has_extension(const char *path, const char *const *exts);
char *xb_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Call fn on each line of the wrapper's log file path, its newline cut
 * off (fn may change the line). A missing file has no lines: 0. */
int xb_each_line(const char *path, void (*fn)(char *line, void *arg), void *arg,
		 struct xs_err *err);
/* The whole regular file path in *buf (NUL-terminated, *len bytes, freed by
 * the caller): 0, or -errno / -EINVAL (not a regular file) / -EIO. */
int xb_read_file(const char *path, char **buf, size_t *len);

/* ---- capture.c: the compiler wrapper and its log ---- */

/* Flags the wrapper appends to every compiler invocation. */
#define XB_WRAP_CFLAGS "-ffunction-sections -fdata-sections -fno-common -fno-lto"
/* The flag of compiler REAL (a path) that reaches external data through the
 * GOT (-mno-direct-extern-access on GCC 12), or NULL; the wrapper adds it
 * too. CACHE_DIR (may be NULL) keeps the probe's answer. */
const char *xb_indirect_extern_flag(const char *real, const char *cache_dir);
/* NAME's first executable in PATH (malloc'd), or NULL. */
char *xb_find_in_path(const char *name);

/* True when argv[0] names a compiler and we were started as the wrapper. */
bool xb_is_wrapper(const char *argv0);
int xb_wrapper_main(int argc, char **argv);
/* Populate dir with compiler-named symlinks to self. */
int xb_install_wrapper(const char *dir, struct xs_err *err);

struct xb_compile {
	char *obj; /* absolute path of the object written */
	char *src; /* source as given to the compiler */
};
/* Read a wrapper log; later entries for the same object win. */
int xb_read_log(const char *path, struct xb_compile **out, size_t *n, struct xs_err *err);
void xb_free_log(struct xb_compile *c, size_t n);

/* ---- link.c: what the original build linked into the target ---- */

/* realpath(), or for a file that is gone the lexical normal form. */
char *xb_canon_path(const char *p);

struct xb_link_rec {
	char kind;  /* 'L' a link, 'A' members added to an archive */
	char *out;  /* output / archive (canonical path) */
	char **in;  /* inputs / members; "-L<dir>", "-l<name>" kept as such */
	size_t nin;
};
struct xb_links {
	struct xb_link_rec *v;
	size_t n;
};
int xb_read_links(const char *path, struct xb_links *l, struct xs_err *err);
void xb_links_free(struct xb_links *l);
bool xb_set_has(char *const *set, size_t n, const char *path);

/* ---- tree.c: work tree, builds, patch ---- */

/* Run argv (argv[0] looked up in PATH) in cwd with output to logfile
 * (NULL: inherit). 0 when it exited 0. */
int xb_run(char *const argv[], const char *cwd, const char *logfile, struct xs_err *err);
int xb_run_shell(const char *cmd, const char *cwd, const char *logfile, struct xs_err *err);
int xb_copy_tree(const char *src, const char *dst, struct xs_err *err);
int xb_remove_tree(const char *dir);
int xb_copy_file(const char *src, const char *dst, struct xs_err *err);
int xb_mkdir_p(const char *path, struct xs_err *err);

struct xb_hunk {
	long old_start, old_len, new_start, new_len;
	/* Line after the last changed line, in both numberings. */
	long resync_old, resync_new;
	long first_new;  /* first changed line, new numbering */
};
struct xb_pfile {
	char *path; /* relative to the tree, after -p strip */
	struct xb_hunk *hunks;
	size_t nhunks;
};
struct xb_patch {
	struct xb_pfile *files;
	size_t nfiles;
	int strip; /* -p level that applies */
};
int xb_patch_parse(const char *patchfile, struct xb_patch *p, struct xs_err *err);
void xb_patch_free(struct xb_patch *p);
/* Apply with patch(1), trying -p1 then -p0; sets p->strip. */
int xb_patch_apply(const char *tree, const char *patchfile, struct xb_patch *p,
		   struct xs_err *err);
/* Insert #line directives so lines after each hunk keep their numbers. */
int xb_line_fixup(const char *tree, const struct xb_patch *p, unsigned *ninserted,
		  struct xs_err *err);

/* ---- elfobj.c: a relocatable object in memory ---- */

struct xb_sym;

struct xb_rela {
	uint64_t off;
	uint32_t type;
	int64_t addend;
	struct xb_sym *sym;
};

/* Where the comparison of a section with its counterpart stands. */
enum xb_cmp_state {
	XB_CMP_NONE,        /* not compared yet */
	XB_CMP_IN_PROGRESS, /* being compared (a reference cycle leads back here) */
	XB_CMP_SAME,
	XB_CMP_DIFFERENT,
};

struct xb_sec {
	size_t idx;
	const char *name;
	GElf_Shdr sh;
	const unsigned char *data; /* NULL for NOBITS */
	size_t size;
	struct xb_rela *rela;
	size_t nrela;
	struct xb_sym *secsym;   /* its STT_SECTION symbol, if any */
	struct xb_sym **ents;    /* FUNC/OBJECT/TLS symbols in it, by value */
	size_t nents;
	enum xb_cmp_state cmp;   /* comparison with cmp_with while diffing */
	struct xb_sec *cmp_with;
	bool include;
	size_t out_idx;          /* index in the payload part */
	/* .eh_frame cut down to the included code (ehframe.c): the object's
	 * own contents are kept here, data/rela are the copy. */
	const unsigned char *orig_data;
	size_t orig_size;
	struct xb_rela *orig_rela;
	size_t orig_nrela;
	unsigned char *owned_data;
};

enum xb_status { XB_UNKNOWN, XB_SAME, XB_CHANGED, XB_NEW };

struct xb_sym {
	size_t idx;
	const char *name;
	GElf_Sym s;
	unsigned type, bind;
	struct xb_sec *sec;      /* NULL: undefined, absolute or common */
	struct xb_sym *twin;     /* correlated symbol in the other object */
	struct xb_sym *parent;   /* .cold part: its function */
	enum xb_status status;
	bool include;            /* defined in the payload */
	bool copy;               /* included although unchanged (missing in target) */
	const char *extname;     /* not included: payload name of the target's symbol */
	char *unnumbered;        /* name without GCC's numbering ("count.3" -> "count"), cached */
	size_t out_idx;          /* symbol index in the payload part, 0 = none */
};

struct xb_obj {
	char *path;
	char *disk_path;         /* where it was read from when path names another (a snapshot) */
	char *file;              /* first STT_FILE name */
	int fd;
	Elf *elf;
	size_t nsec;
	struct xb_sec *sec;
	size_t nsym;
	struct xb_sym *sym;
};

int xb_obj_open(struct xb_obj *o, const char *path, struct xs_err *err);
void xb_obj_close(struct xb_obj *o);
struct xb_sym *xb_obj_find(struct xb_obj *o, const char *name);
bool xb_sym_is_label(const struct xb_sym *s); /* section symbol or local .L label */
bool xb_sym_is_entity(const struct xb_sym *s); /* FUNC, OBJECT or TLS, defined */

/* ---- target.c: the running binary ---- */

struct xb_tsym {
	const char *name;
	uint64_t value, size;
	unsigned type, bind;
	int file; /* index of the preceding STT_FILE, -1 none */
};

struct xb_target {
	char *path;          /* BINARY */
	char *sympath;       /* where the symbols come from (BINARY or a copy) */
	int fd, symfd;
	Elf *elf, *symelf;
	uint8_t build_id[64];
	size_t build_id_len;
	bool has_symtab;
	struct xb_tsym *syms;
	size_t nsyms;
	char **files;
	size_t nfiles;
};

int xb_target_open(struct xb_target *t, const char *path, struct xs_err *err);
/* Use another file (unstripped linked output, debug file) for symbols. */
int xb_target_use_symbols(struct xb_target *t, const char *path, struct xs_err *err);
void xb_target_close(struct xb_target *t);
/* Does the ELF file at path have a .symtab (is it unstripped)? */
bool xb_file_has_symtab(const char *path);
/* Find name; from (the defining object: its STT_FILE name, and its own
 * locals where several units of that name define one) for locals, NULL
 * for globals (falling back to a unique hidden-turned-local one). -ENOENT
 * or -ENOTUNIQ with a reason. */
int xb_target_lookup(struct xb_target *t, const char *name, bool local, const struct xb_obj *from,
		     const struct xb_tsym **out, struct xs_err *err);

/* ---- diff.c: compare one object pair, decide what the payload holds ---- */

struct xb_item {
	char *name;    /* as shown to the user */
	char *file;
	char *reason;  /* refused: why */
};

struct xb_list {
	struct xb_item *v;
	size_t n;
};
void xb_list_add(struct xb_list *l, const char *name, const char *file, const char *reason);
void xb_list_free(struct xb_list *l);

/* A reference from the payload to a symbol of the target. */
struct xb_ext {
	char *name;     /* symbol name in the payload */
	uint64_t addr;  /* link-time address in BINARY (TLS: offset in its block) */
	uint64_t size;
	unsigned type;
	bool in_target; /* listed in .livepatch.symbols */
};

/* A function entry of .livepatch.funcs. */
struct xb_func {
	struct xb_obj *obj;
	struct xb_sym *sym;  /* in the patched object */
	char *name;          /* BINARY's name */
	uint64_t old_addr, old_size;
	uint8_t expect[24];  /* first bytes of the old function (extras.c); 0: none */
	uint8_t expect_len;
};

struct xb_result {
	struct xb_list changed, added, refused, notes;
	struct xb_ext *ext;
	size_t next;
	struct xb_func *funcs;
	size_t nfuncs;
};
void xb_result_free(struct xb_result *r);

struct xb_pair {
	struct xb_obj orig, patched;
	bool is_new_obj; /* no original: every function is new */
	bool any;        /* something is included */
};

/* Correlate and compare; mark statuses. Refusals go to r->refused. */
void xb_diff(struct xb_pair *p, struct xb_result *r);
/* Is the object linked into the target (file symbol or its functions)? */
bool xb_obj_in_target(struct xb_pair *p, struct xb_target *t);
/* Decide the included sections and how references resolve (after every
 * pair has been diffed, so cross-object globals are known). */
void xb_select(struct xb_pair *p, struct xb_target *t, struct xb_result *r);
/* What a relocation points at: an entity/undefined symbol (sym) with an
 * addend relative to it, or an anonymous section (sym NULL). */
int xb_reloc_target(const struct xb_rela *r, struct xb_sym **sym, struct xb_sec **sec,
		    int64_t *off);
/* Name of the payload symbol for an external reference from the patched
 * object (target symbols get unique names for locals). */
const char *xb_ext_name(struct xb_result *r, const char *name);

/* ---- ehframe.c: the payload's unwind information ---- */

/* Cut o's .eh_frame down to the CIEs/FDEs of its included code sections,
 * relocations (start address, LSDA, personality) moved with them; called
 * again after more code was included. The section, or NULL when no
 * included code has an FDE (or the object has no .eh_frame). */
struct xb_sec *xb_eh_frame_select(struct xb_obj *o);

/* ---- extras.c: hooks, metadata, expectations ---- */

/* Bytes of the old function an entry expects (<= LIVEPATCH_EXPECT_MAX). */
#define XB_EXPECT_LEN 16
/* A section a source patch adds for the agent (.livepatch.hooks.*,
 * .modinfo): kept in the payload with what it references. */
bool xb_is_payload_section(const char *name);
/* Each function entry's expectation from the target binary's bytes. */
int xb_fill_expectations(struct xb_target *t, struct xb_result *r, struct xs_err *err);

/* ---- link.c, coverage.c: which objects are the target's, and whether
 * every patched file was recompiled ---- */

struct xb_target;
/* The objects (canonical paths) linked into the output of the original
 * build that is the target: by build-id, else by file name. -ENOENT if no
 * link of the target was captured. *linked: that output. */
int xb_target_link_set(const struct xb_links *l, const struct xb_target *t, char ***set,
		       size_t *nset, char **linked);

/* One compile of the original build: its object, source and the tree's
 * headers it read (canonical paths). */
struct xb_dep {
	char *obj, *src;
	char **headers;
	size_t nheaders;
};
int xb_read_deps(const char *path, struct xb_dep **out, size_t *n, struct xs_err *err);
void xb_deps_free(struct xb_dep *d, size_t n);
/* Every file under tree (canonical) that a compile of deps read, source or
 * header: sorted, each once; *n of them (strings and array freed by the
 * caller). */
char **xb_files_read(const char *tree, const struct xb_dep *deps, size_t ndeps, size_t *n);

/* ---- copies.c: sources the build compiles as copies ---- */
/* A patched file (rel, relative to the tree) that no compile read, and a
 * file a compile did read with the same contents before the patch. */
struct xb_copy {
	char *rel;
	char *copy; /* canonical */
};
struct xb_copies {
	struct xb_copy *v;
	size_t n;
};
/* Before the patch; tree canonical, deps of the original build. */
int xb_find_copies(const char *tree, const struct xb_patch *p, const struct xb_dep *deps,
		   size_t ndeps, struct xb_copies *out);
/* After the patch: each copy gets its patched file's new contents. */
int xb_update_copies(const char *tree, const struct xb_copies *c, struct xs_err *err);
void xb_copies_free(struct xb_copies *c);

struct xb_coverage_in {
	const char *tree;
	const struct xb_patch *patch;
	const struct xb_copies *copies; /* may be NULL */
	const struct xb_dep *deps;  /* original build */
	size_t ndeps;
	char *const *recompiled;    /* canonical objects of the patched build */
	size_t nrecompiled;
	char *const *linkset;       /* the target's objects, NULL: unknown */
	size_t nlinkset;
};
/* Refuse each patched file that an object of the target was compiled
 * from or included but that the patched build did not recompile. */
void xb_check_coverage(const struct xb_coverage_in *in, struct xb_result *r);

/* ---- cache.c: the original build reused (--cache DIR) ---- */

#define XB_CACHE_KEY_LEN 32
/* The key of DIR built by build_cmd with this environment and toolchain. */
void xb_cache_key(const char *srcdir, const char *build_cmd, const char *wrapdir,
		  char key[XB_CACHE_KEY_LEN + 1]);
struct xb_cache {
	char *entry;  /* CACHE/KEY */
	char *work;   /* CACHE/KEY/work: the work directory, at a fixed path */
	char *built;  /* CACHE/KEY/built: the tree after the original build */
	int lockfd;
	bool hit;     /* built is complete: the original build can be skipped */
};
/* Create/lock the entry (waits while another run holds it). */
int xb_cache_open(struct xb_cache *c, const char *dir, const char *key, struct xs_err *err);
int xb_cache_restore(struct xb_cache *c, const char *tree, struct xs_err *err);
int xb_cache_store(struct xb_cache *c, const char *tree, struct xs_err *err);
void xb_cache_close(struct xb_cache *c);

/* ---- dwarf.c: types and producers from the debug info (libdw) ---- */

struct xb_type {
	char *name;      /* "struct foo", "union u", a typedef's name */
	uint64_t size;
	uint64_t layout; /* signature of the member names, offsets, sizes */
	char *members;   /* "name@offset+size ..." for messages */
};
struct xb_types {
	struct xb_type *v;
	size_t n;
};
struct xb_producer {
	char *cu;        /* DW_AT_name of the unit */
	char *producer;  /* DW_AT_producer */
};
struct xb_producers {
	struct xb_producer *v;
	size_t n;
};
/* Types and/or producers of an object or binary; -ENODATA: no DWARF. */
int xb_dwarf_read(const char *path, struct xb_types *types, struct xb_producers *prod);
void xb_types_free(struct xb_types *t);
void xb_producers_free(struct xb_producers *p);
/* Types the user vouches for (--allow-type-change NAME): a change of their
 * layout is a note, not a refusal. used[i] is set when allow[i] matched. */
struct xb_type_allow {
	const char **names; /* "struct rec", or "rec" for any struct/union/class rec */
	bool *used;
	size_t n;
};
/* Refuse the pair's changed struct/union layouts, but for those in allow. */
void xb_check_types(struct xb_pair *p, const struct xb_type_allow *allow, struct xb_result *r);
/* The distinct strings of a file's .comment section. */
int xb_comment_strings(const char *path, char ***out, size_t *n);

/* ---- writer.c ---- */

struct xb_payload_opts {
	const uint8_t *depends;
	size_t depends_len;
	const char *name; /* payload name for .modinfo, may be NULL */
	const char *description, *version; /* .modinfo, may be NULL */
};

int xb_write_part(struct xb_pair *p, struct xb_result *r, const char *path, struct xs_err *err);
int xb_write_meta(struct xb_result *r, const struct xb_payload_opts *o, const char *path,
		  struct xs_err *err);
int xb_link(char **parts, size_t nparts, const char *out, struct xs_err *err);
/* Print a payload's contents (also used by tests). */
int xb_dump(const char *path, struct xs_err *err);

#endif
