/* SPDX-License-Identifier: MIT */
/*
 * Running APPLY / REVERT / REPLACE: plan the writes, park the threads,
 * check their stacks, patch all-or-nothing, release. Runs on the agent's
 * action thread, which is never parked.
 */
#ifndef XS_AGENT_ACTION_H
#define XS_AGENT_ACTION_H

#include <stdint.h>

#include "payload.h"
#include "rendezvous.h"

#define XS_DEFAULT_TIMEOUT_MS 1000
#define XS_MAX_TIMEOUT_MS 60000 /* a stop is retried at most this long */

/* Start the action thread. */
int xs_action_init(struct xs_err *err);
/*
 * ACTION cmd on p (table locked): refused at once with a reason when
 * another action runs, the timeout is out of bounds, or the state rules
 * forbid it; UNLOAD is done at once; APPLY, REVERT and REPLACE are handed
 * to the action thread (p->rc is -EAGAIN until it is done).
 */
int xs_action_request(struct xs_payload *p, uint32_t cmd, uint32_t timeout_ms, struct xs_err *err);
/*
 * Run cmd on p to its end on the calling thread, without the action thread
 * (table NOT locked on entry): the same checks, plan, rendezvous and commit
 * as xs_action_request + the action thread, with the default timeout. For
 * the agent's start (autoload.c), before the action thread exists. 0 or
 * p's rc with its reason.
 */
int xs_action_run_now(struct xs_payload *p, uint32_t cmd, struct xs_err *err);
/* fork handlers (table locked): prepare waits while code is written but
 * not yet recorded; child cancels the parent's action (rc -ECANCELED). */
void xs_action_fork_prepare(void);
void xs_action_fork_child(void);
/* Last action's pause statistics (for benchmarks and info). */
struct xs_rendezvous_stats xs_action_last_stats(uint64_t *action_ns);

#endif
