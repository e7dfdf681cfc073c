/* SPDX-License-Identifier: MIT */
/*
 * The running binary (BINARY): its build-id (read with the shared bounded
 * note reader) and its link-time symbol addresses, looked up by name; locals
 * by the STT_FILE block of the object they came from.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"
#include "common/elfnote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static Elf_Scn *find_symtab(Elf *e)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			return scn;
	}
	return NULL;
}

bool xb_file_has_symtab(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	bool found = e && elf_kind(e) == ELF_K_ELF && find_symtab(e);
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

static int load_symbols(struct xb_target *t, Elf *e, struct xs_err *err)
{
	Elf_Scn *scn = find_symtab(e);
	if (!scn)
		return xs_fail(err, -ENOENT, "%s: no symbol table", t->sympath);
	GElf_Shdr sh;
	gelf_getshdr(scn, &sh);
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !sh.sh_entsize)
		return xs_fail(err, -EINVAL, "%s: bad symbol table", t->sympath);
	size_t n = sh.sh_size / sh.sh_entsize;
	t->syms = xb_calloc(n, sizeof(*t->syms));
	int file = -1;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			continue;
		const char *name = elf_strptr(e, sh.sh_link, s.st_name);
		unsigned type = GELF_ST_TYPE(s.st_info), bind = GELF_ST_BIND(s.st_info);
		if (!name)
			continue;
		if (type == STT_FILE) {
			t->files = xb_realloc(t->files, t->nfiles + 1, sizeof(*t->files));
			t->files[t->nfiles] = xb_strdup(name);
			file = (int)t->nfiles++;
			continue;
		}
		if (s.st_shndx == SHN_UNDEF || type == STT_SECTION || !*name)
			continue;
		struct xb_tsym *y = &t->syms[t->nsyms++];
		y->name = name;
		y->value = s.st_value;
		y->size = s.st_size;
		y->type = type;
		y->bind = bind;
		y->file = bind == STB_LOCAL ? file : -1;
	}
	t->has_symtab = true;
	return 0;
}

int xb_target_open(struct xb_target *t, const char *path, struct xs_err *err)
{
	memset(t, 0, sizeof(*t));
	t->fd = t->symfd = -1;
	t->path = xb_strdup(path);
	t->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->fd < 0)
		return xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	t->elf = elf_begin(t->fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	if (!t->elf || elf_kind(t->elf) != ELF_K_ELF || !gelf_getehdr(t->elf, &eh))
		return xs_fail(err, -ENOEXEC, "%s: not an ELF file", path);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return xs_fail(err, -ENOEXEC, "%s: not an executable or shared library", path);
	if (eh.e_machine != EM_X86_64)
		return xs_fail(err, -ENOTSUP, "%s: only x86-64 targets are supported", path);
	int rc = xs_file_build_id(path, t->build_id, sizeof(t->build_id), &t->build_id_len, err);
	if (rc == -ENODATA)
		return xs_fail(err, -ENOENT,
			       "%s: no NT_GNU_BUILD_ID note (link the target with -Wl,--build-id)",
			       path);
	if (rc)
		return rc;
	t->sympath = xb_strdup(path);
	if (find_symtab(t->elf))
		return load_symbols(t, t->elf, err);
	return 0;
}

int xb_target_use_symbols(struct xb_target *t, const char *path, struct xs_err *err)
{
	free(t->sympath);
	t->sympath = xb_strdup(path);
	t->symfd = open(path, O_RDONLY | O_CLOEXEC);
	if (t->symfd < 0)
		return xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	t->symelf = elf_begin(t->symfd, ELF_C_READ, NULL);
	if (!t->symelf)
		return xs_fail(err, -ENOEXEC, "%s: %s", path, elf_errmsg(-1));
	return load_symbols(t, t->symelf, err);
}

void xb_target_close(struct xb_target *t)
{
	free(t->syms);
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	if (t->symelf)
		elf_end(t->symelf);
	if (t->elf)
		elf_end(t->elf);
	if (t->symfd >= 0)
		close(t->symfd);
	if (t->fd >= 0)
		close(t->fd);
	free(t->path);
	free(t->sympath);
	memset(t, 0, sizeof(*t));
}

static bool file_match(const char *a, const char *b, bool by_base)
{
	return by_base ? !strcmp(xb_base_name(a), xb_base_name(b)) : !strcmp(a, b);
}

/* Does STT_FILE block f of the target define, as a local, every local
 * function and object of o? Then it is o's unit. */
