/* SPDX-License-Identifier: MIT */
/*
 * The payload's .eh_frame: the CIEs and FDEs of a patched object's
 * .eh_frame that describe the code the payload includes, with their
 * relocations (an FDE's start address, its LSDA in .gcc_except_table, the
 * CIE's personality routine). Without them a C++ exception thrown in, or
 * unwinding through, payload code finds no frame description and ends in
 * std::terminate; the agent registers the section with libgcc and
 * libunwind (src/agent/ehframe.c).
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The code section an FDE describes: the target of the relocation at its
 * start address (pcrel, as GCC emits it). NULL: none found. */
static struct xb_sec *fde_code(const struct xb_rela *rela, size_t nrela, uint64_t at)
{
	for (size_t k = 0; k < nrela; k++) {
		if (rela[k].off != at)
			continue;
		struct xb_sym *s = rela[k].sym;
		return s ? s->sec : NULL;
	}
	return NULL;
}

struct xb_sec *xb_eh_frame_select(struct xb_obj *o)
{
	struct xb_sec *eh = NULL;
	for (size_t i = 1; i < o->nsec; i++)
		if (!strcmp(o->sec[i].name, ".eh_frame") && o->sec[i].sh.sh_type != SHT_NOBITS)
			eh = &o->sec[i];
	if (!eh)
		return NULL;
	if (!eh->orig_data) { /* first call: keep the object's own contents */
		eh->orig_data = eh->data;
		eh->orig_size = eh->size;
		eh->orig_rela = eh->rela;
		eh->orig_nrela = eh->nrela;
		eh->rela = NULL;
		eh->nrela = 0;
	}
	const unsigned char *d = eh->orig_data;
	size_t n = eh->orig_size;
	/* Pass 1: the records to keep. keep[off] for the record starting at off
	 * (CIEs referenced by a kept FDE); newoff[off] its place in the copy. */
	unsigned char *keep = xb_calloc(n + 1, 1);
	size_t *newoff = xb_calloc(n + 1, sizeof(*newoff));
	size_t nfde = 0;
	for (size_t off = 0; off + 8 <= n;) {
		uint32_t len = rd32(d + off);
		if (len == 0 || len == 0xffffffffu || len > n - off - 4)
			break; /* terminator; 64-bit records are not emitted by GCC */
		uint32_t id = rd32(d + off + 4);
		if (id != 0 && id <= off + 4) {
			struct xb_sec *code = fde_code(eh->orig_rela, eh->orig_nrela, off + 8);
			if (code && code->include && (code->sh.sh_flags & SHF_EXECINSTR)) {
				keep[off] = 1;
				keep[off + 4 - id] = 1;
				nfde++;
			}
		}
		off += 4 + (size_t)len;
	}
	free(eh->owned_data);
	eh->owned_data = NULL;
	free(eh->rela);
	eh->rela = NULL;
	eh->nrela = 0;
	eh->size = 0;
	if (!nfde) {
		free(keep);
		free(newoff);
		eh->data = eh->orig_data;
		return NULL;
	}
	/* Pass 2: copy them in their order, CIE pointers and relocations
	 * moved with them. */
	unsigned char *out = xb_calloc(n, 1);
	size_t w = 0;
	for (size_t off = 0; off + 8 <= n;) {
		uint32_t len = rd32(d + off);
		if (len == 0 || len == 0xffffffffu || len > n - off - 4)
			break;
		size_t rl = 4 + (size_t)len;
		if (keep[off]) {
			newoff[off] = w;
			memcpy(out + w, d + off, rl);
			uint32_t id = rd32(d + off + 4);
			if (id != 0) {
				uint32_t nid = (uint32_t)(w + 4 - newoff[off + 4 - id]);
				memcpy(out + w + 4, &nid, 4);
			}
			for (size_t k = 0; k < eh->orig_nrela; k++) {
				const struct xb_rela *ra = &eh->orig_rela[k];
				if (ra->off < off || ra->off >= off + rl)
					continue;
				eh->rela = xb_realloc(eh->rela, eh->nrela + 1, sizeof(*eh->rela));
				eh->rela[eh->nrela] = *ra;
				eh->rela[eh->nrela].off = ra->off - off + w;
				eh->nrela++;
			}
			w += rl;
		}
		off += rl;
	}
	free(keep);
	free(newoff);
	eh->owned_data = out;
	eh->data = out;
	eh->size = w;
	return eh;
}
