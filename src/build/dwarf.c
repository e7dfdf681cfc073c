/* SPDX-License-Identifier: MIT */
/*
 * What the DWARF of the builds tells (libdw, through libdwfl so that the
 * relocations of a relocatable object's debug sections are applied):
 *   - the layout of every named struct, union and class (and of the
 *     anonymous ones behind a typedef): a type whose size or member layout
 *     the patch changes is one that live data may use with the old layout;
 *   - each compile unit's DW_AT_producer (compiler and code-generation
 *     flags) and the .comment strings, to check that BINARY was built by
 *     the same compiler with the same flags as the rebuild.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const Dwfl_Callbacks offline_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* The Dwarf of an object or binary; NULL when it has none. */
static Dwarf *open_dwarf(const char *path, Dwfl **dwfl)
{
	*dwfl = dwfl_begin(&offline_callbacks);
	if (!*dwfl)
		return NULL;
	dwfl_report_begin(*dwfl);
	Dwfl_Module *m = dwfl_report_offline(*dwfl, xb_base_name(path), path, -1);
	dwfl_report_end(*dwfl, NULL, NULL);
	if (!m)
		return NULL;
	Dwarf_Addr bias;
	return dwfl_module_getdwarf(m, &bias);
}

static void types_add(struct xb_types *t, const char *name, uint64_t size, uint64_t sig,
		      const char *first_diff)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return; /* the first definition of a name in the object */
	t->v = xb_realloc(t->v, t->n + 1, sizeof(*t->v));
	t->v[t->n].name = xb_strdup(name);
	t->v[t->n].size = size;
	t->v[t->n].layout = sig;
	t->v[t->n].members = xb_strdup(first_diff ? first_diff : "");
	t->n++;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t type_size(Dwarf_Die *type)
{
	Dwarf_Die t = *type, next;
	Dwarf_Attribute a;
	for (int depth = 0; depth < 16; depth++) {
		Dwarf_Word sz;
		if (dwarf_attr_integrate(&t, DW_AT_byte_size, &a) && !dwarf_formudata(&a, &sz))
			return sz;
		if (dwarf_tag(&t) == DW_TAG_array_type) {
			int s = dwarf_aggregate_size(&t, &sz);
			return s == 0 ? sz : 0;
		}
		if (!dwarf_attr_integrate(&t, DW_AT_type, &a) || !dwarf_formref_die(&a, &next))
			return 0;
		t = next;
	}
	return 0;
}

/* Size and a signature of a struct/union/class: its members' names,
 * offsets and sizes; *members: "name@offset+size ..." for the report. */
static void layout_of(Dwarf_Die *die, uint64_t *size, uint64_t *sig, char **members)
{
	Dwarf_Attribute a;
	Dwarf_Word sz = 0;
	if (dwarf_attr_integrate(die, DW_AT_byte_size, &a))
		dwarf_formudata(&a, &sz);
	*size = sz;
	uint64_t h = 0xcbf29ce484222325ULL;
	h = mix(h, &sz, sizeof(sz));
	size_t cap = 256, len = 0;
	char *m = xb_calloc(cap, 1);
	Dwarf_Die c;
	if (dwarf_child(die, &c) == 0) {
		do {
			if (dwarf_tag(&c) != DW_TAG_member)
				continue;
			const char *n = dwarf_diename(&c);
			Dwarf_Word off = 0;
			if (dwarf_attr(&c, DW_AT_data_member_location, &a))
				dwarf_formudata(&a, &off);
			Dwarf_Word bits = 0, bitoff = 0;
			if (dwarf_attr(&c, DW_AT_bit_size, &a))
				dwarf_formudata(&a, &bits);
			if (dwarf_attr(&c, DW_AT_data_bit_offset, &a))
				dwarf_formudata(&a, &bitoff);
			Dwarf_Die mt;
			uint64_t msz = 0;
			if (dwarf_attr(&c, DW_AT_type, &a) && dwarf_formref_die(&a, &mt))
				msz = type_size(&mt);
			h = mix(h, n ? n : "", n ? strlen(n) + 1 : 1);
			h = mix(h, &off, sizeof(off));
			h = mix(h, &msz, sizeof(msz));
			h = mix(h, &bits, sizeof(bits));
			h = mix(h, &bitoff, sizeof(bitoff));
			char item[256];
			int k = snprintf(item, sizeof(item), "%s%s@%llu+%llu", len ? " " : "",
					 n ? n : "?", (unsigned long long)off, (unsigned long long)msz);
			if (k > 0 && len + (size_t)k + 1 < 4096) {
				if (len + (size_t)k + 1 > cap) {
					cap = (len + (size_t)k + 1) * 2;
					m = xb_realloc(m, cap, 1);
				}
				memcpy(m + len, item, (size_t)k + 1);
				len += (size_t)k;
			}
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	*sig = h;
	*members = m;
}

static void walk_types(Dwarf_Die *die, struct xb_types *t, int depth)
{
	Dwarf_Die c;
	if (depth > 8 || dwarf_child(die, &c) != 0)
		return;
	do {
		int tag = dwarf_tag(&c);
		const char *kind = tag == DW_TAG_structure_type ? "struct"
				   : tag == DW_TAG_union_type   ? "union"
				   : tag == DW_TAG_class_type   ? "class"
								: NULL;
		Dwarf_Attribute a;
		bool decl = dwarf_attr(&c, DW_AT_declaration, &a) != NULL;
		const char *n = dwarf_diename(&c);
		if (kind && !decl && n) {
			uint64_t size, sig;
			char *members;
			layout_of(&c, &size, &sig, &members);
			char *name = xb_asprintf("%s %s", kind, n);
			types_add(t, name, size, sig, members);
			free(name);
			free(members);
		} else if (tag == DW_TAG_typedef && n) {
			Dwarf_Die to;
			if (dwarf_attr(&c, DW_AT_type, &a) && dwarf_formref_die(&a, &to) &&
			    !dwarf_diename(&to) &&
			    (dwarf_tag(&to) == DW_TAG_structure_type || dwarf_tag(&to) == DW_TAG_union_type) &&
			    !dwarf_attr(&to, DW_AT_declaration, &a)) {
				uint64_t size, sig;
				char *members;
				layout_of(&to, &size, &sig, &members);
				types_add(t, n, size, sig, members);
				free(members);
			}
		}
		/* Types inside functions, namespaces and classes too. */
		if (tag == DW_TAG_subprogram || tag == DW_TAG_namespace || tag == DW_TAG_lexical_block ||
		    (kind && !decl))
			walk_types(&c, t, depth + 1);
	} while (dwarf_siblingof(&c, &c) == 0);
}

int xb_dwarf_read(const char *path, struct xb_types *types, struct xb_producers *prod)
{
	if (types)
		memset(types, 0, sizeof(*types));
	if (prod)
		memset(prod, 0, sizeof(*prod));
	Dwfl *dwfl = NULL;
	Dwarf *dw = open_dwarf(path, &dwfl);
	if (!dw) {
		if (dwfl)
			dwfl_end(dwfl);
		return -ENODATA;
	}
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu)) {
			if (types)
				walk_types(&cu, types, 0);
			Dwarf_Attribute a;
			const char *p = dwarf_attr(&cu, DW_AT_producer, &a) ? dwarf_formstring(&a) : NULL;
			const char *n = dwarf_diename(&cu);
			if (prod && p) {
				prod->v = xb_realloc(prod->v, prod->n + 1, sizeof(*prod->v));
				prod->v[prod->n].cu = xb_strdup(n ? n : "?");
				prod->v[prod->n].producer = xb_strdup(p);
				prod->n++;
			}
		}
		off = next;
	}
	dwfl_end(dwfl);
	return 0;
}

