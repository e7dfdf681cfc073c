/* SPDX-License-Identifier: MIT */
/*
 * What xsplice-build adds beyond changed functions (docs/build.md, "Hooks,
 * shadow variables, metadata, expectations"):
 *  - the sections a source patch adds with the LIVEPATCH_*_HOOK and
 *    LIVEPATCH_MODINFO macros (include/xsplice/livepatch.h) are kept in the
 *    payload, with what they reference;
 *  - expectations: each .livepatch.funcs entry carries the first bytes of
 *    the old function as the target binary has them, which the agent
 *    compares before writing (a payload built for other code, or a function
 *    someone else patched, is refused: nothing written).
 * Single-threaded, like the rest of src/build.
 */
#include "build.h"

#include <errno.h>
#include <string.h>

#include "xsplice/livepatch.h"

bool xb_is_payload_section(const char *name)
{
	return !strncmp(name, ".livepatch.hooks.", 17) || !strcmp(name, LIVEPATCH_MODINFO_SECTION);
}

/* The bytes [addr, addr + len) of the file's allocated, non-NOBITS
 * sections (link-time addresses). */
static int read_at(Elf *elf, uint64_t addr, uint8_t *out, size_t len)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS)
			continue;
		if (addr < sh.sh_addr || addr - sh.sh_addr > sh.sh_size ||
		    len > sh.sh_size - (addr - sh.sh_addr))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size < sh.sh_size)
			return -EIO;
		memcpy(out, (const uint8_t *)d->d_buf + (addr - sh.sh_addr), len);
		return 0;
	}
	return -ENOENT;
}

int xb_fill_expectations(struct xb_target *t, struct xb_result *r, struct xs_err *err)
{
	for (size_t i = 0; i < r->nfuncs; i++) {
		struct xb_func *f = &r->funcs[i];
		size_t len = f->old_size < XB_EXPECT_LEN ? (size_t)f->old_size : XB_EXPECT_LEN;
		int rc = read_at(t->elf, f->old_addr, f->expect, len);
		if (rc)
			return xs_fail(err, rc,
				       "expectations: cannot read the first %zu bytes of %s at %#llx in "
				       "%s (use --no-expect)",
				       len, f->name, (unsigned long long)f->old_addr, t->path);
		f->expect_len = (uint8_t)len;
	}
	return 0;
}
