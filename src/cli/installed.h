/* SPDX-License-Identifier: MIT */
/* The installed payloads for status, mark-bad and watch (installed.c). */
#ifndef XS_CLI_INSTALLED_H
#define XS_CLI_INSTALLED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"
#include "xsplice/protocol.h"

struct ctx;

struct installed {
	char name[XS_NAME_SIZE];
	char path[4096];
	bool bad;
};

/* The patch directory: --patch-dir, else $XSPLICE_PATCH_DIR, else
 * /var/lib/xsplice. */
int installed_dir(const struct ctx *c, char *buf, size_t len, struct xs_err *err);
/* Every installed payload, sorted by name (*out malloc'ed). A missing
 * directory has none. */
int installed_list(const char *dir, struct installed **out, size_t *n, struct xs_err *err);
/* An installed payload's bytes, opened with the patch directory's trust
 * checks (xs_patchdir_open). *buf malloc'ed. */
int installed_read(const char *path, uint8_t **buf, size_t *len, struct xs_err *err);
/* The first line of DIR/NAME.bad ("" if none or unreadable). */
void installed_bad_reason(const char *dir, const char *name, char *out, size_t len);

#endif
