/* SPDX-License-Identifier: MIT */
/*
 * The hook steps of an action (action_hooks.h). Runs on the action thread:
 * plan with the table locked, hooks with it unlocked (a hook may take as
 * long as it likes without blocking LIST/INFO; no UNLOAD can free a payload
 * while its action is busy, xs_action_request refuses it).
 */
#include "action_hooks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int push(struct xs_hook_steps *s, struct xs_payload *p, bool revert)
{
	struct xs_hook_step *v = realloc(s->v, (s->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->v[s->n++] = (struct xs_hook_step){ p, revert };
	return 0;
}

int xs_hook_steps_plan(struct xs_hook_steps *s, struct xs_payload *p, uint32_t cmd)
{
	XS_ASSERT_TABLE_LOCKED();
	memset(s, 0, sizeof(*s));
	if (cmd == XS_ACTION_APPLY)
		return push(s, p, false);
	if (cmd == XS_ACTION_REVERT)
		return push(s, p, true);
	if (cmd != XS_ACTION_REPLACE)
		return 0;
	uint64_t below = UINT64_MAX;
	for (;;) {
		struct xs_payload *newest = NULL;
		for (struct xs_payload *q = xs_payload_first(); q; q = q->next)
			if (q->state == XS_STATE_APPLIED && q->applied_seq < below &&
			    (!newest || q->applied_seq > newest->applied_seq))
				newest = q;
		if (!newest)
			break;
		below = newest->applied_seq;
		int rc = push(s, newest, true);
		if (rc)
			return rc;
	}
	return push(s, p, false);
}

int xs_hook_steps_pre(struct xs_hook_steps *s, struct xs_err *err)
{
	for (s->ran = 0; s->ran < s->n; s->ran++) {
		struct xs_hook_step *st = &s->v[s->ran];
		int rc = xs_hooks_run(&st->p->ld, &st->p->hooks,
				     st->revert ? XS_HOOK_PREREVERT : XS_HOOK_PREAPPLY, err);
		if (rc) {
			xs_hook_steps_post(s, false);
			return rc;
		}
	}
	return 0;
}

void xs_hook_steps_post(struct xs_hook_steps *s, bool ok)
{
	struct xs_err ignored = { "" };
	if (ok) {
		for (unsigned i = 0; i < s->ran; i++)
			xs_hooks_run(&s->v[i].p->ld, &s->v[i].p->hooks,
				     s->v[i].revert ? XS_HOOK_POSTREVERT : XS_HOOK_POSTAPPLY, &ignored);
	} else {
		for (unsigned i = s->ran; i-- > 0;)
			xs_hooks_run(&s->v[i].p->ld, &s->v[i].p->hooks,
				     s->v[i].revert ? XS_HOOK_POSTAPPLY : XS_HOOK_POSTREVERT, &ignored);
	}
	s->ran = 0;
}

bool xs_hook_steps_have_post(const struct xs_hook_steps *s)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->v[i].p->hooks.n[s->v[i].revert ? XS_HOOK_POSTREVERT : XS_HOOK_POSTAPPLY])
			return true;
	return false;
}

void xs_hook_steps_free(struct xs_hook_steps *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
