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
#include "transition.h"

#define XS_DEFAULT_TIMEOUT_MS 1000

/* Start the action thread. */
int xs_action_init(struct xs_err *err);
/* True while an action is queued or running (table locked). */
const char *xs_action_busy(void);
/* Hand an accepted action to the action thread (table locked). */
int xs_action_submit(struct xs_payload *p, uint32_t cmd, uint32_t timeout_ms, struct xs_err *err);
/* Last action's pause statistics (for benchmarks and info). */
struct xs_transition_stats xs_action_last_stats(uint64_t *action_ns);

#endif
