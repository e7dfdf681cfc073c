/* SPDX-License-Identifier: MIT */
/*
 * Payload hooks (.livepatch.hooks.*, include/xsplice/livepatch.h): found
 * and checked at upload, run by the agent at upload/unload (load/unload
 * hooks, control thread) and around an action (pre/post hooks, action
 * thread, outside the stop). See docs/hooks-and-shadow.md.
 */
#ifndef XS_AGENT_HOOKS_H
#define XS_AGENT_HOOKS_H

#include <stdint.h>

#include "elf.h"
#include "load.h"
#include "xsplice/error.h"
#include "xsplice/livepatch.h"

enum xs_hook_kind {
	XS_HOOK_LOAD,
	XS_HOOK_UNLOAD,
	XS_HOOK_PREAPPLY,
	XS_HOOK_POSTAPPLY,
	XS_HOOK_PREREVERT,
	XS_HOOK_POSTREVERT,
	XS_HOOK_KINDS
};

struct xs_hooks {
	const uintptr_t *fn[XS_HOOK_KINDS]; /* into the payload's mapping */
	unsigned n[XS_HOOK_KINDS];
	livepatch_payload_t self;            /* what pre/post hooks are given */
};

/* Before loading: every .livepatch.hooks.* section is a known kind and
 * SHF_ALLOC (else its hooks would silently not run). */
int xs_hooks_check_elf(const struct xs_elf *elf, struct xs_err *err);

/* Find the hook sections of a loaded payload and check them (size a
 * multiple of 8, every pointer inside the payload's code). name must stay
 * valid as long as hooks (the payload's own name). */
int xs_hooks_find(const struct xs_loaded *ld, const char *name, struct xs_hooks *hooks,
		  struct xs_err *err);

/* Run the hooks of one kind in order, each announced on stderr first (a
 * crash then names it). Pre hooks stop at the first non-zero return:
 * -ECANCELED with the reason "preapply hook NAME of payload P returned N". */
int xs_hooks_run(const struct xs_loaded *ld, const struct xs_hooks *hooks, enum xs_hook_kind kind,
		 struct xs_err *err);

/* "payload:function+0xoff" for an address in a loaded payload's code. */
void xs_hooks_describe(const struct xs_loaded *ld, const char *payload, uintptr_t addr,
		       char *out, size_t len);

#endif
