/* SPDX-License-Identifier: MIT */
/*
 * A copy of the loaded-object list for the park handlers' unwinding.
 *
 * libunwind looks up unwind tables with dl_iterate_phdr, which takes the
 * dynamic loader's lock. A thread stopped inside dlopen or dlclose holds
 * that lock, and libunwind holds its own cache lock around the lookup: two
 * handlers deadlock for ever (seen: tests/transition/t10_dl_churn.sh). The
 * agent therefore defines dl_iterate_phdr itself (it is preloaded, so
 * libunwind's calls come here): inside a park handler it walks this copy,
 * taken by the action thread before the stop; everywhere else it is the C
 * library's.
 */
#ifndef XS_AGENT_LOADER_SNAPSHOT_H
#define XS_AGENT_LOADER_SNAPSHOT_H

#include <stdbool.h>

/* Find the C library's dl_iterate_phdr (at start). */
void xs_loader_snapshot_init(void);
/* Copy the object list (action thread, before signalling; no locks held
 * by us, allocation-free). Returns false if it did not fit: the handlers
 * then see only what fitted, and an unwind that cannot find its object
 * stops early (and is checked word by word). */
bool xs_loader_snapshot_take(void);
/* From the first park signal until no handler runs any more. */
void xs_loader_snapshot_active(bool on);

#endif
