/* SPDX-License-Identifier: MIT */
/* Build-ids as the protocol and the tools print them: lowercase hex. */
#ifndef XS_COMMON_HEX_H
#define XS_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/* n bytes as 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void xs_hex_encode(const uint8_t *bytes, size_t n, char *out);

#endif
