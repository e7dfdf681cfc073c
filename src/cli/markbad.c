/* SPDX-License-Identifier: MIT */
/*
 * xsplice mark-bad NAME [REASON]: keep NAME from being applied again and
 * take it out of every running process. The mark is written first
 * (DIR/NAME.bad through the patchdir API), so neither a process starting
 * meanwhile nor `xsplice watch` applies it while it is being removed; then
 * revert --all NAME and unload --all NAME through the fleet code.
 *
 * Threading: single-threaded (the fleet code forks its workers).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/installed.h"
#include "cli/json.h"
#include "common/patchdir.h"

int cmd_mark_bad(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	char dir[4096];
	const char *name = argv[0];
	const char *reason = argc > 1 ? argv[1] : "marked bad with xsplice mark-bad";
	int rc, ex;

	if ((ex = check_name(cmd, name)))
		return ex;
	if ((rc = xs_patchdir_check_name(name, &err)))
		return usage_error(cmd, "mark-bad: %s", err.msg);
	if ((rc = installed_dir(c, dir, sizeof(dir), &err)) ||
	    (rc = xs_patchdir_mark_bad(dir, name, reason, &err)))
		return report(rc, &err, hint_for(rc, NULL, &err), "cannot mark %s bad in %s", name, dir);
	if (c->json) {
		printf("{\"command\":\"mark-bad\",\"payload\":");
		json_str(stdout, name);
		printf(",\"patch_dir\":");
		json_str(stdout, dir);
		printf(",\"marked_bad\":true,\"revert\":");
	} else {
		printf("%s is marked bad in %s: it is not applied again\n", name, dir);
		fflush(stdout);
	}
	int ex1 = fleet_act(c, "revert", name, NULL, FLEET_JSON_NESTED);
	if (c->json)
		printf(",\"unload\":");
	/* Unload where the revert worked; where it failed the payload stays
	 * applied and its unload fails too, saying so. */
	int ex2 = fleet_act(c, "unload", name, NULL, FLEET_JSON_NESTED);
	if (c->json)
		printf("}\n");
	return ex1 ? ex1 : ex2;
}
