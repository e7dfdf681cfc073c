/* SPDX-License-Identifier: MIT */
/* The fuzzed path: parse + notes + load a payload against this program. */
#ifndef XS_FUZZ_TARGET_H
#define XS_FUZZ_TARGET_H

#include "testutil.h"

/* What the test payload reaches in its target (this program). */
int xt_global = 100;
__thread int xt_tls_ie = 7;
__thread int xt_tls_le = 9;

__attribute__((noinline, used)) int xt_old_func(int x)
{
	__asm__ volatile("");
	return x + 1;
}

__attribute__((noinline, used)) int xt_other_func(int x)
{
	__asm__ volatile("");
	return x - 1;
}

static struct xs_object *fuzz_main;

/* Returns the load's rc; aborts if an error has no reason. */
static int fuzz_one(const uint8_t *data, size_t size)
{
	if (!fuzz_main)
		fuzz_main = xt_main_object();
	uint8_t *img = malloc(size ? size : 1); /* 8-byte aligned copy */
	if (!img)
		return -ENOMEM;
	memcpy(img, data, size);
	struct xs_load_params p = { .target = fuzz_main, .resolve = xt_resolve,
				    .resolve_ctx = fuzz_main };
	struct xs_loaded ld;
	struct xs_err err = { { 0 } };
	int rc = xt_parse_load(img, size, &p, &ld, &err);
	if (rc == 0) {
		/* touch what a caller would read */
		volatile uint64_t sum = 0;
		for (unsigned i = 0; i < ld.nfuncs; i++)
			sum += (uintptr_t)ld.funcs[i].new_addr + ld.old_addr_relocated[i];
		for (unsigned i = 0; i < ld.nsymbols; i++)
			sum += strlen(ld.symbols[i].name);
		(void)sum;
		xs_unload(&ld);
	} else if (rc > 0 || !err.msg[0] || ld.base) {
		abort();
	}
	free(img);
	return rc;
}

#endif
