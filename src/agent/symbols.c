/* SPDX-License-Identifier: MIT */
/*
 * Objects of this process and their symbols.
 *
 * Objects come from dl_iterate_phdr (link-map order). A symbol table is read
 * lazily from the object's file with the hardened reader: the file's own
 * .symtab, else the .symtab of its debug file under
 * /usr/lib/debug/.build-id/NN/REST.debug, else the file's .dynsym. Whatever
 * file is used must carry the running object's build-id: a file replaced on
 * disk gives -ESTALE instead of wrong addresses. Global lookups use the
 * dynamic linker (dlsym) and then each object's in-memory dynamic symbol
 * table (GNU hash), which is always the running one.
 * Threading: the object list is global and unlocked here: callers hold
 * the payload table lock (control thread, or the action thread before it
 * parks anyone). Not async-signal-safe (dl_iterate_phdr, malloc).
 */
#include "symbols.h"

#include "procfs.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "elf.h"

#define DEBUG_DIR "/usr/lib/debug/.build-id"

struct xs_symtab {
	int rc;                      /* cached failure, 0 when usable */
	char reason[XS_REASON_SIZE];
	void *map;                   /* mmap of the file, NULL for in-memory (vDSO) */
	size_t map_size;
	struct xs_elf elf;
	const Elf64_Half *versym;    /* for .dynsym, NULL if none */
	uint32_t *by_name;           /* defined named symbols, sorted by name */
	unsigned n_by_name;
	uint32_t *by_addr;           /* defined code/data symbols, sorted by value */
	unsigned n_by_addr;
	char source[XS_PATH_SIZE];   /* file the symbols came from */
	bool in_memory;              /* .dynsym of the mapped object: no sections, and
	                              * no room past a symbol is trusted */
};

static struct xs_object **objs;
static size_t nobjs;

/* ---------- object enumeration ---------- */

static void object_scan_notes(struct xs_object *o, const ElfW(Phdr) *ph)
{
	uintptr_t a = o->bias + ph->p_vaddr;
	size_t n = ph->p_memsz < ph->p_filesz ? ph->p_memsz : ph->p_filesz;
	if (o->build_id_len || n == 0 || a < o->lo || a > o->hi || n > o->hi - a)
		return;
	size_t align = ph->p_align == 8 ? 8 : 4;
	size_t len = 0;
	if (xs_elf_note_build_id_aligned((const uint8_t *)a, n, align, o->build_id,
					 sizeof(o->build_id), &len, NULL) == 0)
		o->build_id_len = len;
}

struct collect {
	struct xs_object *v;
	size_t n, cap;
	int rc;
};

static int collect_cb(struct dl_phdr_info *info, size_t sz, void *data)
{
	struct collect *c = data;
	(void)sz;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct xs_object *v = realloc(c->v, cap * sizeof(*v));
		if (!v) {
			c->rc = -ENOMEM;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	struct xs_object *o = &c->v[c->n];
	memset(o, 0, sizeof(*o));
	o->bias = info->dlpi_addr;
	o->is_main = c->n == 0;
	o->tls_modid = info->dlpi_tls_modid;
	if (o->is_main) {
		ssize_t r = xs_procfs_readlink("thread-self/exe", o->path, sizeof(o->path) - 1);
		o->path[r > 0 ? r : 0] = '\0';
	} else if (info->dlpi_name) {
		snprintf(o->path, sizeof(o->path), "%s", info->dlpi_name);
	}
	uintptr_t lo = UINTPTR_MAX, hi = 0, tlo = UINTPTR_MAX, thi = 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			uintptr_t s = o->bias + ph->p_vaddr, e = s + ph->p_memsz;
			if (s < lo)
				lo = s;
			if (e > hi)
				hi = e;
			if (ph->p_flags & PF_X) {
				if (s < tlo)
					tlo = s;
				if (e > thi)
					thi = e;
			}
		} else if (ph->p_type == PT_TLS) {
			o->tls_memsz = ph->p_memsz;
			o->tls_align = ph->p_align;
		}
	}
	if (hi) {
		o->lo = lo;
		o->hi = hi;
	}
	if (thi) {
		o->text_lo = tlo;
		o->text_hi = thi;
	}
	for (unsigned i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_NOTE)
			object_scan_notes(o, &info->dlpi_phdr[i]);
	uintptr_t self = (uintptr_t)&xs_objects_refresh;
	/* The agent, and its signature verifier (signature.c), are never patched. */
	const char *base = strrchr(o->path, '/');
	o->is_agent = (o->lo <= self && self < o->hi) ||
		      (base && strcmp(base, "/libxsplice-verify.so") == 0);
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	o->is_vdso = vdso && o->lo <= vdso && vdso < o->hi;
	if (o->is_vdso && !o->path[0])
		snprintf(o->path, sizeof(o->path), "[vdso]");
	if (!o->path[0])
		snprintf(o->path, sizeof(o->path), "[object %zu]", c->n);
	c->n++;
	return 0;
}

