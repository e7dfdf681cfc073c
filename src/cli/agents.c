/* SPDX-License-Identifier: MIT */
/*
 * xsplice processes and attach: the agents in the socket directory, and
 * loading the agent into a process started without it.
 *
 * Threading: single-threaded.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/cli.h"

/* ---- processes: the agents in the socket directory ---- */

struct procs {
	bool json;
	unsigned n;
};

static void print_process(int pid, const char *path, void *arg)
{
	struct procs *p = arg;
	if (p->json)
		printf("%s{\"pid\": %d, \"socket\": \"%s\"}", p->n ? ", " : "", pid, path);
	else
		printf("%d\t%s\n", pid, path);
	p->n++;
}

int cmd_processes(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	(void)cmd;
	(void)argv;
	(void)argc;
	struct xs_err err = { "" };
	struct procs p = { c->json, 0 };
	unsigned removed = 0;
	if (c->json)
		printf("{\"processes\": [");
	int rc = xs_ctl_scan(NULL, print_process, &p, &removed, &err);
	if (c->json)
		printf("], \"stale_removed\": %u}\n", removed);
	else if (removed)
		fprintf(stderr, "xsplice: removed %u stale socket%s of processes that died\n",
			removed, removed == 1 ? "" : "s");
	if (rc)
		return report(rc, &err, NULL, "cannot list the agents");
	return EXIT_OK;
}

int cmd_attach(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	unsigned long v;
	int pid = c->pid;
	if (argc == 1) {
		if (parse_uint(argv[0], INT_MAX, &v) || v == 0)
			return usage_error(cmd, "attach: '%s' is not a process id", argv[0]);
		if (pid && pid != (int)v)
			return usage_error(cmd, "attach: -p %d and PID %lu differ", pid, v);
		pid = (int)v;
	}
	if (!pid)
		return usage_error(cmd, "attach needs a PID");
	if (c->socket)
		return usage_error(cmd, "attach takes a PID, not --socket");
	struct xs_attach_result r;
	struct xs_err err = { "" };
	int rc = xs_attach(pid, NULL, c->timeout_ms, &r, &err);
	if (rc)
		return report(rc, &err, attach_hint(rc), "cannot attach to process %d", pid);
	if (c->json) {
		printf("{\"pid\": %d, \"already\": %s, \"thread\": %d, \"where\": \"%s\", "
		       "\"pause_us\": %.1f, \"probes\": %u, \"probe_us\": %.1f, "
		       "\"total_ms\": %.3f}\n", pid, r.already ? "true" : "false", r.tid,
		       r.where, (double)r.pause_ns / 1e3, r.probes, (double)r.probe_ns / 1e3,
		       (double)r.total_ns / 1e6);
	} else if (r.already) {
		printf("Process %d already has an agent: nothing to do\n", pid);
	} else {
		print_attached(stdout, pid, &r);
	}
	return EXIT_OK;
}
