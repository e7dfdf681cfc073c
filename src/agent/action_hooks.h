/* SPDX-License-Identifier: MIT */
/*
 * Pre/post hooks around APPLY, REVERT and REPLACE (docs/hooks-and-shadow.md).
 * An action touches a list of steps: APPLY applies p; REVERT reverts p;
 * REPLACE reverts every applied payload, newest first, then applies p (the
 * plan's order). Pre hooks run step by step; post hooks after success in
 * the same order. After a veto or a failed action, each step whose pre
 * hooks did run gets its opposite post hooks, last first (as klp does:
 * a postrevert undoes what a preapply prepared; a postapply follows a
 * prerevert whose revert did not happen).
 */
#ifndef XS_AGENT_ACTION_HOOKS_H
#define XS_AGENT_ACTION_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "payload.h"

struct xs_hook_step {
	struct xs_payload *p;
	bool revert;
};

struct xs_hook_steps {
	struct xs_hook_step *v;
	unsigned n;
	unsigned ran; /* steps whose pre hooks all ran and passed */
};

/* The steps of cmd on p (table locked). -ENOMEM. */
int xs_hook_steps_plan(struct xs_hook_steps *s, struct xs_payload *p, uint32_t cmd);
/* Pre hooks (table NOT locked; the busy action keeps the payloads). */
int xs_hook_steps_pre(struct xs_hook_steps *s, struct xs_err *err);
/* Post hooks after the outcome (table NOT locked): ok = the action was
 * done; else the undo hooks of the steps that passed. */
void xs_hook_steps_post(struct xs_hook_steps *s, bool ok);
/* Whether any step has post hooks for a successful action. */
bool xs_hook_steps_have_post(const struct xs_hook_steps *s);
void xs_hook_steps_free(struct xs_hook_steps *s);

#endif
