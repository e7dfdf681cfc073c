/* SPDX-License-Identifier: MIT */
/*
 * The actions (docs/architecture.md, "An APPLY, top-down"): accept or
 * refuse a request (state rules, one action at a time), then on the action
 * thread plan the code writes, stop every other thread through the
 * rendezvous, check their stacks against the plan, write all-or-nothing,
 * release, commit the new state (the plan's steps: plan.c). UNLOAD needs
 * no stop and is done at once. Also the last action's statistics.
 *
 * Threading: xs_action_request runs on the control thread with the table
 * lock held; run_job on the action thread takes the lock to plan and to
 * commit and drops it for the stop, where only xs_plan_critical() runs
 * (raw system calls and our own loops: nothing a payload may patch).
 */
#include "action.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "arch/syscall.h"
#include "audit.h"
#include "action_hooks.h"
#include "agent.h"
#include "codewrite.h"
#include "common/latency.h"
#include "common/clock.h"
#include "payload.h"
#include "plan.h"

static pthread_t g_thread;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static struct xs_payload *g_job;
static uint32_t g_job_cmd, g_job_timeout;
static char g_busy[XS_NAME_SIZE + 16];
static struct xs_payload *g_running;  /* the payload whose action is queued or running */
static _Atomic bool g_cancel;         /* a client asked to cancel it */
/* Code written but the new state not yet committed: a fork must wait
 * (xs_action_fork_prepare), or the child's table would not match its code. */
static _Atomic bool g_unrecorded;
static struct xs_rendezvous_stats g_stats;
static _Atomic pid_t g_action_tid;    /* the action thread, for its priority */
static _Atomic bool g_boosted;        /* it runs SCHED_FIFO for the queued action */
static uint64_t g_submit_ns, g_action_ns;

struct xs_rendezvous_stats xs_action_last_stats(uint64_t *action_ns)
{
	if (action_ns)
		*action_ns = g_action_ns;
	return g_stats;
}

/* The plan's steps live in plan.c. */
static int build_plan(struct xs_plan *pl, struct xs_payload *p, uint32_t cmd)
{
	return xs_plan_build(pl, p, cmd);
}

/* What the stop works on (job_critical's ctx). */
struct job {
	struct xs_plan pl;
	struct xs_payload *p;
	uint32_t cmd;
	bool commit_in_stop; /* no post hooks: the stop may record the outcome */
	bool committed;      /* the new state was recorded inside the stop */
};

