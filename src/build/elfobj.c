/* SPDX-License-Identifier: MIT */
/*
 * Relocatable objects read with libelf into arrays the diff can walk.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rela_cmp(const void *a, const void *b)
{
	const struct xb_rela *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct xb_sym *x = *(struct xb_sym *const *)a, *y = *(struct xb_sym *const *)b;
	if (x->s.st_value != y->s.st_value)
		return x->s.st_value < y->s.st_value ? -1 : 1;
	/* Globals first among aliases: they name the function in the target. */
	if ((x->bind == STB_LOCAL) != (y->bind == STB_LOCAL))
		return x->bind == STB_LOCAL ? 1 : -1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int xb_obj_open(struct xb_obj *o, const char *path, struct xs_err *err)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->path = xb_strdup(path);
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		return xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	o->elf = elf_begin(o->fd, ELF_C_READ, NULL);
	if (!o->elf)
		return xs_fail(err, -EINVAL, "%s: %s", path, elf_errmsg(-1));
	GElf_Ehdr eh;
	if (!gelf_getehdr(o->elf, &eh) || eh.e_type != ET_REL)
		return xs_fail(err, -EINVAL, "%s: not a relocatable object", path);
	if (gelf_getclass(o->elf) != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return xs_fail(err, -ENOTSUP, "%s: only x86-64 objects are supported", path);
	size_t shstrndx;
	if (elf_getshdrnum(o->elf, &o->nsec) || elf_getshdrstrndx(o->elf, &shstrndx))
		return xs_fail(err, -EINVAL, "%s: %s", path, elf_errmsg(-1));
	o->sec = xb_calloc(o->nsec, sizeof(*o->sec));
	Elf_Scn *symscn = NULL;
	for (size_t i = 1; i < o->nsec; i++) {
		struct xb_sec *s = &o->sec[i];
		Elf_Scn *scn = elf_getscn(o->elf, i);
		if (!scn || !gelf_getshdr(scn, &s->sh))
			return xs_fail(err, -EINVAL, "%s: section %zu: %s", path, i, elf_errmsg(-1));
		s->idx = i;
		s->name = elf_strptr(o->elf, shstrndx, s->sh.sh_name);
		if (!s->name)
			s->name = "";
		if (s->sh.sh_type == SHT_SYMTAB)
			symscn = scn;
		if (s->sh.sh_type != SHT_NOBITS && s->sh.sh_size) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (!d || d->d_size != s->sh.sh_size)
				return xs_fail(err, -EINVAL, "%s: %s: cannot read", path, s->name);
			s->data = d->d_buf;
		}
		s->size = s->sh.sh_size;
	}
	if (!symscn)
		return xs_fail(err, -EINVAL, "%s: no symbol table", path);
	GElf_Shdr symsh;
	gelf_getshdr(symscn, &symsh);
	Elf_Data *sd = elf_getdata(symscn, NULL);
	if (!sd || !symsh.sh_entsize)
		return xs_fail(err, -EINVAL, "%s: bad symbol table", path);
	o->nsym = symsh.sh_size / symsh.sh_entsize;
	o->sym = xb_calloc(o->nsym, sizeof(*o->sym));
	for (size_t i = 0; i < o->nsym; i++) {
		struct xb_sym *y = &o->sym[i];
		if (!gelf_getsym(sd, (int)i, &y->s))
			return xs_fail(err, -EINVAL, "%s: symbol %zu", path, i);
		y->idx = i;
		y->type = GELF_ST_TYPE(y->s.st_info);
		y->bind = GELF_ST_BIND(y->s.st_info);
		y->name = elf_strptr(o->elf, symsh.sh_link, y->s.st_name);
		if (!y->name)
			y->name = "";
		if (y->s.st_shndx != SHN_UNDEF && y->s.st_shndx < SHN_LORESERVE &&
		    y->s.st_shndx < o->nsec)
			y->sec = &o->sec[y->s.st_shndx];
		if (y->type == STT_SECTION && y->sec) {
			y->name = y->sec->name;
			if (!y->sec->secsym)
				y->sec->secsym = y;
		}
		if (y->type == STT_FILE && !o->file)
			o->file = xb_strdup(y->name);
	}
	for (size_t i = 1; i < o->nsec; i++) {
		struct xb_sec *r = &o->sec[i];
		if (r->sh.sh_type == SHT_REL)
			return xs_fail(err, -ENOTSUP, "%s: %s: REL relocations not supported", path,
				       r->name);
		if (r->sh.sh_type != SHT_RELA)
			continue;
		if (r->sh.sh_info >= o->nsec || !r->sh.sh_entsize)
			return xs_fail(err, -EINVAL, "%s: %s: bad header", path, r->name);
		struct xb_sec *t = &o->sec[r->sh.sh_info];
		Elf_Data *rd = elf_getdata(elf_getscn(o->elf, i), NULL);
		size_t n = r->sh.sh_size / r->sh.sh_entsize;
		if (!rd)
			return xs_fail(err, -EINVAL, "%s: %s: cannot read", path, r->name);
		t->rela = xb_calloc(n, sizeof(*t->rela));
		t->nrela = n;
		for (size_t k = 0; k < n; k++) {
			GElf_Rela ra;
			if (!gelf_getrela(rd, (int)k, &ra))
				return xs_fail(err, -EINVAL, "%s: %s: entry %zu", path, r->name, k);
			size_t si = GELF_R_SYM(ra.r_info);
			if (si >= o->nsym)
				return xs_fail(err, -EINVAL, "%s: %s: bad symbol", path, r->name);
			t->rela[k].off = ra.r_offset;
			t->rela[k].type = (uint32_t)GELF_R_TYPE(ra.r_info);
			t->rela[k].addend = ra.r_addend;
			t->rela[k].sym = &o->sym[si];
		}
	}
	for (size_t i = 1; i < o->nsec; i++)
		if (o->sec[i].nrela > 1)
			qsort(o->sec[i].rela, o->sec[i].nrela, sizeof(struct xb_rela), rela_cmp);
	/* Entities per section, sorted by address, for resolving section+offset. */
	for (size_t i = 1; i < o->nsym; i++) {
		struct xb_sym *y = &o->sym[i];
		if (!xb_sym_is_entity(y))
			continue;
		y->sec->ents = xb_realloc(y->sec->ents, y->sec->nents + 1, sizeof(*y->sec->ents));
		y->sec->ents[y->sec->nents++] = y;
	}
	for (size_t i = 1; i < o->nsec; i++)
		if (o->sec[i].nents > 1)
			qsort(o->sec[i].ents, o->sec[i].nents, sizeof(struct xb_sym *), ent_cmp);
	return 0;
}

