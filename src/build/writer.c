/* SPDX-License-Identifier: MIT */
/*
 * Payload writer: one relocatable "part" per changed object (its selected
 * sections, symbols, relocations and .livepatch.funcs entries), a "meta"
 * object (.livepatch.depends, .livepatch.symbols, .modinfo), then
 * `ld -r --build-id=sha1` joins them and adds the payload's own build-id.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"
#include "xsplice/livepatch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Symbols are numbered while locals and globals are still being added, so a
 * global's index is its position among the globals with this bit set; the
 * relocations are renumbered when the file is written (locals come first). */
#define GLOBAL_BIT (1u << 30)

/* A string table growing by appends: NUL-terminated strings back to back. */
struct strtab {
	char *buf;
	size_t len;
};

/* Append s; its offset in the table. */
static size_t strtab_add(struct strtab *t, const char *s)
{
	size_t n = strlen(s) + 1;
	t->buf = xb_realloc(t->buf, t->len + n, 1);
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	return t->len - n;
}

/* One section of the object being written. */
struct out_sec {
	char *name;
	uint32_t type;
	uint64_t flags, align, entsize;
	unsigned char *data; /* NULL for NOBITS */
	size_t size;
	Elf64_Rela *rela;
	size_t nrela;
};

/* A relocatable object being built in memory (a payload part or meta.o),
 * written out by out_obj_write(). */
struct out_obj {
	struct out_sec *secs; /* index i is section i + 1 */
	size_t nsecs;
	Elf64_Sym *locals, *globals;
	size_t nlocals, nglobals;
	struct strtab strtab; /* symbol names; offset 0 is "" */
};

static size_t out_str(struct out_obj *ob, const char *s)
{
	if (!ob->strtab.len)
		strtab_add(&ob->strtab, "");
	return *s ? strtab_add(&ob->strtab, s) : 0;
}

static size_t out_sec_add(struct out_obj *ob, const char *name, uint32_t type, uint64_t flags,
		     uint64_t align, uint64_t entsize, const void *data, size_t size)
{
	ob->secs = xb_realloc(ob->secs, ob->nsecs + 1, sizeof(*ob->secs));
	struct out_sec *s = &ob->secs[ob->nsecs++];
	memset(s, 0, sizeof(*s));
	s->name = xb_strdup(name);
	s->type = type;
	s->flags = flags & ~(uint64_t)SHF_GROUP;
	s->align = align ? align : 1;
	s->entsize = entsize;
	s->size = size;
	if (type != SHT_NOBITS) {
		s->data = xb_calloc(1, size);
		if (data && size)
			memcpy(s->data, data, size);
	}
	return ob->nsecs; /* section index */
}

/* Returns an encoded index: locals as is, globals with GLOBAL_BIT. */
static uint32_t out_sym_add(struct out_obj *ob, const char *name, uint64_t value, uint64_t size,
		       unsigned type, unsigned bind, uint16_t shndx)
{
	Elf64_Sym s = { 0 };
	s.st_name = (uint32_t)out_str(ob, name);
	s.st_value = value;
	s.st_size = size;
	s.st_info = ELF64_ST_INFO(bind, type);
	s.st_shndx = shndx;
	if (!ob->nlocals) {
		ob->locals = xb_calloc(1, sizeof(Elf64_Sym));
		ob->nlocals = 1;
	}
	if (bind == STB_LOCAL) {
		ob->locals = xb_realloc(ob->locals, ob->nlocals + 1, sizeof(Elf64_Sym));
		ob->locals[ob->nlocals] = s;
		return (uint32_t)ob->nlocals++;
	}
	ob->globals = xb_realloc(ob->globals, ob->nglobals + 1, sizeof(Elf64_Sym));
	ob->globals[ob->nglobals] = s;
	return GLOBAL_BIT | (uint32_t)ob->nglobals++;
}

static void out_rela_add(struct out_obj *ob, size_t secidx, uint64_t off, uint32_t type, uint32_t sym,
		    int64_t addend)
{
	struct out_sec *s = &ob->secs[secidx - 1];
	s->rela = xb_realloc(s->rela, s->nrela + 1, sizeof(*s->rela));
	s->rela[s->nrela].r_offset = off;
	s->rela[s->nrela].r_info = ELF64_R_INFO(sym, type); /* fixed up at write */
	s->rela[s->nrela].r_addend = addend;
	s->nrela++;
}

