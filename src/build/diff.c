/* SPDX-License-Identifier: MIT */
/*
 * Object diff: correlate the symbols of the original and the patched object,
 * compare functions section by section (bytes and normalised relocations),
 * refuse unsafe data changes, then select what the payload carries and how
 * its references resolve in the target.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"
#include "common/reloc_names.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Distance from a PC-relative field to the end of the usual instruction. */
static int pcrel_adjust(uint32_t type)
{
	switch (type) {
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
		return 4;
	default:
		return 0;
	}
}

static bool reloc_supported(uint32_t type)
{
	switch (type) {
	case R_X86_64_64:
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
	case R_X86_64_32:
	case R_X86_64_32S:
	case R_X86_64_PC64:
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTTPOFF:
		return true;
	default:
		return false;
	}
}

/* "count.3" -> "count", "f.constprop.0" -> "f.constprop": GCC numbers
 * static locals and clones per translation unit, so numbers shift. */
static void strip_gcc_numbering(const char *in, char *out, size_t n)
{
	size_t o = 0;
	const char *p = in;
	while (*p && o + 1 < n) {
		if (*p == '.' && p != in) {
			const char *q = p + 1;
			while (*q >= '0' && *q <= '9')
				q++;
			if (q > p + 1 && (*q == '\0' || *q == '.')) {
				p = q;
				continue;
			}
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
}

/* The symbol's name without GCC's numbering, computed once. */
static const char *unnumbered_name(struct xb_sym *y)
{
	if (!y->unnumbered) {
		char buf[1024];
		strip_gcc_numbering(y->name, buf, sizeof(buf));
		y->unnumbered = xb_strdup(buf);
	}
	return y->unnumbered;
}

static bool same_unnumbered_name(struct xb_sym *a, struct xb_sym *b)
{
	return !strcmp(unnumbered_name(a), unnumbered_name(b));
}

/* "f.cold" / "f.part.0.cold.1" -> parent name length, 0 if not cold. */
static size_t cold_parent_len(const char *name)
{
	const char *c = strstr(name, ".cold");
	while (c) {
		const char *q = c + 5;
		if (*q == '\0' || (*q == '.' && q[1] >= '0' && q[1] <= '9'))
			return (size_t)(c - name);
		c = strstr(c + 1, ".cold");
	}
	return 0;
}

/* What a relocation refers to once labels are resolved. */
struct reloc_target {
	struct xb_sym *sym;  /* entity, undefined or absolute symbol; NULL: anonymous */
	struct xb_sec *sec;
	int64_t off;         /* addend relative to sym, or to sec when anonymous */
};

/* The entity of sec that covers offset p (the last one starting at or before it). */
static struct xb_sym *entity_at(struct xb_sec *sec, int64_t p)
{
	struct xb_sym *best = NULL;
	for (size_t i = 0; i < sec->nents; i++) {
		if ((int64_t)sec->ents[i]->s.st_value > p)
			break;
		if (!best || sec->ents[i]->s.st_value != best->s.st_value)
			best = sec->ents[i];
	}
	if (!best && sec->nents)
		best = sec->ents[0];
	return best;
}

/* Section symbols and .L labels become the entity they point into. */
static void resolve_reloc(const struct xb_rela *r, struct reloc_target *t)
{
	struct xb_sym *s = r->sym;
	if (!xb_sym_is_label(s)) {
		t->sym = s;
		t->sec = s->sec;
		t->off = r->addend;
		return;
	}
	int64_t a = (s->type == STT_SECTION ? 0 : (int64_t)s->s.st_value) + r->addend;
	struct xb_sym *e = entity_at(s->sec, a + pcrel_adjust(r->type));
	t->sec = s->sec;
	t->sym = e;
	t->off = e ? a - (int64_t)e->s.st_value : a;
}

/* The bytes a reference into a mergeable section depends on: from the start
 * of the entry holding the target up to the end of the entry the
 * instruction most likely means (the next entry start within 4 bytes). */
static void merge_key(const struct xb_sec *s, int64_t a, uint32_t type, size_t *kstart,
		      size_t *klen, int64_t *delta)
{
	int64_t t = a + pcrel_adjust(type);
	size_t size = s->size;
	const unsigned char *d = s->data;
	if (t < 0 || (size_t)t >= size || !d) {
		*kstart = 0;
		*klen = 0;
		*delta = t;
		return;
	}
	size_t start, end;
	if (s->sh.sh_flags & SHF_STRINGS) {
		start = (size_t)t;
		while (start > 0 && d[start - 1])
			start--;
		size_t r = (size_t)t;
		while (r < size && r - (size_t)t < 4 && !(r == 0 || !d[r - 1]))
			r++;
		end = r;
		while (end < size && d[end])
			end++;
		if (end < size)
			end++;
	} else {
		size_t e = s->sh.sh_entsize ? s->sh.sh_entsize : 1;
		start = (size_t)t / e * e;
		size_t r = ((size_t)t + e - 1) / e * e;
		end = r + e;
		if (end > size)
			end = size;
	}
	*kstart = start;
	*klen = end - start;
	*delta = t - (int64_t)start;
}

static bool sec_same(struct xb_sec *a, struct xb_sec *b, int depth);

static bool reloc_target_same(const struct xb_rela *ra, const struct xb_rela *rb, int depth)
{
	struct reloc_target ta, tb;
	resolve_reloc(ra, &ta);
	resolve_reloc(rb, &tb);
	if (ta.sym && tb.sym) {
		if (!ta.sym->sec || !tb.sym->sec)
			return !ta.sym->sec && !tb.sym->sec && !strcmp(ta.sym->name, tb.sym->name) &&
			       ta.sym->s.st_shndx == tb.sym->s.st_shndx && ta.off == tb.off;
		return tb.sym->twin == ta.sym && ta.off == tb.off;
	}
	if (ta.sym || tb.sym)
		return false;
	if ((ta.sec->sh.sh_flags & SHF_MERGE) && (tb.sec->sh.sh_flags & SHF_MERGE)) {
		size_t sa, la, sb, lb;
		int64_t da, db;
		merge_key(ta.sec, ta.off, ra->type, &sa, &la, &da);
		merge_key(tb.sec, tb.off, rb->type, &sb, &lb, &db);
		return la == lb && da == db && ta.sec->sh.sh_flags == tb.sec->sh.sh_flags &&
		       (!la || !memcmp(ta.sec->data + sa, tb.sec->data + sb, la));
	}
	if (ta.off != tb.off)
		return false;
	if (depth > 32)
		return false;
	return sec_same(ta.sec, tb.sec, depth + 1);
}

static bool rela_range_same(const struct xb_sec *a, uint64_t alo, const struct xb_sec *b,
			    uint64_t blo, uint64_t len, int depth)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < a->nrela && a->rela[i].off < alo)
			i++;
		while (j < b->nrela && b->rela[j].off < blo)
			j++;
		bool ea = i >= a->nrela || a->rela[i].off >= alo + len;
		bool eb = j >= b->nrela || b->rela[j].off >= blo + len;
		if (ea || eb)
			return ea && eb;
		const struct xb_rela *ra = &a->rela[i++], *rb = &b->rela[j++];
		if (ra->off - alo != rb->off - blo || ra->type != rb->type)
			return false;
		if (!reloc_target_same(ra, rb, depth))
			return false;
	}
}

