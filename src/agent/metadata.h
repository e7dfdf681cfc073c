/* SPDX-License-Identifier: MIT */
/*
 * Payload metadata: the .modinfo section's NUL-separated key=value strings
 * (description, version; other keys are kept out of the protocol).
 */
#ifndef XS_AGENT_METADATA_H
#define XS_AGENT_METADATA_H

#include "elf.h"
#include "xsplice/error.h"
#include "xsplice/protocol.h"

struct xs_metadata {
	char description[XS_DESC_SIZE];
	char version[XS_VERSION_SIZE];
};

/* Read .modinfo if the payload has one (none: empty strings, 0). A value
 * too long, a control character or a string without '=' is -EINVAL with a
 * reason; an unknown key is ignored. */
int xs_metadata_parse(const struct xs_elf *elf, struct xs_metadata *md, struct xs_err *err);

#endif
