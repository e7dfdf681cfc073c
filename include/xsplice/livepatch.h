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

#endif
