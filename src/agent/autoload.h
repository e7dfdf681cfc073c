/* SPDX-License-Identifier: MIT */
/*
 * Installed payloads applied at the agent's start (docs/user-guide.md,
 * "The patch directory"; docs/decisions.md, "Issue 9: the operator
 * workflow").
 */
#ifndef XS_AGENT_AUTOLOAD_H
#define XS_AGENT_AUTOLOAD_H

#include <stdbool.h>

/*
 * Should this start apply the installed payloads? Yes when the agent was
 * preloaded (or dlopened by the program itself): its constructor runs on
 * the main thread (tid == pid). No when it is attached at run time: then
 * it is loaded by the injector's loader thread, and the CLI applies what
 * is installed (load --all / watch). $XSPLICE_AUTOLOAD=0 turns it off;
 * =verbose also logs what is skipped as not for this process, and a summary.
 */
bool xs_autoload_wanted(void);

/*
 * Apply every installed, not-bad payload of the patch directory whose
 * depends chain ends at an object of this process, in dependency order,
 * on the calling thread (the agent's constructor, before the action and
 * control threads exist: xs_action_run_now). Payloads for other objects
 * are skipped silently; each one applied and each failure (with its
 * reason) is one line of the agent's log (stderr). Never fails the
 * process: whatever goes wrong is logged and skipped.
 */
void xs_autoload_run(void);

/*
 * For the dlopen hook (dlhook.c): remember the objects loaded now; then,
 * after each change of the link map, apply the installed payloads whose
 * chain ends at an object not loaded at the last look, and re-apply those
 * whose APPLIED copy went with an object that was dlclosed (and perhaps
 * loaded again). Same checks, order, bad marks and log lines as at start.
 * Runs on the dlopen thread, the table NOT locked.
 */
void xs_autoload_remember_objects(void);
/* Is any payload installed? (a directory listing; false when the
 * directory is absent or refused). Nothing else is done after a dlopen
 * when not: the objects are not even looked at, so those loaded meanwhile
 * count as new at the first dlopen after an install. */
bool xs_autoload_anything_installed(void);
void xs_autoload_after_dlopen(void);

#endif
