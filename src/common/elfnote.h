/* SPDX-License-Identifier: MIT */
/* A small bounded reader for an ELF file's NT_GNU_BUILD_ID note (not
 * installed): shared by the xsplice command and xsplice-build. */
#ifndef XS_COMMON_ELFNOTE_H
#define XS_COMMON_ELFNOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

/*
 * Read the GNU build-id of the ELF file at path into out (up to max bytes)
 * and its length into *n. Section headers are searched first (SHT_NOTE),
 * then program headers (PT_NOTE). -ENOENT/-EACCES: cannot open; -ENOEXEC:
 * not ELF or malformed; -ENODATA: no build-id note.
 */
int xs_file_build_id(const char *path, uint8_t *out, size_t max, size_t *n, struct xs_err *err);

/* The same on an ELF image in memory (what the file reader uses; fuzzable). */
int xs_mem_build_id(const uint8_t *img, size_t size, uint8_t *out, size_t max, size_t *n,
		    struct xs_err *err);

/* The same on the contents of one note section or segment (len bytes,
 * aligned to align, big-endian when msb): the first GNU build-id note. */
int xs_notes_build_id(const uint8_t *notes, size_t len, uint64_t align, bool msb, uint8_t *out,
		      size_t max, size_t *n, struct xs_err *err);

#endif
