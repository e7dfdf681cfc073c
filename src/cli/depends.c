/* SPDX-License-Identifier: MIT */
/*
 * What a payload file sits on: the build-id in its .livepatch.depends note
 * (DESIGN.md §3), read with libelf from the bytes the CLI uploads, so
 * `load --all FILE` finds the processes that map that object.
 *
 * Threading: libelf's elf_memory on a private buffer; no shared state.
 */
#include "cli/depends.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "common/elfnote.h"
#include "xsplice/livepatch.h"

int xs_payload_depends(const uint8_t *img, size_t len, uint8_t *out, size_t max, size_t *n,
		       struct xs_err *err)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return xs_fail(err, -ENOEXEC, "libelf: %s", elf_errmsg(-1));
	/* elf_memory wants a writable pointer; ELF_C_READ_MMAP never writes. */
	Elf *e = elf_memory((char *)(uintptr_t)img, len);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		return xs_fail(err, -ENOEXEC, "not an ELF file");
	}
	size_t shstrndx;
	int rc = xs_fail(err, -ENODATA, "no %s section: not a payload",
			 LIVEPATCH_DEPENDS_SECTION);
	if (elf_getshdrstrndx(e, &shstrndx)) {
		rc = xs_fail(err, -ENOEXEC, "no section names: %s", elf_errmsg(-1));
		goto out;
	}
	for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(s, &sh))
			continue;
		const char *nm = elf_strptr(e, shstrndx, sh.sh_name);
		if (!nm || strcmp(nm, LIVEPATCH_DEPENDS_SECTION))
			continue;
		Elf_Data *d = elf_getdata(s, NULL);
		if (!d || !d->d_buf || sh.sh_type == SHT_NOBITS) {
			rc = xs_fail(err, -ENOEXEC, "%s is empty", LIVEPATCH_DEPENDS_SECTION);
			goto out;
		}
		GElf_Ehdr eh;
		bool msb = gelf_getehdr(e, &eh) && eh.e_ident[EI_DATA] == ELFDATA2MSB;
		rc = xs_notes_build_id(d->d_buf, d->d_size, sh.sh_addralign ? sh.sh_addralign : 4,
				       msb, out, max, n, err);
		if (rc)
			xs_fail_prefix(err, rc, "%s", LIVEPATCH_DEPENDS_SECTION);
		goto out;
	}
out:
	elf_end(e);
	return rc;
}
