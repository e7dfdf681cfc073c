/* SPDX-License-Identifier: MIT */
/*
 * xsplice ps: the processes with an agent and their payloads; with
 * --build-id/--object every process that maps that object, agent or not;
 * with --all every process. Each one that cannot be patched says why
 * (procscan.c decides).
 *
 * Threading: single-threaded; one short connection per agent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "cli/procscan.h"
#include "common/elfnote.h"
#include "common/hex.h"

int wanted_build_id(const struct ctx *c, uint8_t *id, size_t *n)
{
	struct xs_err err = { "" };
	*n = 0;
	if (c->build_id && c->object)
		return usage_error(NULL, "give either --build-id or --object, not both");
	if (c->build_id) {
		if (xs_hex_decode(c->build_id, id, XS_BUILD_ID_MAX, n) || *n == 0)
			return usage_error(NULL, "--build-id: '%s' is not a build-id (hex digits, "
					   "at most %d bytes)", c->build_id, XS_BUILD_ID_MAX);
		return EXIT_OK;
	}
	if (c->object) {
		int rc = xs_file_build_id(c->object, id, XS_BUILD_ID_MAX, n, &err);
		if (rc)
			return report(rc, &err, NULL, "--object %s", c->object) == EXIT_NOTFOUND
				       ? EXIT_NOTFOUND : EXIT_FAIL;
	}
	return EXIT_OK;
}

struct agent_view {
	bool answered;
	char why[XS_REASON_SIZE]; /* when it did not answer */
	struct xs_list_entry *e;
	size_t n;
};

/* Ask a process's agent for its payloads (no attach: ps only looks). */
static void ask_agent(const struct xs_proc *p, struct agent_view *v)
{
	struct xs_err err = { "" };
	struct xs_ctl *ctl = NULL;
	memset(v, 0, sizeof(*v));
	int rc = xs_proc_connect(p, true, &ctl, &err);
	if (!rc) {
		xs_ctl_set_io_timeout(ctl, 2000);
		rc = xs_ctl_list_all(ctl, &v->e, &v->n, &err);
		xs_ctl_close(ctl);
	}
	if (rc)
		snprintf(v->why, sizeof(v->why), "its agent does not answer: %s (%s)",
			 err.msg[0] ? err.msg : strerror(-rc), errname(rc));
	v->answered = !rc;
}

static void ps_text(const struct xs_proc *p, const struct agent_view *v)
{
	printf("%-7d %-16s %-5s ", p->pid, p->comm, p->kthread ? "-" : p->agent ? "yes" : "no");
	if (p->reason[0]) {
		printf("cannot patch: %s\n", p->reason);
		return;
	}
	if (!p->agent) {
		puts("no agent: it is attached when patched");
		return;
	}
	if (!v->answered) {
		printf("cannot patch: %s\n", v->why);
		return;
	}
	if (!v->n)
		fputs("no payloads", stdout);
	for (size_t i = 0; i < v->n; i++)
		printf("%s%s:%s", i ? " " : "", v->e[i].name, xs_state_name(v->e[i].state));
	putchar('\n');
}

static void ps_json(const struct xs_proc *p, const struct agent_view *v, bool first)
{
	const char *why = p->reason[0] ? p->reason : (p->agent && !v->answered) ? v->why : "";
	printf("%s{\"pid\":%d,\"comm\":", first ? "" : ",", p->pid);
	json_str(stdout, p->comm);
	printf(",\"agent\":%s,\"patchable\":%s,\"reason\":", p->agent ? "true" : "false",
	       why[0] ? "false" : "true");
	json_str(stdout, why);
	printf(",\"kernel_thread\":%s,\"state\":\"%c\"", p->kthread ? "true" : "false",
	       p->state);
	if (p->match) {
		printf(",\"object\":");
		json_str(stdout, p->object);
	}
	printf(",\"payloads\":[");
	for (size_t i = 0; i < v->n; i++) {
		printf("%s{\"name\":", i ? "," : "");
		json_str(stdout, v->e[i].name);
		printf(",\"state\":\"%s\",\"rc\":%d}", xs_state_name(v->e[i].state), v->e[i].rc);
	}
	printf("]}");
}

int cmd_ps(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	uint8_t id[XS_BUILD_ID_MAX];
	size_t idn;
	int ex;

	(void)cmd, (void)argv, (void)argc;
	if ((ex = wanted_build_id(c, id, &idn)))
		return ex;
	struct xs_scan_opts o = { .build_id = idn ? id : NULL, .build_id_len = idn,
				  .tree = c->tree, .comm = c->comm, .agents_only = !c->all };
	struct xs_proc *v;
	size_t n;
	int rc = xs_proc_scan(&o, &v, &n, &err);
	if (rc)
		return report(rc, &err, NULL, "cannot list the processes");
	xs_proc_agent_sockets(v, n);
	if (c->json)
		printf("{\"processes\":[");
	else
		printf("%-7s %-16s %-5s %s\n", "PID", "COMM", "AGENT", "PAYLOADS, OR WHY IT CANNOT "
		       "BE PATCHED");
	for (size_t i = 0; i < n; i++) {
		struct agent_view av = { 0 };
		if (v[i].agent && !v[i].reason[0])
			ask_agent(&v[i], &av);
		if (c->json)
			ps_json(&v[i], &av, i == 0);
		else
			ps_text(&v[i], &av);
		free(av.e);
	}
	if (c->json)
		printf("]}\n");
	free(v);
	return EXIT_OK;
}