static bool sec_same(struct xb_sec *a, struct xb_sec *b, int depth)
{
	if (a->cmp_with == b) {
		if (a->cmp == XB_CMP_IN_PROGRESS) /* assume equal (cycles) */
			return true;
		return a->cmp == XB_CMP_SAME;
	}
	if (a->sh.sh_type != b->sh.sh_type || a->size != b->size ||
	    (a->sh.sh_flags & ~(uint64_t)SHF_GROUP) != (b->sh.sh_flags & ~(uint64_t)SHF_GROUP))
		return false;
	a->cmp_with = b;
	a->cmp = XB_CMP_IN_PROGRESS;
	bool same = true;
	if (a->data && b->data && memcmp(a->data, b->data, a->size))
		same = false;
	else if (a->nrela != b->nrela)
		same = false;
	else
		same = rela_range_same(a, 0, b, 0, a->size, depth);
	a->cmp = same ? XB_CMP_SAME : XB_CMP_DIFFERENT;
	return same;
}

static bool obj_range_same(struct xb_sym *a, struct xb_sym *b)
{
	uint64_t n = a->s.st_size;
	if (a->sec->sh.sh_type == SHT_NOBITS || b->sec->sh.sh_type == SHT_NOBITS)
		return a->sec->sh.sh_type == b->sec->sh.sh_type;
	if (a->s.st_value + n > a->sec->size || b->s.st_value + n > b->sec->size)
		return false;
	if (memcmp(a->sec->data + a->s.st_value, b->sec->data + b->s.st_value, n))
		return false;
	return rela_range_same(a->sec, a->s.st_value, b->sec, b->s.st_value, n, 0);
}

