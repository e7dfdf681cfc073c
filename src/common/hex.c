/* SPDX-License-Identifier: MIT */
/*
 * The one hex encoder of xsplice (build-ids in INFO, in error messages and
 * in `xsplice build-id`).
 *
 * Threading: a pure function on caller-owned memory; safe from any thread.
 */
#include "common/hex.h"

void xs_hex_encode(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}
