/* SPDX-License-Identifier: MIT */
/*
 * libxsplice.so start-up: the constructor initialises the rendezvous,
 * applies the installed payloads when preloaded (autoload.c), starts the
 * action thread, then starts the control thread (control.c) with its
 * socket (socket.c), then hooks the loader for later dlopens (dlhook.c); fork handlers restart the agent in a fork child
 * (docs/decisions.md, "Process life cycle"); the destructor removes the
 * socket. It never writes to stdout and never exits the process; start-up
 * problems go to stderr once.
 *
 * Threading: the constructor and destructor run on the program's thread;
 * the fork handlers on whichever thread forks (see control.c for the
 * locks they take).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action.h"
#include "agent.h"
#include "audit.h"
#include "quota.h"
#include "trust.h"
#include "autoload.h"
#include "dlhook.h"
#include "rendezvous.h"
#include "shadow.h"

__attribute__((destructor)) static void xs_agent_fini(void)
{
	xs_dlhook_stop();
	xs_control_exit();
}

__attribute__((constructor)) static void xs_agent_init(void)
{
	const char *off = getenv("XSPLICE_DISABLE");
	if (off && *off && strcmp(off, "0") != 0)
		return;
	struct xs_err err = { "" };
	/* Configuration a client cannot change: read once, now. */
	xs_quota_init();
	xs_audit_init();
	if (xs_trust_init(&err) != 0 && xs_trust_enforcing())
		xs_agent_log("xsplice: agent in pid %d: signature enforcement is on but %s; every "
			     "upload will be refused\n", (int)getpid(), err.msg);
	int rc = xs_rendezvous_init(&err);
	/* Installed payloads first, before main and before the agent's own
	 * threads: the program never runs a function they replace unpatched
	 * (autoload.c). Whatever fails there is logged and the start goes on. */
	if (!rc && xs_autoload_wanted())
		xs_autoload_run();
	if (!rc)
		rc = xs_action_init(&err);
	if (!rc)
		rc = xs_control_start(false, &err);
	if (rc) {
		xs_agent_log("xsplice: agent not started in pid %d: %s\n", (int)getpid(), err.msg);
		return;
	}
	/* Libraries dlopened from now on get their installed payloads
	 * (dlhook.c). Without the hook the agent works as before. */
	if (xs_dlhook_start(&err) != 0)
		xs_agent_log("xsplice: agent in pid %d: libraries dlopened later will not get their "
			     "installed payloads: %s\n", (int)getpid(), err.msg);
	/* Registered first so its prepare runs after the table lock's (the
	 * lock order: table, then shadow). */
	pthread_atfork(xs_shadow_fork_prepare, xs_shadow_fork_release, xs_shadow_fork_release);
	pthread_atfork(xs_control_fork_prepare, xs_control_fork_parent, xs_control_fork_child);
	pthread_atfork(NULL, NULL, xs_dlhook_fork_child);
}