/* a (original) and b (patched) are the same entity from now on. */
static void make_twins(struct xb_sym *a, struct xb_sym *b)
{
	a->twin = b;
	b->twin = a;
}

static bool unique_name(struct xb_obj *o, struct xb_sym *y)
{
	for (size_t i = 1; i < o->nsym; i++)
		if (&o->sym[i] != y && xb_sym_is_entity(&o->sym[i]) &&
		    !strcmp(o->sym[i].name, y->name) && o->sym[i].s.st_value != y->s.st_value)
			return false;
	return true;
}

/* Twin the entities of one kind (functions or data) by name: exact names
 * (unique on both sides), or, with unnumbered, names without GCC numbering
 * (unique on both sides). */
static void correlate_named(struct xb_obj *a, struct xb_obj *b, bool funcs, bool unnumbered)
{
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (!xb_sym_is_entity(y) || y->twin || (y->type == STT_FUNC) != funcs)
			continue;
		struct xb_sym *hit = NULL;
		int nhit = 0;
		for (size_t i = 1; i < a->nsym; i++) {
			struct xb_sym *x = &a->sym[i];
			if (!xb_sym_is_entity(x) || x->twin || x->type != y->type)
				continue;
			if (unnumbered ? !same_unnumbered_name(x, y) : strcmp(x->name, y->name))
				continue;
			if (hit && hit->s.st_value == x->s.st_value && hit->sec == x->sec)
				continue;
			hit = x;
			nhit++;
		}
		if (nhit != 1)
			continue;
		if (!unnumbered && (!unique_name(a, hit) || !unique_name(b, y)))
			continue;
		if (unnumbered) {
			/* The same unnumbered name must be unique on the patched side too. */
			int n2 = 0;
			for (size_t k = 1; k < b->nsym; k++)
				if (xb_sym_is_entity(&b->sym[k]) && !b->sym[k].twin &&
				    b->sym[k].type == y->type && same_unnumbered_name(&b->sym[k], y))
					n2++;
			if (n2 != 1)
				continue;
		}
		make_twins(hit, y);
	}
}

/* Static locals ("count.3") follow the function that uses them: the number
 * is a per-file counter that any added static shifts. */
static void correlate_static_locals(struct xb_obj *b)
{
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *f = &b->sym[j];
		if (f->type != STT_FUNC || !f->sec || !f->twin)
			continue;
		struct xb_sec *fs = f->sec, *gs = f->twin->sec;
		for (size_t k = 0; k < fs->nrela; k++) {
			struct reloc_target tb;
			resolve_reloc(&fs->rela[k], &tb);
			struct xb_sym *v = tb.sym;
			if (!v || !v->sec || v->twin || v->bind != STB_LOCAL ||
			    (v->type != STT_OBJECT && v->type != STT_TLS))
				continue;
			for (size_t m = 0; m < gs->nrela; m++) {
				struct reloc_target ta;
				resolve_reloc(&gs->rela[m], &ta);
				struct xb_sym *u = ta.sym;
				if (u && u->sec && !u->twin && u->bind == STB_LOCAL && u->type == v->type &&
				    same_unnumbered_name(u, v)) {
					make_twins(u, v);
					break;
				}
			}
		}
	}
}

static bool special_section(const char *n)
{
	static const char *const names[] = { ".init_array", ".fini_array", ".preinit_array",
					     ".ctors", ".dtors", ".init", ".fini" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t l = strlen(names[i]);
		if (!strncmp(n, names[i], l) && (n[l] == '\0' || n[l] == '.'))
			return true;
	}
	return false;
}

#define STARTUP_CHANGED                                                                     \
	"start-up code changed (a static initialiser or constructor runs once at start, not "  \
	"again after the patch)"