void xb_types_free(struct xb_types *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].members);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

void xb_producers_free(struct xb_producers *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].cu);
		free(p->v[i].producer);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* Is the type named "struct rec" (or "union rec", ...) in allow? Either the
 * whole name or the tag after its keyword matches. */
static bool type_allowed(const struct xb_type_allow *allow, const char *name)
{
	const char *sp = strchr(name, ' ');
	bool hit = false;
	for (size_t i = 0; allow && i < allow->n; i++)
		if (!strcmp(allow->names[i], name) || (sp && !strcmp(allow->names[i], sp + 1))) {
			allow->used[i] = true;
			hit = true;
		}
	return hit;
}

void xb_check_types(struct xb_pair *p, const struct xb_type_allow *allow, struct xb_result *r)
{
	if (p->is_new_obj)
		return;
	struct xb_types a, b;
	if (xb_dwarf_read(p->orig.disk_path ? p->orig.disk_path : p->orig.path, &a, NULL))
		return;
	if (xb_dwarf_read(p->patched.path, &b, NULL)) {
		xb_types_free(&a);
		return;
	}
	const char *file = p->patched.file;
	for (size_t i = 0; i < a.n; i++) {
		for (size_t k = 0; k < b.n; k++) {
			if (strcmp(a.v[i].name, b.v[k].name))
				continue;
			if (a.v[i].layout == b.v[k].layout)
				break;
			char *why;
			if (a.v[i].size != b.v[k].size)
				why = xb_asprintf("type changed size from %llu to %llu bytes: live data "
						  "allocated with the old size keeps it (members now: %s)",
						  (unsigned long long)a.v[i].size,
						  (unsigned long long)b.v[k].size, b.v[k].members);
			else
				why = xb_asprintf("type layout changed (members were: %s; now: %s): live "
						  "data keeps the old layout",
						  a.v[i].members, b.v[k].members);
			/* Hooks or shadow data in the patch prove nothing about the
			 * live objects (an unrelated hook would do): only the user
			 * can say this type's old objects never reach new code. */
			if (type_allowed(allow, a.v[i].name)) {
				char *n = xb_asprintf("%s; allowed by --allow-type-change", why);
				xb_list_add(&r->notes, a.v[i].name, file, n);
				free(n);
			} else {
				char *n = xb_asprintf("%s; keep the new members in shadow data "
						      "(docs/hooks-and-shadow.md), or, if no object of "
						      "the old layout can reach the patched code, "
						      "--allow-type-change '%s'", why, a.v[i].name);
				xb_list_add(&r->refused, a.v[i].name, file, n);
				free(n);
			}
			free(why);
			break;
		}
	}
	xb_types_free(&a);
	xb_types_free(&b);
}

int xb_comment_strings(const char *path, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstr;
	Elf_Scn *scn = NULL;
	if (e && !elf_getshdrstrndx(e, &shstr)) {
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh))
				continue;
			const char *name = elf_strptr(e, shstr, sh.sh_name);
			if (!name || strcmp(name, ".comment") || sh.sh_type == SHT_NOBITS)
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			for (size_t o = 0; d && o < d->d_size;) {
				const char *s = (const char *)d->d_buf + o;
				size_t l = strnlen(s, d->d_size - o);
				if (l) {
					bool dup = false;
					for (size_t i = 0; i < *n; i++)
						dup |= !strcmp((*out)[i], s);
					if (!dup && l < d->d_size - o + 1) {
						*out = xb_realloc(*out, *n + 1, sizeof(**out));
						char *c = xb_calloc(l + 1, 1);
						memcpy(c, s, l);
						(*out)[(*n)++] = c;
					}
				}
				o += l + 1;
			}
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return 0;
}
