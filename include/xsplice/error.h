/* SPDX-License-Identifier: MIT */
/* A human-readable reason that travels with a negative errno up to the user. */
#ifndef XS_ERROR_H
#define XS_ERROR_H

#include <stddef.h>

#define XS_REASON_SIZE 512

struct xs_err {
	char msg[XS_REASON_SIZE];
};

/* Record a reason (printf-style) and return rc (a negative errno) so callers
 * can write `return xs_fail(err, -EINVAL, "bad %s", x);`. err may be NULL. */
int xs_fail(struct xs_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing reason with more context: "ctx: old reason". */
int xs_fail_prefix(struct xs_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "EBUSY" for -EBUSY or EBUSY; "E?" for unknown. */
const char *xs_errno_name(int rc);

#endif
