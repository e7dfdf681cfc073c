/* SPDX-License-Identifier: MIT */
/*
 * x86-64: relocation arithmetic (System V psABI), trampolines, serialisation.
 * Threading: pure functions of their arguments; xs_arch_serialize and the
 * context accessors also run in the park handler (no libc there).
 */
#include "arch.h"
#include "common/reloc_names.h"

#include <errno.h>
#include <ucontext.h>
#include <string.h>

const char *xs_arch_rela_name(uint32_t type)
{
	return xs_reloc_name_x86_64(type);
}

#ifndef R_X86_64_GOTPCRELX
#define R_X86_64_GOTPCRELX 41
#endif
#ifndef R_X86_64_REX_GOTPCRELX
#define R_X86_64_REX_GOTPCRELX 42
#endif

int xs_arch_rela_needs_got(uint32_t type)
{
	switch (type) {
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
	case R_X86_64_GOTTPOFF:
		return 1;
	default:
		return 0;
	}
}

int xs_arch_rela_is_tls(uint32_t type)
{
	return type == R_X86_64_TPOFF32 || type == R_X86_64_TPOFF64 || type == R_X86_64_GOTTPOFF;
}

enum fit { FIT_NONE, FIT_SIGNED, FIT_UNSIGNED, FIT_EITHER };

static int put(uint32_t type, uint8_t *where, size_t room, uint64_t val, unsigned width,
	       enum fit fit, struct xs_err *err)
{
	if (width > room)
		return xs_fail(err, -EINVAL, "%s: %u-byte field does not fit in the %zu bytes left",
			       xs_arch_rela_name(type), width, room);
	if (width < 8) {
		int64_t s = (int64_t)val;
		int64_t smin = -((int64_t)1 << (width * 8 - 1));
		int64_t smax = ((int64_t)1 << (width * 8 - 1)) - 1;
		uint64_t umax = ((uint64_t)1 << (width * 8)) - 1;
		int sok = s >= smin && s <= smax;
		int uok = val <= umax;
		int ok = fit == FIT_SIGNED ? sok : fit == FIT_UNSIGNED ? uok : (sok || uok);
		if (!ok)
			return xs_fail(err, -ERANGE, "%s: value %#llx does not fit in %u bits",
				       xs_arch_rela_name(type), (unsigned long long)val, width * 8);
	}
	/* little-endian store of the low `width` bytes */
	for (unsigned i = 0; i < width; i++)
		where[i] = (uint8_t)(val >> (8 * i));
	return 0;
}

int xs_arch_apply_rela(uint32_t type, uint8_t *where, size_t room, uintptr_t place, uint64_t S,
		       int64_t A, uintptr_t got_slot, struct xs_err *err)
{
	uint64_t P = place;
	uint64_t SA = S + (uint64_t)A;

	if (!where)
		return xs_fail(err, -EINVAL, "%s: no place to write", xs_arch_rela_name(type));
	switch (type) {
	case R_X86_64_NONE:
		return 0;
	case R_X86_64_64:
		return put(type, where, room, SA, 8, FIT_NONE, err);
	case R_X86_64_PC64:
		return put(type, where, room, SA - P, 8, FIT_NONE, err);
	case R_X86_64_32:
		return put(type, where, room, SA, 4, FIT_UNSIGNED, err);
	case R_X86_64_32S:
		return put(type, where, room, SA, 4, FIT_SIGNED, err);
	case R_X86_64_16:
		return put(type, where, room, SA, 2, FIT_EITHER, err);
	case R_X86_64_8:
		return put(type, where, room, SA, 1, FIT_EITHER, err);
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		return put(type, where, room, SA - P, 4, FIT_SIGNED, err);
	case R_X86_64_PC16:
		return put(type, where, room, SA - P, 2, FIT_SIGNED, err);
	case R_X86_64_PC8:
		return put(type, where, room, SA - P, 1, FIT_SIGNED, err);
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
	case R_X86_64_GOTTPOFF:
		if (!got_slot)
			return xs_fail(err, -EINVAL, "%s: no GOT slot", xs_arch_rela_name(type));
		return put(type, where, room, (uint64_t)got_slot + (uint64_t)A - P, 4, FIT_SIGNED,
			   err);
	case R_X86_64_TPOFF32: /* S is the symbol's offset from the thread pointer */
		return put(type, where, room, SA, 4, FIT_SIGNED, err);
	case R_X86_64_TPOFF64:
		return put(type, where, room, SA, 8, FIT_NONE, err);
	case R_X86_64_TLSGD:
	case R_X86_64_TLSLD:
	case R_X86_64_DTPOFF32:
	case R_X86_64_DTPOFF64:
	case R_X86_64_GOTPC32_TLSDESC:
	case R_X86_64_TLSDESC_CALL:
		return xs_fail(err, -ENOTSUP,
			       "%s: dynamic TLS models are not supported; compile the payload with "
			       "-ftls-model=initial-exec",
			       xs_arch_rela_name(type));
	default:
		return xs_fail(err, -ENOTSUP, "relocation type %s (%u) not supported",
			       xs_arch_rela_name(type), type);
	}
}