void xb_obj_close(struct xb_obj *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nsec; i++) {
		free(o->sec[i].rela);
		free(o->sec[i].ents);
		if (o->sec[i].orig_data) /* an .eh_frame cut down by ehframe.c */
			free(o->sec[i].orig_rela);
		free(o->sec[i].owned_data);
	}
	free(o->sec);
	for (size_t i = 0; i < o->nsym; i++)
		free(o->sym[i].unnumbered);
	free(o->sym);
	free(o->disk_path);
	o->disk_path = NULL;
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	free(o->path);
	free(o->file);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}

struct xb_sym *xb_obj_find(struct xb_obj *o, const char *name)
{
	for (size_t i = 1; i < o->nsym; i++)
		if (xb_sym_is_entity(&o->sym[i]) && !strcmp(o->sym[i].name, name))
			return &o->sym[i];
	return NULL;
}

bool xb_sym_is_label(const struct xb_sym *s)
{
	if (!s->sec)
		return false;
	if (s->type == STT_SECTION)
		return true;
	return s->type == STT_NOTYPE && s->bind == STB_LOCAL;
}

bool xb_sym_is_entity(const struct xb_sym *s)
{
	return s->sec && (s->type == STT_FUNC || s->type == STT_OBJECT || s->type == STT_TLS);
}

