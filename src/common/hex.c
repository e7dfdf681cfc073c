/* SPDX-License-Identifier: MIT */
/*
 * The one hex encoder of xsplice (build-ids in INFO, in error messages and
 * in `xsplice build-id`).
 *
 * Threading: a pure function on caller-owned memory; safe from any thread.
 */
#include "common/hex.h"

#include <errno.h>
#include <string.h>

void xs_hex_encode(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int xs_hex_decode(const char *hex, uint8_t *out, size_t out_max, size_t *n)
{
	size_t len = strlen(hex);
	if (len % 2)
		return -EINVAL;
	if (len / 2 > out_max)
		return -ERANGE;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}
