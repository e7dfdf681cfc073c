/* SPDX-License-Identifier: MIT */
/* Helpers shared by the agent unit tests. */
#ifndef XS_TEST_UTIL_H
#define XS_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/elf.h"
#include "agent/load.h"
#include "agent/symbols.h"

/* Read a whole file into an 8-byte aligned malloc'd buffer; NULL on error. */
static inline uint8_t *xt_read_file(const char *path, size_t *size)
{
	*size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (buf && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r <= 0) {
			free(buf);
			buf = NULL;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	*size = n;
	return buf;
}

static inline struct xs_object *xt_main_object(void)
{
	if (xs_objects_refresh(NULL) != 0)
		return NULL;
	for (size_t i = 0; i < xs_objects_count(); i++)
		if (xs_object_at(i)->is_main)
			return xs_object_at(i);
	return NULL;
}

/* Resolver: the main program (locals included), then global symbols. */
static inline int xt_resolve(void *ctx, const char *name, uintptr_t *addr, struct xs_err *err)
{
	struct xs_object *obj = ctx;
	int rc = obj ? xs_object_lookup(obj, name, addr, NULL, err) : -ENOENT;
	if (rc != -ENOENT)
		return rc;
	return xs_global_lookup(name, addr, err);
}

/* Parse + notes + load: the agent's whole path for an uploaded image. */
static inline int xt_parse_load(const uint8_t *img, size_t size, const struct xs_load_params *p,
				struct xs_loaded *ld, struct xs_err *err)
{
	struct xs_elf elf;
	memset(ld, 0, sizeof(*ld));
	int rc = xs_elf_parse(&elf, img, size, XS_ELF_PAYLOAD, err);
	if (rc)
		return rc;
	uint8_t id[XS_BUILD_ID_MAX], dep[XS_BUILD_ID_MAX];
	size_t idl, depl;
	rc = xs_payload_notes(&elf, id, &idl, dep, &depl, err);
	if (rc == 0)
		rc = xs_load(&elf, p, ld, err);
	xs_elf_free(&elf);
	return rc;
}

#endif