void xs_arch_plt_stub(uint8_t out[XS_ARCH_PLT_STUB_SIZE], uint64_t target)
{
	/* jmp *0(%rip); .quad target; int3 int3 */
	out[0] = 0xff;
	out[1] = 0x25;
	out[2] = out[3] = out[4] = out[5] = 0;
	for (unsigned i = 0; i < 8; i++)
		out[6 + i] = (uint8_t)(target >> (8 * i));
	out[14] = out[15] = 0xcc;
}

/* Recommended multi-byte NOPs (Intel SDM, "NOP"), lengths 1..9. */
static const uint8_t nops[9][9] = {
	{ 0x90 },
	{ 0x66, 0x90 },
	{ 0x0f, 0x1f, 0x00 },
	{ 0x0f, 0x1f, 0x40, 0x00 },
	{ 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	{ 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	{ 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	{ 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

int xs_arch_trampoline(uintptr_t from, uintptr_t to, size_t room, uint8_t *out, size_t *len,
		       struct xs_err *err)
{
	if (!out || !len)
		return xs_fail(err, -EINVAL, "trampoline: no output buffer");
	if (to == 0) {
		if (room == 0)
			return xs_fail(err, -EINVAL, "NOP-out of 0 bytes");
		if (room > XS_ARCH_PATCH_MAX)
			return xs_fail(err, -ERANGE, "NOP-out of %zu bytes exceeds the maximum of %d",
				       room, XS_ARCH_PATCH_MAX);
		size_t n = 0;
		while (n < room) {
			size_t k = room - n > 9 ? 9 : room - n;
			memcpy(out + n, nops[k - 1], k);
			n += k;
		}
		*len = room;
		return 0;
	}
	int64_t rel = (int64_t)((uint64_t)to - ((uint64_t)from + XS_ARCH_JMP_REL32_SIZE));
	if (rel >= INT32_MIN && rel <= INT32_MAX && room >= XS_ARCH_JMP_REL32_SIZE) {
		uint32_t r = (uint32_t)(int32_t)rel;
		out[0] = 0xe9;
		for (unsigned i = 0; i < 4; i++)
			out[1 + i] = (uint8_t)(r >> (8 * i));
		*len = XS_ARCH_JMP_REL32_SIZE;
		return 0;
	}
	if (room >= XS_ARCH_JMP_ABS_SIZE) {
		out[0] = 0xff; /* jmp *0(%rip) */
		out[1] = 0x25;
		out[2] = out[3] = out[4] = out[5] = 0;
		for (unsigned i = 0; i < 8; i++)
			out[6 + i] = (uint8_t)((uint64_t)to >> (8 * i));
		*len = XS_ARCH_JMP_ABS_SIZE;
		return 0;
	}
	if (rel >= INT32_MIN && rel <= INT32_MAX)
		return xs_fail(err, -ERANGE,
			       "trampoline at %#lx: only %zu bytes of room, a jmp rel32 needs %d",
			       (unsigned long)from, room, XS_ARCH_JMP_REL32_SIZE);
	return xs_fail(err, -ERANGE,
		       "trampoline %#lx -> %#lx: beyond +-2 GB for jmp rel32 and only %zu bytes of "
		       "room for a %d-byte absolute jump",
		       (unsigned long)from, (unsigned long)to, room, XS_ARCH_JMP_ABS_SIZE);
}

size_t xs_arch_endbr_skip(uintptr_t fn, size_t room)
{
	static const uint8_t endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	if (room < sizeof(endbr64) + XS_ARCH_JMP_REL32_SIZE ||
	    memcmp((const void *)fn, endbr64, sizeof(endbr64)) != 0)
		return 0;
	return sizeof(endbr64);
}

void xs_arch_serialize(void)
{
	unsigned a = 0, b, c = 0, d;
	__asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
}

uintptr_t xs_arch_context_pc(const void *ucontext)
{
	return (uintptr_t)((const ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RIP];
}

uintptr_t xs_arch_context_sp(const void *ucontext)
{
	return (uintptr_t)((const ucontext_t *)ucontext)->uc_mcontext.gregs[REG_RSP];
}

/* The kernel's layout (arch/x86/include/uapi/asm/sigcontext.h): a 512-byte
 * fxsave area whose bytes 464.. (sw_reserved) say, with magic1, how large
 * the whole xsave area is; magic2 follows its end. */
void xs_arch_context_fpstate(const void *ucontext, uintptr_t *lo, uintptr_t *hi)
{
	const uint8_t *fp = (const uint8_t *)((const ucontext_t *)ucontext)->uc_mcontext.fpregs;
	*lo = *hi = 0;
	if (!fp)
		return;
	uint32_t magic1 = *(const volatile uint32_t *)(fp + 464);
	uint32_t ext = *(const volatile uint32_t *)(fp + 468);
	uintptr_t size = 512;
	if (magic1 == 0x46505853u && ext > 512 && ext <= 65536 &&
	    *(const volatile uint32_t *)(fp + ext - 4) == 0x46505845u)
		size = ext;
	*lo = (uintptr_t)fp;
	*hi = (uintptr_t)fp + size;
}
