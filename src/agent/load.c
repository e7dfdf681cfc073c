/* SPDX-License-Identifier: MIT */
/*
 * Payload loader: lay out the SHF_ALLOC sections of an ET_REL payload in one
 * mapping near the target object, resolve symbols, apply RELA relocations,
 * then protect: text r-x, read-only data (and the GOT, .livepatch.funcs) r--,
 * writable data rw-. The mapping is never writable and executable at once.
 * See docs/payload-format.md.
 * Threading: xs_load/xs_unload run on the control thread with the payload
 * table locked (UPLOAD, UNLOAD); the loader keeps no global state. The
 * mapping it returns is owned by the caller.
 */
#include "load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "codewrite.h"
#include "procfs.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096ull
#define MAX_ALIGN 4096ull
#define MAX_LOAD_SIZE (1ull << 30)          /* whole payload mapping */
#define NEAR_LIMIT ((1ull << 31) - PAGE)    /* keep rel32 reach with margin */
#define USER_LO 0x10000ull
#define USER_HI 0x7ffffffff000ull

enum group { G_NONE = -1, G_TEXT = 0, G_RO = 1, G_RW = 2, G_COUNT };
static const char *const group_names[G_COUNT] = { "text", "read-only", "writable" };

struct layout {
	const struct xs_elf *elf;
	const struct xs_load_params *params;
	unsigned funcs_idx;
	int *grp;           /* per section: group or G_NONE */
	uint64_t *off;      /* per section: offset inside the mapping */
	uint64_t gstart[G_COUNT], gsize[G_COUNT];
	uint64_t total;
	/* per symbol */
	uint64_t *sval;     /* resolved value (address, or tp offset for TLS) */
	uint8_t *sstate;    /* 0 unresolved, 1 resolved, 2 unusable (reason in sym_err) */
	uint8_t *stls;
	int32_t *got_idx;
	int32_t *stub_idx;
	unsigned ngot, nstubs;
	uint64_t got_off, stub_off;
	uint8_t *base;
	const struct xs_elf_sec *lpsyms;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static const char *sec_name(const struct xs_elf *elf, unsigned i)
{
	return i < elf->nsecs ? elf->secs[i].name : "?";
}

static const char *sym_label(const struct xs_elf *elf, unsigned i)
{
	const Elf64_Sym *s = &elf->syms[i];
	const char *n = xs_elf_sym_name(elf, s);
	if (ELF64_ST_TYPE(s->st_info) == STT_SECTION && s->st_shndx < elf->nsecs)
		return sec_name(elf, s->st_shndx);
	return n && n[0] ? n : "(unnamed)";
}

/* ---------- notes ---------- */

int xs_payload_notes(const struct xs_elf *elf, uint8_t *build_id, size_t *build_id_len,
		     uint8_t *depends, size_t *depends_len, struct xs_err *err)
{
	static const char *const names[2] = { LIVEPATCH_BUILD_ID_SECTION,
					      LIVEPATCH_DEPENDS_SECTION };
	uint8_t *outs[2] = { build_id, depends };
	size_t *lens[2] = { build_id_len, depends_len };
	if (!elf || !elf->secs)
		return xs_fail(err, -EINVAL, "payload not parsed");
	for (int k = 0; k < 2; k++) {
		const struct xs_elf_sec *s = xs_elf_section_by_name(elf, names[k]);
		if (!s)
			return xs_fail(err, -ENOEXEC, "payload has no %s section (mandatory)", names[k]);
		if (!s->data)
			return xs_fail(err, -EINVAL, "payload section %s has no contents", names[k]);
		uint8_t tmp[XS_BUILD_ID_MAX];
		size_t len = 0;
		int rc = xs_elf_note_build_id(s->data, s->size, outs[k] ? outs[k] : tmp,
					      XS_BUILD_ID_MAX, &len, err);
		if (rc)
			return xs_fail_prefix(err, rc == -ENOENT ? -EINVAL : rc, "payload section %s",
					      names[k]);
		if (lens[k])
			*lens[k] = len;
	}
	return 0;
}

/* ---------- .livepatch.symbols ---------- */

static int lpsyms_validate(const struct xs_elf_sec *s, struct xs_err *err)
{
	if (!s->data)
		return xs_fail(err, -EINVAL, LIVEPATCH_SYMBOLS_SECTION " has no contents");
	uint64_t off = 0, n = 0;
	while (off < s->size) {
		struct livepatch_symbol h;
		if (s->size - off < sizeof(h))
			return xs_fail(err, -EINVAL,
				       LIVEPATCH_SYMBOLS_SECTION ": record %llu at offset %llu truncated",
				       (unsigned long long)n, (unsigned long long)off);
		memcpy(&h, s->data + off, sizeof(h));
		uint64_t rec = align_up(sizeof(h) + (uint64_t)h.name_len, 8);
		if (h.name_len == 0 || rec > s->size - off)
			return xs_fail(err, -EINVAL,
				       LIVEPATCH_SYMBOLS_SECTION ": record %llu: bad name length %u",
				       (unsigned long long)n, h.name_len);
		if (h.flags)
			return xs_fail(err, -EINVAL,
				       LIVEPATCH_SYMBOLS_SECTION ": record %llu: unknown flags %#x",
				       (unsigned long long)n, h.flags);
		if (memchr(s->data + off + sizeof(h), 0, h.name_len))
			return xs_fail(err, -EINVAL,
				       LIVEPATCH_SYMBOLS_SECTION ": record %llu: NUL inside the name",
				       (unsigned long long)n);
		off += rec;
		n++;
	}
	return 0;
}

static int lpsyms_find(const struct xs_elf_sec *s, const char *name, uint64_t *addr)
{
	size_t len = strlen(name);
	uint64_t off = 0;
	while (s && off < s->size) {
		struct livepatch_symbol h;
		memcpy(&h, s->data + off, sizeof(h));
		if (h.name_len == len && memcmp(s->data + off + sizeof(h), name, len) == 0) {
			*addr = h.addr;
			return 0;
		}
		off += align_up(sizeof(h) + (uint64_t)h.name_len, 8);
	}
	return -ENOENT;
}

/* ---------- placement ---------- */

struct range {
	uint64_t lo, hi;
};

static int read_maps(struct range **out, size_t *n)
{
	int fd = xs_procfs_open("thread-self/maps", O_RDONLY);
	if (fd < 0)
		return fd;
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(buf);
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	size_t rcap = 64, rn = 0;
	struct range *r = malloc(rcap * sizeof(*r));
	if (!r) {
		free(buf);
		return -ENOMEM;
	}
	for (char *p = buf; p && *p;) {
		char *end;
		unsigned long long lo = strtoull(p, &end, 16);
		if (*end == '-') {
			unsigned long long hi = strtoull(end + 1, &end, 16);
			if (rn == rcap) {
				struct range *nr = realloc(r, rcap * 2 * sizeof(*r));
				if (!nr) {
					free(r);
					free(buf);
					return -ENOMEM;
				}
				r = nr;
				rcap *= 2;
			}
			r[rn].lo = lo;
			r[rn].hi = hi;
			rn++;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	free(buf);
	*out = r;
	*n = rn;
	return 0;
}

/* Best start address for `size` bytes within the window where every byte is
 * within NEAR_LIMIT of [olo, ohi); 0 if no gap. */
static uint64_t find_gap(const struct range *r, size_t n, uint64_t olo, uint64_t ohi,
			 uint64_t size)
{
	uint64_t wlo = ohi > NEAR_LIMIT + USER_LO ? ohi - NEAR_LIMIT : USER_LO;
	uint64_t whi = olo + NEAR_LIMIT < USER_HI ? olo + NEAR_LIMIT : USER_HI;
	uint64_t best = 0, best_dist = UINT64_MAX;
	uint64_t prev = USER_LO;
	for (size_t i = 0; i <= n; i++) {
		uint64_t gs = prev, ge = i < n ? r[i].lo : USER_HI;
		if (i < n && r[i].hi > prev)
			prev = r[i].hi;
		/* leave a guard page on both sides */
		gs += PAGE;
		if (ge < PAGE)
			continue;
		ge -= PAGE;
		uint64_t a = align_up(gs > wlo ? gs : wlo, PAGE);
		uint64_t b = (ge < whi ? ge : whi) & ~(PAGE - 1);
		if (a >= b || b - a < size)
			continue;
		uint64_t cand, dist;
		if (a >= ohi) {
			cand = a;
			dist = a - ohi;
		} else if (b <= olo) {
			cand = b - size;
			dist = olo - b;
		} else {
			continue; /* overlapping the object: cannot be a real gap */
		}
		if (dist < best_dist) {
			best = cand;
			best_dist = dist;
		}
	}
	return best;
}

/*
 * Far placement: more than 2 GB from the target object, where calls into
 * it go through the stubs (PLT32 -> absolute jump) and the trampolines are
 * absolute jumps (14 bytes; a shorter function gets a clear refusal). Used
 * when no gap within +-2 GB exists, and always under the test switch
 * XSPLICE_TEST_FAR=1 (docs/payload-format.md, "Placement").
 */
static int map_far(uint64_t olo, uint64_t ohi, uint64_t size, void **out, struct xs_err *err)
{
	for (uint64_t d = 8ull << 30; d <= 256ull << 30; d <<= 1) {
		uint64_t cand[2] = { ohi + d, olo > d + size + USER_LO ? olo - d - size : 0 };
		for (int k = 0; k < 2; k++) {
			uint64_t at = cand[k] & ~(PAGE - 1);
			if (!at || at + size > USER_HI)
				continue;
			void *m = mmap((void *)at, size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (m == MAP_FAILED)
				continue;
			if ((uint64_t)m != at) { /* kernel without MAP_FIXED_NOREPLACE */
				munmap(m, size);
				continue;
			}
			*out = m;
			return 0;
		}
	}
	return xs_fail(err, -ENOMEM, "cannot map %llu bytes for the payload, near or far from "
		       "the target (%#llx-%#llx)", (unsigned long long)size,
		       (unsigned long long)olo, (unsigned long long)ohi);
}

static bool test_far(void)
{
	/* A test switch, read at each upload (control thread). */
	const char *v = getenv("XSPLICE_TEST_FAR");
	return v && v[0] == '1';
}

static int map_near(const struct xs_object *t, uint64_t size, void **out, struct xs_err *err)
{
	if (!t || (!t->text_hi && !t->hi)) {
		void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return xs_fail(err, -errno, "cannot map %llu bytes for the payload",
				       (unsigned long long)size);
		*out = m;
		return 0;
	}
	uint64_t olo = t->lo, ohi = t->hi;
	if (!ohi || ohi - olo > (1ull << 30)) {
		olo = t->text_lo;
		ohi = t->text_hi;
	}
	if (test_far())
		return map_far(olo, ohi, size, out, err);
	for (int attempt = 0; attempt < 8; attempt++) {
		struct range *r = NULL;
		size_t n = 0;
		int rc = read_maps(&r, &n);
		if (rc)
			return xs_fail(err, rc, "cannot read /proc/thread-self/maps");
		uint64_t at = find_gap(r, n, olo, ohi, size);
		free(r);
		if (!at) /* nothing near: far, with stubs and absolute jumps */
			return map_far(olo, ohi, size, out, err);
		void *m = mmap((void *)at, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (m == MAP_FAILED) {
			if (errno == EEXIST)
				continue; /* raced with another mapping; look again */
			return xs_fail(err, -errno, "cannot map %llu bytes at %#llx",
				       (unsigned long long)size, (unsigned long long)at);
		}
		if ((uint64_t)m != at) { /* kernel without MAP_FIXED_NOREPLACE */
			munmap(m, size);
			continue;
		}
		*out = m;
		return 0;
	}
	return xs_fail(err, -EAGAIN, "could not place the payload near %s (address space busy)",
		       t->path);
}

/* ---------- loading ---------- */

static void layout_free(struct layout *L)
{
	free(L->grp);
	free(L->off);
	free(L->sval);
	free(L->sstate);
	free(L->stls);
	free(L->got_idx);
	free(L->stub_idx);
}

static int is_loaded(const struct layout *L, unsigned i)
{
	return i < L->elf->nsecs && L->grp[i] != G_NONE;
}

static int plan_sections(struct layout *L, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	for (unsigned i = 1; i < elf->nsecs; i++) {
		const Elf64_Shdr *sh = elf->secs[i].sh;
		L->grp[i] = G_NONE;
		if (!(sh->sh_flags & SHF_ALLOC) && i != L->funcs_idx)
			continue;
		if (sh->sh_flags & SHF_TLS)
			return xs_fail(err, -ENOTSUP,
				       "section %u (%s): payloads cannot define thread-local storage", i,
				       elf->secs[i].name);
		if (sh->sh_type == SHT_GROUP || sh->sh_type == SHT_SYMTAB || sh->sh_type == SHT_RELA ||
		    sh->sh_type == SHT_REL)
			return xs_fail(err, -EINVAL, "section %u (%s): type %u cannot be SHF_ALLOC", i,
				       elf->secs[i].name, sh->sh_type);
		uint64_t a = sh->sh_addralign ? sh->sh_addralign : 1;
		if (a & (a - 1))
			return xs_fail(err, -EINVAL, "section %u (%s): alignment %llu not a power of two",
				       i, elf->secs[i].name, (unsigned long long)a);
		if (a > MAX_ALIGN)
			return xs_fail(err, -EINVAL, "section %u (%s): alignment %llu above %llu", i,
				       elf->secs[i].name, (unsigned long long)a, MAX_ALIGN);
		if (sh->sh_size > MAX_LOAD_SIZE)
			return xs_fail(err, -EFBIG, "section %u (%s): size %llu too large", i,
				       elf->secs[i].name, (unsigned long long)sh->sh_size);
		int g;
		if (i == L->funcs_idx)
			g = G_RO;
		else if (sh->sh_flags & SHF_EXECINSTR)
			g = G_TEXT;
		else if (sh->sh_flags & SHF_WRITE)
			g = G_RW;
		else
			g = G_RO;
		L->grp[i] = g;
	}
	return 0;
}

static int sym_is_far(const struct xs_elf *elf, unsigned i)
{
	uint16_t x = elf->syms[i].st_shndx;
	return x == SHN_UNDEF || x == SHN_ABS;
}

static int plan_got_stubs(struct layout *L, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	for (unsigned i = 0; i < elf->nsyms; i++)
		L->got_idx[i] = L->stub_idx[i] = -1;
	for (unsigned r = 1; r < elf->nsecs; r++) {
		const struct xs_elf_sec *rs = &elf->secs[r];
		if ((rs->sh->sh_type == SHT_RELA || rs->sh->sh_type == SHT_REL) &&
		    (rs->sh->sh_info == 0 || rs->sh->sh_info >= elf->nsecs))
			return xs_fail(err, -EINVAL,
				       "section %u (%s): sh_info %u is not a section to relocate", r,
				       rs->name, rs->sh->sh_info);
		if (rs->sh->sh_type == SHT_REL && is_loaded(L, rs->sh->sh_info))
			return xs_fail(err, -ENOTSUP,
				       "section %u (%s): SHT_REL relocations are not supported (x86-64 uses RELA)",
				       r, rs->name);
		if (rs->sh->sh_type != SHT_RELA || !is_loaded(L, rs->sh->sh_info))
			continue;
		if (rs->sh->sh_link != elf->symtab_idx)
			return xs_fail(err, -EINVAL,
				       "section %u (%s): sh_link %u is not the symbol table (%u)", r,
				       rs->name, rs->sh->sh_link, elf->symtab_idx);
		if (rs->sh->sh_entsize != sizeof(Elf64_Rela))
			return xs_fail(err, -EINVAL, "section %u (%s): entsize %llu, expected %zu", r,
				       rs->name, (unsigned long long)rs->sh->sh_entsize,
				       sizeof(Elf64_Rela));
		if (rs->size % sizeof(Elf64_Rela) || !rs->data)
			return xs_fail(err, -EINVAL,
				       "section %u (%s): size %llu not a multiple of %zu", r, rs->name,
				       (unsigned long long)rs->size, sizeof(Elf64_Rela));
		uint64_t n = rs->size / sizeof(Elf64_Rela);
		for (uint64_t k = 0; k < n; k++) {
			Elf64_Rela rel;
			memcpy(&rel, rs->data + k * sizeof(rel), sizeof(rel));
			uint64_t si = ELF64_R_SYM(rel.r_info);
			uint32_t type = ELF64_R_TYPE(rel.r_info);
			if (si >= elf->nsyms)
				return xs_fail(err, -EINVAL,
					       "section %u (%s): relocation %llu: symbol index %llu out of range (%u symbols)",
					       r, rs->name, (unsigned long long)k,
					       (unsigned long long)si, elf->nsyms);
			if (xs_arch_rela_needs_got(type) && L->got_idx[si] < 0)
				L->got_idx[si] = (int32_t)L->ngot++;
			if (type == R_X86_64_PLT32 && si && sym_is_far(elf, (unsigned)si) &&
			    L->stub_idx[si] < 0)
				L->stub_idx[si] = (int32_t)L->nstubs++;
		}
	}
	return 0;
}

static int plan_layout(struct layout *L, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	uint64_t cur[G_COUNT] = { 0, 0, 0 };
	for (unsigned i = 1; i < elf->nsecs; i++) {
		int g = L->grp[i];
		if (g == G_NONE)
			continue;
		uint64_t a = elf->secs[i].sh->sh_addralign ? elf->secs[i].sh->sh_addralign : 1;
		/* The agent reads .livepatch.funcs as an array of structs:
		 * whatever the file says, it must be aligned for them. */
		if (a < _Alignof(struct livepatch_func) &&
		    strcmp(elf->secs[i].name, LIVEPATCH_FUNCS_SECTION) == 0)
			a = _Alignof(struct livepatch_func);
		cur[g] = align_up(cur[g], a);
		L->off[i] = cur[g]; /* relative to group start for now */
		cur[g] += elf->secs[i].sh->sh_size;
		/* libgcc's __register_frame walks .eh_frame up to a zero
		 * length word, which only the final link adds (crtend.o):
		 * leave 8 zero bytes after it (ehframe.c). */
		if (strcmp(elf->secs[i].name, ".eh_frame") == 0)
			cur[g] += 8;
		if (cur[g] > MAX_LOAD_SIZE)
			return xs_fail(err, -EFBIG, "payload %s sections exceed %llu bytes",
				       group_names[g], MAX_LOAD_SIZE);
	}
	cur[G_TEXT] = align_up(cur[G_TEXT], 16);
	L->stub_off = cur[G_TEXT];
	cur[G_TEXT] += (uint64_t)L->nstubs * XS_ARCH_PLT_STUB_SIZE;
	cur[G_RO] = align_up(cur[G_RO], 8);
	L->got_off = cur[G_RO];
	cur[G_RO] += (uint64_t)L->ngot * 8;
	uint64_t pos = 0;
	for (int g = 0; g < G_COUNT; g++) {
		L->gstart[g] = pos;
		L->gsize[g] = align_up(cur[g], PAGE);
		pos += L->gsize[g];
	}
	if (pos > MAX_LOAD_SIZE || pos == 0)
		return xs_fail(err, -EFBIG, "payload needs %llu bytes, limit %llu",
			       (unsigned long long)pos, MAX_LOAD_SIZE);
	for (unsigned i = 1; i < elf->nsecs; i++)
		if (L->grp[i] != G_NONE)
			L->off[i] += L->gstart[L->grp[i]];
	L->stub_off += L->gstart[G_TEXT];
	L->got_off += L->gstart[G_RO];
	L->total = pos;
	return 0;
}

static int resolve_tls(struct layout *L, const char *name, uint64_t *out, struct xs_err *err)
{
	struct xs_object *t = L->params ? L->params->target : NULL;
	if (!t)
		return xs_fail(err, -ENOTSUP, "thread-local symbol '%s': no target object", name);
	if (!t->is_main)
		return xs_fail(err, -ENOTSUP,
			       "thread-local symbol '%s': only the main executable's TLS can be "
			       "reached, %s is a shared library",
			       name, t->path);
	if (!t->tls_memsz && !t->tls_align)
		return xs_fail(err, -ENOENT, "thread-local symbol '%s': %s has no TLS segment", name,
			       t->path);
	uint64_t off;
	if (lpsyms_find(L->lpsyms, name, &off) != 0) {
		int rc = xs_object_lookup_tls(t, name, &off, err);
		if (rc)
			return rc;
	}
	uint64_t al = t->tls_align ? t->tls_align : 1;
	if (al & (al - 1))
		return xs_fail(err, -EINVAL, "%s: TLS alignment %llu not a power of two", t->path,
			       (unsigned long long)al);
	if (off > t->tls_memsz)
		return xs_fail(err, -ERANGE,
			       "thread-local symbol '%s': offset %#llx beyond the TLS segment (%llu bytes)",
			       name, (unsigned long long)off, (unsigned long long)t->tls_memsz);
	/* x86-64 TLS variant II: the executable's block ends at the thread pointer */
	*out = off - align_up(t->tls_memsz, al);
	return 0;
}

static int resolve_symbol(struct layout *L, unsigned i, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	const Elf64_Sym *s = &elf->syms[i];
	unsigned type = ELF64_ST_TYPE(s->st_info);
	if (L->sstate[i] == 1)
		return 0;
	if (i == 0) {
		L->sval[i] = 0;
		L->sstate[i] = 1;
		return 0;
	}
	const char *name = xs_elf_sym_name(elf, s);
	if (!name)
		return xs_fail(err, -EINVAL, "symbol %u: name offset out of range", i);
	if (s->st_shndx == SHN_UNDEF) {
		if (!name[0])
			return xs_fail(err, -EINVAL, "symbol %u: undefined and unnamed", i);
		if (type == STT_TLS) {
			int rc = resolve_tls(L, name, &L->sval[i], err);
			if (rc)
				return rc;
			L->stls[i] = 1;
			L->sstate[i] = 1;
			return 0;
		}
		uint64_t a;
		if (lpsyms_find(L->lpsyms, name, &a) == 0) {
			struct xs_object *t = L->params ? L->params->target : NULL;
			L->sval[i] = a + (t ? t->bias : 0);
			L->sstate[i] = 1;
			return 0;
		}
		uintptr_t addr = 0;
		int rc;
		if (L->params && L->params->resolve) {
			struct xs_err e = { { 0 } };
			rc = L->params->resolve(L->params->resolve_ctx, name, &addr, &e);
			if (rc > 0)
				rc = -EINVAL;
			if (rc && ELF64_ST_BIND(s->st_info) == STB_WEAK && rc == -ENOENT) {
				rc = 0;
				addr = 0; /* unresolved weak: zero, as a linker would */
			}
			if (rc) {
				if (e.msg[0])
					return xs_fail(err, rc, "undefined symbol '%s': %s", name, e.msg);
				return xs_fail(err, rc, "undefined symbol '%s' cannot be resolved", name);
			}
		} else if (ELF64_ST_BIND(s->st_info) == STB_WEAK) {
			addr = 0;
		} else {
			return xs_fail(err, -ENOENT, "undefined symbol '%s': no resolver", name);
		}
		L->sval[i] = addr;
		L->sstate[i] = 1;
		return 0;
	}
	if (s->st_shndx == SHN_ABS) {
		L->sval[i] = s->st_value;
		L->sstate[i] = 1;
		return 0;
	}
	if (s->st_shndx == SHN_COMMON)
		return xs_fail(err, -ENOTSUP,
			       "symbol '%s' is a common symbol; compile the payload with -fno-common",
			       name);
	if (s->st_shndx >= SHN_LORESERVE)
		return xs_fail(err, -ENOTSUP, "symbol '%s': special section index %#x not supported",
			       name, s->st_shndx);
	if (type == STT_TLS)
		return xs_fail(err, -ENOTSUP, "symbol '%s': payloads cannot define thread-local data",
			       name);
	if (!is_loaded(L, s->st_shndx))
		return xs_fail(err, -EINVAL, "symbol '%s' is in section %u (%s), which is not loaded",
			       sym_label(elf, i), s->st_shndx, sec_name(elf, s->st_shndx));
	if (s->st_value > elf->secs[s->st_shndx].size)
		return xs_fail(err, -EINVAL, "symbol '%s': value %#llx beyond its section %s (%llu bytes)",
			       sym_label(elf, i), (unsigned long long)s->st_value,
			       sec_name(elf, s->st_shndx),
			       (unsigned long long)elf->secs[s->st_shndx].size);
	L->sval[i] = (uint64_t)(uintptr_t)L->base + L->off[s->st_shndx] + s->st_value;
	L->sstate[i] = 1;
	return 0;
}

static int fill_got_stubs(struct layout *L, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	for (unsigned i = 0; i < elf->nsyms; i++) {
		if (L->got_idx[i] < 0 && L->stub_idx[i] < 0)
			continue;
		int rc = resolve_symbol(L, i, err);
		if (rc)
			return rc;
		if (L->got_idx[i] >= 0)
			memcpy(L->base + L->got_off + (uint64_t)L->got_idx[i] * 8, &L->sval[i], 8);
		if (L->stub_idx[i] >= 0) {
			if (L->stls[i])
				return xs_fail(err, -EINVAL, "thread-local symbol '%s' called through PLT32",
					       sym_label(elf, i));
			xs_arch_plt_stub(L->base + L->stub_off +
						 (uint64_t)L->stub_idx[i] * XS_ARCH_PLT_STUB_SIZE,
					 L->sval[i]);
		}
	}
	return 0;
}

static int apply_relocations(struct layout *L, bool *old_relocated, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	for (unsigned r = 1; r < elf->nsecs; r++) {
		const struct xs_elf_sec *rs = &elf->secs[r];
		if (rs->sh->sh_type != SHT_RELA || !is_loaded(L, rs->sh->sh_info))
			continue;
		unsigned ti = rs->sh->sh_info;
		const struct xs_elf_sec *ts = &elf->secs[ti];
		if (!ts->data && ts->size)
			return xs_fail(err, -EINVAL,
				       "section %u (%s): relocations against %s, which has no contents",
				       r, rs->name, ts->name);
		uint64_t n = rs->size / sizeof(Elf64_Rela);
		for (uint64_t k = 0; k < n; k++) {
			Elf64_Rela rel;
			memcpy(&rel, rs->data + k * sizeof(rel), sizeof(rel));
			unsigned si = (unsigned)ELF64_R_SYM(rel.r_info);
			uint32_t type = ELF64_R_TYPE(rel.r_info);
			if (rel.r_offset >= ts->size)
				return xs_fail(err, -EINVAL,
					       "section %u (%s): relocation %llu: offset %#llx beyond %s (%llu bytes)",
					       r, rs->name, (unsigned long long)k,
					       (unsigned long long)rel.r_offset, ts->name,
					       (unsigned long long)ts->size);
			int rc = resolve_symbol(L, si, err);
			if (rc)
				return xs_fail_prefix(err, rc, "%s relocation %llu", rs->name,
						      (unsigned long long)k);
			int tls_type = xs_arch_rela_is_tls(type);
			if (tls_type != L->stls[si])
				return xs_fail(err, -EINVAL, "%s relocation %llu: %s (%u) against %s symbol '%s'",
					       rs->name, (unsigned long long)k,
					       xs_arch_rela_name(type), type,
					       L->stls[si] ? "thread-local" : "non-thread-local",
					       sym_label(elf, si));
			uint64_t S = L->sval[si];
			uint64_t place = (uint64_t)(uintptr_t)L->base + L->off[ti] + rel.r_offset;
			uintptr_t got = 0;
			if (xs_arch_rela_needs_got(type) && L->got_idx[si] >= 0)
				got = (uintptr_t)L->base + L->got_off + (uint64_t)L->got_idx[si] * 8;
			if (type == R_X86_64_PLT32 && L->stub_idx[si] >= 0) {
				int64_t d = (int64_t)(S + (uint64_t)rel.r_addend - place);
				if (d < INT32_MIN || d > INT32_MAX)
					S = (uint64_t)(uintptr_t)L->base + L->stub_off +
					    (uint64_t)L->stub_idx[si] * XS_ARCH_PLT_STUB_SIZE;
			}
			uint8_t *where = L->base + L->off[ti] + rel.r_offset;
			struct xs_err e = { { 0 } };
			rc = xs_arch_apply_rela(type, where, ts->size - rel.r_offset, place, S,
						rel.r_addend, got, &e);
			if (rc)
				return xs_fail(err, rc, "%s relocation %llu at %s+%#llx against '%s': %s",
					       rs->name, (unsigned long long)k, ts->name,
					       (unsigned long long)rel.r_offset, sym_label(elf, si),
					       e.msg);
			if (ti == L->funcs_idx && rel.r_offset % sizeof(struct livepatch_func) ==
							  offsetof(struct livepatch_func, old_addr))
				old_relocated[rel.r_offset / sizeof(struct livepatch_func)] = true;
		}
	}
	return 0;
}

/*
 * MemoryDenyWriteExecute (systemd's seccomp filter, or a kernel that refuses
 * making anonymous memory executable): mprotect(PROT_EXEC) fails with EPERM
 * or EACCES. Then copy the prepared text aside, map fresh PROT_READ|PROT_EXEC
 * pages over it (MAP_FIXED: allowed, as it is never writable) and fill them
 * through /proc/self/mem, which writes read-only mappings like a debugger.
 * Never writable and executable at once. See docs/decisions.md.
 */
static int text_via_proc_mem(struct layout *L, struct xs_err *err)
{
	uint8_t *at = L->base + L->gstart[G_TEXT];
	size_t len = L->gsize[G_TEXT];
	uint8_t *copy = malloc(len);
	if (!copy)
		return xs_fail(err, -ENOMEM, "out of memory for the payload's text");
	memcpy(copy, at, len);
	int rc = 0;
	void *m = mmap(at, len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		       0);
	if (m == MAP_FAILED) {
		rc = xs_fail(err, -errno, "mprotect(PROT_EXEC) of the payload's text is refused "
			     "(MemoryDenyWriteExecute?) and mapping it read+execute failed too");
		goto out;
	}
	struct xs_err e = { { 0 } };
	int fd = xs_code_open(&e);
	if (fd < 0) {
		rc = xs_fail(err, fd, "mprotect(PROT_EXEC) of the payload's text is refused "
			     "(MemoryDenyWriteExecute?), and the fallback through /proc/self/mem "
			     "failed: %s", e.msg);
		goto out;
	}
	rc = xs_code_write(fd, (uintptr_t)at, copy, len);
	xs_code_close(fd);
	if (rc)
		xs_fail(err, rc, "mprotect(PROT_EXEC) of the payload's text is refused "
			"(MemoryDenyWriteExecute?), and writing it through /proc/self/mem failed "
			"(%s)", strerror(-rc));
out:
	free(copy);
	return rc;
}

static int protect(struct layout *L, struct xs_err *err)
{
	static const int prot[G_COUNT] = { PROT_READ | PROT_EXEC, PROT_READ,
					   PROT_READ | PROT_WRITE };
	for (int g = 0; g < G_COUNT; g++) {
		if (!L->gsize[g])
			continue;
		if (mprotect(L->base + L->gstart[g], L->gsize[g], prot[g]) == 0)
			continue;
		int e = errno;
		if (g == G_TEXT && (e == EPERM || e == EACCES)) {
			/* The text stays rw- (never executable) until replaced. */
			int rc = text_via_proc_mem(L, err);
			if (rc)
				return rc;
			continue;
		}
		return xs_fail(err, -e, "mprotect of the payload's %s pages failed",
			       group_names[g]);
	}
	return 0;
}

static int record_exec(struct layout *L, struct xs_loaded *out, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	unsigned n = 0;
	for (unsigned i = 1; i < elf->nsecs; i++)
		if (L->grp[i] == G_TEXT)
			n++;
	out->exec = calloc(n ? n : 1, sizeof(*out->exec));
	if (!out->exec)
		return xs_fail(err, -ENOMEM, "out of memory for payload sections");
	for (unsigned i = 1; i < elf->nsecs; i++)
		if (L->grp[i] == G_TEXT) {
			uintptr_t lo = (uintptr_t)L->base + L->off[i];
			out->exec[out->nexec++] = (struct xs_loaded_range){ lo,
									    lo + elf->secs[i].size };
		}
	return 0;
}

/* The name of a global payload symbol it defines in a loaded section (or
 * absolute), which stacked payloads may bind to; NULL for any other. */
static const char *exported_name(const struct layout *L, const Elf64_Sym *s)
{
	unsigned b = ELF64_ST_BIND(s->st_info);
	const char *name = xs_elf_sym_name(L->elf, s);
	if ((b != STB_GLOBAL && b != STB_WEAK) || !name || !name[0])
		return NULL;
	if (s->st_shndx == SHN_UNDEF || s->st_shndx == SHN_COMMON ||
	    (s->st_shndx != SHN_ABS && !is_loaded(L, s->st_shndx)))
		return NULL;
	return name;
}

static int export_symbols(struct layout *L, struct xs_loaded *out, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	size_t n = 0, bytes = 0;
	for (unsigned i = 1; i < elf->nsyms; i++) {
		const Elf64_Sym *s = &elf->syms[i];
		const char *name = exported_name(L, s);
		if (!name)
			continue;
		n++;
		bytes += strlen(name) + 1;
	}
	out->symbols = calloc(n ? n : 1, sizeof(*out->symbols));
	out->strings = malloc(bytes ? bytes : 1);
	if (!out->symbols || !out->strings)
		return xs_fail(err, -ENOMEM, "out of memory for payload symbols");
	char *p = out->strings;
	for (unsigned i = 1; i < elf->nsyms; i++) {
		const Elf64_Sym *s = &elf->syms[i];
		const char *name = exported_name(L, s);
		if (!name)
			continue;
		int rc = resolve_symbol(L, i, err);
		if (rc)
			return rc;
		size_t len = strlen(name) + 1;
		memcpy(p, name, len);
		struct xs_payload_symbol *ps = &out->symbols[out->nsymbols++];
		ps->name = p;
		ps->addr = (uintptr_t)L->sval[i];
		ps->size = s->st_size;
		p += len;
	}
	return 0;
}

static int record_sections(struct layout *L, struct xs_loaded *out, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	size_t n = 0, bytes = 0;
	for (unsigned i = 1; i < elf->nsecs; i++)
		if (L->grp[i] != G_NONE) {
			n++;
			bytes += strlen(elf->secs[i].name) + 1;
		}
	out->secs = calloc(n ? n : 1, sizeof(*out->secs));
	out->secnames = malloc(bytes ? bytes : 1);
	if (!out->secs || !out->secnames)
		return xs_fail(err, -ENOMEM, "out of memory for payload sections");
	char *p = out->secnames;
	for (unsigned i = 1; i < elf->nsecs; i++) {
		if (L->grp[i] == G_NONE)
			continue;
		size_t len = strlen(elf->secs[i].name) + 1;
		memcpy(p, elf->secs[i].name, len);
		out->secs[out->nsecs++] = (struct xs_loaded_sec){
			p, (uintptr_t)L->base + L->off[i], elf->secs[i].size };
		p += len;
	}
	return 0;
}

static int cmp_fsym(const void *a, const void *b)
{
	const struct xs_payload_symbol *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Function symbols in loaded executable sections, locals included. */
static int record_functions(struct layout *L, struct xs_loaded *out, struct xs_err *err)
{
	const struct xs_elf *elf = L->elf;
	size_t n = 0, bytes = 0;
	for (int pass = 0; pass < 2; pass++) {
		char *p = out->fstrings;
		for (unsigned i = 1; i < elf->nsyms; i++) {
			const Elf64_Sym *s = &elf->syms[i];
			const char *name = xs_elf_sym_name(elf, s);
			if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || !name || !name[0] ||
			    s->st_shndx == SHN_UNDEF || s->st_shndx >= elf->nsecs ||
			    L->grp[s->st_shndx] != G_TEXT || s->st_value > elf->secs[s->st_shndx].size)
				continue;
			size_t len = strlen(name) + 1;
			if (pass == 0) {
				n++;
				bytes += len;
				continue;
			}
			memcpy(p, name, len);
			out->fsyms[out->nfsyms++] = (struct xs_payload_symbol){
				p, (uintptr_t)L->base + L->off[s->st_shndx] + s->st_value, s->st_size };
			p += len;
		}
		if (pass == 0) {
			out->fsyms = calloc(n ? n : 1, sizeof(*out->fsyms));
			out->fstrings = malloc(bytes ? bytes : 1);
			if (!out->fsyms || !out->fstrings)
				return xs_fail(err, -ENOMEM, "out of memory for payload functions");
		}
	}
	qsort(out->fsyms, out->nfsyms, sizeof(*out->fsyms), cmp_fsym);
	return 0;
}

int xs_load(const struct xs_elf *elf, const struct xs_load_params *params, struct xs_loaded *out,
	    struct xs_err *err)
{
	if (!out)
		return xs_fail(err, -EINVAL, "no output");
	memset(out, 0, sizeof(*out));
	if (!elf || !elf->secs || !elf->ehdr)
		return xs_fail(err, -EINVAL, "payload not parsed");
	if (elf->ehdr->e_type != ET_REL)
		return xs_fail(err, -ENOEXEC, "payload is not ET_REL");
	if (!elf->symtab_idx || !elf->syms || elf->secs[elf->symtab_idx].sh->sh_type != SHT_SYMTAB)
		return xs_fail(err, -ENOEXEC, "payload has no symbol table");

	int rc = xs_payload_notes(elf, out->build_id, &out->build_id_len, out->depends,
				  &out->depends_len, err);
	if (rc)
		return rc;

	const struct xs_elf_sec *fs = xs_elf_section_by_name(elf, LIVEPATCH_FUNCS_SECTION);
	if (!fs)
		return xs_fail(err, -ENOEXEC, "payload has no " LIVEPATCH_FUNCS_SECTION " section");
	if (!fs->data || fs->size == 0)
		return xs_fail(err, -EINVAL, LIVEPATCH_FUNCS_SECTION " is empty");
	if (fs->size % sizeof(struct livepatch_func))
		return xs_fail(err, -EINVAL, LIVEPATCH_FUNCS_SECTION " size %llu is not a multiple of %zu",
			       (unsigned long long)fs->size, sizeof(struct livepatch_func));
	if (fs->size / sizeof(struct livepatch_func) > 65536)
		return xs_fail(err, -E2BIG, LIVEPATCH_FUNCS_SECTION " has too many entries");

	struct layout L = { .elf = elf, .params = params };
	L.funcs_idx = (unsigned)(fs - elf->secs);
	L.lpsyms = xs_elf_section_by_name(elf, LIVEPATCH_SYMBOLS_SECTION);
	if (L.lpsyms) {
		rc = lpsyms_validate(L.lpsyms, err);
		if (rc)
			return rc;
	}
	unsigned ns = elf->nsyms ? elf->nsyms : 1;
	L.grp = calloc(elf->nsecs, sizeof(*L.grp));
	L.off = calloc(elf->nsecs, sizeof(*L.off));
	L.sval = calloc(ns, sizeof(*L.sval));
	L.sstate = calloc(ns, 1);
	L.stls = calloc(ns, 1);
	L.got_idx = calloc(ns, sizeof(*L.got_idx));
	L.stub_idx = calloc(ns, sizeof(*L.stub_idx));
	out->nfuncs = (unsigned)(fs->size / sizeof(struct livepatch_func));
	out->old_addr_relocated = calloc(out->nfuncs, sizeof(bool));
	if (!L.grp || !L.off || !L.sval || !L.sstate || !L.stls || !L.got_idx || !L.stub_idx ||
	    !out->old_addr_relocated) {
		rc = xs_fail(err, -ENOMEM, "out of memory loading payload");
		goto fail;
	}
	L.grp[0] = G_NONE;

	if ((rc = plan_sections(&L, err)) || (rc = plan_got_stubs(&L, err)) ||
	    (rc = plan_layout(&L, err)))
		goto fail;

	void *base = NULL;
	rc = map_near(params ? params->target : NULL, L.total, &base, err);
	if (rc)
		goto fail;
	L.base = base;
	out->base = base;
	out->size = L.total;

	for (unsigned i = 1; i < elf->nsecs; i++)
		if (L.grp[i] != G_NONE && elf->secs[i].data)
			memcpy(L.base + L.off[i], elf->secs[i].data, elf->secs[i].size);

	if ((rc = fill_got_stubs(&L, err)) || (rc = apply_relocations(&L, out->old_addr_relocated, err)) ||
	    (rc = export_symbols(&L, out, err)) || (rc = record_exec(&L, out, err)) ||
	    (rc = record_sections(&L, out, err)) || (rc = record_functions(&L, out, err)) ||
	    (rc = protect(&L, err)))
		goto fail;
	xs_arch_serialize();

	out->funcs = (const struct livepatch_func *)(L.base + L.off[L.funcs_idx]);
	layout_free(&L);
	return 0;

fail:
	layout_free(&L);
	xs_unload(out);
	return rc;
}

void xs_unload(struct xs_loaded *ld)
{
	if (!ld)
		return;
	if (ld->base)
		munmap(ld->base, ld->size);
	free(ld->old_addr_relocated);
	free(ld->exec);
	free(ld->symbols);
	free(ld->strings);
	free(ld->secs);
	free(ld->secnames);
	free(ld->fsyms);
	free(ld->fstrings);
	memset(ld, 0, sizeof(*ld));
}

bool xs_loaded_contains(const struct xs_loaded *ld, uintptr_t addr, size_t len)
{
	if (!ld || !ld->base)
		return false;
	uintptr_t b = (uintptr_t)ld->base;
	return addr >= b && len <= ld->size && addr - b <= ld->size - len;
}

bool xs_loaded_in_exec(const struct xs_loaded *ld, uintptr_t addr, size_t len)
{
	if (!ld || !ld->exec)
		return false;
	for (unsigned i = 0; i < ld->nexec; i++) {
		const struct xs_loaded_range *r = &ld->exec[i];
		if (addr >= r->lo && addr < r->hi && len <= r->hi - addr)
			return true;
	}
	return false;
}

int xs_loaded_lookup(const struct xs_loaded *ld, const char *name, uintptr_t *addr)
{
	if (!ld || !name)
		return -ENOENT;
	for (unsigned i = 0; i < ld->nsymbols; i++) {
		if (strcmp(ld->symbols[i].name, name) == 0) {
			if (addr)
				*addr = ld->symbols[i].addr;
			return 0;
		}
	}
	return -ENOENT;
}

const struct xs_loaded_sec *xs_loaded_section(const struct xs_loaded *ld, const char *name)
{
	for (unsigned i = 0; ld && i < ld->nsecs; i++)
		if (strcmp(ld->secs[i].name, name) == 0)
			return &ld->secs[i];
	return NULL;
}

const struct xs_payload_symbol *xs_loaded_function_at(const struct xs_loaded *ld, uintptr_t addr)
{
	const struct xs_payload_symbol *best = NULL;
	for (unsigned i = 0; ld && i < ld->nfsyms && ld->fsyms[i].addr <= addr; i++)
		best = &ld->fsyms[i];
	if (!best)
		return NULL;
	/* size 0 (hand-written asm): up to the next symbol */
	if (best->size && addr - best->addr >= best->size)
		return NULL;
	return best;
}
