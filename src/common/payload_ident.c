/* SPDX-License-Identifier: MIT */
/*
 * A payload's identity (own build-id, depends build-id) from positioned
 * reads of the file: the ELF header, the section header table, the section
 * name table and the two note sections, each bounded, so deciding that a
 * payload does not concern this process costs a few small reads and no
 * parse of the whole file. Every offset and size is checked against the
 * file's length in 64-bit arithmetic before it is read, so a truncated or
 * hostile file gives -ENOEXEC with a reason, never a crash.
 *
 * Threading: no state; callable from any thread.
 */
#include "common/payload_ident.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/elfnote.h"
#include "xsplice/livepatch.h"

/* Bounds that keep the work per file small whatever the file says. */
#define MAX_SECTIONS   65536u
#define MAX_SHSTRTAB   (1u << 20)
#define MAX_NOTE       4096u
/* The first bytes of the file are read at once: a hand-written payload
 * fits whole, and a large one has its ELF header and usually its build-id
 * note there, so most files cost one read. */
#define HEAD_SIZE      8192u

struct src {
	int fd;
	uint8_t head[HEAD_SIZE];
	uint64_t head_len;
};

static int read_at(struct src *sr, void *buf, uint64_t len, uint64_t off, struct xs_err *err,
		   const char *what)
{
	uint8_t *p = buf;
	uint64_t done = 0;
	if (off <= sr->head_len && len <= sr->head_len - off) {
		memcpy(buf, sr->head + off, len);
		return 0;
	}
	int fd = sr->fd;
	while (done < len) {
		ssize_t n = pread(fd, p + done, (size_t)(len - done), (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xs_fail(err, -errno, "cannot read the %s: %s", what, strerror(errno));
		if (n == 0)
			return xs_fail(err, -ENOEXEC, "the %s is truncated", what);
		done += (uint64_t)n;
	}
	return 0;
}

static bool in_file(uint64_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* The build-id note of section sh into out. */
static int read_note(struct src *sr, uint64_t fsize, const Elf64_Shdr *sh, const char *name,
		     uint8_t *out, size_t *n, struct xs_err *err)
{
	uint8_t buf[MAX_NOTE];
	int rc;

	if (sh->sh_type == SHT_NOBITS || sh->sh_size == 0)
		return xs_fail(err, -ENOEXEC, "section %s is empty", name);
	if (sh->sh_size > MAX_NOTE)
		return xs_fail(err, -ENOEXEC, "section %s is %llu bytes, at most %u allowed", name,
			       (unsigned long long)sh->sh_size, MAX_NOTE);
	if (!in_file(fsize, sh->sh_offset, sh->sh_size))
		return xs_fail(err, -ENOEXEC, "section %s runs past the end of the file", name);
	if ((rc = read_at(sr, buf, sh->sh_size, sh->sh_offset, err, name)))
		return rc;
	/* Notes are 4-byte padded (docs/payload-format.md), as the loader reads them. */
	rc = xs_notes_build_id(buf, (size_t)sh->sh_size, 4, false, out, XS_BUILD_ID_MAX, n, err);
	if (rc)
		return xs_fail_prefix(err, -ENOEXEC, "section %s", name);
	return 0;
}

/* A refusal once sr is allocated: through the exit that frees it. */
#define FAIL(...)                              \
	do {                                   \
		rc = xs_fail(__VA_ARGS__);     \
		goto out;                      \
	} while (0)

int xs_payload_ident_fd(int fd, struct xs_payload_ident *id, struct xs_err *err)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	struct src *sr = NULL;
	char *names = NULL;
	struct stat st;
	uint64_t fsize, shnum, shstrndx;
	int rc;

	memset(id, 0, sizeof(*id));
	if (fstat(fd, &st) < 0)
		return xs_fail(err, -errno, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return xs_fail(err, -ENOEXEC, "not a regular file");
	fsize = (uint64_t)st.st_size;
	if (fsize < sizeof(eh))
		return xs_fail(err, -ENOEXEC, "not an ELF file (%llu bytes)",
			       (unsigned long long)fsize);
	/* Not on the stack: this runs in the agent's constructor too, on
	 * whatever stack the program has. */
	if (!(sr = malloc(sizeof(*sr))))
		return xs_fail(err, -ENOMEM, "out of memory");
	sr->fd = fd;
	sr->head_len = 0;
	for (;;) {
		ssize_t n = pread(fd, sr->head, fsize < HEAD_SIZE ? (size_t)fsize : HEAD_SIZE, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = xs_fail(err, -errno, "cannot read the ELF header: %s", strerror(errno));
			goto out;
		}
		sr->head_len = (uint64_t)n;
		break;
	}
	if ((rc = read_at(sr, &eh, sizeof(eh), 0, err, "ELF header")))
		goto out;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		FAIL(err, -ENOEXEC, "not an ELF file");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		FAIL(err, -ENOEXEC, "not an x86-64 ELF64 little-endian object");
	if (eh.e_type != ET_REL)
		FAIL(err, -ENOEXEC, "ELF type %u, a payload is a relocatable object (ET_REL)",
		     eh.e_type);
	if (eh.e_shoff == 0 || eh.e_shentsize != sizeof(Elf64_Shdr))
		FAIL(err, -ENOEXEC, "no usable section header table");
	if (!in_file(fsize, eh.e_shoff, sizeof(Elf64_Shdr)))
		FAIL(err, -ENOEXEC, "section headers run past the end of the file");

	/* Extended numbering: counts too large for the header live in section 0. */
	Elf64_Shdr s0;
	if ((rc = read_at(sr, &s0, sizeof(s0), eh.e_shoff, err, "section header table")))
		goto out;
	shnum = eh.e_shnum ? eh.e_shnum : s0.sh_size;
	shstrndx = eh.e_shstrndx == SHN_XINDEX ? s0.sh_link : eh.e_shstrndx;
	if (shnum == 0 || shnum > MAX_SECTIONS)
		FAIL(err, -ENOEXEC, "%llu sections (1..%u allowed)",
		     (unsigned long long)shnum, MAX_SECTIONS);
	if (!in_file(fsize, eh.e_shoff, shnum * sizeof(Elf64_Shdr)))
		FAIL(err, -ENOEXEC, "section headers run past the end of the file");
	if (shstrndx == SHN_UNDEF || shstrndx >= shnum)
		FAIL(err, -ENOEXEC, "no section name table (index %llu)",
		     (unsigned long long)shstrndx);
	sh = malloc(shnum * sizeof(Elf64_Shdr));
	if (!sh)
		FAIL(err, -ENOMEM, "out of memory for %llu section headers",
		     (unsigned long long)shnum);
	if ((rc = read_at(sr, sh, shnum * sizeof(Elf64_Shdr), eh.e_shoff, err,
			  "section header table")))
		goto out;

	const Elf64_Shdr *ss = &sh[shstrndx];
	if (ss->sh_type != SHT_STRTAB || ss->sh_size == 0 || ss->sh_size > MAX_SHSTRTAB ||
	    !in_file(fsize, ss->sh_offset, ss->sh_size)) {
		rc = xs_fail(err, -ENOEXEC, "malformed section name table");
		goto out;
	}
	names = malloc(ss->sh_size + 1);
	if (!names) {
		rc = xs_fail(err, -ENOMEM, "out of memory for the section names");
		goto out;
	}
	if ((rc = read_at(sr, names, ss->sh_size, ss->sh_offset, err, "section name table")))
		goto out;
	names[ss->sh_size] = '\0'; /* a name running off the end stops here */

	const Elf64_Shdr *funcs = NULL, *bid = NULL, *dep = NULL;
	for (uint64_t i = 1; i < shnum; i++) {
		if (sh[i].sh_name >= ss->sh_size)
			continue;
		const char *nm = names + sh[i].sh_name;
		if (strcmp(nm, LIVEPATCH_FUNCS_SECTION) == 0)
			funcs = &sh[i];
		else if (strcmp(nm, LIVEPATCH_BUILD_ID_SECTION) == 0)
			bid = &sh[i];
		else if (strcmp(nm, LIVEPATCH_DEPENDS_SECTION) == 0)
			dep = &sh[i];
	}
	if (!funcs) {
		rc = xs_fail(err, -ENOEXEC, "no %s section: not a payload", LIVEPATCH_FUNCS_SECTION);
		goto out;
	}
	if (funcs->sh_type == SHT_NOBITS || funcs->sh_size == 0 ||
	    funcs->sh_size % sizeof(struct livepatch_func) ||
	    !in_file(fsize, funcs->sh_offset, funcs->sh_size)) {
		rc = xs_fail(err, -ENOEXEC, "section %s is empty, not a multiple of %zu bytes, or "
			     "past the end of the file", LIVEPATCH_FUNCS_SECTION,
			     sizeof(struct livepatch_func));
		goto out;
	}
	if (!bid) {
		rc = xs_fail(err, -ENOEXEC, "no %s section (the payload's build-id)",
			     LIVEPATCH_BUILD_ID_SECTION);
		goto out;
	}
	if (!dep) {
		rc = xs_fail(err, -ENOEXEC, "no %s section (the build-id it applies on)",
			     LIVEPATCH_DEPENDS_SECTION);
		goto out;
	}
	if ((rc = read_note(sr, fsize, bid, LIVEPATCH_BUILD_ID_SECTION, id->build_id,
			    &id->build_id_len, err)))
		goto out;
	rc = read_note(sr, fsize, dep, LIVEPATCH_DEPENDS_SECTION, id->depends, &id->depends_len,
		       err);
out:
	free(names);
	free(sh);
	free(sr);
	return rc;
}
