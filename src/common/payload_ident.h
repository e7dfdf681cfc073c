/* SPDX-License-Identifier: MIT */
/*
 * What a payload file is, read cheaply: its own build-id and the build-id it
 * depends on, from a few bounded reads of its ELF header, section headers,
 * section names and the two notes. Nothing else of the file is read, so the
 * agent can sort out the payloads of a patch directory that concern its
 * process without loading any (the full checks are the loader's,
 * src/agent/elf.c and load.c, when a payload is loaded). Shared by the agent
 * and `xsplice install`; C library only. Not installed.
 *
 * Threading: no state; works on the caller's descriptor and structs.
 */
#ifndef XS_COMMON_PAYLOAD_IDENT_H
#define XS_COMMON_PAYLOAD_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"
#include "xsplice/protocol.h"

struct xs_payload_ident {
	uint8_t build_id[XS_BUILD_ID_MAX]; /* .note.gnu.build-id */
	size_t build_id_len;
	uint8_t depends[XS_BUILD_ID_MAX];  /* .livepatch.depends */
	size_t depends_len;
};

/*
 * Read the identity of the payload file open on fd (positioned reads; the
 * offset is not used). The file must look like a payload: ELF64 LSB x86-64
 * ET_REL with section headers inside the file, a non-empty .livepatch.funcs
 * whose size is a multiple of 64, and both notes. 0, or -ENOEXEC with a
 * reason naming what is missing or malformed (-EIO etc. for read errors).
 */
int xs_payload_ident_fd(int fd, struct xs_payload_ident *id, struct xs_err *err);

#endif
