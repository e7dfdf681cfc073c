/* SPDX-License-Identifier: MIT */
/* Printable UTF-8 (text.h). */
#include "common/text.h"

#include <stdint.h>

bool xs_text_printable(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p++;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			continue;
		}
		unsigned len, min;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false; /* a continuation byte first, 0xc0/0xc1, 0xf5.. */
		}
		if ((size_t)(end - p) < len)
			return false;
		for (unsigned i = 0; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		p += len;
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if (cp >= 0x80 && cp <= 0x9f) /* C1 controls: CSI is U+009B */
			return false;
	}
	return true;
}
