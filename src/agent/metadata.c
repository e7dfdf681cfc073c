/* SPDX-License-Identifier: MIT */
/*
 * .modinfo of a payload (kernel-module style, kept by xsplice-build's
 * --description/--version or written with LIVEPATCH_MODINFO): strings
 * "key=value", each NUL-terminated, padding NULs allowed between them.
 * Read from the ELF image at upload (the section need not be SHF_ALLOC).
 * Threading: pure function of its arguments.
 */
#include "metadata.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"
#include "xsplice/livepatch.h"

static int store(char *dst, size_t cap, const char *key, const char *val, size_t len,
		 struct xs_err *err)
{
	if (len >= cap)
		return xs_fail(err, -EINVAL, LIVEPATCH_MODINFO_SECTION ": %s is %zu bytes, at most %zu",
			       key, len, cap - 1);
	memcpy(dst, val, len);
	dst[len] = '\0';
	return 0;
}

/* One .modinfo section's strings into md (a key seen again replaces). */
static int parse_section(const struct xs_elf_sec *s, struct xs_metadata *md, struct xs_err *err)
{
	if (!s->size)
		return 0;
	if (!s->data)
		return xs_fail(err, -EINVAL, LIVEPATCH_MODINFO_SECTION " has no contents");
	const char *p = (const char *)s->data, *end = p + s->size;
	while (p < end) {
		if (!*p) {
			p++;
			continue;
		}
		const char *z = memchr(p, '\0', (size_t)(end - p));
		if (!z)
			return xs_fail(err, -EINVAL, LIVEPATCH_MODINFO_SECTION
				       ": the last string is not NUL-terminated");
		const char *eq = memchr(p, '=', (size_t)(z - p));
		if (!eq || eq == p)
			return xs_fail(err, -EINVAL, LIVEPATCH_MODINFO_SECTION
				       ": \"%.40s\" is not key=value", p);
		/* Shown on terminals by list/info: an escape sequence (ESC, or
		 * the one-byte CSI U+009B) must not get there. */
		if (!xs_text_printable(p, (size_t)(z - p))) {
			size_t k = 0;
			while (p + k < eq && (unsigned char)p[k] >= 0x20 && (unsigned char)p[k] < 0x7f)
				k++;
			return xs_fail(err, -EINVAL, LIVEPATCH_MODINFO_SECTION
				       ": \"%.*s\" is not printable UTF-8 (a control character or an "
				       "invalid byte)", (int)k, p);
		}
		size_t klen = (size_t)(eq - p), vlen = (size_t)(z - eq - 1);
		int rc = 0;
		if (klen == 11 && !memcmp(p, "description", 11))
			rc = store(md->description, sizeof(md->description), "description", eq + 1,
				   vlen, err);
		else if (klen == 7 && !memcmp(p, "version", 7))
			rc = store(md->version, sizeof(md->version), "version", eq + 1, vlen, err);
		if (rc)
			return rc;
		p = z + 1;
	}
	return 0;
}

/* Every section of that name, in order: `ld -r` keeps the patch's own
 * LIVEPATCH_MODINFO strings (SHF_ALLOC) apart from xsplice-build's (not
 * allocated), and the tool's come last, so its --description wins. */
int xs_metadata_parse(const struct xs_elf *elf, struct xs_metadata *md, struct xs_err *err)
{
	memset(md, 0, sizeof(*md));
	for (unsigned i = 1; i < elf->nsecs; i++) {
		if (strcmp(elf->secs[i].name, LIVEPATCH_MODINFO_SECTION))
			continue;
		int rc = parse_section(&elf->secs[i], md, err);
		if (rc)
			return rc;
	}
	return 0;
}
