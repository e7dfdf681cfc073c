/* SPDX-License-Identifier: MIT */
/*
 * Text that is shown on an operator's terminal (payload descriptions and
 * versions): valid UTF-8 without control characters.
 * Threading: pure functions.
 */
#ifndef XSPLICE_COMMON_TEXT_H
#define XSPLICE_COMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* s[0, n) is well-formed UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF) holding no C0 or C1 control character and no DEL:
 * nothing in it can move a terminal's cursor or start an escape. */
bool xs_text_printable(const char *s, size_t n);

#endif
