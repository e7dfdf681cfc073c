/* SPDX-License-Identifier: MIT */
/* The build-id a payload depends on (its .livepatch.depends note). */
#ifndef XS_CLI_DEPENDS_H
#define XS_CLI_DEPENDS_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

/* The depends build-id of the payload image img (len bytes) into out (up
 * to max bytes), its length into *n. -ENOEXEC: not ELF; -ENODATA: no
 * .livepatch.depends (not a payload). */
int xs_payload_depends(const uint8_t *img, size_t len, uint8_t *out, size_t max, size_t *n,
		       struct xs_err *err);

#endif
