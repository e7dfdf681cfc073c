/* SPDX-License-Identifier: MIT */
/* Build-ids as the protocol and the tools print them: lowercase hex. */
#ifndef XS_COMMON_HEX_H
#define XS_COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/* n bytes as 2n lowercase hex digits and a NUL into out (2n+1 bytes). */
void xs_hex_encode(const uint8_t *bytes, size_t n, char *out);
/* Hex digits (either case) into bytes: 0, -EINVAL (odd length or not hex)
 * or -ERANGE (more than out_max bytes); *n gets the byte count. */
int xs_hex_decode(const char *hex, uint8_t *out, size_t out_max, size_t *n);

#endif