/* Record that name cannot be patched, and why (each reason once per name). */
static void __attribute__((format(printf, 4, 5)))
refuse(struct xb_result *r, struct xb_obj *o, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *reason = xb_vasprintf(fmt, ap);
	va_end(ap);
	bool known = false;
	for (size_t i = 0; i < r->refused.n && !known; i++)
		known = !strcmp(r->refused.v[i].name, name) && !strcmp(r->refused.v[i].reason, reason);
	if (!known)
		xb_list_add(&r->refused, name, o->file ? o->file : o->path, reason);
	free(reason);
}

/* Of the function symbols at one address (GCC's "foo.localalias" of -fPIC
 * code, other aliases), the one that names the function: a global, else one
 * that is not a local alias. The entry, the report and the agent's check
 * all use that name (docs/build.md "Aliases"). */
static bool is_local_alias(const char *name)
{
	size_t n = strlen(name), la = strlen(".localalias");
	return n > la && !strcmp(name + n - la, ".localalias");
}

static struct xb_sym *canonical_alias(struct xb_obj *o, struct xb_sym *y)
{
	struct xb_sym *best = y;
	for (size_t j = 1; j < o->nsym; j++) {
		struct xb_sym *z = &o->sym[j];
		if (z == y || z->type != STT_FUNC || z->sec != y->sec ||
		    z->s.st_value != y->s.st_value)
			continue;
		bool zg = z->bind != STB_LOCAL, bg = best->bind != STB_LOCAL;
		if ((zg && !bg) ||
		    (zg == bg && is_local_alias(best->name) && !is_local_alias(z->name)) ||
		    (zg == bg && is_local_alias(best->name) == is_local_alias(z->name) && z < best))
			best = z;
	}
	return best;
}

void xb_diff(struct xb_pair *p, struct xb_result *r)
{
	struct xb_obj *a = &p->orig, *b = &p->patched;
	if (!p->is_new_obj) {
		correlate_named(a, b, true, false);
		correlate_named(a, b, true, true);
		correlate_static_locals(b);
		correlate_named(a, b, false, false);
		correlate_named(a, b, false, true);
	}
	/* Functions. */
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (y->type != STT_FUNC || !y->sec)
			continue;
		if (!y->twin)
			y->status = XB_NEW;
		else
			y->status = sec_same(y->twin->sec, y->sec, 0) ? XB_SAME : XB_CHANGED;
		size_t pl = cold_parent_len(y->name);
		if (pl) {
			char *pn = xb_strdup(y->name);
			pn[pl] = '\0';
			y->parent = xb_obj_find(b, pn);
			free(pn);
		}
	}
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (y->parent && y->status != XB_SAME && y->parent->status == XB_SAME)
			y->parent->status = XB_CHANGED;
	}
	/* A function changed only if the code differs; aliases share the verdict. */
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (y->type != STT_FUNC || !y->sec || y->parent)
			continue;
		if (y->status != XB_SAME)
			p->any = true;
		if (canonical_alias(b, y) != y)
			continue;
		if (y->status == XB_CHANGED)
			xb_list_add(&r->changed, y->twin->name, b->file, NULL);
		else if (y->status == XB_NEW)
			xb_list_add(&r->added, y->name, b->file, NULL);
	}
	if (p->is_new_obj)
		return;
	/* Start-up code: a changed constructor (C++ static initialiser, or a
	 * function .init_array/.ctors calls) ran before the patch and never
	 * runs again, so patching it changes nothing and the initial values it
	 * sets stay the old ones. GCC's out-of-line helper of the initialisers
	 * (-O0) counts as one. */
	for (size_t i = 1; i < b->nsec; i++) {
		struct xb_sec *s = &b->sec[i];
		if (!special_section(s->name))
			continue;
		for (size_t k = 0; k < s->nrela; k++) {
			struct reloc_target tg;
			resolve_reloc(&s->rela[k], &tg);
			struct xb_sym *f = tg.sym;
			if (f && f->type == STT_FUNC && f->sec && f->status != XB_SAME)
				refuse(r, b, f->name, "%s", STARTUP_CHANGED);
		}
	}
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (y->type == STT_FUNC && y->sec && y->status == XB_CHANGED &&
		    strstr(y->name, "__static_initialization_and_destruction_"))
			refuse(r, b, y->name, "%s", STARTUP_CHANGED);
	}
	/* Data: no layout or initial value may change under running code. */
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (!y->sec || (y->type != STT_OBJECT && y->type != STT_TLS) || !y->twin)
			continue;
		struct xb_sym *x = y->twin;
		const char *what = y->name;
		if (x->s.st_size != y->s.st_size) {
			refuse(r, b, what,
			       "size changed from %llu to %llu bytes (data layout cannot change under running code)",
			       (unsigned long long)x->s.st_size, (unsigned long long)y->s.st_size);
		} else if (!obj_range_same(x, y)) {
			refuse(r, b, what, "%s",
			       (y->sec->sh.sh_flags & SHF_WRITE)
				       ? "changed initialised data (the running value would be lost)"
				       : "changed read-only data (unchanged code still uses the old copy)");
		}
	}
	for (size_t i = 1; i < b->nsec; i++) {
		struct xb_sec *s = &b->sec[i];
		if (!special_section(s->name))
			continue;
		struct xb_sec *t = NULL;
		for (size_t k = 1; k < a->nsec; k++)
			if (!strcmp(a->sec[k].name, s->name))
				t = &a->sec[k];
		if (!t || !sec_same(t, s, 0))
			refuse(r, b, s->name, "%s", "constructors/destructors changed (they will not run)");
	}
	/* A .bss/.data whose total size changed without a symbol telling why. */
	for (size_t i = 1; i < b->nsec; i++) {
		struct xb_sec *s = &b->sec[i];
		if (strcmp(s->name, ".data") && strcmp(s->name, ".bss"))
			continue;
		for (size_t k = 1; k < a->nsec; k++)
			if (!strcmp(a->sec[k].name, s->name) && a->sec[k].size != s->size)
				refuse(r, b, s->name, "%s",
				       "section size changed (data layout cannot change under running code)");
	}
}