static bool block_has_locals_of(const struct xb_target *t, int f, const struct xb_obj *o)
{
	for (size_t k = 0; k < o->nsym; k++) {
		const struct xb_sym *x = &o->sym[k];
		if (x->bind != STB_LOCAL || !xb_sym_is_entity(x))
			continue;
		bool found = false;
		for (size_t i = 0; i < t->nsyms && !found; i++)
			found = t->syms[i].file == f && !strcmp(t->syms[i].name, x->name);
		if (!found)
			return false;
	}
	return true;
}

/*
 * The local name among the symbols of the file it came from: exact file
 * name first, then basename; with unit, only in STT_FILE blocks that hold
 * all of unit's locals. The number of distinct addresses found (*hit one).
 */
static size_t find_local(const struct xb_target *t, const char *name, const char *file,
			 const struct xb_obj *unit, const struct xb_tsym **hit)
{
	size_t nhit = 0;
	*hit = NULL;
	for (int pass = 0; pass < 2 && !nhit; pass++) {
		for (size_t i = 0; i < t->nsyms; i++) {
			const struct xb_tsym *y = &t->syms[i];
			if (y->bind != STB_LOCAL || strcmp(y->name, name))
				continue;
			if (file && (y->file < 0 || !file_match(t->files[y->file], file, pass)))
				continue;
			if (unit && !block_has_locals_of(t, y->file, unit))
				continue;
			if (*hit && (*hit)->value == y->value)
				continue;
			*hit = y;
			nhit++;
		}
	}
	return nhit;
}

int xb_target_lookup(struct xb_target *t, const char *name, bool local, const struct xb_obj *from,
		     const struct xb_tsym **out, struct xs_err *err)
{
	const char *file = from ? from->file : NULL;
	const struct xb_tsym *hit = NULL;
	size_t nhit = 0;
	if (!t->has_symtab)
		return xs_fail(err, -ENOENT, "%s has no symbol table", t->path);
	if (!local) {
		for (size_t i = 0; i < t->nsyms; i++)
			if (t->syms[i].bind != STB_LOCAL && !strcmp(t->syms[i].name, name)) {
				*out = &t->syms[i];
				return 0;
			}
		/* Hidden globals become locals in the linked output. */
		for (size_t i = 0; i < t->nsyms; i++)
			if (!strcmp(t->syms[i].name, name) && (!hit || hit->value != t->syms[i].value)) {
				hit = &t->syms[i];
				nhit++;
			}
		if (nhit == 1) {
			*out = hit;
			return 0;
		}
		return xs_fail(err, nhit ? -ENOTUNIQ : -ENOENT, "%s %s in %s", name,
			       nhit ? "is ambiguous" : "not found", t->sympath);
	}
	nhit = find_local(t, name, file, NULL, &hit);
	/* Several units of one file name define it (squid has five
	 * Config.cc, each with its own static UnitFileNameHashCacher): the
	 * one whose STT_FILE block holds all of the object's locals is its
	 * unit, as kpatch decides. */
	if (nhit > 1 && file && from && find_local(t, name, file, from, &hit) == 1)
		nhit = 1;
	if (nhit == 1) {
		*out = hit;
		return 0;
	}
	if (nhit > 1)
		return xs_fail(err, -ENOTUNIQ, "local %s of %s is ambiguous in %s (%zu units of "
			       "that name define it, and not exactly one holds all of the "
			       "object's locals)", name, file ? file : "?", t->sympath, nhit);
	return xs_fail(err, -ENOENT, "local %s of %s not found in %s", name, file ? file : "?",
		       t->sympath);
}
