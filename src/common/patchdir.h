/* SPDX-License-Identifier: MIT */
/*
 * The patch directory (docs/user-guide.md, "The patch directory"): where
 * installed payloads wait to be applied to every process they fit.
 *
 *   DIR/NAME.livepatch   an installed payload (NAME = the payload's name)
 *   DIR/NAME.bad         NAME is marked bad: never applied automatically
 *                        (content: one reason line and one UTC time line)
 *
 * DIR is $XSPLICE_PATCH_DIR, else /var/lib/xsplice (xs_patchdir_default).
 * Shared by the agent (which applies installed payloads at start) and the
 * xsplice command (install, uninstall, status, mark-bad, watch), so it uses
 * only the C library and is safe to run inside a target: no output, no
 * exit, no signals, bounded work per call. Not installed.
 *
 * Threading: no shared state; every call works on its arguments only.
 */
#ifndef XS_COMMON_PATCHDIR_H
#define XS_COMMON_PATCHDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "xsplice/error.h"

#define XS_PATCHDIR_DEFAULT "/var/lib/xsplice"
#define XS_PATCHDIR_ENV     "XSPLICE_PATCH_DIR"
#define XS_PATCHDIR_SUFFIX  ".livepatch"
#define XS_PATCHDIR_BAD     ".bad"

/* $XSPLICE_PATCH_DIR if set and non-empty (ignored in set-user-ID and
 * similar processes: secure_getenv), else /var/lib/xsplice.
 * 0, or -ENAMETOOLONG if it does not fit buf. */
int xs_patchdir_default(char *buf, size_t len);

/*
 * Call cb for every installed payload DIR/NAME.livepatch, sorted by name
 * (strcmp order), with its full path and whether DIR/NAME.bad exists.
 * Entries whose NAME is not a valid payload name (xs_patchdir_check_name)
 * are not payloads and are left out, and so are temporary files of an
 * install in progress. A missing DIR is an empty directory: 0, no call.
 * Listing is not trusting: the caller that reads a payload opens it with
 * xs_patchdir_open, which checks it (and xs_patchdir_trusted for DIR).
 * 0, or a negative errno with a reason (DIR unreadable, not a directory).
 */
int xs_patchdir_scan(const char *dir,
		     void (*cb)(const char *name, const char *path, bool bad, void *arg),
		     void *arg, struct xs_err *err);

/* Write DIR/NAME.bad (atomically: temp file + rename, mode 0644) with the
 * reason (a line; NULL or "" = "marked bad") and the current UTC time.
 * Creates DIR (0755) if needed. NAME need not be installed. */
int xs_patchdir_mark_bad(const char *dir, const char *name, const char *reason,
			 struct xs_err *err);

/*
 * Install the payload file FILE as DIR/NAME.livepatch: FILE must be a
 * payload ELF (xs_payload_ident: ELF64 x86-64 relocatable with
 * .livepatch.funcs, its build-id and its depends note), else -ENOEXEC.
 * Atomic: written to a temporary file in DIR, mode 0644, synced, then
 * renamed over any previous NAME.livepatch, so a process starting meanwhile
 * sees the old or the new payload, never a part. Creates DIR (0755, with
 * missing parents). A NAME.bad mark is kept.
 */
int xs_patchdir_install(const char *dir, const char *file, const char *name,
			struct xs_err *err);

/* Remove DIR/NAME.livepatch (-ENOENT if not installed) and DIR/NAME.bad. */
int xs_patchdir_uninstall(const char *dir, const char *name, struct xs_err *err);

/* ---- helpers for the users of the directory ---- */

/* A payload name usable as a file name: the CLI's rule (1..127 bytes) and
 * no '/', no leading '.', no control characters. 0 or -EINVAL. */
int xs_patchdir_check_name(const char *name, struct xs_err *err);

/* DIR/NAME<suffix> into buf: 0 or -ENAMETOOLONG. */
int xs_patchdir_path(const char *dir, const char *name, const char *suffix, char *buf,
		     size_t len, struct xs_err *err);

/*
 * Whether DIR may be trusted to hold code for this process: it is a
 * directory, not a symlink, owned by root or the effective user, and not
 * writable by group or others. 0, -ENOENT (missing), or -EPERM naming why.
 */
int xs_patchdir_trusted(const char *dir, struct xs_err *err);

/*
 * Open an installed payload for reading with the same trust rule for the
 * file: not a symlink (O_NOFOLLOW), a regular file, owned by root or the
 * effective user, not writable by group or others. The checks are made on
 * the open descriptor, so the file cannot be swapped after them.
 * Returns the descriptor (O_CLOEXEC), or a negative errno (-EPERM: untrusted).
 */
int xs_patchdir_open(const char *path, struct xs_err *err);

#endif