static char *local_name(struct xb_obj *o, const char *name)
{
	return xb_asprintf("%s:%s", o->file ? o->file : "?", name);
}

const char *xb_ext_name(struct xb_result *r, const char *name)
{
	for (size_t i = 0; i < r->next; i++)
		if (!strcmp(r->ext[i].name, name))
			return r->ext[i].name;
	r->ext = xb_realloc(r->ext, r->next + 1, sizeof(*r->ext));
	memset(&r->ext[r->next], 0, sizeof(r->ext[0]));
	r->ext[r->next].name = xb_strdup(name);
	return r->ext[r->next++].name;
}

static struct xb_ext *ext_find(struct xb_result *r, const char *name)
{
	for (size_t i = 0; i < r->next; i++)
		if (!strcmp(r->ext[i].name, name))
			return &r->ext[i];
	return NULL;
}

static void include_sec(struct xb_sec *s, struct xb_sec ***work, size_t *nwork)
{
	if (s->include)
		return;
	s->include = true;
	for (size_t i = 0; i < s->nents; i++)
		s->ents[i]->include = true;
	*work = xb_realloc(*work, *nwork + 1, sizeof(**work));
	(*work)[(*nwork)++] = s;
}

/* Bind y (defined in the original as y->twin) to the target's symbol.
 * 0 bound, -ENOENT not in the target. */
static int bind_target(struct xb_pair *p, struct xb_sym *y, struct xb_target *t,
		       struct xb_result *r, struct xs_err *err)
{
	struct xb_sym *x = y->twin;
	bool local = x->bind == STB_LOCAL;
	const struct xb_tsym *ts;
	int rc = xb_target_lookup(t, x->name, local, &p->orig, &ts, err);
	if (rc)
		return rc;
	char *n = local ? local_name(&p->orig, x->name) : xb_strdup(x->name);
	y->extname = xb_ext_name(r, n);
	free(n);
	struct xb_ext *e = ext_find(r, y->extname);
	e->addr = ts->value;
	e->size = ts->size;
	e->type = x->type == STT_TLS ? STT_TLS : ts->type;
	e->in_target = true;
	return 0;
}

