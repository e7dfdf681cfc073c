/* SPDX-License-Identifier: MIT */
/*
 * xsplice: how failures reach the user (docs/cli.md, "Exit codes"): the
 * errno name, the exit code for an errno, "xsplice: <what>: <reason>
 * (<ERRNO>)" with a hint when one helps, and usage errors.
 *
 * Threading: no state; writes to stderr (fleet workers each own their
 * stderr, a pipe to the parent).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* ---- errors ---- */

const char *errname(int rc)
{
	const char *n = xs_errno_name(rc);
	if (strcmp(n, "E?") == 0) {
		const char *g = strerrorname_np(rc < 0 ? -rc : rc);
		if (g)
			return g;
	}
	return n;
}

int exit_for(int rc)
{
	switch (rc < 0 ? -rc : rc) {
	case 0:
		return EXIT_OK;
	case ENOENT:
	case ESRCH:
		return EXIT_NOTFOUND;
	case ETIMEDOUT:
	case EBUSY:
		return EXIT_TIMEOUT;
	/* the transport, not the agent's judgement */
	case EIO:
	case ECONNRESET:
	case ECONNREFUSED:
	case EPIPE:
	case ENOTCONN:
	case EPROTO:
	case EMSGSIZE:
	case ENOMEM:
	case EINTR:
	case EBADF:
	case EAGAIN:
	case EISDIR:
		return EXIT_FAIL;
	default:
		return EXIT_REFUSED;
	}
}

/* "xsplice: <what>: <reason> (<ERRNO>)" and a hint when one helps. */
int report(int rc, const struct xs_err *err, const char *hint, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("xsplice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (%s)\n", err && err->msg[0] ? err->msg : strerror(-rc),
		errname(rc));
	if (hint)
		fprintf(stderr, "xsplice: hint: %s\n", hint);
	return exit_for(rc);
}

/* Advice for a refused action or request, by errno and the agent's words
 * (one errno covers several causes: the hint must fit the one reported). */
const char *hint_for(int rc, const char *op, const struct xs_err *err)
{
	const char *why = err ? err->msg : "";
	switch (-rc) {
	case EBUSY:
		if (strstr(why, "in progress"))
			return "wait until that action ends ('xsplice -p PID list' shows it), then "
			       "try again";
		if (strstr(why, "other requests"))
			return "other uploads are being received; try again when they are done";
		if (*why && !strstr(why, "thread"))
			return NULL;
		return "a thread stayed inside a function being patched (or did not stop); "
		       "try again, or give more time with --timeout MS";
	case EPERM:
	case EACCES:
		return "run as root or as the user that owns the process";
	case EINVAL:
		if (strstr(why, "bytes the payload expects"))
			return "the function's code is not what the payload was built against: "
			       "another payload, a debugger's breakpoint, or another build of the "
			       "program (check 'xsplice -p PID build-id')";
		if (op && find_action(op) && !strncmp(why, "cannot ", 7))
			return "apply and replace need a CHECKED payload, revert an APPLIED one, "
			       "unload a CHECKED one (revert it first)";
		return NULL;
	case ENOENT:
		if (op && strcmp(op, "connect") != 0)
			return "'xsplice -p PID list' shows the payloads loaded";
		return NULL;
	case EEXIST:
		return "a payload with this name or build-id is already loaded: unload it "
		       "first, or upload under another name";
	default:
		return NULL;
	}
}

int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("xsplice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "usage: xsplice %s%s%s%s\n"
			"Try 'xsplice help %s'.\n",
			/* the host-wide commands take no target */
			(strcmp(cmd->name, "ps") && strcmp(cmd->name, "status") &&
			 strcmp(cmd->name, "mark-bad") && strcmp(cmd->name, "watch"))
				? "[-p PID | --socket PATH] " : "", cmd->name,
			cmd->args[0] ? " " : "", cmd->args, cmd->name);
	else
		fputs("Try 'xsplice --help'.\n", stderr);
	return EXIT_USAGE;
}

const char *attach_hint(int rc)
{
	switch (-rc) {
	case EPERM:
	case EACCES:
		return "run as root, or start the program with LD_PRELOAD=libxsplice.so";
	case EBUSY:
		return "try again; a debugger or another tracer may hold the process";
	default:
		return NULL;
	}
}
