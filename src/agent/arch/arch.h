/* SPDX-License-Identifier: MIT */
/* Architecture details: relocations, trampolines, serialisation. */
#ifndef XS_AGENT_ARCH_H
#define XS_AGENT_ARCH_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

#define XS_ARCH_PATCH_MAX 16 /* longest code sequence a trampoline writes */
#define XS_ARCH_JMP_REL32_SIZE 5
#define XS_ARCH_JMP_ABS_SIZE 14 /* jmp *0(%rip); .quad target */

/*
 * Apply one RELA relocation at `where` (writable copy) whose final run-time
 * address is `place`, with resolved symbol value S and addend A. got_slot is
 * the run-time address of a GOT entry already holding S (for GOTPCREL
 * kinds), 0 if none. For TPOFF32/TPOFF64, S is the symbol's offset from the
 * thread pointer; for GOTTPOFF the GOT slot holds that offset. Every
 * truncation is checked: -ERANGE with a reason naming the relocation type;
 * unknown types are -ENOTSUP.
 */
int xs_arch_apply_rela(uint32_t type, uint8_t *where, size_t room, uintptr_t place, uint64_t S,
		       int64_t A, uintptr_t got_slot, struct xs_err *err);
/* Does relocation type need a GOT slot? */
int xs_arch_rela_needs_got(uint32_t type);
const char *xs_arch_rela_name(uint32_t type);
/* Is it a thread-local (initial/local-exec) relocation type? */
int xs_arch_rela_is_tls(uint32_t type);

/* A PLT-like stub for calls whose target is beyond rel32 range: the loader
 * redirects a PLT32 relocation to it. Absolute indirect jump, padded. */
#define XS_ARCH_PLT_STUB_SIZE 16
void xs_arch_plt_stub(uint8_t out[XS_ARCH_PLT_STUB_SIZE], uint64_t target);

/*
 * Bytes to write at `from` so execution continues at `to`: jmp rel32 when in
 * range and room >= 5, else an absolute jump if room allows, else -ERANGE.
 * to == 0: `room` bytes of NOPs (the seed's NOP-out) -- len is then room.
 */
int xs_arch_trampoline(uintptr_t from, uintptr_t to, size_t room, uint8_t *out, size_t *len,
		       struct xs_err *err);

/* Bytes to leave at a function's start before its trampoline: 4 when it
 * starts with endbr64 and the rest still holds a jmp rel32 (5 bytes), else
 * 0. fn must be readable. */
size_t xs_arch_endbr_skip(uintptr_t fn, size_t room);

/* The interrupted program counter and stack pointer in a signal handler's
 * ucontext (void * so callers need no <ucontext.h>). */
uintptr_t xs_arch_context_pc(const void *ucontext);
uintptr_t xs_arch_context_sp(const void *ucontext);
/* Where a signal frame keeps the FPU/vector registers: [*lo, *hi), or
 * an empty range when it has none. */
void xs_arch_context_fpstate(const void *ucontext, uintptr_t *lo, uintptr_t *hi);

/* Serialise this CPU's instruction stream (cpuid on x86). */
void xs_arch_serialize(void);

#endif
