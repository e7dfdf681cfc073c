/* SPDX-License-Identifier: MIT */
/* The INFO reply (see info.c). */
#ifndef XS_AGENT_INFO_H
#define XS_AGENT_INFO_H

#include "xsplice/error.h"
#include "xsplice/protocol.h"

/* Fill info (malloc'd arrays; table locked). */
int xs_info_build(struct xs_info *info, struct xs_err *err);
void xs_info_release(struct xs_info *info);

#endif