static void symtab_free(struct xs_symtab *st)
{
	if (!st)
		return;
	xs_elf_free(&st->elf);
	if (st->map)
		munmap(st->map, st->map_size);
	free(st->by_name);
	free(st->by_addr);
	free(st);
}

static int same_object(const struct xs_object *a, const struct xs_object *b)
{
	return a->bias == b->bias && a->lo == b->lo && a->build_id_len == b->build_id_len &&
	       memcmp(a->build_id, b->build_id, a->build_id_len) == 0 &&
	       strcmp(a->path, b->path) == 0;
}

int xs_objects_refresh(struct xs_err *err)
{
	struct collect c = { 0 };
	dl_iterate_phdr(collect_cb, &c);
	if (c.rc) {
		free(c.v);
		return xs_fail(err, c.rc, "out of memory listing loaded objects");
	}
	struct xs_object **nv = calloc(c.n ? c.n : 1, sizeof(*nv));
	if (!nv) {
		free(c.v);
		return xs_fail(err, -ENOMEM, "out of memory listing loaded objects");
	}
	for (size_t i = 0; i < c.n; i++) {
		struct xs_object *keep = NULL;
		for (size_t j = 0; j < nobjs; j++) {
			if (objs[j] && same_object(objs[j], &c.v[i])) {
				keep = objs[j];
				objs[j] = NULL;
				break;
			}
		}
		if (keep) {
			struct xs_symtab *st = keep->symtab;
			*keep = c.v[i];
			keep->symtab = st;
		} else {
			keep = malloc(sizeof(*keep));
			if (!keep) {
				for (size_t k = 0; k < i; k++) {
					symtab_free(nv[k]->symtab);
					free(nv[k]);
				}
				free(nv);
				free(c.v);
				return xs_fail(err, -ENOMEM, "out of memory listing loaded objects");
			}
			*keep = c.v[i];
		}
		nv[i] = keep;
	}
	for (size_t j = 0; j < nobjs; j++) {
		if (objs[j]) {
			symtab_free(objs[j]->symtab);
			free(objs[j]);
		}
	}
	free(objs);
	free(c.v);
	objs = nv;
	nobjs = c.n;
	return 0;
}

size_t xs_objects_count(void)
{
	return nobjs;
}

struct xs_object *xs_object_at(size_t i)
{
	return i < nobjs ? objs[i] : NULL;
}

struct xs_object *xs_object_by_build_id(const uint8_t *id, size_t len)
{
	if (!id || !len)
		return NULL;
	for (size_t i = 0; i < nobjs; i++)
		if (objs[i]->build_id_len == len && memcmp(objs[i]->build_id, id, len) == 0)
			return objs[i];
	return NULL;
}

struct xs_object *xs_object_by_addr(uintptr_t addr)
{
	for (size_t i = 0; i < nobjs; i++)
		if (objs[i]->lo <= addr && addr < objs[i]->hi)
			return objs[i];
	return NULL;
}

void xs_objects_free(void)
{
	for (size_t i = 0; i < nobjs; i++) {
		symtab_free(objs[i]->symtab);
		free(objs[i]);
	}
	free(objs);
	objs = NULL;
	nobjs = 0;
}

/* ---------- symbol tables from files ---------- */

static int file_build_id(const struct xs_elf *elf, uint8_t *id, size_t *len)
{
	for (unsigned i = 1; i < elf->nsecs; i++) {
		const struct xs_elf_sec *s = &elf->secs[i];
		if (s->sh->sh_type != SHT_NOTE || !s->data)
			continue;
		size_t align = s->sh->sh_addralign == 8 ? 8 : 4;
		if (xs_elf_note_build_id_aligned(s->data, s->size, align, id, XS_BUILD_ID_MAX, len,
						 NULL) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Map and parse one candidate file and check its build-id. */
static int open_candidate(struct xs_object *obj, const char *path, struct xs_symtab *st,
			  struct xs_err *err)
{
	/* /proc paths through the /proc opened at start (chroot). */
	int fd = strncmp(path, "/proc/", 6) == 0 ? xs_procfs_open(path + 6, O_RDONLY)
						 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && strncmp(path, "/proc/", 6) != 0)
		fd = -errno;
	if (fd < 0)
		return xs_fail(err, fd, "cannot open %s: %s", path, strerror(-fd));
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return xs_fail(err, -ENOEXEC, "%s is not a regular ELF file", path);
	}
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED)
		return xs_fail(err, -e, "cannot map %s: %s", path, strerror(e));
	st->map = m;
	st->map_size = (size_t)sb.st_size;
	int rc = xs_elf_parse(&st->elf, m, st->map_size, XS_ELF_OBJECT, err);
	if (rc) {
		munmap(m, st->map_size);
		st->map = NULL;
		return xs_fail_prefix(err, rc, "%s", path);
	}
	if (obj->build_id_len) {
		uint8_t id[XS_BUILD_ID_MAX];
		size_t len = 0;
		char want[2 * XS_BUILD_ID_MAX + 1], got[2 * XS_BUILD_ID_MAX + 1];
		xs_hex_encode(obj->build_id, obj->build_id_len, want);
		if (file_build_id(&st->elf, id, &len) != 0)
			rc = xs_fail(err, -ESTALE,
				     "%s has no build-id but the running object has %s (replaced on disk?)",
				     path, want);
		else if (len != obj->build_id_len || memcmp(id, obj->build_id, len) != 0) {
			xs_hex_encode(id, len, got);
			rc = xs_fail(err, -ESTALE,
				     "%s has build-id %s but the running object has %s (replaced on disk?)",
				     path, got, want);
		}
		if (rc) {
			xs_elf_free(&st->elf);
			munmap(m, st->map_size);
			st->map = NULL;
			return rc;
		}
	}
	snprintf(st->source, sizeof(st->source), "%s", path);
	return 0;
}