static void out_obj_free(struct out_obj *ob)
{
	for (size_t i = 0; i < ob->nsecs; i++) {
		free(ob->secs[i].name);
		free(ob->secs[i].data);
		free(ob->secs[i].rela);
	}
	free(ob->secs);
	free(ob->locals);
	free(ob->globals);
	free(ob->strtab.buf);
	memset(ob, 0, sizeof(*ob));
}

static Elf_Scn *new_scn(Elf *e, Elf64_Word name, uint32_t type, uint64_t flags, uint64_t align,
			uint64_t entsize, void *buf, size_t size, Elf_Type dtype)
{
	Elf_Scn *scn = elf_newscn(e);
	if (!scn)
		return NULL;
	Elf_Data *d = elf_newdata(scn);
	if (!d)
		return NULL;
	d->d_buf = buf;
	d->d_size = size;
	d->d_type = dtype;
	d->d_align = align;
	d->d_version = EV_CURRENT;
	Elf64_Shdr *sh = elf64_getshdr(scn);
	sh->sh_name = name;
	sh->sh_type = type;
	sh->sh_flags = flags;
	sh->sh_addralign = align;
	sh->sh_entsize = entsize;
	return scn;
}

static int out_obj_write(struct out_obj *ob, const char *path, struct xs_err *err)
{
	int rc = 0;
	if (!ob->nlocals)
		out_sym_add(ob, "", 0, 0, STT_NOTYPE, STB_LOCAL, 0);
	size_t nlocals = ob->nlocals, nglobals = ob->nglobals;
	Elf64_Sym *syms = xb_calloc(nlocals + nglobals, sizeof(*syms));
	memcpy(syms, ob->locals, nlocals * sizeof(*syms));
	if (nglobals)
		memcpy(syms + nlocals, ob->globals, nglobals * sizeof(*syms));
	for (size_t i = 0; i < ob->nsecs; i++)
		for (size_t k = 0; k < ob->secs[i].nrela; k++) {
			Elf64_Rela *r = &ob->secs[i].rela[k];
			uint32_t s = (uint32_t)ELF64_R_SYM(r->r_info);
			if (s & GLOBAL_BIT)
				s = (uint32_t)(nlocals + (s & ~GLOBAL_BIT));
			r->r_info = ELF64_R_INFO(s, ELF64_R_TYPE(r->r_info));
		}
	struct strtab shstr = { 0 }; /* section names */
	Elf64_Word nm = (Elf64_Word)strtab_add(&shstr, "");
	size_t nrel = 0;
	for (size_t i = 0; i < ob->nsecs; i++)
		nrel += ob->secs[i].nrela ? 1 : 0;
	size_t symtab_idx = ob->nsecs + nrel + 1, strtab_idx = symtab_idx + 1,
	       shstr_idx = strtab_idx + 1;

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(syms);
		free(shstr.buf);
		return xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	}
	Elf *e = elf_begin(fd, ELF_C_WRITE, NULL);
	Elf64_Ehdr *eh = e ? elf64_newehdr(e) : NULL;
	if (!eh) {
		rc = xs_fail(err, -EIO, "%s: %s", path, elf_errmsg(-1));
		goto out;
	}
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh->e_type = ET_REL;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	for (size_t i = 0; i < ob->nsecs; i++) {
		struct out_sec *s = &ob->secs[i];
		nm = (Elf64_Word)strtab_add(&shstr, s->name);
		if (!new_scn(e, nm, s->type, s->flags, s->align, s->entsize, s->data, s->size,
			     ELF_T_BYTE))
			goto elferr;
	}
	for (size_t i = 0; i < ob->nsecs; i++) {
		struct out_sec *s = &ob->secs[i];
		if (!s->nrela)
			continue;
		char *rn = xb_asprintf(".rela%s", s->name);
		nm = (Elf64_Word)strtab_add(&shstr, rn);
		free(rn);
		Elf_Scn *scn = new_scn(e, nm, SHT_RELA, SHF_INFO_LINK, 8, sizeof(Elf64_Rela), s->rela,
				       s->nrela * sizeof(Elf64_Rela), ELF_T_RELA);
		if (!scn)
			goto elferr;
		Elf64_Shdr *sh = elf64_getshdr(scn);
		sh->sh_link = (Elf64_Word)symtab_idx;
		sh->sh_info = (Elf64_Word)(i + 1);
	}
	nm = (Elf64_Word)strtab_add(&shstr, ".symtab");
	Elf_Scn *scn = new_scn(e, nm, SHT_SYMTAB, 0, 8, sizeof(Elf64_Sym), syms,
			       (nlocals + nglobals) * sizeof(Elf64_Sym), ELF_T_SYM);
	if (!scn)
		goto elferr;
	elf64_getshdr(scn)->sh_link = (Elf64_Word)strtab_idx;
	elf64_getshdr(scn)->sh_info = (Elf64_Word)nlocals;
	if (!ob->strtab.len)
		out_str(ob, "");
	nm = (Elf64_Word)strtab_add(&shstr, ".strtab");
	if (!new_scn(e, nm, SHT_STRTAB, 0, 1, 0, ob->strtab.buf, ob->strtab.len, ELF_T_BYTE))
		goto elferr;
	nm = (Elf64_Word)strtab_add(&shstr, ".shstrtab");
	scn = new_scn(e, nm, SHT_STRTAB, 0, 1, 0, NULL, 0, ELF_T_BYTE);
	if (!scn)
		goto elferr;
	/* The section names are complete now: point the last section at them. */
	elf_getdata(scn, NULL)->d_buf = shstr.buf;
	elf_getdata(scn, NULL)->d_size = shstr.len;
	eh->e_shstrndx = (Elf64_Half)shstr_idx;
	if (elf_update(e, ELF_C_WRITE) < 0)
		goto elferr;
	goto out;
