/* SPDX-License-Identifier: MIT */
/*
 * Loading a payload: like a module loader, allocate its SHF_ALLOC sections
 * near the target object, resolve symbols, apply relocations, then protect
 * text read+execute and read-only data read-only. Never writable and
 * executable at once.
 */
#ifndef XS_AGENT_LOAD_H
#define XS_AGENT_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/livepatch.h"
#include "xsplice/error.h"
#include "xsplice/protocol.h"
#include "elf.h"
#include "symbols.h"

/*
 * Resolve an undefined payload symbol that the payload's own
 * .livepatch.symbols table does not name. The caller (payload.c) searches
 * loaded payloads, then the target object (locals included), then global
 * dynamic symbols of every object. 0, or -ENOENT / -ENOTUNIQ with a reason.
 */
typedef int (*xs_resolve_fn)(void *ctx, const char *name, uintptr_t *addr, struct xs_err *err);

struct xs_load_params {
	struct xs_object *target;  /* object the payload patches: placement, bias, TLS */
	xs_resolve_fn resolve;
	void *resolve_ctx;
};

struct xs_payload_symbol {
	const char *name;  /* points into the loaded image's copy of strtab */
	uintptr_t addr;
	uint64_t size;
};

struct xs_loaded_range {
	uintptr_t lo, hi;            /* [lo, hi) run-time addresses */
};

/* A loaded section, for the features that find theirs by name (hooks,
 * .eh_frame). */
struct xs_loaded_sec {
	const char *name;            /* in xs_loaded.secnames */
	uintptr_t addr;
	uint64_t size;
};

struct xs_loaded {
	void *base;                  /* one mapping holding everything */
	size_t size;
	uint8_t build_id[XS_BUILD_ID_MAX];
	size_t build_id_len;
	uint8_t depends[XS_BUILD_ID_MAX];
	size_t depends_len;
	/* The relocated .livepatch.funcs array inside the mapping (read-only). */
	const struct livepatch_func *funcs;
	unsigned nfuncs;
	/* For each func: was old_addr filled by a relocation (then absolute)? */
	bool *old_addr_relocated;
	/* The payload's executable sections (SHF_EXECINSTR) in the mapping:
	 * a function's new code must lie inside one of them. */
	struct xs_loaded_range *exec;
	unsigned nexec;
	/* Global defined symbols of the payload (for stacked payloads). */
	struct xs_payload_symbol *symbols;
	unsigned nsymbols;
	char *strings;               /* malloc'd names backing symbols[] */
	/* Every loaded section (SHF_ALLOC), and every function symbol (local
	 * ones too) sorted by address: hook names, reasons, gdb, perf. */
	struct xs_loaded_sec *secs;
	unsigned nsecs;
	char *secnames;
	struct xs_payload_symbol *fsyms;
	unsigned nfsyms;
	char *fstrings;
};

/*
 * Read only the build-id and depends notes (both mandatory) of a payload
 * image: used before target selection. The elf must be parsed as PAYLOAD.
 */
int xs_payload_notes(const struct xs_elf *elf, uint8_t *build_id, size_t *build_id_len,
		     uint8_t *depends, size_t *depends_len, struct xs_err *err);

int xs_load(const struct xs_elf *elf, const struct xs_load_params *params, struct xs_loaded *out,
	    struct xs_err *err);
void xs_unload(struct xs_loaded *ld);

/* Is [addr, addr+len) inside the payload's mapping? */
bool xs_loaded_contains(const struct xs_loaded *ld, uintptr_t addr, size_t len);
/* Is [addr, addr+len) inside one executable section of the payload? */
bool xs_loaded_in_exec(const struct xs_loaded *ld, uintptr_t addr, size_t len);
/* The loaded section called name; NULL if none. */
const struct xs_loaded_sec *xs_loaded_section(const struct xs_loaded *ld, const char *name);
/* The payload function containing addr (its name, offset); NULL if none. */
const struct xs_payload_symbol *xs_loaded_function_at(const struct xs_loaded *ld, uintptr_t addr);
/* A global symbol the payload defines; -ENOENT if none. */
int xs_loaded_lookup(const struct xs_loaded *ld, const char *name, uintptr_t *addr);

#endif
