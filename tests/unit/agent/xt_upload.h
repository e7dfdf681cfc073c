/* SPDX-License-Identifier: MIT */
/*
 * Upload copies of payload_state through the agent's real path
 * (xs_payload_upload) into the payload table: each copy gets its own
 * build-id and depends either on this test program or on another
 * payload's build-id (stacking). The target is libxt_target.so
 * (xt_target.c): the test program itself holds the agent's code, which is
 * never patched.
 */
#ifndef XS_TEST_XT_UPLOAD_H
#define XS_TEST_XT_UPLOAD_H

#include <stdint.h>
#include <string.h>

#include "agent/payload.h"
#include "testutil.h"

int xt_old_func(int);
int xt_other_func(int);

/* Offset of the 20-byte descriptor of the GNU note in section sec. */
static inline size_t xt_note_desc(const struct xs_elf *elf, const char *sec)
{
	const struct xs_elf_sec *s = xs_elf_section_by_name(elf, sec);
	return s ? (size_t)s->sh->sh_offset + 16 : 0; /* 12-byte header + "GNU\0" */
}

/*
 * Upload payload_state as name, build-id 20 bytes of id, depending on
 * below's build-id (NULL: this program). 0 or -errno with err.
 */
/* The loaded libxt_target.so. */
static inline struct xs_object *xt_target_object(void)
{
	if (xs_objects_refresh(NULL) != 0)
		return NULL;
	for (size_t i = 0; i < xs_objects_count(); i++)
		if (strstr(xs_object_at(i)->path, "libxt_target"))
			return xs_object_at(i);
	return NULL;
}

static inline int xt_upload(const char *name, uint8_t id, const struct xs_payload *below,
			    struct xs_err *err)
{
	struct xs_object *main_obj = xt_target_object();
	if (!main_obj || main_obj->build_id_len != 20)
		return xs_fail(err, -ENOENT, "no libxt_target.so with a 20-byte build-id");
	size_t size;
	uint8_t *img = xt_read_file(PAYLOAD_STATE, &size);
	if (!img)
		return xs_fail(err, -ENOENT, "cannot read %s", PAYLOAD_STATE);
	struct xs_elf elf;
	int rc = xs_elf_parse(&elf, img, size, XS_ELF_PAYLOAD, err);
	if (rc) {
		free(img);
		return rc;
	}
	size_t bid = xt_note_desc(&elf, LIVEPATCH_BUILD_ID_SECTION);
	size_t dep = xt_note_desc(&elf, LIVEPATCH_DEPENDS_SECTION);
	xs_elf_free(&elf);
	if (!bid || !dep) {
		free(img);
		return xs_fail(err, -EINVAL, "payload_state lacks a note");
	}
	memset(img + bid, id, 20);
	memcpy(img + dep, below ? below->ld.build_id : main_obj->build_id, 20);
	xs_payloads_lock();
	rc = xs_payload_upload(name, img, size, err);
	xs_payloads_unlock();
	free(img);
	return rc;
}

/* The payload called name (table locked inside). */
static inline struct xs_payload *xt_payload(const char *name)
{
	xs_payloads_lock();
	struct xs_payload *p = xs_payload_find(name);
	xs_payloads_unlock();
	return p;
}

#endif
