/* SPDX-License-Identifier: MIT */
/*
 * .livepatch.funcs validation: each entry of a loaded payload checked
 * (version, opaque, sizes, expectations inside old_size, the old function
 * in the target's text, new code inside one executable section of the
 * payload) and turned into agent-owned struct xs_func with its trampoline.
 * Refusals are listed in docs/payload-format.md.
 * Threading: runs on the control thread during UPLOAD, table locked; no
 * state of its own.
 */
#include "funcs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry's name: a pointer into the payload, NUL-terminated in it. */
static int entry_name(const struct xs_loaded *ld, const struct livepatch_func *f, unsigned i,
		      char *out, struct xs_err *err)
{
	out[0] = '\0';
	if (!f->name)
		return 0;
	uintptr_t p = (uintptr_t)f->name;
	for (size_t n = 0; n < XS_NAME_SIZE; n++) {
		if (!xs_loaded_contains(ld, p + n, 1))
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u: name pointer is outside the payload", i);
		char c = ((const char *)p)[n];
		out[n] = c;
		if (!c)
			return 0;
	}
	return xs_fail(err, -ENAMETOOLONG, ".livepatch.funcs entry %u: name longer than %d bytes", i,
		       XS_NAME_SIZE - 1);
}

static int check_opaque(const struct livepatch_func *f, unsigned i, const char *name,
			struct xs_err *err)
{
	if (f->version == LIVEPATCH_PAYLOAD_VERSION) {
		for (unsigned k = 0; k < LIVEPATCH_OPAQUE_SIZE; k++)
			if (f->opaque[k])
				return xs_fail(err, -EINVAL,
					       ".livepatch.funcs entry %u (%s): opaque byte %u is not zero",
					       i, name, k);
		return 0;
	}
	if (f->version == LIVEPATCH_PAYLOAD_VERSION_2) {
		if (f->v2.flags & ~LIVEPATCH_FUNC_FLAGS_KNOWN)
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u (%s): unknown flags 0x%x", i, name,
				       f->v2.flags);
		if (f->v2.expect_len > LIVEPATCH_EXPECT_MAX)
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u (%s): expect_len %u > %u", i, name,
				       f->v2.expect_len, LIVEPATCH_EXPECT_MAX);
		for (unsigned k = 0; k < sizeof(f->v2.reserved); k++)
			if (f->v2.reserved[k])
				return xs_fail(err, -EINVAL,
					       ".livepatch.funcs entry %u (%s): reserved byte %u is not zero",
					       i, name, k);
		return 0;
	}
	return xs_fail(err, -EINVAL, ".livepatch.funcs entry %u (%s): version %u is not supported "
		       "(1 or 2)", i, name, f->version);
}

/* Symbol names match if equal up to a version suffix ("foo@@GLIBC_2.2"). */
static bool same_symbol(const char *a, const char *b)
{
	size_t la = strcspn(a, "@"), lb = strcspn(b, "@");
	return la == lb && strncmp(a, b, la) == 0;
}