static void candidate_release(struct xs_symtab *st)
{
	xs_elf_free(&st->elf);
	if (st->map)
		munmap(st->map, st->map_size);
	st->map = NULL;
}

static int has_symtab(const struct xs_symtab *st)
{
	return st->elf.symtab_idx && st->elf.secs[st->elf.symtab_idx].sh->sh_type == SHT_SYMTAB;
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
	const struct xs_elf *e = &((const struct xs_symtab *)ctx)->elf;
	const char *x = e->strtab + e->syms[*(const uint32_t *)a].st_name;
	const char *y = e->strtab + e->syms[*(const uint32_t *)b].st_name;
	int c = strcmp(x, y);
	if (c)
		return c;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int cmp_addr(const void *a, const void *b, void *ctx)
{
	const struct xs_elf *e = &((const struct xs_symtab *)ctx)->elf;
	const Elf64_Sym *x = &e->syms[*(const uint32_t *)a], *y = &e->syms[*(const uint32_t *)b];
	if (x->st_value != y->st_value)
		return x->st_value < y->st_value ? -1 : 1;
	/* functions first at the same address */
	int fx = ELF64_ST_TYPE(x->st_info) == STT_FUNC, fy = ELF64_ST_TYPE(y->st_info) == STT_FUNC;
	if (fx != fy)
		return fy - fx;
	/* then global names before local ones (the public name of an alias) */
	int gx = ELF64_ST_BIND(x->st_info) != STB_LOCAL, gy = ELF64_ST_BIND(y->st_info) != STB_LOCAL;
	if (gx != gy)
		return gy - gx;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int index_symbols(struct xs_symtab *st, struct xs_err *err)
{
	const struct xs_elf *e = &st->elf;
	/* .gnu.version for .dynsym: skip hidden (non-default) versions */
	if (e->symtab_idx && e->secs[e->symtab_idx].sh->sh_type == SHT_DYNSYM) {
		for (unsigned i = 1; i < e->nsecs; i++) {
			const struct xs_elf_sec *s = &e->secs[i];
			if (s->sh->sh_type == SHT_GNU_versym && s->sh->sh_link == e->symtab_idx &&
			    s->data && s->size == (uint64_t)e->nsyms * 2 && s->sh->sh_offset % 2 == 0)
				st->versym = (const Elf64_Half *)s->data;
		}
	}
	st->by_name = calloc(e->nsyms ? e->nsyms : 1, sizeof(uint32_t));
	st->by_addr = calloc(e->nsyms ? e->nsyms : 1, sizeof(uint32_t));
	if (!st->by_name || !st->by_addr)
		return xs_fail(err, -ENOMEM, "out of memory indexing symbols of %s", st->source);
	for (unsigned i = 1; i < e->nsyms; i++) {
		const Elf64_Sym *s = &e->syms[i];
		unsigned type = ELF64_ST_TYPE(s->st_info);
		if (s->st_shndx == SHN_UNDEF || type == STT_SECTION || type == STT_FILE)
			continue;
		if (s->st_name == 0 || s->st_name >= e->strtab_size)
			continue;
		if (!(st->versym && (st->versym[i] & 0x8000)))
			st->by_name[st->n_by_name++] = i;
		if ((type == STT_FUNC || type == STT_OBJECT || type == STT_NOTYPE ||
		     type == STT_GNU_IFUNC) && (s->st_shndx < e->nsecs ||
						(st->in_memory && s->st_shndx != SHN_ABS)))
			st->by_addr[st->n_by_addr++] = i;
	}
	qsort_r(st->by_name, st->n_by_name, sizeof(uint32_t), cmp_name, st);
	qsort_r(st->by_addr, st->n_by_addr, sizeof(uint32_t), cmp_addr, st);
	return 0;
}

static int memory_dynsym(struct xs_object *obj, struct xs_symtab *st, struct xs_err *err);

static int load_symtab_files(struct xs_object *obj, struct xs_symtab *st, struct xs_err *err)
{
	if (obj->is_vdso) {
		/* The vDSO is an ELF image in memory with section headers. */
		int rc = xs_elf_parse(&st->elf, (const void *)obj->lo, obj->hi - obj->lo,
				      XS_ELF_OBJECT, err);
		if (rc)
			return xs_fail_prefix(err, rc, "vDSO");
		snprintf(st->source, sizeof(st->source), "[vdso]");
		return 0;
	}

	struct xs_err e1 = { { 0 } };
	int rc = open_candidate(obj, obj->path, st, &e1);
	if (rc && obj->is_main) {
		/* the running executable itself, even if the path changed */
		struct xs_err e2 = { { 0 } };
		if (open_candidate(obj, "/proc/thread-self/exe", st, &e2) == 0)
			rc = 0;
	}
	if (rc == 0 && has_symtab(st))
		return 0;

	/* No .symtab (stripped) or a stale file: try the debug file by build-id. */
	if (obj->build_id_len >= 2) {
		char h[2 * XS_BUILD_ID_MAX + 1], dbg[XS_PATH_SIZE];
		xs_hex_encode(obj->build_id, obj->build_id_len, h);
		snprintf(dbg, sizeof(dbg), DEBUG_DIR "/%.2s/%s.debug", h, h + 2);
		struct xs_symtab d = { 0 };
		struct xs_err e3 = { { 0 } };
		if (open_candidate(obj, dbg, &d, &e3) == 0 && has_symtab(&d)) {
			candidate_release(st);
			st->map = d.map;
			st->map_size = d.map_size;
			st->elf = d.elf;
			snprintf(st->source, sizeof(st->source), "%s", dbg);
			return 0;
		}
		candidate_release(&d);
	}
	if (rc && !obj->is_main && (rc == -ENOENT || rc == -EACCES)) {
		/* The file is not reachable (a chroot, a deleted library):
		 * the dynamic symbols of the mapped object still are. */
		struct xs_err e4 = { "" };
		if (memory_dynsym(obj, st, &e4) == 0)
			return 0;
	}
	if (rc) {
		if (err)
			*err = e1;
		return rc;
	}
	if (!st->elf.symtab_idx) {
		candidate_release(st);
		return xs_fail(err, -ENOENT, "%s has no symbol table and no debug file was found",
			       obj->path);
	}
	return 0; /* .dynsym only */
}

static struct xs_symtab *symtab_get(struct xs_object *obj, struct xs_err *err, int *rcp)
{
	if (!obj) {
		*rcp = xs_fail(err, -EINVAL, "no object");
		return NULL;
	}
	if (!obj->symtab) {
		struct xs_symtab *st = calloc(1, sizeof(*st));
		if (!st) {
			*rcp = xs_fail(err, -ENOMEM, "out of memory");
			return NULL;
		}
		struct xs_err e = { { 0 } };
		int rc = load_symtab_files(obj, st, &e);
		if (rc == 0)
			rc = index_symbols(st, &e);
		if (rc) {
			candidate_release(st);
			free(st->by_name);
			free(st->by_addr);
			st->by_name = st->by_addr = NULL;
			st->n_by_name = st->n_by_addr = 0;
			memset(&st->elf, 0, sizeof(st->elf));
		}
		st->rc = rc;
		snprintf(st->reason, sizeof(st->reason), "%s", e.msg);
		obj->symtab = st;
	}
	if (obj->symtab->rc) {
		*rcp = xs_fail(err, obj->symtab->rc, "%s", obj->symtab->reason);
		return NULL;
	}
	*rcp = 0;
	return obj->symtab;
}

/* first index in by_name whose name is >= name */
static unsigned name_lower_bound(const struct xs_symtab *st, const char *name)
{
	unsigned lo = 0, hi = st->n_by_name;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const char *n = st->elf.strtab + st->elf.syms[st->by_name[mid]].st_name;
		if (strcmp(n, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int find_unique(struct xs_object *obj, const char *name, int want_tls, bool globals_only,
		       const Elf64_Sym **out, struct xs_err *err)
{
	int rc;
	struct xs_symtab *st = symtab_get(obj, err, &rc);
	if (!st)
		return xs_fail_prefix(err, rc, "symbol '%s' in %s", name ? name : "", obj ? obj->path : "?");
	if (!name || !name[0])
		return xs_fail(err, -EINVAL, "empty symbol name");
	/* A plain name in a payload means the global definition when one
	 * exists (a static of the same name elsewhere, e.g. in a bundled
	 * library, is not what an undefined reference binds to); two
	 * different definitions of the same binding are ambiguous. */
	const Elf64_Sym *found = NULL, *global = NULL, *clash = NULL, *gclash = NULL;
	const Elf64_Sym *other_kind = NULL;
	for (unsigned i = name_lower_bound(st, name); i < st->n_by_name; i++) {
		const Elf64_Sym *s = &st->elf.syms[st->by_name[i]];
		if (strcmp(st->elf.strtab + s->st_name, name) != 0)
			break;
		if (globals_only && ELF64_ST_BIND(s->st_info) == STB_LOCAL)
			continue;
		int is_tls = ELF64_ST_TYPE(s->st_info) == STT_TLS;
		if (is_tls != want_tls) {
			other_kind = s;
			continue;
		}
		bool same_as_found = found && found->st_value == s->st_value &&
				     found->st_shndx == s->st_shndx;
		if (found && !same_as_found && !clash)
			clash = s;
		if (!found)
			found = s;
		if (ELF64_ST_BIND(s->st_info) != STB_LOCAL) {
			if (global && (global->st_value != s->st_value ||
				       global->st_shndx != s->st_shndx))
				gclash = s;
			if (!global)
				global = s;
		}
	}
	if (global && !gclash) {
		found = global;
		clash = NULL;
	}
	if (clash) {
		const Elf64_Sym *first = gclash ? global : found, *second = gclash ? gclash : clash;
		uintptr_t b = want_tls ? 0 : obj->bias;
		return xs_fail(err, -ENOTUNIQ,
			       "symbol '%s' is ambiguous in %s: defined at %#lx and at %#lx "
			       "(name it by address in .livepatch.symbols)",
			       name, obj->path, (unsigned long)(b + first->st_value),
			       (unsigned long)(b + second->st_value));
	}
	if (!found) {
		if (other_kind && !want_tls)
			return xs_fail(err, -ENOTSUP,
				       "symbol '%s' in %s is thread-local; use TLS relocations", name,
				       obj->path);
		if (other_kind && want_tls)
			return xs_fail(err, -EINVAL, "symbol '%s' in %s is not thread-local", name,
				       obj->path);
		return xs_fail(err, -ENOENT, "symbol '%s' not found in %s (symbols from %s)", name,
			       obj->path, st->source);
	}
	*out = found;
	return 0;
}

static int object_lookup(struct xs_object *obj, const char *name, bool globals_only,
			 uintptr_t *addr, uint64_t *size, struct xs_err *err)
{
	const Elf64_Sym *s;
	int rc = find_unique(obj, name, 0, globals_only, &s, err);
	if (rc)
		return rc;
	uintptr_t a = s->st_shndx == SHN_ABS ? (uintptr_t)s->st_value : obj->bias + s->st_value;
	if (ELF64_ST_TYPE(s->st_info) == STT_GNU_IFUNC) {
		/* The symbol is the resolver: ask the dynamic linker for the
		 * implementation, if it is this object's. */
		void *p = dlsym(RTLD_DEFAULT, name);
		if (!p || (uintptr_t)p < obj->lo || (uintptr_t)p >= obj->hi)
			return xs_fail(err, -ENOTSUP,
				       "symbol '%s' in %s is an IFUNC the dynamic linker does not "
				       "resolve; name the implementation instead",
				       name, obj->path);
		a = (uintptr_t)p;
	}
	if (addr)
		*addr = a;
	if (size)
		*size = s->st_size;
	return 0;
}

int xs_object_lookup(struct xs_object *obj, const char *name, uintptr_t *addr, uint64_t *size,
		     struct xs_err *err)
{
	return object_lookup(obj, name, false, addr, size, err);
}

int xs_bind_symbol(struct xs_object *target, const char *name, uintptr_t *addr,
		   struct xs_err *err)
{
	/* An undefined reference from another translation unit binds to an
	 * external definition, never to someone's static: globals first (the
	 * target's, then every object's dynamic ones), and a static of the
	 * target only when no global of that name exists anywhere and the
	 * static is the only one (else: -ENOTUNIQ, name it in
	 * .livepatch.symbols). */
	struct xs_err lerr = { "" };
	int rc = target ? object_lookup(target, name, true, addr, NULL, &lerr) : -ENOENT;
	if (rc == 0)
		return 0;
	if (rc != -ENOENT) {
		if (err)
			*err = lerr;
		return rc;
	}
	rc = xs_global_lookup(name, addr, &lerr);
	if (rc == 0)
		return 0;
	if (rc != -ENOENT) {
		if (err)
			*err = lerr;
		return rc;
	}
	rc = target ? object_lookup(target, name, false, addr, NULL, &lerr) : -ENOENT;
	if (rc == 0)
		return 0;
	if (rc != -ENOENT) {
		if (err)
			*err = lerr;
		return rc;
	}
	(void)name; /* the loader's reason starts with "undefined symbol 'NAME'" */
	return xs_fail(err, -ENOENT,
		       "not defined by a payload below this one (payloads bind to each other only "
		       "along their depends chain), by %s, or by any loaded object's dynamic "
		       "symbols", target ? target->path : "?");
}

int xs_object_lookup_tls(struct xs_object *obj, const char *name, uint64_t *tls_offset,
			 struct xs_err *err)
{
	const Elf64_Sym *s;
	int rc = find_unique(obj, name, 1, false, &s, err);
	if (rc)
		return rc;
	if (tls_offset)
		*tls_offset = s->st_value;
	return 0;
}

int xs_object_symbol_extent(struct xs_object *obj, uint64_t link_addr, const char **name,
			    uint64_t *size, uint64_t *room, struct xs_err *err)
{
	int rc;
	struct xs_symtab *st = symtab_get(obj, err, &rc);
	if (!st)
		return rc;
	const struct xs_elf *e = &st->elf;
	unsigned lo = 0, hi = st->n_by_addr;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (e->syms[st->by_addr[mid]].st_value < link_addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= st->n_by_addr || e->syms[st->by_addr[lo]].st_value != link_addr)
		return xs_fail(err, -ENOENT, "no symbol starts at %#llx in %s",
			       (unsigned long long)link_addr, obj->path);
	const Elf64_Sym *s = &e->syms[st->by_addr[lo]];
	uint64_t sz = s->st_size;
	uint64_t end = link_addr + (sz ? sz : 1);
	uint64_t limit = UINT64_MAX;
	if (s->st_shndx < e->nsecs && s->st_shndx != SHN_UNDEF) {
		const Elf64_Shdr *sh = e->secs[s->st_shndx].sh;
		if (sh->sh_addr <= link_addr && sh->sh_size <= UINT64_MAX - sh->sh_addr)
			limit = sh->sh_addr + sh->sh_size;
	}
	for (unsigned i = lo + 1; i < st->n_by_addr; i++) {
		const Elf64_Sym *n = &e->syms[st->by_addr[i]];
		unsigned t = ELF64_ST_TYPE(n->st_info);
		if (n->st_value < end)
			continue; /* aliases and labels inside the symbol */
		if (t == STT_NOTYPE && n->st_size == 0)
			continue;
		if (n->st_value < limit)
			limit = n->st_value;
		break;
	}
	if (limit == UINT64_MAX || limit < link_addr + sz)
		limit = link_addr + sz;
	/* Without the file's section table and local symbols, what follows a
	 * dynamic symbol may be another (static) function: no padding. */
	if (st->in_memory)
		limit = link_addr + sz;
	if (name)
		*name = e->strtab + s->st_name;
	if (size)
		*size = sz;
	if (room)
		*room = limit - link_addr;
	return 0;
}

bool xs_object_has_full_symtab(struct xs_object *obj)
{
	int rc;
	struct xs_symtab *st = symtab_get(obj, NULL, &rc);
	return st && !st->in_memory && has_symtab(st);
}

/* "foo" names "foo", "foo@@V1" and GCC's local alias "foo.localalias". */
static bool names_symbol(const char *want, const char *sym)
{
	size_t lw = strcspn(want, "@"), ls = strcspn(sym, "@");
	static const char alias[] = ".localalias";
	const size_t la = sizeof(alias) - 1;
	if (lw > la && !strncmp(want + lw - la, alias, la))
		lw -= la;
	if (ls > la && !strncmp(sym + ls - la, alias, la))
		ls -= la;
	return lw == ls && !strncmp(want, sym, lw);
}

bool xs_object_symbol_named_at(struct xs_object *obj, uint64_t link_addr, const char *name)
{
	int rc;
	struct xs_symtab *st = symtab_get(obj, NULL, &rc);
	if (!st || !name)
		return false;
	const struct xs_elf *e = &st->elf;
	unsigned lo = 0, hi = st->n_by_addr;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (e->syms[st->by_addr[mid]].st_value < link_addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Every symbol at that address: a function and its aliases. */
	for (unsigned i = lo; i < st->n_by_addr; i++) {
		const Elf64_Sym *s = &e->syms[st->by_addr[i]];
		if (s->st_value != link_addr)
			break;
		if (names_symbol(name, e->strtab + s->st_name))
			return true;
	}
	return false;
}

int xs_object_symbolize(uintptr_t addr, char *buf, size_t len)
{
	if (!buf || !len)
		return -EINVAL;
	struct xs_object *obj = xs_object_by_addr(addr);
	if (!obj) {
		snprintf(buf, len, "%#lx", (unsigned long)addr);
		return -ENOENT;
	}
	const char *base = strrchr(obj->path, '/');
	base = base ? base + 1 : obj->path;
	uint64_t link = addr - obj->bias;
	int rc;
	struct xs_symtab *st = symtab_get(obj, NULL, &rc);
	if (st && st->n_by_addr) {
		const struct xs_elf *e = &st->elf;
		unsigned lo = 0, hi = st->n_by_addr;
		while (lo < hi) {
			unsigned mid = lo + (hi - lo) / 2;
			if (e->syms[st->by_addr[mid]].st_value <= link)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo > 0) {
			/* prefer a sized symbol covering the address */
			unsigned k = lo - 1;
			const Elf64_Sym *s = &e->syms[st->by_addr[k]];
			for (unsigned j = k + 1; j-- > 0;) {
				const Elf64_Sym *c = &e->syms[st->by_addr[j]];
				if (c->st_size && link < c->st_value + c->st_size) {
					s = c;
					break;
				}
				if (k - j > 16)
					break;
			}
			snprintf(buf, len, "%s+%#llx (%s)", e->strtab + s->st_name,
				 (unsigned long long)(link - s->st_value), base);
			return 0;
		}
	}
	snprintf(buf, len, "%s+%#llx", base, (unsigned long long)link);
	return -ENOENT;
}

/* ---------- an object's dynamic symbols, from memory ---------- */

/* An object's PT_DYNAMIC (NULL if none) and the range of its PT_LOADs. */
static const ElfW(Dyn) *object_dynamic(const struct dl_phdr_info *info, uintptr_t *lo,
				       uintptr_t *hi)
{
	const ElfW(Dyn) *dyn = NULL;
	*lo = UINTPTR_MAX;
	*hi = 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
		if (ph->p_type == PT_LOAD) {
			uintptr_t a = info->dlpi_addr + ph->p_vaddr;
			if (a < *lo)
				*lo = a;
			if (a + ph->p_memsz > *hi)
				*hi = a + ph->p_memsz;
		}
	}
	return dyn;
}

struct dynfind {
	uintptr_t bias, lo;
	const ElfW(Dyn) *dyn;
	uintptr_t seg_lo, seg_hi;
	const char *name;
};

static int dynfind_cb(struct dl_phdr_info *info, size_t sz, void *data)
{
	struct dynfind *q = data;
	(void)sz;
	if (info->dlpi_addr != q->bias)
		return 0;
	uintptr_t lo, hi;
	const ElfW(Dyn) *dyn = object_dynamic(info, &lo, &hi);
	if (lo != q->lo || !dyn)
		return 0;
	q->dyn = dyn;
	q->seg_lo = lo;
	q->seg_hi = hi;
	q->name = info->dlpi_name;
	return 1;
}

/* Is [p, p+len) inside the object's mapped segments? */
static bool in_segments(const struct dynfind *q, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;
	return a >= q->seg_lo && a <= q->seg_hi && len <= q->seg_hi - a;
}

/*
 * The symbol table of obj from its own dynamic section (DT_SYMTAB,
 * DT_STRTAB, DT_STRSZ, DT_VERSYM; the count from DT_HASH or DT_GNU_HASH),
 * every pointer checked against the object's segments.
 */
static int memory_dynsym(struct xs_object *obj, struct xs_symtab *st, struct xs_err *err)
{
	struct dynfind q = { .bias = obj->bias, .lo = obj->lo };
	dl_iterate_phdr(dynfind_cb, &q);
	if (!q.dyn)
		return xs_fail(err, -ENOENT, "%s: no dynamic section in memory", obj->path);
	const Elf64_Sym *syms = NULL;
	const char *str = NULL;
	const uint32_t *hash = NULL, *gnuhash = NULL;
	const Elf64_Half *versym = NULL;
	uint64_t strsz = 0;
	for (const ElfW(Dyn) *d = q.dyn; in_segments(&q, d, sizeof(*d)) && d->d_tag != DT_NULL;
	     d++) {
		uintptr_t v = d->d_un.d_ptr;
		/* glibc relocates these entries; some loaders leave them
		 * link-time: both are handled. */
		if (d->d_tag != DT_STRSZ && !(v >= q.seg_lo && v < q.seg_hi))
			v += obj->bias;
		switch (d->d_tag) {
		case DT_SYMTAB: syms = (const void *)v; break;
		case DT_STRTAB: str = (const void *)v; break;
		case DT_STRSZ: strsz = d->d_un.d_val; break;
		case DT_HASH: hash = (const void *)v; break;
		case DT_GNU_HASH: gnuhash = (const void *)v; break;
		case DT_VERSYM: versym = (const void *)v; break;
		default: break;
		}
	}
	if (!syms || !str || !strsz || !in_segments(&q, str, strsz) || (!hash && !gnuhash))
		return xs_fail(err, -ENOEXEC, "%s: incomplete dynamic section", obj->path);
	uint64_t n = 0;
	if (hash && in_segments(&q, hash, 8)) {
		n = hash[1]; /* nchain */
	} else if (gnuhash && in_segments(&q, gnuhash, 16)) {
		uint32_t nb = gnuhash[0], off = gnuhash[1], bloom = gnuhash[2];
		const uint32_t *buckets = gnuhash + 4 + (uint64_t)bloom * (sizeof(ElfW(Addr)) / 4);
		if (!in_segments(&q, buckets, (uint64_t)nb * 4))
			return xs_fail(err, -ENOEXEC, "%s: bad DT_GNU_HASH", obj->path);
		const uint32_t *chain = buckets + nb;
		uint32_t last = 0;
		for (uint32_t b = 0; b < nb; b++)
			if (buckets[b] > last)
				last = buckets[b];
		n = off;
		if (last >= off) {
			for (uint32_t i = last;; i++) {
				if (!in_segments(&q, &chain[i - off], 4))
					return xs_fail(err, -ENOEXEC, "%s: bad DT_GNU_HASH chain",
						       obj->path);
				if (chain[i - off] & 1) {
					n = (uint64_t)i + 1;
					break;
				}
			}
		}
	}
	if (!n || n > (1u << 24) || !in_segments(&q, syms, n * sizeof(Elf64_Sym)) ||
	    (versym && !in_segments(&q, versym, n * 2)))
		return xs_fail(err, -ENOEXEC, "%s: bad dynamic symbol table", obj->path);
	memset(&st->elf, 0, sizeof(st->elf));
	st->elf.syms = syms;
	st->elf.nsyms = (unsigned)n;
	st->elf.strtab = str;
	st->elf.strtab_size = strsz;
	st->versym = versym;
	st->in_memory = true;
	/* Shown in reasons: the path, then where the symbols came from
	 * (truncated like any path that long). */
	size_t k = strnlen(obj->path, sizeof(st->source) - 1);
	memcpy(st->source, obj->path, k);
	static const char tag[] = " (dynamic symbols in memory)";
	size_t t = sizeof(tag) - 1 < sizeof(st->source) - 1 - k ? sizeof(tag) - 1
								 : sizeof(st->source) - 1 - k;
	memcpy(st->source + k, tag, t);
	st->source[k + t] = '\0';
	return 0;
}

/* ---------- global dynamic symbols ---------- */

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = h * 33 + *p;
	return h;
}

struct dynlookup {
	const char *name;
	uintptr_t addr;
	int found;
	int rc;
	char reason[256];
};

static uintptr_t dyn_ptr(const struct dl_phdr_info *info, const ElfW(Dyn) *d, uintptr_t lo,
			 uintptr_t hi)
{
	uintptr_t v = d->d_un.d_ptr;
	/* glibc relocates most entries; the vDSO's are link-time values */
	if (v >= lo && v < hi)
		return v;
	return v + info->dlpi_addr;
}

static int sym_acceptable(const ElfW(Sym) *s, const ElfW(Half) *versym, uint32_t i)
{
	unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
	unsigned vis = ELF64_ST_VISIBILITY(s->st_other);
	if (s->st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK))
		return 0;
	if (type == STT_TLS || vis == STV_HIDDEN || vis == STV_INTERNAL)
		return 0;
	if (versym && (versym[i] & 0x8000))
		return 0;
	return 1;
}

static int dyn_cb(struct dl_phdr_info *info, size_t sz, void *data)
{
	struct dynlookup *q = data;
	(void)sz;
	uintptr_t self = (uintptr_t)&xs_global_lookup;
	uintptr_t lo, hi;
	const ElfW(Dyn) *dyn = object_dynamic(info, &lo, &hi);
	if (!dyn || (lo <= self && self < hi))
		return 0; /* no dynamic section, or the agent itself */
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const uint32_t *gnuhash = NULL;
	const ElfW(Half) *versym = NULL;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const void *)dyn_ptr(info, d, lo, hi); break;
		case DT_STRTAB: strtab = (const void *)dyn_ptr(info, d, lo, hi); break;
		case DT_GNU_HASH: gnuhash = (const void *)dyn_ptr(info, d, lo, hi); break;
		case DT_VERSYM: versym = (const void *)dyn_ptr(info, d, lo, hi); break;
		default: break;
		}
	}
	if (!symtab || !strtab || !gnuhash)
		return 0;
	uint32_t nbuckets = gnuhash[0], symoffset = gnuhash[1], bloom_size = gnuhash[2];
	if (!nbuckets)
		return 0;
	const uint32_t *buckets = gnuhash + 4 + bloom_size * (sizeof(ElfW(Addr)) / 4);
	const uint32_t *chain = buckets + nbuckets;
	uint32_t h = gnu_hash(q->name);
	uint32_t i = buckets[h % nbuckets];
	if (i < symoffset)
		return 0;
	for (;; i++) {
		uint32_t h2 = chain[i - symoffset];
		if ((h | 1) == (h2 | 1) && strcmp(strtab + symtab[i].st_name, q->name) == 0 &&
		    sym_acceptable(&symtab[i], versym, i)) {
			if (ELF64_ST_TYPE(symtab[i].st_info) == STT_GNU_IFUNC) {
				q->rc = -ENOTSUP;
				snprintf(q->reason, sizeof(q->reason),
					 "symbol '%s' in %s is an IFUNC outside the global scope",
					 q->name, info->dlpi_name ? info->dlpi_name : "?");
				return 1;
			}
			q->addr = symtab[i].st_shndx == SHN_ABS ? symtab[i].st_value
								 : info->dlpi_addr + symtab[i].st_value;
			q->found = 1;
			return 1;
		}
		if (h2 & 1)
			break;
	}
	return 0;
}

int xs_global_lookup(const char *name, uintptr_t *addr, struct xs_err *err)
{
	if (!name || !name[0])
		return xs_fail(err, -EINVAL, "empty symbol name");
	dlerror();
	void *p = dlsym(RTLD_DEFAULT, name);
	if (p) {
		Dl_info info;
		const ElfW(Sym) *sym = NULL;
		/* dlsym gives a thread's instance for TLS symbols: not an address
		 * inside any object. Accept only addresses that are. */
		if (dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) && info.dli_fname) {
			if (addr)
				*addr = (uintptr_t)p;
			return 0;
		}
	}
	struct dynlookup q = { .name = name };
	dl_iterate_phdr(dyn_cb, &q);
	if (q.rc)
		return xs_fail(err, q.rc, "%s", q.reason);
	if (!q.found)
		return xs_fail(err, -ENOENT, "symbol '%s' not found in any loaded object", name);
	if (addr)
		*addr = q.addr;
	return 0;
}
