/* SPDX-License-Identifier: MIT */
/*
 * Bounded ELF note reader: the GNU build-id of a file, for `xsplice build-id
 * FILE` and for xsplice-build (the running binary, a payload's notes). It
 * works on the whole file mapped read-only and checks every offset and size
 * against the file's length in 64-bit arithmetic before touching it, so a
 * truncated or hostile file gives -ENOEXEC instead of a crash. Both classes
 * and byte orders are understood, since a build-id is worth showing for any
 * ELF file. No state: callable from any thread.
 */
#include "common/elfnote.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct img {
	const uint8_t *p;
	uint64_t size;
	int is64, msb;
};

static uint64_t rd(const struct img *im, uint64_t off, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < width; i++) {
		unsigned shift = im->msb ? 8 * (width - 1 - i) : 8 * i;
		v |= (uint64_t)im->p[off + i] << shift;
	}
	return v;
}

static int in_file(const struct img *im, uint64_t off, uint64_t len)
{
	return off <= im->size && len <= im->size - off;
}

/* Walk the notes in [off, off+len); 0 and the id when found, else -ENODATA. */
static int scan_notes(const struct img *im, uint64_t off, uint64_t len, uint64_t align,
		      uint8_t *out, size_t max, size_t *n, struct xs_err *err)
{
	uint64_t pos = 0;
	align = align == 8 ? 8 : 4;
	while (len - pos >= 12) {
		uint64_t namesz = rd(im, off + pos, 4);
		uint64_t descsz = rd(im, off + pos + 4, 4);
		uint64_t type = rd(im, off + pos + 8, 4);
		uint64_t name_off = pos + 12;
		/* Padding aligns offsets (from the aligned section start), not sizes:
		 * with 8-byte alignment the 12-byte header + "GNU\0" needs none. */
		uint64_t desc_off = (name_off + namesz + align - 1) & ~(align - 1);
		uint64_t next = (desc_off + descsz + align - 1) & ~(align - 1);
		/* namesz/descsz are < 2^32, so these sums cannot wrap. */
		if (desc_off > len || descsz > len - desc_off)
			return xs_fail(err, -ENOEXEC, "note at offset 0x%llx runs past its section",
				       (unsigned long long)(off + pos));
		if (type == NT_GNU_BUILD_ID && namesz == 4 &&
		    memcmp(im->p + off + name_off, "GNU", 4) == 0) {
			if (descsz == 0 || descsz > max)
				return xs_fail(err, -ENOEXEC, "build-id note of %llu bytes (1..%zu allowed)",
					       (unsigned long long)descsz, max);
			memcpy(out, im->p + off + desc_off, descsz);
			*n = descsz;
			return 0;
		}
		if (next > len)
			break;
		pos = next;
	}
	return -ENODATA;
}

int xs_notes_build_id(const uint8_t *notes, size_t len, uint64_t align, bool msb, uint8_t *out,
		      size_t max, size_t *n, struct xs_err *err)
{
	struct img im = { .p = notes, .size = len, .msb = msb };
	int rc = scan_notes(&im, 0, len, align, out, max, n, err);
	if (rc == -ENODATA)
		return xs_fail(err, rc, "no GNU build-id note");
	return rc;
}

int xs_mem_build_id(const uint8_t *p, size_t size, uint8_t *out, size_t max, size_t *n,
		    struct xs_err *err)
{
	struct img im = { .p = p, .size = size };

