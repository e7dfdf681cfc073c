/* SPDX-License-Identifier: MIT */
/*
 * xsplice install / uninstall: put a payload into the patch directory or
 * take it out (common/patchdir.c). They change the directory only:
 * processes started afterwards with the agent preloaded get the payload
 * before main; running processes get it through `load --all` or `watch`.
 *
 * Threading: the CLI's one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/installed.h"
#include "cli/json.h"
#include "common/hex.h"
#include "common/patchdir.h"
#include "common/payload_ident.h"

/* Exit codes of a directory change: the file or name is the user's
 * problem, the directory an I/O failure. missing: -ENOENT means that the
 * file or payload is not there (not that the directory cannot be made). */
static int change_exit(int rc, bool missing)
{
	switch (-rc) {
	case ENOENT:
		return missing ? EXIT_NOTFOUND : EXIT_FAIL;
	case ENOEXEC:
	case EFBIG:
		return EXIT_REFUSED;
	case EINVAL:
		return EXIT_USAGE;
	default:
		return EXIT_FAIL;
	}
}

static int get_dir(const struct ctx *c, const struct command *cmd, char *dir, size_t len)
{
	struct xs_err err = { "" };
	if (installed_dir(c, dir, len, &err))
		return usage_error(cmd, "%s: %s", cmd->name, err.msg);
	return EXIT_OK;
}

static bool marked_bad(const char *dir, const char *name)
{
	char bad[4096];
	struct stat st;
	return xs_patchdir_path(dir, name, XS_PATCHDIR_BAD, bad, sizeof(bad), NULL) == 0 &&
	       lstat(bad, &st) == 0;
}

int cmd_install(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	(void)argc;
	const char *file = argv[0];
	char dir[4096], name[XS_NAME_SIZE], dest[4096];
	struct xs_err err = { "" };
	struct xs_payload_ident id;
	int ex, rc;

	if ((ex = get_dir(c, cmd, dir, sizeof(dir))))
		return ex;
	if (c->name)
		snprintf(name, sizeof(name), "%s", c->name);
	else if (name_from_file(file, name, sizeof(name)))
		return usage_error(cmd, "install: no payload name in '%s'; give --name NAME", file);
	if ((rc = xs_patchdir_check_name(c->name ? c->name : name, &err)))
		return usage_error(cmd, "install: %s", err.msg);
	bool missing = access(file, F_OK) != 0;
	if ((rc = xs_patchdir_install(dir, file, name, &err))) {
		report(rc, &err, NULL, "install of %s as %s in %s failed", file, name, dir);
		return change_exit(rc, missing);
	}
	if ((rc = xs_patchdir_path(dir, name, XS_PATCHDIR_SUFFIX, dest, sizeof(dest), &err)))
		return report(rc, &err, NULL, "install");
	/* What was installed, read back from the installed copy. */
	int fd = open(dest, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : xs_payload_ident_fd(fd, &id, &err);
	if (fd >= 0)
		close(fd);
	if (rc)
		return report(rc, &err, NULL, "installed %s, but cannot read it back", dest);
	char bid[2 * XS_BUILD_ID_MAX + 1], dep[2 * XS_BUILD_ID_MAX + 1];
	xs_hex_encode(id.build_id, id.build_id_len, bid);
	xs_hex_encode(id.depends, id.depends_len, dep);
	bool bad = marked_bad(dir, name);
	if (c->json) {
		printf("{\"name\": ");
		json_str(stdout, name);
		printf(", \"path\": ");
		json_str(stdout, dest);
		printf(", \"build_id\": \"%s\", \"depends\": \"%s\", \"bad\": %s}\n", bid, dep,
		       bad ? "true" : "false");
	} else {
		printf("Installed %s as %s (build-id %s, depends on %s)\n", file, dest, bid, dep);
		printf("New processes started with the agent get it before main; running ones "
		       "with 'xsplice load --all' or 'xsplice watch'.\n");
		if (bad)
			printf("Note: %s is marked bad (%s/%s%s): it is not applied automatically.\n",
			       name, dir, name, XS_PATCHDIR_BAD);
	}
	return EXIT_OK;
}

int cmd_uninstall(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	(void)argc;
	const char *name = argv[0];
	char dir[4096];
	struct xs_err err = { "" };
	int ex, rc;

	if ((ex = get_dir(c, cmd, dir, sizeof(dir))))
		return ex;
	if ((rc = xs_patchdir_check_name(name, &err)))
		return usage_error(cmd, "uninstall: %s", err.msg);
	if ((rc = xs_patchdir_uninstall(dir, name, &err))) {
		report(rc, &err, NULL, "uninstall of %s failed", name);
		return change_exit(rc, true);
	}
	if (c->json) {
		printf("{\"name\": ");
		json_str(stdout, name);
		printf(", \"uninstalled\": true}\n");
	} else {
		printf("Uninstalled %s from %s\n", name, dir);
		printf("Processes that applied it keep it; 'xsplice revert --all %s' and "
		       "'unload --all %s' remove it from them.\n", name, name);
	}
	return EXIT_OK;
}
