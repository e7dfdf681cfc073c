/* SPDX-License-Identifier: MIT */
/*
 * Unwinding through payload code with libgcc's unwinder (backtrace(), C++
 * exceptions): the payload's .eh_frame (loaded, relocated, and followed by
 * the zero terminator the loader leaves, load.c) is handed to
 * __register_frame and taken back with __deregister_frame before unload.
 * libgcc_s is what glibc's backtrace() and libstdc++ use; it is found in
 * the process or loaded (glibc loads it itself for backtrace()).
 *
 * The agent's own stack check unwinds with libunwind, which knows nothing
 * of libgcc's list: the same FDEs are also given to libunwind as a dynamic
 * unwind table (_U_dyn_register, UNW_INFO_FORMAT_REMOTE_TABLE: what
 * .eh_frame_hdr holds, sorted (start, FDE) offsets from the payload's base), so a thread
 * whose stack runs through payload code is walked to its end.
 *
 * Threading: control thread, table locked; libgcc locks its own list;
 * libunwind's readers (the park handler) walk its list lock-free, which
 * tolerates an insertion; a removal (UNLOAD) never overlaps a stop (an
 * action is not busy then).
 */
#define UNW_LOCAL_ONLY
#include "visibility.h"

#include <dlfcn.h>
#include <libunwind.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

struct eh_reg {
	void *begin;              /* registered with libgcc, NULL if not */
	unw_dyn_info_t di;        /* registered with libunwind if table */
	int32_t *table;           /* pairs: start offset, FDE offset */
	char name[64];
};

