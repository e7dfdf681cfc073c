/* SPDX-License-Identifier: MIT */
/*
 * Installed payloads for objects dlopened after the agent started: a hook
 * on the loader's breakpoint function (_r_debug.r_brk) wakes the
 * xsplice-dl thread, which applies them (dlhook.c; docs/decisions.md,
 * "Issue 10: libraries dlopened later").
 */
#ifndef XS_AGENT_DLHOOK_H
#define XS_AGENT_DLHOOK_H

#include <stdbool.h>

#include "xsplice/error.h"

/*
 * Remember the objects loaded now, hook the loader, start the thread
 * (after the rendezvous is initialised). Off with XSPLICE_AUTOLOAD=0.
 * Refused with a reason, and nothing changed, when the loader's bytes are
 * not the expected ones.
 */
int xs_dlhook_start(struct xs_err *err);
/* Put the loader's bytes back if they are still ours (destructor). */
void xs_dlhook_stop(void);
bool xs_dlhook_active(void);
/* fork child: the thread again (the hook is in the child's memory). */
void xs_dlhook_fork_child(void);

#endif
