/* SPDX-License-Identifier: MIT */
/*
 * xsplice: the commands on the payloads of one process: list, get,
 * upload, apply/revert/replace/unload, cancel, load.
 *
 * Threading: single-threaded; the ctx's one connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"

/* ---- commands ---- */

/* The JSON members every payload has after its name: state, rc, error, reason. */
void json_status(uint32_t state, int32_t rc, const char *reason)
{
	printf(",\"state\":\"%s\",\"rc\":%d,\"error\":\"%s\",\"reason\":",
	       xs_state_name(state), rc, rc ? errname(rc) : "");
	json_str(stdout, reason);
}

/* The INFO record of payload name; NULL if none (or no INFO). */
static const struct xs_info_payload *info_payload(const struct xs_info *in, const char *name)
{
	for (uint32_t i = 0; in && i < in->npayloads; i++)
		if (strcmp(in->payloads[i].name, name) == 0)
			return &in->payloads[i];
	return NULL;
}

int cmd_list(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	struct xs_list_entry *e;
	size_t n;
	int rc;

	(void)cmd, (void)argv, (void)argc;
	rc = xs_ctl_list_all(c->ctl, &e, &n, &err);
	if (rc)
		return report(rc, &err, NULL, "list");
	/* LIST has no reasons; fetch them for entries that failed. */
	char (*reasons)[XS_REASON_SIZE] = calloc(n ? n : 1, XS_REASON_SIZE);
	if (!reasons) {
		free(e);
		xs_fail(&err, -ENOMEM, "out of memory");
		return report(-ENOMEM, &err, NULL, "list");
	}
	for (size_t i = 0; i < n; i++) {
		struct xs_err ignored;
		if (e[i].rc && e[i].rc != -EAGAIN)
			xs_ctl_get(c->ctl, e[i].name, NULL, NULL, reasons[i], &ignored);
	}
	/* LIST has no metadata either: INFO has it (best effort, by name). */
	struct xs_info *in = NULL;
	struct xs_err ignored;
	if (n && xs_ctl_info(c->ctl, &in, &ignored))
		in = NULL;
	if (c->json) {
		printf("{\"payloads\":[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, e[i].name);
			json_status(e[i].state, e[i].rc, reasons[i]);
			const struct xs_info_payload *ip = info_payload(in, e[i].name);
			printf(",\"description\":");
			json_str(stdout, ip ? ip->description : "");
			printf(",\"version\":");
			json_str(stdout, ip ? ip->version : "");
			putchar('}');
		}
		printf("]}\n");
	} else {
		printf(" ID                                     | status\n"
		       "----------------------------------------+------------\n");
		for (size_t i = 0; i < n; i++) {
			printf("%-40s| %s", e[i].name, xs_state_name(e[i].state));
			if (e[i].rc)
				printf(" (%d, %s%s%s)", e[i].rc, errname(e[i].rc),
				       reasons[i][0] ? ": " : "", reasons[i]);
			const struct xs_info_payload *ip = info_payload(in, e[i].name);
			if (ip && ip->version[0])
				printf(" [%s]", ip->version);
			if (ip && ip->description[0])
				printf(" %s", ip->description);
			putchar('\n');
		}
	}
	if (in)
		xs_info_free(in);
	free(reasons);
	free(e);
	return EXIT_OK;
}

int cmd_get(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	char reason[XS_REASON_SIZE] = "";
	uint32_t state;
	int32_t arc;
	int rc;

	(void)cmd, (void)argc;
	rc = xs_ctl_get(c->ctl, argv[0], &state, &arc, reason, &err);
	if (rc)
		return report(rc, &err, hint_for(rc, "get", &err), "get %s", argv[0]);
	if (c->json) {
		printf("{\"name\":");
		json_str(stdout, argv[0]);
		json_status(state, arc, reason);
		printf("}\n");
		return EXIT_OK;
	}
	printf("name:   %s\nstate:  %s\n", argv[0], xs_state_name(state));
	if (arc == -EAGAIN)
		printf("rc:     %d (EAGAIN: an action is in progress)\n", arc);
	else if (arc)
		printf("rc:     %d (%s)\nreason: %s\n", arc, errname(arc), reason);
	else
		printf("rc:     0\n");
	return EXIT_OK;
}

int cmd_upload(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	(void)argc;
	return upload(c, cmd, argv[0], argv[1]);
}

/* apply, revert, replace, unload: the command's row in actions[]. */
int cmd_action(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	const struct action *a = find_action(cmd->name);
	int ex;

	(void)argc;
	if ((ex = check_name(cmd, argv[0])) || (ex = connect_target(c)))
		return ex;
	return perform(c, argv[0], a);
}

/* cancel NAME: ask, then wait until the action has ended. Exit 0 when
 * it was cancelled or had already ended. */
int cmd_cancel(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	int ex, rc;

	(void)argc;
	if ((ex = check_name(cmd, argv[0])) || (ex = connect_target(c)))
		return ex;
	printf("Performing cancel:");
	fflush(stdout);
	rc = xs_ctl_action(c->ctl, argv[0], XS_ACTION_CANCEL, 0, &err);
	if (rc) {
		puts(" failed");
		return report(rc, &err, NULL, "cancel %s", argv[0]);
	}
	rc = xs_ctl_wait(c->ctl, argv[0], XS_ACTION_CANCEL, wait_bound(c), NULL, NULL, &err);
	if (rc == -ECANCELED || rc == 0) {
		puts(rc ? " completed (the action was cancelled; nothing changed)"
			: " completed (the action had already finished)");
		return EXIT_OK;
	}
	puts(" failed");
	return report(rc, &err, NULL, "cancel %s", argv[0]);
}



int cmd_load(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	char name[XS_NAME_SIZE];
	int ex;

	(void)argc;
	if (name_from_file(argv[0], name, sizeof(name)))
		return usage_error(cmd, "load: cannot make a payload name (1..%d bytes) from '%s'; "
				   "use 'upload NAME FILE' and 'apply NAME'", XS_NAME_SIZE - 1,
				   argv[0]);
	if ((ex = upload(c, cmd, name, argv[0])))
		return ex;
	ex = perform(c, name, find_action("apply"));
	if (ex) {
		/* Leave nothing behind: the apply error is what the user needs. */
		struct xs_err err = { "" };
		int urc = run_action(c, name, XS_ACTION_UNLOAD, NULL, NULL, &err);
		if (urc)
			report(urc, &err, NULL, "could not unload %s again after the failed apply",
			       name);
		else
			fprintf(stderr, "xsplice: %s was unloaded again\n", name);
	}
	return ex;
}