static uint64_t uleb(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	unsigned sh = 0;
	while (*p < end) {
		uint8_t b = *(*p)++;
		if (sh < 64)
			v |= (uint64_t)(b & 0x7f) << sh;
		sh += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

/* pc_begin of an FDE under the CIE's 'R' encoding; only what compilers
 * emit (pcrel or absolute; sdata4/udata4/8-byte). false: not understood. */
static bool read_enc(uint8_t enc, const uint8_t *p, const uint8_t *end, uintptr_t *out,
		     size_t *len)
{
	uint64_t v;
	switch (enc & 0x0f) {
	case 0x00: /* absptr */
	case 0x04: /* udata8 */
	case 0x0c: /* sdata8 */
		if (end - p < 8)
			return false;
		memcpy(&v, p, 8);
		*len = 8;
		break;
	case 0x03: { /* udata4 */
		uint32_t u;
		if (end - p < 4)
			return false;
		memcpy(&u, p, 4);
		v = u;
		*len = 4;
		break;
	}
	case 0x0b: { /* sdata4 */
		int32_t i;
		if (end - p < 4)
			return false;
		memcpy(&i, p, 4);
		v = (uint64_t)(int64_t)i;
		*len = 4;
		break;
	}
	default:
		return false;
	}
	if ((enc & 0x70) == 0x10) /* pcrel */
		v += (uintptr_t)p;
	else if (enc & 0x70)
		return false;
	*out = (uintptr_t)v;
	return true;
}

/* The 'R' encoding of the CIE at cie (0x1b if it says none). */
static bool cie_fde_enc(const uint8_t *cie, const uint8_t *end, uint8_t *enc)
{
	const uint8_t *p = cie + 8; /* after length and CIE id */
	if (p >= end)
		return false;
	uint8_t version = *p++;
	const char *aug = (const char *)p;
	size_t alen = strnlen(aug, (size_t)(end - p));
	p += alen + 1;
	uleb(&p, end);                 /* code alignment */
	uleb(&p, end);                 /* data alignment (sleb: skipped the same) */
	if (version == 1)
		p++;                   /* return register */
	else
		uleb(&p, end);
	*enc = 0x00;                   /* absptr without 'R' */
	if (aug[0] != 'z')
		return aug[0] == '\0';
	uleb(&p, end);                 /* augmentation length */
	for (size_t i = 1; i < alen && p < end; i++) {
		switch (aug[i]) {
		case 'R':
			*enc = *p++;
			return true;
		case 'L':
			p++;
			break;
		case 'P': {
			uint8_t penc = *p++;
			uintptr_t dummy;
			size_t l = 0;
			if (!read_enc(penc & 0x7f, p, end, &dummy, &l))
				return false;
			p += l;
			break;
		}
		case 'S':
		case 'B':
			break;
		default:
			return false;
		}
	}
	return true;
}

static int cmp_entry(const void *a, const void *b)
{
	const int32_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Sorted (pc_begin - base, fde - base) pairs of every FDE understood. */
static int32_t *build_table(const struct xs_loaded *ld, const struct xs_loaded_sec *s,
			    size_t *n)
{
	const uint8_t *p = (const uint8_t *)s->addr, *end = p + s->size;
	uintptr_t base = (uintptr_t)ld->base;
	size_t cap = 16, cnt = 0;
	int32_t *t = malloc(cap * 2 * sizeof(*t));
	if (!t)
		return NULL;
	while (end - p >= 8) {
		uint32_t len, id;
		memcpy(&len, p, 4);
		if (len == 0 || len == 0xffffffffu || len > (size_t)(end - p) - 4)
			break;
		memcpy(&id, p + 4, 4);
		const uint8_t *rec_end = p + 4 + len;
		if (id != 0) { /* an FDE: id is the distance back to its CIE */
			const uint8_t *cie = p + 4 - id;
			uint8_t enc;
			uintptr_t pc;
			size_t l;
			if (cie >= (const uint8_t *)s->addr && cie < p && cie_fde_enc(cie, rec_end, &enc) &&
			    read_enc(enc, p + 8, rec_end, &pc, &l) && pc >= base &&
			    pc - base < INT32_MAX) {
				if (cnt == cap) {
					int32_t *nt = realloc(t, cap * 4 * sizeof(*t));
					if (!nt)
						break;
					t = nt;
					cap *= 2;
				}
				t[2 * cnt] = (int32_t)(pc - base);
				t[2 * cnt + 1] = (int32_t)((uintptr_t)p - base);
				cnt++;
			}
		}
		p = rec_end;
	}
	qsort(t, cnt, 2 * sizeof(*t), cmp_entry);
	*n = cnt;
	return t;
}

static void register_libunwind(struct eh_reg *r, const struct xs_loaded *ld,
			       const struct xs_loaded_sec *s)
{
	size_t n = 0;
	r->table = build_table(ld, s, &n);
	if (!r->table || !n) {
		free(r->table);
		r->table = NULL;
		return;
	}
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (unsigned i = 0; i < ld->nexec; i++) {
		lo = ld->exec[i].lo < lo ? ld->exec[i].lo : lo;
		hi = ld->exec[i].hi > hi ? ld->exec[i].hi : hi;
	}
	memset(&r->di, 0, sizeof(r->di));
	r->di.start_ip = lo;
	r->di.end_ip = hi;
	/* REMOTE_TABLE is libunwind's .eh_frame_hdr-style table (its TABLE
	 * format means .debug_frame); read through the local address space. */
	r->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	r->di.u.rti.name_ptr = (unw_word_t)(uintptr_t)r->name;
	r->di.u.rti.segbase = (unw_word_t)(uintptr_t)ld->base;
	/* in words: one 8-byte entry per FDE */
	r->di.u.rti.table_len = n * 2 * sizeof(int32_t) / sizeof(unw_word_t);
	r->di.u.rti.table_data = (unw_word_t)(uintptr_t)r->table;
	_U_dyn_register(&r->di);
}

typedef void frame_fn(void *);

static frame_fn *lookup(const char *sym)
{
	void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		h = dlopen("libgcc_s.so.1", RTLD_NOW);
	void *f = h ? dlsym(h, sym) : NULL;
	/* the handle stays open: registered frames live in that copy */
	return (frame_fn *)f;
}

void *xs_ehframe_register(const struct xs_loaded *ld, const char *name)
{
	const struct xs_loaded_sec *s = xs_loaded_section(ld, ".eh_frame");
	if (!s || s->size < 8)
		return NULL;
	struct eh_reg *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	snprintf(r->name, sizeof(r->name), "xsplice payload %s", name);
	register_libunwind(r, ld, s);
	frame_fn *reg = lookup("__register_frame");
	if (reg) {
		reg((void *)s->addr);
		r->begin = (void *)s->addr;
	} else {
		xs_agent_log("xsplice: pid %d: payload %s: libgcc_s not found, its .eh_frame is not "
			     "registered (backtraces and exceptions will not cross its code)\n",
			     (int)getpid(), name);
	}
	return r;
}

void xs_ehframe_unregister(void *handle)
{
	struct eh_reg *r = handle;
	if (!r)
		return;
	if (r->begin) {
		frame_fn *dereg = lookup("__deregister_frame");
		if (dereg)
			dereg(r->begin);
	}
	if (r->table)
		_U_dyn_cancel(&r->di);
	free(r->table);
	free(r);
}
