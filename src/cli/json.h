/* SPDX-License-Identifier: MIT */
/* Minimal JSON string output for `xsplice --json`. */
#ifndef XS_CLI_JSON_H
#define XS_CLI_JSON_H

#include <stdio.h>

/* Write s as a JSON string literal (quotes included). Control characters
 * are escaped and bytes that are not valid UTF-8 become U+FFFD, so the
 * output is valid JSON whatever bytes a payload name or reason holds. */
void json_str(FILE *f, const char *s);

#endif
