/* SPDX-License-Identifier: MIT */
/*
 * xsplice payload ABI: what a payload object carries so the agent inside a
 * running process can patch it. Layouts follow the Xen Live Patching design
 * (docs/misc/livepatch.markdown); see docs/payload-format.md.
 */
#ifndef XSPLICE_LIVEPATCH_H
#define XSPLICE_LIVEPATCH_H

#include <stdint.h>

#define LIVEPATCH_FUNCS_SECTION    ".livepatch.funcs"
#define LIVEPATCH_DEPENDS_SECTION  ".livepatch.depends"
#define LIVEPATCH_BUILD_ID_SECTION ".note.gnu.build-id"
/* Optional: target symbols with link-time addresses (stripped targets). */
#define LIVEPATCH_SYMBOLS_SECTION  ".livepatch.symbols"

#define LIVEPATCH_PAYLOAD_VERSION   1  /* original layout: opaque all zero */
#define LIVEPATCH_PAYLOAD_VERSION_2 2  /* opaque carries flags + expected bytes */

#define LIVEPATCH_OPAQUE_SIZE 31
#define LIVEPATCH_EXPECT_MAX  24

/* Flags of a version-2 entry (opaque[0]). */
/* The old function may stay on a stack while it is replaced (main loops):
 * threads already inside it keep running the old body. */
#define LIVEPATCH_FUNC_NO_STACK_CHECK 0x01u
#define LIVEPATCH_FUNC_FLAGS_KNOWN    0x01u

/*
 * One function to patch, 64 bytes on x86-64, exactly the seed's layout.
 * old_addr: link-time address (st_value) in the target object; the agent adds
 *   the object's load bias. 0 = resolve `name` in the target object. When
 *   old_addr is filled by a relocation it is already a run-time address.
 * new_addr: replacement (relocated at load). 0 = NOP out the first new_size
 *   bytes of the old function.
 */
struct livepatch_func {
	const char *name;
	void *new_addr;
	void *old_addr;
	uint32_t new_size;
	uint32_t old_size;
	uint8_t version;
	union {
		uint8_t opaque[LIVEPATCH_OPAQUE_SIZE]; /* version 1: all zero */
		struct {                               /* version 2 */
			uint8_t flags;                 /* LIVEPATCH_FUNC_* */
			uint8_t expect_len;            /* 0 = no expectation */
			uint8_t expect[LIVEPATCH_EXPECT_MAX]; /* old bytes required at old_addr */
			uint8_t reserved[5];           /* must be zero */
		} v2;
	};
};

_Static_assert(sizeof(struct livepatch_func) == 64, "livepatch_func is 64 bytes");

/*
 * .livepatch.symbols: a sequence of records, each
 *   struct livepatch_symbol header; char name[name_len]; zero padding to 8.
 * Lets a payload name target symbols (also static ones, or in stripped
 * binaries) by link-time address; trusted because the build-id matched.
 */
struct livepatch_symbol {
	uint64_t addr;     /* link-time address in the target object */
	uint32_t size;     /* symbol size, 0 if unknown */
	uint16_t name_len; /* bytes of name, no NUL */
	uint16_t flags;    /* 0 */
};

_Static_assert(sizeof(struct livepatch_symbol) == 16, "livepatch_symbol is 16 bytes");

/* Helper for hand-written payloads. */
#define LIVEPATCH_FUNC_ATTR __attribute__((__section__(LIVEPATCH_FUNCS_SECTION), __used__))

/* ---- hooks (later Xen's conventions, xen/include/xen/livepatch_payload.h) ----
 *
 * Each section is an array of function pointers (8 bytes each, relocated),
 * run in array order; every pointer must point into the payload's code.
 *   .livepatch.hooks.load / .unload: void (*)(void), run when the payload
 *     is uploaded (after linking) and when it is unloaded (before unmapping).
 *   .livepatch.hooks.preapply / .prerevert: int (*)(livepatch_payload_t *),
 *     run before the action, outside the stop; non-zero vetoes it (nothing
 *     is written, the state is unchanged, the reason names the hook).
 *   .livepatch.hooks.postapply / .postrevert: void (*)(livepatch_payload_t *),
 *     run after the action, outside the stop.
 * Xen allows one pre/post hook per payload; xsplice accepts several. A hook
 * declared without the argument works too (x86-64 ignores it).
 * See docs/hooks-and-shadow.md. */
#define LIVEPATCH_HOOKS_LOAD_SECTION       ".livepatch.hooks.load"
#define LIVEPATCH_HOOKS_UNLOAD_SECTION     ".livepatch.hooks.unload"
#define LIVEPATCH_HOOKS_PREAPPLY_SECTION   ".livepatch.hooks.preapply"
#define LIVEPATCH_HOOKS_POSTAPPLY_SECTION  ".livepatch.hooks.postapply"
#define LIVEPATCH_HOOKS_PREREVERT_SECTION  ".livepatch.hooks.prerevert"
#define LIVEPATCH_HOOKS_POSTREVERT_SECTION ".livepatch.hooks.postrevert"
/* Metadata: NUL-separated key=value strings (description=, version=, name=). */
#define LIVEPATCH_MODINFO_SECTION          ".modinfo"

/* What a pre/post hook is told: the payload it belongs to (agent memory,
 * read-only to the hook, valid during the call). */
struct livepatch_payload {
	const char *name;                    /* the payload's name in the agent */
	const struct livepatch_func *funcs;  /* its .livepatch.funcs */
	unsigned int nfuncs;
};
typedef struct livepatch_payload livepatch_payload_t;

typedef void livepatch_loadcall_t(void);
typedef void livepatch_unloadcall_t(void);
typedef int livepatch_precall_t(livepatch_payload_t *payload);
typedef void livepatch_postcall_t(livepatch_payload_t *payload);

#define LIVEPATCH_HOOK_(type, kind, fn)                                               \
	type *__attribute__((weak, used, __section__(".livepatch.hooks." #kind)))      \
		const livepatch_##kind##_data_##fn = fn
#define LIVEPATCH_LOAD_HOOK(fn)       LIVEPATCH_HOOK_(livepatch_loadcall_t, load, fn)
#define LIVEPATCH_UNLOAD_HOOK(fn)     LIVEPATCH_HOOK_(livepatch_unloadcall_t, unload, fn)
#define LIVEPATCH_PREAPPLY_HOOK(fn)   LIVEPATCH_HOOK_(livepatch_precall_t, preapply, fn)
#define LIVEPATCH_POSTAPPLY_HOOK(fn)  LIVEPATCH_HOOK_(livepatch_postcall_t, postapply, fn)
#define LIVEPATCH_PREREVERT_HOOK(fn)  LIVEPATCH_HOOK_(livepatch_precall_t, prerevert, fn)
#define LIVEPATCH_POSTREVERT_HOOK(fn) LIVEPATCH_HOOK_(livepatch_postcall_t, postrevert, fn)

/* One line of metadata: LIVEPATCH_MODINFO(description, "fix CVE-...") */
#define LIVEPATCH_MODINFO_CAT_(a, b) a##b
#define LIVEPATCH_MODINFO_ID_(line) LIVEPATCH_MODINFO_CAT_(livepatch_modinfo_, line)
#define LIVEPATCH_MODINFO(key, value)                                                  \
	static const char LIVEPATCH_MODINFO_ID_(__LINE__)[]                            \
		__attribute__((used, __section__(LIVEPATCH_MODINFO_SECTION), aligned(1))) = \
			#key "=" value

#endif