elferr:
	rc = xs_fail(err, -EIO, "%s: libelf: %s", path, elf_errmsg(-1));
out:
	if (e)
		elf_end(e);
	close(fd);
	free(syms);
	free(shstr.buf);
	return rc;
}

static const struct xb_ext *ext_lookup(const struct xb_result *r, const char *name)
{
	for (size_t i = 0; i < r->next; i++)
		if (!strcmp(r->ext[i].name, name))
			return &r->ext[i];
	return NULL;
}

int xb_write_part(struct xb_pair *p, struct xb_result *r, const char *path, struct xs_err *err)
{
	struct xb_obj *b = &p->patched;
	struct out_obj ob = { 0 };
	int rc;
	uint32_t *secsym = xb_calloc(b->nsec, sizeof(*secsym));
	/* Undefined symbols of this part, by name. */
	const char **un = NULL;
	uint32_t *ui = NULL;
	size_t nun = 0;

	for (size_t i = 1; i < b->nsec; i++) {
		struct xb_sec *s = &b->sec[i];
		if (!s->include)
			continue;
		s->out_idx = out_sec_add(&ob, s->name, s->sh.sh_type, s->sh.sh_flags, s->sh.sh_addralign,
				    s->sh.sh_entsize, s->data, s->size);
		secsym[i] = out_sym_add(&ob, "", 0, 0, STT_SECTION, STB_LOCAL, (uint16_t)s->out_idx);
	}
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (!xb_sym_is_entity(y) || !y->sec->include)
			continue;
		unsigned bind = (y->bind == STB_LOCAL || y->copy) ? STB_LOCAL : y->bind;
		y->out_idx = out_sym_add(&ob, y->name, y->s.st_value, y->s.st_size, y->type, bind,
				    (uint16_t)y->sec->out_idx);
	}
	for (size_t i = 1; i < b->nsec; i++) {
		struct xb_sec *s = &b->sec[i];
		if (!s->include)
			continue;
		for (size_t k = 0; k < s->nrela; k++) {
			const struct xb_rela *ra = &s->rela[k];
			struct xb_sym *S = ra->sym, *ts;
			struct xb_sec *tsec;
			int64_t off;
			if (xb_sym_is_label(S) && S->sec->include) {
				int64_t base = S->type == STT_SECTION ? 0 : (int64_t)S->s.st_value;
				out_rela_add(&ob, s->out_idx, ra->off, ra->type, secsym[S->sec->idx],
					base + ra->addend);
				continue;
			}
			xb_reloc_target(ra, &ts, &tsec, &off);
			if (!ts) {
				rc = xs_fail(err, -EINVAL, "%s: %s+%#llx: reference to unselected %s",
					     b->path, s->name, (unsigned long long)ra->off, tsec->name);
				goto out;
			}
			if (ts->sec && ts->sec->include) {
				out_rela_add(&ob, s->out_idx, ra->off, ra->type, (uint32_t)ts->out_idx, off);
				continue;
			}
			if (!ts->extname) {
				rc = xs_fail(err, -EINVAL, "%s: %s+%#llx: unresolved reference to %s",
					     b->path, s->name, (unsigned long long)ra->off, ts->name);
				goto out;
			}
			size_t u;
			for (u = 0; u < nun; u++)
				if (!strcmp(un[u], ts->extname))
					break;
			if (u == nun) {
				const struct xb_ext *e = ext_lookup(r, ts->extname);
				unsigned type = e ? e->type : ts->type;
				if (type != STT_TLS && type != STT_FUNC && type != STT_OBJECT)
					type = STT_NOTYPE;
				if (ts->type == STT_TLS)
					type = STT_TLS;
				un = xb_realloc(un, nun + 1, sizeof(*un));
				ui = xb_realloc(ui, nun + 1, sizeof(*ui));
				un[nun] = ts->extname;
				ui[nun] = out_sym_add(&ob, ts->extname, 0, 0, type,
						 ts->bind == STB_WEAK && !ts->sec ? STB_WEAK : STB_GLOBAL,
						 SHN_UNDEF);
				nun++;
			}
			out_rela_add(&ob, s->out_idx, ra->off, ra->type, ui[u], off);
		}
	}
	/* .livepatch.funcs entries of this object; names in a string section. */
	size_t nf = 0;
	for (size_t i = 0; i < r->nfuncs; i++)
		nf += r->funcs[i].obj == b;
	if (nf) {
		struct strtab names = { 0 };
		size_t *stroff = xb_calloc(nf, sizeof(*stroff));
		size_t k = 0;
		for (size_t i = 0; i < r->nfuncs; i++)
			if (r->funcs[i].obj == b)
				stroff[k++] = strtab_add(&names, r->funcs[i].name);
		size_t ssec = out_sec_add(&ob, ".livepatch.strings", SHT_PROGBITS, SHF_ALLOC, 1, 0,
					  names.buf, names.len);
		uint32_t ssym = out_sym_add(&ob, "", 0, 0, STT_SECTION, STB_LOCAL, (uint16_t)ssec);
		struct livepatch_func *lf = xb_calloc(nf, sizeof(*lf));
		size_t fsec = out_sec_add(&ob, LIVEPATCH_FUNCS_SECTION, SHT_PROGBITS, SHF_ALLOC, 8, 0, NULL,
				     nf * sizeof(*lf));
		k = 0;
		for (size_t i = 0; i < r->nfuncs; i++) {
			const struct xb_func *f = &r->funcs[i];
			if (f->obj != b)
				continue;
			lf[k].old_addr = (void *)(uintptr_t)f->old_addr; /* constant: agent adds bias */
			lf[k].old_size = (uint32_t)f->old_size;
			lf[k].new_size = (uint32_t)f->sym->s.st_size;
			lf[k].version = LIVEPATCH_PAYLOAD_VERSION;
			if (f->expect_len && f->expect_len <= LIVEPATCH_EXPECT_MAX) {
				lf[k].version = LIVEPATCH_PAYLOAD_VERSION_2;
				lf[k].v2.expect_len = f->expect_len;
				memcpy(lf[k].v2.expect, f->expect, f->expect_len);
			}
			out_rela_add(&ob, fsec, k * sizeof(*lf) + offsetof(struct livepatch_func, name),
				R_X86_64_64, ssym, (int64_t)stroff[k]);
			out_rela_add(&ob, fsec, k * sizeof(*lf) + offsetof(struct livepatch_func, new_addr),
				R_X86_64_64, (uint32_t)f->sym->out_idx, 0);
			k++;
		}
		memcpy(ob.secs[fsec - 1].data, lf, nf * sizeof(*lf));
		free(lf);
		free(names.buf);
		free(stroff);
	}
	out_sec_add(&ob, ".note.GNU-stack", SHT_PROGBITS, 0, 1, 0, NULL, 0);
	rc = out_obj_write(&ob, path, err);