void xb_select(struct xb_pair *p, struct xb_target *t, struct xb_result *r)
{
	struct xb_obj *b = &p->patched;
	struct xb_sec **work = NULL;
	size_t nwork = 0;

	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (y->type != STT_FUNC || !y->sec)
			continue;
		struct xb_sym *top = y->parent ? y->parent : y;
		if (top->status == XB_CHANGED || top->status == XB_NEW)
			include_sec(y->sec, &work, &nwork);
	}
	/* Hooks and metadata the patch adds (extras.c): new sections, kept
	 * with what they reference. One the original had too is not new. */
	for (size_t i = 1; i < b->nsec; i++) {
		struct xb_sec *s = &b->sec[i];
		if (!xb_is_payload_section(s->name))
			continue;
		bool old = false;
		for (size_t k = 1; !p->is_new_obj && k < p->orig.nsec; k++)
			old |= !strcmp(p->orig.sec[k].name, s->name) && p->orig.sec[k].size == s->size &&
			       (!s->data || !memcmp(p->orig.sec[k].data, s->data, s->size));
		if (!old) {
			include_sec(s, &work, &nwork);
			p->any = true;
		}
	}
	/* The work list: included sections whose references are followed. When
	 * it is done, the unwind information of the included code (ehframe.c)
	 * is added and its references (LSDAs, personality) followed in turn;
	 * again while that brings in more code. */
	size_t w = 0, ncode = 0;
	for (;;) {
		for (; w < nwork; w++) {
			struct xb_sec *s = work[w];
			const char *who = s->nents ? s->ents[0]->name : s->name;
			for (size_t k = 0; k < s->nrela; k++) {
				const struct xb_rela *ra = &s->rela[k];
				struct reloc_target tg;
				resolve_reloc(ra, &tg);
				if (!reloc_supported(ra->type)) {
					refuse(r, b, who,
					       "uses relocation %s (type %u) against %s, which the agent does not apply",
					       xs_reloc_name_x86_64(ra->type), ra->type, ra->sym->name);
					continue;
				}
				if (!tg.sym) {
					if ((tg.sec->sh.sh_flags & SHF_WRITE) && !p->is_new_obj) {
						/* State without a symbol cannot be bound to the running copy. */
						refuse(r, b, who, "references anonymous writable data in %s",
						       tg.sec->name);
						continue;
					}
					include_sec(tg.sec, &work, &nwork);
					continue;
				}
				struct xb_sym *y = tg.sym;
				if (y->sec && y->sec->include)
					continue;
				if (!y->sec) {
					if (y->s.st_shndx == SHN_UNDEF) {
						const struct xb_tsym *ts;
						y->extname = xb_ext_name(r, y->name);
						struct xb_ext *e = ext_find(r, y->extname);
						e->type = y->type;
						if (!e->in_target && t->has_symtab &&
						    !xb_target_lookup(t, y->name, false, NULL, &ts, NULL)) {
							e->addr = ts->value;
							e->size = ts->size;
							e->type = ts->type;
							e->in_target = true;
						}
					} else if (y->s.st_shndx == SHN_COMMON) {
						refuse(r, b, y->name, "%s",
						       "common symbol (build with -fno-common)");
					}
					continue;
				}
				if (!y->twin) {
					if (y->type == STT_TLS) {
						refuse(r, b, y->name, "%s",
						       "new thread-local variable (the TLS block cannot grow)");
						continue;
					}
					if (y->type != STT_FUNC)
						xb_list_add(&r->notes, y->name, b->file, "new data, fresh copy in the payload");
					include_sec(y->sec, &work, &nwork);
					continue;
				}
				if (y->extname)
					continue;
				struct xs_err e2 = { { 0 } };
				int rc = bind_target(p, y, t, r, &e2);
				if (!rc)
					continue;
				bool ro = !(y->sec->sh.sh_flags & SHF_WRITE) && y->type != STT_TLS;
				if (rc == -ENOENT && (y->type == STT_FUNC || ro)) {
					/* Unchanged code or constants the linker dropped or inlined:
					 * a private copy behaves the same. */
					y->copy = true;
					xb_list_add(&r->notes, y->name, b->file,
						    "not in the target, private copy in the payload");
					include_sec(y->sec, &work, &nwork);
					continue;
				}
				refuse(r, b, y->twin->name, "referenced by %s: %s", who, e2.msg);
			}
		}
		size_t nc = 0;
		for (size_t i = 1; i < b->nsec; i++)
			nc += b->sec[i].include && (b->sec[i].sh.sh_flags & SHF_EXECINSTR);
		if (nc == ncode)
			break;
		ncode = nc;
		struct xb_sec *eh = xb_eh_frame_select(b);
		if (!eh)
			break;
		if (!eh->include) {
			include_sec(eh, &work, &nwork);
		} else { /* rebuilt: follow its references again */
			work = xb_realloc(work, nwork + 1, sizeof(*work));
			work[nwork++] = eh;
		}
	}
	free(work);

	/* Function entries: changed functions that exist in the target. */
	for (size_t j = 1; j < b->nsym; j++) {
		struct xb_sym *y = &b->sym[j];
		if (y->type != STT_FUNC || !y->sec || y->parent || y->status != XB_CHANGED)
			continue;
		if (canonical_alias(b, y) != y || !y->twin)
			continue;
		bool dup = false;
		for (size_t i = 0; i < r->nfuncs; i++)
			if (r->funcs[i].obj == b && r->funcs[i].sym->sec == y->sec &&
			    r->funcs[i].sym->s.st_value == y->s.st_value)
				dup = true;
		if (dup)
			continue;
		struct xb_sym *x = y->twin;
		const struct xb_tsym *ts;
		struct xs_err e2 = { { 0 } };
		int rc = xb_target_lookup(t, x->name, x->bind == STB_LOCAL, &p->orig, &ts, &e2);
		if (rc) {
			refuse(r, b, x->name, "changed function cannot be located: %s", e2.msg);
			continue;
		}
		if (ts->type != STT_FUNC) {
			refuse(r, b, x->name, "%s", "is not a plain function in the target (IFUNC or data)");
			continue;
		}
		/* An inline function of a header (C++ COMDAT, a weak symbol) is
		 * emitted by every unit that uses it, and the target has the one
		 * copy the linker kept: one entry for it, whichever unit's new
		 * code (they are the same definition). */
		bool again = false;
		for (size_t i = 0; i < r->nfuncs; i++)
			again |= r->funcs[i].old_addr == ts->value;
		if (again)
			continue;
		if (ts->size < 5) {
			refuse(r, b, x->name,
			       "function is %llu bytes in the target, too small for a 5-byte jump",
			       (unsigned long long)ts->size);
			continue;
		}
		r->funcs = xb_realloc(r->funcs, r->nfuncs + 1, sizeof(*r->funcs));
		memset(&r->funcs[r->nfuncs], 0, sizeof(r->funcs[0]));
		r->funcs[r->nfuncs].obj = b;
		r->funcs[r->nfuncs].sym = y;
		r->funcs[r->nfuncs].name = xb_strdup(x->name);
		r->funcs[r->nfuncs].old_addr = ts->value;
		r->funcs[r->nfuncs].old_size = ts->size;
		r->nfuncs++;
	}
}

int xb_reloc_target(const struct xb_rela *r, struct xb_sym **sym, struct xb_sec **sec,
		    int64_t *off)
{
	struct reloc_target t;
	resolve_reloc(r, &t);
	*sym = t.sym;
	*sec = t.sec;
	*off = t.off;
	return 0;
}

bool xb_obj_in_target(struct xb_pair *p, struct xb_target *t)
{
	struct xb_obj *o = p->is_new_obj ? &p->patched : &p->orig;
	const char *f = o->file;
	if (!t->has_symtab)
		return true;
	if (f) {
		for (size_t i = 0; i < t->nfiles; i++)
			if (!strcmp(xb_base_name(t->files[i]), xb_base_name(f)))
				return true;
	}
	/* No file symbol kept for it: its global functions tell. */
	size_t n = 0, found = 0;
	for (size_t i = 1; i < o->nsym; i++) {
		struct xb_sym *y = &o->sym[i];
		const struct xb_tsym *ts;
		if (y->type != STT_FUNC || !y->sec || y->bind == STB_LOCAL)
			continue;
		n++;
		if (!xb_target_lookup(t, y->name, false, NULL, &ts, NULL) && ts->size == y->s.st_size)
			found++;
	}
	return n && found * 2 >= n;
}