	if (size < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG) != 0)
		return xs_fail(err, -ENOEXEC, "not an ELF file");
	if (p[EI_CLASS] != ELFCLASS32 && p[EI_CLASS] != ELFCLASS64)
		return xs_fail(err, -ENOEXEC, "unknown ELF class %u", p[EI_CLASS]);
	if (p[EI_DATA] != ELFDATA2LSB && p[EI_DATA] != ELFDATA2MSB)
		return xs_fail(err, -ENOEXEC, "unknown ELF data encoding %u", p[EI_DATA]);
	im.is64 = p[EI_CLASS] == ELFCLASS64;
	im.msb = p[EI_DATA] == ELFDATA2MSB;
	uint64_t ehsize = im.is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (size < ehsize)
		return xs_fail(err, -ENOEXEC, "ELF header truncated");

	unsigned w = im.is64 ? 8 : 4; /* address/offset width */
	uint64_t phoff = rd(&im, im.is64 ? 32 : 28, w);
	uint64_t shoff = rd(&im, im.is64 ? 40 : 32, w);
	uint64_t e = im.is64 ? 54 : 42; /* e_phentsize */
	uint64_t phentsize = rd(&im, e, 2), phnum = rd(&im, e + 2, 2);
	uint64_t shentsize = rd(&im, e + 4, 2), shnum = rd(&im, e + 6, 2);
	uint64_t sh_min = im.is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	uint64_t ph_min = im.is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	int rc;

	if (shoff && shentsize >= sh_min && in_file(&im, shoff, sh_min)) {
		/* Extended numbering: the real count is in section 0's sh_size. */
		if (shnum == 0)
			shnum = rd(&im, shoff + (im.is64 ? 32 : 20), w);
		if (shnum > im.size / shentsize)
			return xs_fail(err, -ENOEXEC, "%llu section headers do not fit in the file",
				       (unsigned long long)shnum);
		if (!in_file(&im, shoff, shnum * shentsize))
			return xs_fail(err, -ENOEXEC, "section headers run past the end of the file");
		for (uint64_t i = 0; i < shnum; i++) {
			uint64_t s = shoff + i * shentsize;
			if (rd(&im, s + 4, 4) != SHT_NOTE)
				continue;
			uint64_t off = rd(&im, s + (im.is64 ? 24 : 16), w);
			uint64_t len = rd(&im, s + (im.is64 ? 32 : 20), w);
			uint64_t align = rd(&im, s + (im.is64 ? 48 : 32), w);
			if (!in_file(&im, off, len))
				return xs_fail(err, -ENOEXEC, "note section %llu runs past the end of the file",
					       (unsigned long long)i);
			rc = scan_notes(&im, off, len, align, out, max, n, err);
			if (rc != -ENODATA)
				return rc;
		}
	}
	if (phoff && phentsize >= ph_min && phnum && phnum <= im.size / phentsize &&
	    in_file(&im, phoff, phnum * phentsize)) {
		for (uint64_t i = 0; i < phnum; i++) {
			uint64_t ph = phoff + i * phentsize;
			if (rd(&im, ph, 4) != PT_NOTE)
				continue;
			uint64_t off = rd(&im, ph + (im.is64 ? 8 : 4), w);
			uint64_t len = rd(&im, ph + (im.is64 ? 32 : 16), w);
			uint64_t align = rd(&im, ph + (im.is64 ? 48 : 28), w);
			if (!in_file(&im, off, len))
				return xs_fail(err, -ENOEXEC, "note segment %llu runs past the end of the file",
					       (unsigned long long)i);
			rc = scan_notes(&im, off, len, align, out, max, n, err);
			if (rc != -ENODATA)
				return rc;
		}
	}
	return xs_fail(err, -ENODATA, "no GNU build-id note");
}

int xs_file_build_id(const char *path, uint8_t *out, size_t max, size_t *n, struct xs_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xs_fail(err, -errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return xs_fail(err, -e, "cannot stat %s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return xs_fail(err, -ENOEXEC, "%s is not a regular file", path);
	}
	if (st.st_size < EI_NIDENT) {
		close(fd);
		return xs_fail(err, -ENOEXEC, "%s: not an ELF file (%lld bytes)", path,
			       (long long)st.st_size);
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = errno;
	close(fd);
	if (m == MAP_FAILED)
		return xs_fail(err, -e, "cannot map %s: %s", path, strerror(e));
	int rc = xs_mem_build_id(m, (size_t)st.st_size, out, max, n, err);
	munmap(m, (size_t)st.st_size);
	if (rc)
		return xs_fail_prefix(err, rc, "%s", path);
	return 0;
}
