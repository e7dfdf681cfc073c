/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of shadow variables (include/xsplice/shadow.h) and the
 * table of agent functions payloads may call (bound at upload before any
 * object's symbols, so a program's own symbol of the same name never wins).
 */
#ifndef XS_AGENT_SHADOW_H
#define XS_AGENT_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/shadow.h"

/* Address of an agent function exported to payloads; -ENOENT if name is
 * not one. */
int xs_agent_export_lookup(const char *name, uintptr_t *addr);
/* fork handlers: take the shadow lock / release it (parent and child). */
void xs_shadow_fork_prepare(void);
void xs_shadow_fork_release(void);
/* Number of live shadow variables (tests, info). */
size_t xs_shadow_count(void);

#endif