static uint64_t raw_mono_ns(void)
{
	struct timespec ts;
	xs_sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The plan's critical section, then, when it wrote everything and nobody
 * holds the table, the commit too, before the release (docs/decisions.md,
 * "Issue 14"): a client sees the outcome as soon as the threads run again,
 * without waiting for this thread to get a CPU among the program's busy
 * threads (which took 20-80 ms with 16 of them on 2 CPUs). Only memory
 * stores of our own: no libc, no lock, no formatting.
 */
static int job_critical(void *ctx, const struct xs_thread_stack *const *threads, unsigned n)
{
	struct job *j = ctx;
	int rc = xs_plan_critical(&j->pl, threads, n);
	if (rc != 0 || !j->commit_in_stop || !xs_payloads_borrow())
		return rc;
	xs_plan_commit(&j->pl, j->p, j->cmd);
	g_action_ns = raw_mono_ns() - g_submit_ns;
	j->p->rc = 0;
	j->p->reason[0] = '\0';
	g_busy[0] = '\0';
	g_running = NULL;
	atomic_store(&g_unrecorded, false);
	xs_payloads_giveback();
	j->committed = true;
	return 0;
}

static void run_job(struct xs_payload *p, uint32_t cmd, uint32_t timeout_ms)
{
	struct job j = { .p = p, .cmd = cmd };
	struct xs_plan *pl = &j.pl;
	xs_plan_init(pl);
	struct xs_err err = { "" };
	struct xs_hook_steps hooks;
	struct xs_audit_done audit;

	/* Pre hooks first, outside the stop and without the table lock
	 * (action_hooks.h): a veto leaves everything as it was. */
	xs_payloads_lock();
	int rc = xs_hook_steps_plan(&hooks, p, cmd);
	xs_audit_done_prepare(p, cmd, &audit);
	xs_payloads_unlock();
	if (rc)
		xs_fail(&err, rc, "out of memory planning the hooks");
	else
		rc = xs_hook_steps_pre(&hooks, &err);
	if (rc) {
		xs_payloads_lock();
		goto finish;
	}
	/* Post hooks run on this thread after the commit: with any, the
	 * outcome is not recorded inside the stop. */
	j.commit_in_stop = !xs_hook_steps_have_post(&hooks);

	xs_payloads_lock();
	rc = build_plan(pl, p, cmd);
	if (rc)
		xs_fail(&err, rc, "out of memory planning the action");
	else
		rc = xs_payload_revalidate(p, &err);
	if (!rc)
		rc = xs_plan_precheck(pl);
	xs_payloads_unlock();
	if (rc)
		goto done;
	rc = xs_code_open(&err);
	if (rc < 0)
		goto done;
	pl->memfd = rc;
	pl->writing = &g_unrecorded;
	/* The ranges the stack check tests, for the handlers' fast path
	 * (without them every thread unwinds). */
	struct xs_scan_range *watch = calloc(pl->nranges ? pl->nranges : 1, sizeof(*watch));
	for (unsigned i = 0; watch && i < pl->nranges; i++)
		watch[i] = (struct xs_scan_range){ pl->ranges[i].lo, pl->ranges[i].hi };
	/* g_stats is written inside the stop, on success only. */
	rc = xs_rendezvous_run(job_critical, &j, watch, pl->nranges,
			       timeout_ms ? timeout_ms : XS_DEFAULT_TIMEOUT_MS, &g_cancel, &g_stats,
			       &err);
	free(watch);
done:
	xs_code_close(pl->memfd);
	if (j.committed) {
		/* Done inside the stop; the table may already serve the next
		 * action, so nothing of it is touched here (the audit record
		 * was captured before). */
		xs_audit_done_record(&audit, 0, "");
		xs_hook_steps_free(&hooks);
		xs_plan_free(pl);
		xs_control_action_ended();
		return;
	}
	xs_payloads_lock();
	/* Words for a failure name symbols of the target's objects: only
	 * with the table locked, so INFO or UPLOAD cannot free them meanwhile
	 * (xs_objects_refresh runs with the lock held). */
	xs_plan_explain(pl, rc, &err);
	if (rc == 0) {
		xs_plan_commit(pl, p, cmd);
		g_action_ns = xs_mono_ns() - g_submit_ns;
	} else {
		xs_plan_settle(pl, &err);
	}
	atomic_store(&g_unrecorded, false);
	/* Post hooks after the state is recorded, table unlocked; the action
	 * stays busy meanwhile (nothing can be unloaded or started). */
	xs_payloads_unlock();
	xs_hook_steps_post(&hooks, rc == 0);
	xs_payloads_lock();
finish:
	xs_hook_steps_free(&hooks);
	p->rc = rc;
	snprintf(p->reason, sizeof(p->reason), "%s", rc ? err.msg : "");
	xs_audit_action_done(p, cmd, rc, p->reason);
	g_busy[0] = '\0';
	g_running = NULL;
	atomic_store(&g_unrecorded, false);
	xs_payloads_unlock();
	xs_plan_free(pl);
	xs_control_action_ended();
}

static void *action_thread(void *arg)
{
	(void)arg;
	xs_thread_prefer_latency();
	atomic_store(&g_action_tid, (pid_t)xs_sys3(SYS_gettid, 0, 0, 0));
	xs_payloads_lock();
	for (;;) {
		while (!g_job)
			xs_payloads_wait(&g_cond);
		struct xs_payload *p = g_job;
		uint32_t cmd = g_job_cmd, timeout = g_job_timeout;
		g_job = NULL;
		xs_payloads_unlock();
		run_job(p, cmd, timeout);
		/* Back to the normal policy as soon as the action is over. */
		if (atomic_exchange(&g_boosted, false))
			xs_thread_unboost(0);
		xs_payloads_lock();
	}
	return NULL;
}

int xs_action_request(struct xs_payload *p, uint32_t cmd, uint32_t timeout_ms, struct xs_err *err)
{
	XS_ASSERT_TABLE_LOCKED();
	if (cmd == XS_ACTION_CANCEL) {
		if (!g_busy[0] || g_running != p)
			return xs_fail(err, -EINVAL, "no action is running on '%s'; nothing to cancel",
				       p->name);
		atomic_store(&g_cancel, true);
		return 0;
	}
	if (g_busy[0])
		return xs_fail(err, -EBUSY, "another action is in progress (%s); wait for it", g_busy);
	if (timeout_ms > XS_MAX_TIMEOUT_MS)
		return xs_fail(err, -EINVAL, "timeout %u ms is above the limit of %u ms", timeout_ms,
			       XS_MAX_TIMEOUT_MS);
	int rc = xs_payload_check_action(p, cmd, err);
	if (rc)
		return rc;
	if (cmd == XS_ACTION_UNLOAD) {
		/* Not applied and nothing stacked on it: no thread can be in
		 * its code (revert checked stacks), so it is freed at once. */
		xs_payload_unload(p);
		return 0;
	}
	snprintf(g_busy, sizeof(g_busy), "%s of %s", xs_action_name(cmd), p->name);
	g_running = p;
	atomic_store(&g_cancel, false);
	g_submit_ns = xs_mono_ns();
	p->rc = -EAGAIN;
	p->reason[0] = '\0';
	g_job = p;
	g_job_cmd = cmd;
	g_job_timeout = timeout_ms;
	/* Real-time for the action's length, where permitted (decisions.md):
	 * its wake-up, the signals it sends and the commit are not queued
	 * behind the program's busy threads. */
	pid_t at = atomic_load(&g_action_tid);
	if (at && !atomic_load(&g_boosted) && xs_thread_boost(at))
		atomic_store(&g_boosted, true);
	pthread_cond_signal(&g_cond);
	return 0;
}

int xs_action_run_now(struct xs_payload *p, uint32_t cmd, struct xs_err *err)
{
	xs_payloads_lock();
	if (g_busy[0]) {
		int rc = xs_fail(err, -EBUSY, "another action is in progress (%s)", g_busy);
		xs_payloads_unlock();
		return rc;
	}
	int rc = xs_payload_check_action(p, cmd, err);
	if (rc || cmd == XS_ACTION_UNLOAD) {
		if (!rc)
			xs_payload_unload(p);
		xs_payloads_unlock();
		return rc;
	}
	snprintf(g_busy, sizeof(g_busy), "%s of %s", xs_action_name(cmd), p->name);
	g_running = p;
	atomic_store(&g_cancel, false);
	g_submit_ns = xs_mono_ns();
	p->rc = -EAGAIN;
	p->reason[0] = '\0';
	xs_payloads_unlock();
	/* The same steps as on the action thread, on this one: the
	 * rendezvous parks every other thread, whichever thread calls it. */
	run_job(p, cmd, XS_DEFAULT_TIMEOUT_MS);
	xs_payloads_lock();
	rc = p->rc;
	if (rc)
		xs_fail(err, rc, "%s", p->reason);
	xs_payloads_unlock();
	return rc;
}

/* The action thread blocks every signal: it is never parked and must not
 * run the program's handlers. */
int xs_action_init(struct xs_err *err)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&g_thread, NULL, action_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return xs_fail(err, -rc, "cannot start the action thread: %s", strerror(rc));
	pthread_setname_np(g_thread, "xsplice-action");
	pthread_detach(g_thread);
	return 0;
}

