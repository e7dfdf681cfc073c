/* SPDX-License-Identifier: MIT */
/*
 * The functions a payload patches: .livepatch.funcs entries validated and
 * turned into agent-owned state (addresses, trampoline bytes, saved bytes).
 * Per-function runtime state never lives in the payload's memory.
 */
#ifndef XS_AGENT_FUNCS_H
#define XS_AGENT_FUNCS_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/arch.h"
#include "load.h"
#include "symbols.h"
#include "xsplice/error.h"
#include "xsplice/livepatch.h"

struct xs_func {
	char name[XS_NAME_SIZE];
	uintptr_t old_addr;  /* run-time address of the patched function */
	uintptr_t new_addr;  /* 0: NOP-out */
	uint32_t old_size;
	uint32_t new_size;
	uint8_t flags;       /* LIVEPATCH_FUNC_* */
	uint8_t expect_len;
	uint8_t expect[LIVEPATCH_EXPECT_MAX];
	uint8_t patch_off;   /* trampoline at old_addr + patch_off: 4 after an endbr64 */
	uint8_t patch_len;   /* bytes the trampoline writes */
	uint8_t patch[XS_ARCH_PATCH_MAX];
	uint8_t saved[XS_ARCH_PATCH_MAX]; /* what the trampoline covered */
	bool applied;
};

/* Where the trampoline goes (old_addr, or after the function's endbr64). */
static inline uintptr_t xs_func_patch_addr(const struct xs_func *f)
{
	return f->old_addr + f->patch_off;
}

/*
 * Validate every entry (version, zero opaque, sizes, the old function
 * resolved in target and big enough, new code inside the payload) and
 * compute the trampolines. funcs is malloc'd.
 */
int xs_funcs_prepare(const struct xs_loaded *ld, struct xs_object *target, struct xs_func **funcs,
		     unsigned *nfuncs, struct xs_err *err);

#endif
