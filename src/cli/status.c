/* SPDX-License-Identifier: MIT */
/*
 * xsplice status: what is installed in the patch directory, and what is
 * applied where. For each installed payload, every running process it
 * concerns (that maps the object it depends on, or for a stacked payload,
 * whose agent holds the payload below it): applied, or why not (marked
 * bad, no agent, loaded but not applied and its last error, not loaded,
 * cannot be patched at all).
 *
 * Threading: single-threaded; one short connection per agent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/installed.h"
#include "cli/json.h"
#include "cli/procscan.h"
#include "common/hex.h"
#include "common/patchdir.h"
#include "common/payload_ident.h"

struct where {
	const struct xs_proc *p;
	bool applied;
	char state[16];             /* APPLIED, CHECKED, or "" (not loaded) */
	char why[XS_REASON_SIZE];   /* why it is not applied */
};

/* Where payload e stands in process p. */
static void where_in(const struct installed *e, const struct xs_proc *p, struct where *w)
{
	struct xs_err err = { "" };
	struct xs_ctl *ctl = NULL;
	memset(w, 0, sizeof(*w));
	w->p = p;
	if (p->reason[0]) {
		snprintf(w->why, sizeof(w->why), "cannot be patched: %s", p->reason);
		return;
	}
	if (!p->agent) {
		snprintf(w->why, sizeof(w->why), "no agent: started without it (xsplice load --all "
			 "or xsplice watch attaches it)");
		return;
	}
	int rc = xs_proc_connect(p, true, &ctl, &err);
	uint32_t state = 0;
	int32_t arc = 0;
	char reason[XS_REASON_SIZE] = "";
	if (!rc) {
		xs_ctl_set_io_timeout(ctl, 2000);
		rc = xs_ctl_get(ctl, e->name, &state, &arc, reason, &err);
		xs_ctl_close(ctl);
	}
	if (rc == -ENOENT) {
		snprintf(w->why, sizeof(w->why), "%s", e->bad
			 ? "not loaded: marked bad"
			 : "not loaded: the process started before it was installed, or its "
			   "agent refused it at start (see the process's log); xsplice load --all "
			   "or watch applies it");
		return;
	}
	if (rc) {
		snprintf(w->why, sizeof(w->why), "its agent does not answer: %s (%s)",
			 err.msg[0] ? err.msg : strerror(-rc), errname(rc));
		return;
	}
	snprintf(w->state, sizeof(w->state), "%s", xs_state_name(state));
	w->applied = state == XS_STATE_APPLIED;
	if (!w->applied) {
		if (arc && arc != -EAGAIN)
			snprintf(w->why, sizeof(w->why), "loaded, not applied: the last action failed: "
				 "%s (%s)", reason[0] ? reason : strerror(-arc), errname(arc));
		else
			snprintf(w->why, sizeof(w->why), "loaded, not applied%s",
				 e->bad ? " (marked bad)" : "");
	}
}

/* The processes installed payload e concerns; *why when it cannot tell. */
static int concerned(const struct ctx *c, const struct installed *e, struct xs_payload_ident *id,
		     struct xs_proc **v, size_t *n, char *why, size_t whylen)
{
	struct xs_err err = { "" };
	*v = NULL;
	*n = 0;
	int fd = xs_patchdir_open(e->path, &err);
	int rc = fd < 0 ? fd : xs_payload_ident_fd(fd, id, &err);
	if (fd >= 0)
		close(fd);
	if (rc) {
		snprintf(why, whylen, "cannot read it: %s (%s)", err.msg, errname(rc));
		return rc;
	}
	struct xs_scan_opts o = { .build_id = id->depends, .build_id_len = id->depends_len,
				  .tree = c->tree, .comm = c->comm };
	rc = xs_proc_scan(&o, v, n, &err);
	if (!rc && *n == 0) {
		free(*v);
		rc = fleet_stacked_targets(c, id->depends, id->depends_len, v, n, &err);
	}
	if (rc) {
		snprintf(why, whylen, "cannot list the processes: %s", err.msg);
		return rc;
	}
	xs_proc_agent_sockets(*v, *n);
	return 0;
}

int cmd_status(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	char dir[4096];
	struct installed *v = NULL;
	size_t n = 0;
	int rc;

	(void)cmd, (void)argv, (void)argc;
	if ((rc = installed_dir(c, dir, sizeof(dir), &err)) ||
	    (rc = installed_list(dir, &v, &n, &err)))
		return report(rc, &err, NULL, "cannot read the patch directory %s", dir);
	if (c->json) {
		printf("{\"patch_dir\":");
		json_str(stdout, dir);
		printf(",\"payloads\":[");
	} else {
		printf("Patch directory %s: %zu payload%s installed\n", dir, n, n == 1 ? "" : "s");
	}
	for (size_t i = 0; i < n; i++) {
		struct xs_payload_ident id = { 0 };
		struct xs_proc *procs = NULL;
		size_t np = 0;
		char why[XS_REASON_SIZE] = "", bad[256] = "";
		char own[2 * XS_BUILD_ID_MAX + 1] = "", dep[2 * XS_BUILD_ID_MAX + 1] = "";
		int crc = concerned(c, &v[i], &id, &procs, &np, why, sizeof(why));
		if (!crc) {
			xs_hex_encode(id.build_id, id.build_id_len, own);
			xs_hex_encode(id.depends, id.depends_len, dep);
		}
		if (v[i].bad)
			installed_bad_reason(dir, v[i].name, bad, sizeof(bad));
		size_t applied = 0;
		struct where *w = calloc(np ? np : 1, sizeof(*w));
		for (size_t k = 0; w && k < np; k++) {
			where_in(&v[i], &procs[k], &w[k]);
			applied += w[k].applied;
		}
		if (c->json) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, v[i].name);
			printf(",\"path\":");
			json_str(stdout, v[i].path);
			printf(",\"bad\":%s,\"bad_reason\":", v[i].bad ? "true" : "false");
			json_str(stdout, bad);
			printf(",\"build_id\":\"%s\",\"depends\":\"%s\",\"error\":", own, dep);
			json_str(stdout, why);
			printf(",\"applied\":%zu,\"processes\":[", applied);
			for (size_t k = 0; w && k < np; k++) {
				printf("%s{\"pid\":%d,\"comm\":", k ? "," : "", procs[k].pid);
				json_str(stdout, procs[k].comm);
				printf(",\"applied\":%s,\"state\":\"%s\",\"agent\":%s,\"reason\":",
				       w[k].applied ? "true" : "false", w[k].state,
				       procs[k].agent ? "true" : "false");
				json_str(stdout, w[k].why);
				putchar('}');
			}
			printf("]}");
		} else {
			printf("%s: ", v[i].name);
			if (v[i].bad && bad[0])
				printf("MARKED BAD (%s), ", bad);
			else if (v[i].bad)
				printf("MARKED BAD, ");
			if (crc)
				printf("%s\n", why);
			else
				printf("depends on %s; applied in %zu of %zu process%s\n", dep, applied, np,
				       np == 1 ? "" : "es");
			for (size_t k = 0; w && k < np; k++)
				printf("  %-7d %-16s %s\n", procs[k].pid, procs[k].comm,
				       w[k].applied ? "applied" : w[k].why);
		}
		free(w);
		free(procs);
	}
	if (c->json)
		printf("]}\n");
	free(v);
	return EXIT_OK;
}
