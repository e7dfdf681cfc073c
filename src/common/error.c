/* SPDX-License-Identifier: MIT */
/*
 * struct xs_err: the human-readable reason that travels with a negative
 * errno (xs_fail, xs_fail_prefix), and errno names for messages.
 *
 * Threading: no shared state; each call writes only the caller's struct
 * xs_err, and xs_errno_name returns constant strings. Safe from any thread.
 */
#include "xsplice/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int xs_fail(struct xs_err *err, int rc, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

int xs_fail_prefix(struct xs_err *err, int rc, const char *fmt, ...)
{
	if (err) {
		char prefix[XS_REASON_SIZE];
		char old[XS_REASON_SIZE];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(prefix, sizeof(prefix), fmt, ap);
		va_end(ap);
		memcpy(old, err->msg, sizeof(old));
		old[sizeof(old) - 1] = '\0';
		/* Truncation is fine for a message; build it piecewise. */
		size_t n = strnlen(prefix, sizeof(err->msg) - 1);
		memcpy(err->msg, prefix, n);
		if (old[0] && n + 2 < sizeof(err->msg)) {
			err->msg[n++] = ':';
			err->msg[n++] = ' ';
			size_t m = strnlen(old, sizeof(err->msg) - 1 - n);
			memcpy(err->msg + n, old, m);
			n += m;
		}
		err->msg[n] = '\0';
	}
	return rc;
}

const char *xs_errno_name(int rc)
{
	static const struct { int no; const char *name; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
		{ EINTR, "EINTR" }, { EIO, "EIO" }, { E2BIG, "E2BIG" },
		{ ENOEXEC, "ENOEXEC" }, { EBADF, "EBADF" }, { EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { EXDEV, "EXDEV" },
		{ ENODEV, "ENODEV" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },
		{ ERANGE, "ERANGE" }, { ENAMETOOLONG, "ENAMETOOLONG" },
		{ ENOSYS, "ENOSYS" }, { ENOTSUP, "ENOTSUP" }, { EOVERFLOW, "EOVERFLOW" },
		{ EBADMSG, "EBADMSG" }, { EPROTO, "EPROTO" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ ECONNREFUSED, "ECONNREFUSED" }, { ENOTUNIQ, "ENOTUNIQ" },
		{ EKEYREJECTED, "EKEYREJECTED" }, { ENOKEY, "ENOKEY" },
		{ ENOTCONN, "ENOTCONN" }, { ECONNRESET, "ECONNRESET" },
		{ EPIPE, "EPIPE" }, { ELOOP, "ELOOP" }, { ECANCELED, "ECANCELED" },
		{ ESTALE, "ESTALE" }, { ENOTRECOVERABLE, "ENOTRECOVERABLE" },
	};
	int no = rc < 0 ? -rc : rc;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].no == no)
			return names[i].name;
	return "E?";
}
