/* SPDX-License-Identifier: MIT */
/*
 * Making payload code visible to tools (docs/payload-format.md,
 * "Visibility"): gdb through its JIT interface (jit_gdb.c), perf through
 * /tmp/perf-PID.map (perfmap.c), unwinders through the payload's .eh_frame
 * registered with libgcc (ehframe.c). Each is best effort: a failure is
 * logged once and never refuses a payload. Called on the control thread,
 * table locked: register after a payload is loaded, unregister before it
 * is unmapped.
 */
#ifndef XS_AGENT_VISIBILITY_H
#define XS_AGENT_VISIBILITY_H

#include "load.h"

/* gdb: one JIT entry per payload (an in-memory ELF with its function
 * symbols). Returns the entry (NULL on failure). */
void *xs_jit_gdb_register(const struct xs_loaded *ld, const char *name);
void xs_jit_gdb_unregister(void *entry);

/* perf: append the payload's functions to /tmp/perf-PID.map. */
void xs_perfmap_add(const struct xs_loaded *ld, const char *name);

/* .eh_frame: __register_frame / __deregister_frame (libgcc), and a
 * libunwind dynamic table for the agent's stack check. Returns a handle
 * for unregister (NULL: nothing registered). */
void *xs_ehframe_register(const struct xs_loaded *ld, const char *name);
void xs_ehframe_unregister(void *handle);

#endif
