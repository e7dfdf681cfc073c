/* SPDX-License-Identifier: MIT */
/* `xsplice-build --dump PAYLOAD`: what a payload holds, one fact a line,
 * for people and for the tests.
 * Threading: single-threaded, like all of xsplice-build (build.h).
 */
#include "build.h"
#include "common/reloc_names.h"
#include "common/elfnote.h"
#include "xsplice/livepatch.h"
#include "common/hex.h"
#include "xsplice/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "label: HEX" for the build-id note in a note section, nothing without one. */
static void print_build_id(const char *label, const GElf_Ehdr *eh, Elf_Scn *scn,
			   const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	uint8_t id[XS_BUILD_ID_MAX];
	char hex[2 * XS_BUILD_ID_MAX + 1];
	size_t len;
	if (!d || !d->d_buf ||
	    xs_notes_build_id(d->d_buf, d->d_size, sh->sh_addralign,
			      eh->e_ident[EI_DATA] == ELFDATA2MSB, id, sizeof(id), &len, NULL))
		return;
	xs_hex_encode(id, len, hex);
	printf("%s: %s\n", label, hex);
}

int xb_dump(const char *path, struct xs_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xs_fail(err, -errno, "%s: %s", path, strerror(errno));
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	size_t shstrndx, nsec;
	int rc = 0;
	if (!e || !gelf_getehdr(e, &eh) || elf_getshdrstrndx(e, &shstrndx) ||
	    elf_getshdrnum(e, &nsec)) {
		rc = xs_fail(err, -EINVAL, "%s: not an ELF file", path);
		goto out;
	}
	printf("payload: %s\n", path);
	printf("type: %s\n", eh.e_type == ET_REL ? "ET_REL" : "other");
	Elf_Scn *symscn = NULL, *funcs = NULL;
	size_t funcs_idx = 0;
	GElf_Shdr symsh = { 0 };
	for (size_t i = 1; i < nsec; i++) {
		Elf_Scn *scn = elf_getscn(e, i);
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		const char *n = elf_strptr(e, shstrndx, sh.sh_name);
		if (!n)
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symsh = sh;
		}
		if (sh.sh_type != SHT_RELA && sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_STRTAB)
			printf("section: %s size=%llu flags=%s%s%s\n", n,
			       (unsigned long long)sh.sh_size, sh.sh_flags & SHF_ALLOC ? "A" : "",
			       sh.sh_flags & SHF_WRITE ? "W" : "",
			       sh.sh_flags & SHF_EXECINSTR ? "X" : "");
		if (!strcmp(n, LIVEPATCH_BUILD_ID_SECTION))
			print_build_id("build-id", &eh, scn, &sh);
		if (!strcmp(n, LIVEPATCH_DEPENDS_SECTION))
			print_build_id("depends", &eh, scn, &sh);
		if (!strcmp(n, LIVEPATCH_FUNCS_SECTION)) {
			funcs = scn;
			funcs_idx = i;
		}
		if (!strcmp(n, LIVEPATCH_SYMBOLS_SECTION)) {
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t off = 0;
			while (d && off + sizeof(struct livepatch_symbol) <= d->d_size) {
				struct livepatch_symbol ls;
				memcpy(&ls, (char *)d->d_buf + off, sizeof(ls));
				if (off + sizeof(ls) + ls.name_len > d->d_size)
					break;
				printf("symbol: %.*s addr=0x%llx size=%u flags=%u\n", (int)ls.name_len,
				       (char *)d->d_buf + off + sizeof(ls), (unsigned long long)ls.addr,
				       ls.size, ls.flags);
				off += (sizeof(ls) + ls.name_len + 7) & ~(size_t)7;
			}
		}
		if (!strcmp(n, ".modinfo")) {
			Elf_Data *d = elf_getdata(scn, NULL);
			/* every key=value string, NUL padding skipped */
			for (size_t o = 0; d && d->d_buf && o < d->d_size;) {
				const char *str = (const char *)d->d_buf + o;
				size_t l = strnlen(str, d->d_size - o);
				if (l)
					printf("modinfo: %.*s\n", (int)l, str);
				o += l + 1;
			}
		}
	}
	if (!symscn)
		goto out;
	Elf_Data *sd = elf_getdata(symscn, NULL);
	size_t nsym = symsh.sh_size / sizeof(Elf64_Sym);
	for (size_t i = 1; i < nsym; i++) {
		GElf_Sym s;
		gelf_getsym(sd, (int)i, &s);
		if (s.st_shndx != SHN_UNDEF)
			continue;
		const char *types[] = { "NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE", "COMMON", "TLS" };
		unsigned t = GELF_ST_TYPE(s.st_info);
		printf("undef: %s %s\n", elf_strptr(e, symsh.sh_link, s.st_name),
		       t < 7 ? types[t] : "?");
	}
	/* Relocation types used, and the funcs entries with their relocations. */
	unsigned counts[64] = { 0 };
	for (size_t i = 1; i < nsec; i++) {
		Elf_Scn *scn = elf_getscn(e, i);
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_RELA)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_size / sizeof(Elf64_Rela);
		for (size_t k = 0; k < n; k++) {
			GElf_Rela r;
			gelf_getrela(d, (int)k, &r);
			unsigned t = (unsigned)GELF_R_TYPE(r.r_info);
			if (t < 64)
				counts[t]++;
		}
	}
	for (unsigned t = 0; t < 64; t++)
		if (counts[t])
			printf("reloc: %s %u\n", xs_reloc_name_x86_64(t), counts[t]);
	if (!funcs)
		goto out;
	Elf_Data *fd_ = elf_getdata(funcs, NULL);
	size_t nf = fd_ ? fd_->d_size / sizeof(struct livepatch_func) : 0;
	char **names = xb_calloc(nf, sizeof(char *)), **news = xb_calloc(nf, sizeof(char *));
	for (size_t i = 1; i < nsec; i++) {
		Elf_Scn *scn = elf_getscn(e, i);
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_RELA || sh.sh_info != funcs_idx)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = sh.sh_size / sizeof(Elf64_Rela);
		for (size_t k = 0; k < n; k++) {
			GElf_Rela r;
			GElf_Sym s;
			gelf_getrela(d, (int)k, &r);
			gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &s);
			size_t ent = r.r_offset / sizeof(struct livepatch_func);
			size_t field = r.r_offset % sizeof(struct livepatch_func);
			if (ent >= nf)
				continue;
			if (field == offsetof(struct livepatch_func, name)) {
				Elf_Scn *ss = elf_getscn(e, s.st_shndx);
				Elf_Data *sdd = ss ? elf_getdata(ss, NULL) : NULL;
				uint64_t o = s.st_value + (uint64_t)r.r_addend;
				if (sdd && o < sdd->d_size)
					names[ent] = xb_strdup((char *)sdd->d_buf + o);
			} else if (field == offsetof(struct livepatch_func, new_addr)) {
				const char *sn = elf_strptr(e, symsh.sh_link, s.st_name);
				news[ent] = xb_asprintf("%s%+lld", sn ? sn : "?", (long long)r.r_addend);
			} else if (field == offsetof(struct livepatch_func, old_addr)) {
				printf("warning: entry %zu: old_addr has a relocation\n", ent);
			}
		}
	}
	for (size_t k = 0; k < nf; k++) {
		struct livepatch_func f;
		memcpy(&f, (char *)fd_->d_buf + k * sizeof(f), sizeof(f));
		printf("func: %s old_addr=0x%llx old_size=%u new_size=%u new=%s version=%u",
		       names[k] ? names[k] : "?", (unsigned long long)(uintptr_t)f.old_addr,
		       f.old_size, f.new_size, news[k] ? news[k] : "0", f.version);
		if (f.version == LIVEPATCH_PAYLOAD_VERSION_2 && f.v2.expect_len &&
		    f.v2.expect_len <= LIVEPATCH_EXPECT_MAX) {
			printf(" expect=");
			for (unsigned b = 0; b < f.v2.expect_len; b++)
				printf("%02x", f.v2.expect[b]);
		}
		putchar('\n');
		free(names[k]);
		free(news[k]);
	}
	free(names);
	free(news);
out:
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}
