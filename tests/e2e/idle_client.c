/* SPDX-License-Identifier: MIT */
/*
 * idle_client: one libxsplice-ctl connection kept across pauses, for the
 * e2e tests: the agent closes a connection idle past its timeout, and the
 * next request on it must still be served (the library reconnects when the
 * agent provably did not read the request).
 *
 *   idle_client SOCKET PAUSE_MS [PAUSE_MS...]
 *
 * Sends INFO, then after each pause INFO again on the same handle; prints
 * "request N: ok" or "request N: ret R reason ..." per request. Exit 0 if
 * every request was served, 1 if one failed, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/xsplice-ctl.h"

static int info_once(struct xs_ctl *ctl, int n)
{
	struct xs_err err = { "" };
	struct xs_info *info = NULL;
	int rc = xs_ctl_info(ctl, &info, &err);
	if (rc)
		printf("request %d: ret %d reason %s\n", n, rc, err.msg);
	else
		printf("request %d: ok\n", n);
	xs_info_free(info);
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	struct xs_err err = { "" };
	struct xs_ctl *ctl;

	if (argc < 3) {
		fprintf(stderr, "usage: idle_client SOCKET PAUSE_MS [PAUSE_MS...]\n");
		return 2;
	}
	if (xs_ctl_connect_path(argv[1], &ctl, &err)) {
		fprintf(stderr, "idle_client: %s\n", err.msg);
		return 1;
	}
	int failed = info_once(ctl, 1) != 0;
	for (int i = 2; i < argc; i++) {
		char *end;
		long ms = strtol(argv[i], &end, 10);
		if (*end || ms < 0) {
			fprintf(stderr, "idle_client: bad pause '%s'\n", argv[i]);
			xs_ctl_close(ctl);
			return 2;
		}
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		failed |= info_once(ctl, i) != 0;
	}
	xs_ctl_close(ctl);
	return failed;
}