out:
	out_obj_free(&ob);
	free(secsym);
	free(un);
	free(ui);
	return rc;
}

int xb_write_meta(struct xb_result *r, const struct xb_payload_opts *o, const char *path,
		  struct xs_err *err)
{
	struct out_obj ob = { 0 };
	/* GNU build-id note naming what this payload sits on. */
	size_t dl = (o->depends_len + 3) & ~(size_t)3;
	unsigned char *note = xb_calloc(1, 16 + dl);
	uint32_t hdr[3] = { 4, (uint32_t)o->depends_len, NT_GNU_BUILD_ID };
	memcpy(note, hdr, sizeof(hdr));
	memcpy(note + 12, "GNU", 4);
	memcpy(note + 16, o->depends, o->depends_len);
	out_sec_add(&ob, LIVEPATCH_DEPENDS_SECTION, SHT_NOTE, SHF_ALLOC, 4, 0, note, 16 + dl);
	free(note);

	unsigned char *tab = NULL;
	size_t ntab = 0;
	for (size_t i = 0; i < r->next; i++) {
		const struct xb_ext *e = &r->ext[i];
		if (!e->in_target)
			continue;
		size_t l = strlen(e->name);
		if (l > UINT16_MAX)
			continue;
		size_t rec = (sizeof(struct livepatch_symbol) + l + 7) & ~(size_t)7;
		tab = xb_realloc(tab, ntab + rec, 1);
		memset(tab + ntab, 0, rec);
		struct livepatch_symbol ls = { 0 };
		ls.addr = e->addr;
		ls.size = e->size > UINT32_MAX ? 0 : (uint32_t)e->size;
		ls.name_len = (uint16_t)l;
		/* The agent reads addr as a TLS block offset when the payload's
		 * undefined symbol of that name is STT_TLS. */
		ls.flags = 0;
		memcpy(tab + ntab, &ls, sizeof(ls));
		memcpy(tab + ntab + sizeof(ls), e->name, l);
		ntab += rec;
	}
	if (ntab)
		out_sec_add(&ob, LIVEPATCH_SYMBOLS_SECTION, SHT_PROGBITS, 0, 8, 0, tab, ntab);
	free(tab);
	if (o->name || o->description || o->version) {
		/* key=value strings, each with its NUL */
		char *mi = NULL;
		size_t ml = 0;
		const char *keys[3] = { "name", "description", "version" };
		const char *vals[3] = { o->name, o->description, o->version };
		for (int k = 0; k < 3; k++) {
			if (!vals[k])
				continue;
			char *kv = xb_asprintf("%s=%s", keys[k], vals[k]);
			size_t l = strlen(kv) + 1;
			mi = xb_realloc(mi, ml + l, 1);
			memcpy(mi + ml, kv, l);
			ml += l;
			free(kv);
		}
		out_sec_add(&ob, ".modinfo", SHT_PROGBITS, 0, 1, 0, mi, ml);
		free(mi);
	}
	out_sec_add(&ob, ".note.GNU-stack", SHT_PROGBITS, 0, 1, 0, NULL, 0);
	int rc = out_obj_write(&ob, path, err);
	out_obj_free(&ob);
	return rc;
}

int xb_link(char **parts, size_t nparts, const char *out, struct xs_err *err)
{
	const char *ld = getenv("LD");
	if (!ld || !*ld)
		ld = "ld";
	char **argv = xb_calloc(nparts + 8, sizeof(*argv));
	size_t n = 0;
	argv[n++] = (char *)ld;
	argv[n++] = "-r";
	argv[n++] = "--build-id=sha1";
	argv[n++] = "-o";
	argv[n++] = (char *)out;
	for (size_t i = 0; i < nparts; i++)
		argv[n++] = parts[i];
	argv[n] = NULL;
	int rc = xb_run(argv, NULL, NULL, err);
	free(argv);
	if (rc)
		return xs_fail_prefix(err, rc, "linking the payload");
	return 0;
}