static int prepare_one(const struct xs_loaded *ld, struct xs_object *target, unsigned i,
		       struct xs_func *out, struct xs_err *err)
{
	const struct livepatch_func *f = &ld->funcs[i];
	char *name = out->name;
	int rc = entry_name(ld, f, i, name, err);
	if (rc)
		return rc;
	const char *shown = name[0] ? name : "?";
	rc = check_opaque(f, i, shown, err);
	if (rc)
		return rc;
	if (f->version == LIVEPATCH_PAYLOAD_VERSION_2) {
		if (f->v2.expect_len > f->old_size)
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u (%s): expect_len %u is larger than "
				       "old_size %u (the expected bytes must lie inside the old function)",
				       i, shown, f->v2.expect_len, f->old_size);
		out->flags = f->v2.flags;
		out->expect_len = f->v2.expect_len;
		memcpy(out->expect, f->v2.expect, f->v2.expect_len);
	}
	if (f->old_size == 0)
		return xs_fail(err, -EINVAL, ".livepatch.funcs entry %u (%s): old_size is zero", i,
			       shown);

	/* Old function: link-time address + bias, a relocated (absolute)
	 * address, or found by name. */
	uintptr_t old_rt;
	if (!f->old_addr) {
		if (!name[0])
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u: neither old_addr nor name is set", i);
		rc = xs_object_lookup(target, name, &old_rt, NULL, err);
		if (rc)
			return xs_fail_prefix(err, rc, ".livepatch.funcs entry %u", i);
	} else if (ld->old_addr_relocated[i]) {
		old_rt = (uintptr_t)f->old_addr;
	} else {
		old_rt = (uintptr_t)f->old_addr + target->bias;
	}
	if (old_rt < target->text_lo || old_rt >= target->text_hi ||
	    f->old_size > target->text_hi - old_rt)
		return xs_fail(err, -EINVAL,
			       ".livepatch.funcs entry %u (%s): old function 0x%lx+%u is not inside "
			       "the text of %s", i, shown, (unsigned long)old_rt, f->old_size,
			       target->path);

	const char *symname = NULL;
	uint64_t symsize = 0, room = 0;
	rc = xs_object_symbol_extent(target, old_rt - target->bias, &symname, &symsize, &room, err);
	if (rc == -ENOENT && name[0] && !ld->old_addr_relocated[i] &&
	    !xs_object_has_full_symtab(target)) {
		/* A stripped target (no .symtab, no debug file): old_addr and
		 * old_size are the target's own link-time values, which the
		 * build tool read from the debug file or the unstripped build,
		 * and the payload was accepted for this object by its build-id.
		 * Trust them; no padding past old_size is used. */
		symname = name;
		symsize = room = f->old_size;
		rc = 0;
	}
	if (rc)
		return xs_fail_prefix(err, rc, ".livepatch.funcs entry %u (%s)", i, shown);
	if (name[0] && symname && !same_symbol(name, symname) &&
	    !xs_object_symbol_named_at(target, old_rt - target->bias, name))
		return xs_fail(err, -EINVAL,
			       ".livepatch.funcs entry %u: old_addr is the start of %s, but the entry "
			       "names %s (payload built for another binary?)", i, symname, name);
	if (f->old_size > room)
		return xs_fail(err, -EINVAL,
			       ".livepatch.funcs entry %u (%s): old_size %u is larger than the function "
			       "(%llu bytes plus padding up to %llu)", i, shown, f->old_size,
			       (unsigned long long)symsize, (unsigned long long)room);
	if (!name[0] && symname)
		snprintf(name, XS_NAME_SIZE, "%s", symname);

	uintptr_t new_rt = (uintptr_t)f->new_addr;
	if (new_rt) {
		if (f->new_size == 0)
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u (%s): new_size is zero but new_addr is "
				       "set", i, shown);
		if (!xs_loaded_contains(ld, new_rt, f->new_size))
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u (%s): new function 0x%lx+%u is not "
				       "inside the payload", i, shown, (unsigned long)new_rt, f->new_size);
		if (!xs_loaded_in_exec(ld, new_rt, f->new_size))
			return xs_fail(err, -EINVAL,
				       ".livepatch.funcs entry %u (%s): new function 0x%lx+%u is not "
				       "inside one executable section of the payload (new_addr must "
				       "point at code, new_size must not run past its section)", i,
				       shown, (unsigned long)new_rt, f->new_size);
	} else if (f->new_size == 0 || f->new_size > f->old_size) {
		return xs_fail(err, -EINVAL,
			       ".livepatch.funcs entry %u (%s): NOP-out needs 0 < new_size <= old_size",
			       i, shown);
	}
	if (!new_rt && f->new_size > XS_ARCH_PATCH_MAX)
		return xs_fail(err, -E2BIG,
			       ".livepatch.funcs entry %u (%s): NOP-out of %u bytes; at most %d", i,
			       shown, f->new_size, XS_ARCH_PATCH_MAX);

	/* A function that starts with endbr64 (-fcf-protection) keeps it: the
	 * trampoline goes after it, so an indirect call into the old address
	 * still lands on an endbr64 (IBT) and the jump is the next
	 * instruction. Only when the rest has room for a jump. */
	size_t off = new_rt ? xs_arch_endbr_skip(old_rt, f->old_size) : 0;
	size_t len = 0;
	rc = xs_arch_trampoline(old_rt + off, new_rt, new_rt ? f->old_size - off : f->new_size,
				out->patch, &len, err);
	if (rc)
		return xs_fail_prefix(err, rc, ".livepatch.funcs entry %u (%s)", i, shown);
	if (len > XS_ARCH_PATCH_MAX || len + off > f->old_size)
		return xs_fail(err, -ERANGE, ".livepatch.funcs entry %u (%s): trampoline too long", i,
			       shown);
	out->patch_off = (uint8_t)off;
	out->patch_len = (uint8_t)len;
	out->old_addr = old_rt;
	out->new_addr = new_rt;
	out->old_size = f->old_size;
	out->new_size = f->new_size;
	return 0;
}

int xs_funcs_prepare(const struct xs_loaded *ld, struct xs_object *target, struct xs_func **funcs,
		     unsigned *nfuncs, struct xs_err *err)
{
	struct xs_func *fs = calloc(ld->nfuncs ? ld->nfuncs : 1, sizeof(*fs));
	if (!fs)
		return xs_fail(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < ld->nfuncs; i++) {
		int rc = prepare_one(ld, target, i, &fs[i], err);
		if (rc) {
			free(fs);
			return rc;
		}
		/* Two entries patching the same function would fight. */
		for (unsigned j = 0; j < i; j++)
			if (xs_func_patch_addr(&fs[j]) < xs_func_patch_addr(&fs[i]) + fs[i].patch_len &&
			    xs_func_patch_addr(&fs[i]) < xs_func_patch_addr(&fs[j]) + fs[j].patch_len) {
				int r = xs_fail(err, -EINVAL,
						".livepatch.funcs entries %u (%s) and %u (%s) overlap", j,
						fs[j].name, i, fs[i].name);
				free(fs);
				return r;
			}
	}
	*funcs = fs;
	*nfuncs = ld->nfuncs;
	return 0;
}
