/* SPDX-License-Identifier: MIT */
/*
 * The objects loaded in this process (main executable, shared libraries)
 * and symbol lookup in them: build-ids from PT_NOTE, symbol tables read from
 * the object's file (.symtab, else .dynsym), or from its debug file found by
 * build-id under /usr/lib/debug/.build-id/.
 */
#ifndef XS_AGENT_SYMBOLS_H
#define XS_AGENT_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"
#include "xsplice/protocol.h"

struct xs_symtab; /* private: the object's symbols, loaded lazily */

struct xs_object {
	char path[XS_PATH_SIZE];  /* "" is shown as the main program's /proc/self/exe */
	uintptr_t bias;           /* load bias (dlpi_addr) */
	uintptr_t lo, hi;         /* lowest/highest address of its PT_LOAD segments */
	uintptr_t text_lo, text_hi; /* executable PT_LOAD range */
	uint8_t build_id[XS_BUILD_ID_MAX];
	size_t build_id_len;
	bool is_agent;            /* libxsplice.so itself: never patched */
	bool is_vdso;             /* linux-vdso: never patched */
	bool is_main;             /* the main program (first in link-map order) */
	/* PT_TLS of the object, for TLS relocations (0 if none) */
	size_t tls_modid;
	uint64_t tls_memsz, tls_align;
	struct xs_symtab *symtab; /* NULL until first lookup */
};

/*
 * (Re)enumerate loaded objects with dl_iterate_phdr. Keeps already loaded
 * symbol tables of objects that are still there. Not async-signal-safe.
 */
int xs_objects_refresh(struct xs_err *err);
size_t xs_objects_count(void);
struct xs_object *xs_object_at(size_t i);
struct xs_object *xs_object_by_build_id(const uint8_t *id, size_t len);
/* The object whose PT_LOAD range contains addr, or NULL. */
struct xs_object *xs_object_by_addr(uintptr_t addr);
void xs_objects_free(void);

/*
 * Look name up in obj's full symbol table (locals included). A name that
 * matches two different defined symbols is -ENOTUNIQ; none is -ENOENT; the
 * reason names the symbol and the object. *addr is the run-time address.
 * If size is non-NULL it gets st_size.
 */
int xs_object_lookup(struct xs_object *obj, const char *name, uintptr_t *addr, uint64_t *size,
		     struct xs_err *err);

/*
 * Bind an undefined payload symbol to the target process (after the
 * payload's own .livepatch.symbols and the payloads below it, which the
 * caller handles). The rule (docs/decisions.md, "Symbol binding"): a global
 * definition in target, then a global dynamic symbol of any loaded object
 * in link-map order, and only then a static (local) of target, which must
 * be the only one of that name. 0, or -ENOENT / -ENOTUNIQ with a reason.
 */
int xs_bind_symbol(struct xs_object *target, const char *name, uintptr_t *addr,
		   struct xs_err *err);

/*
 * A thread-local (STT_TLS) symbol of obj: *tls_offset is its st_value, the
 * offset inside obj's PT_TLS block. -ENOENT / -ENOTUNIQ as above.
 */
int xs_object_lookup_tls(struct xs_object *obj, const char *name, uint64_t *tls_offset,
			 struct xs_err *err);

/*
 * Does obj's symbol table hold its local symbols (a .symtab, of the file or
 * of its debug file)? False for a stripped object known by .dynsym only.
 */
bool xs_object_has_full_symtab(struct xs_object *obj);

/*
 * Does a symbol named name start at link-time address link_addr in obj?
 * Aliases of one address all count, a version suffix ("@@V") is ignored,
 * and GCC's "foo.localalias" (-fPIC) names the same function as "foo".
 */
bool xs_object_symbol_named_at(struct xs_object *obj, uint64_t link_addr, const char *name);

/*
 * The function symbol that starts at link-time address link_addr in obj:
 * its size and the room up to the next symbol or the end of its section
 * (the padding a trampoline may also use). -ENOENT if no symbol starts there.
 */
int xs_object_symbol_extent(struct xs_object *obj, uint64_t link_addr, const char **name,
			    uint64_t *size, uint64_t *room, struct xs_err *err);

/* The nearest symbol at or below a run-time address, for messages. */
int xs_object_symbolize(uintptr_t addr, char *buf, size_t len);

/*
 * A global (STB_GLOBAL/STB_WEAK) defined dynamic symbol, searching every
 * loaded object in link-map order (the dynamic linker's order).
 */
int xs_global_lookup(const char *name, uintptr_t *addr, struct xs_err *err);

#endif