/* fork prepare (table locked): never let a child inherit code that was
 * written but not yet recorded; that window is short (release, commit). */
void xs_action_fork_prepare(void)
{
	XS_ASSERT_TABLE_LOCKED();
	while (atomic_load(&g_unrecorded)) {
		xs_payloads_unlock();
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
		xs_payloads_lock();
	}
}

/* fork child (table locked by the forking thread): the parent's action
 * thread does not exist here, so an action queued or under way in the
 * parent did not happen in this process. Its payload keeps the state it
 * had and gets rc -ECANCELED with the reason. */
void xs_action_fork_child(void)
{
	XS_ASSERT_TABLE_LOCKED();
	pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
	g_cond = fresh;
	if (g_busy[0]) {
		for (struct xs_payload *p = xs_payload_first(); p; p = p->next)
			if (p->rc == -EAGAIN) {
				p->rc = -ECANCELED;
				snprintf(p->reason, sizeof(p->reason),
					 "%s was under way in the parent (pid %d) when this process "
					 "forked; it was not done here: the state is the one before it",
					 g_busy, (int)getppid());
			}
	}
	g_job = NULL;
	g_busy[0] = '\0';
	g_running = NULL;
	atomic_store(&g_cancel, false);
	atomic_store(&g_boosted, false);
	atomic_store(&g_action_tid, 0);
}
