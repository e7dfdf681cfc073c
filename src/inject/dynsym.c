/* SPDX-License-Identifier: MIT */
/*
 * xs_dynsym_lookup (dynsym.h): one pass over .dynsym with libelf, the GNU
 * version table telling a default version (name@@V) from a hidden compat
 * one (name@V) so that the default wins.
 *
 * Threading: no state of its own.
 */
#include "dynsym.h"

#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <libelf.h>
#include <string.h>

int xs_dynsym_lookup(int fd, const char *const names[], uint64_t values[], size_t n,
		     struct xs_err *err)
{
	for (size_t i = 0; i < n; i++)
		values[i] = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return xs_fail(err, -ENOEXEC, "libelf: %s", elf_errmsg(-1));
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return xs_fail(err, -ENOEXEC, "libelf: %s", elf_errmsg(-1));
	Elf_Scn *scn = NULL, *dynsym = NULL, *versym = NULL;
	GElf_Shdr sh, dsh = { 0 };
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			dsh = sh;
		} else if (sh.sh_type == SHT_GNU_versym) {
			versym = scn;
		}
	}
	if (!dynsym) {
		elf_end(e);
		return xs_fail(err, -ENOEXEC, "no .dynsym section");
	}
	Elf_Data *d = elf_getdata(dynsym, NULL);
	Elf_Data *vd = versym ? elf_getdata(versym, NULL) : NULL;
	size_t count = dsh.sh_entsize ? dsh.sh_size / dsh.sh_entsize : 0;
	bool hidden_only[64] = { false };
	for (size_t k = 0; d && k < count; k++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)k, &s) || s.st_shndx == SHN_UNDEF || !s.st_value ||
		    GELF_ST_TYPE(s.st_info) != STT_FUNC)
			continue;
		const char *nm = elf_strptr(e, dsh.sh_link, s.st_name);
		if (!nm)
			continue;
		bool hidden = false;
		GElf_Versym v;
		if (vd && gelf_getversym(vd, (int)k, &v))
			hidden = (v & 0x8000) != 0;
		for (size_t i = 0; i < n && i < 64; i++) {
			if (strcmp(nm, names[i]) != 0)
				continue;
			if (!values[i] || (hidden_only[i] && !hidden)) {
				values[i] = s.st_value;
				hidden_only[i] = hidden;
			}
		}
	}
	elf_end(e);
	return 0;
}
