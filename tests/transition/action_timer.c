/* SPDX-License-Identifier: MIT */
/*
 * Time one action precisely: ACTION through libxsplice-ctl, then GET every
 * millisecond until rc != -EAGAIN. Prints one line
 *   elapsed_ms=T rc=N state=S reason=...
 * where T runs from just before the ACTION request to the first GET that
 * shows the result (so it includes up to 1 ms of polling).
 *
 *   action-timer PID NAME apply|revert TIMEOUT_MS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xsplice-ctl.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PID NAME apply|revert TIMEOUT_MS\n", argv[0]);
		return 2;
	}
	int pid = atoi(argv[1]);
	const char *name = argv[2];
	uint32_t cmd = strcmp(argv[3], "revert") == 0 ? XS_ACTION_REVERT : XS_ACTION_APPLY;
	unsigned timeout = (unsigned)atoi(argv[4]);
	struct xs_ctl *c;
	struct xs_err err = { "" };
	int rc = xs_ctl_connect_pid(pid, &c, &err);
	if (rc) {
		fprintf(stderr, "connect: %s\n", err.msg);
		return 1;
	}
	double t0 = now_ms();
	rc = xs_ctl_action(c, name, cmd, timeout, &err);
	if (rc) {
		printf("elapsed_ms=%.3f rc=%d state=? reason=action refused: %s\n", now_ms() - t0, rc,
		       err.msg);
		xs_ctl_close(c);
		return 0;
	}
	for (;;) {
		uint32_t state;
		int32_t arc;
		char reason[XS_REASON_SIZE] = "";
		rc = xs_ctl_get(c, name, &state, &arc, reason, &err);
		if (rc) {
			fprintf(stderr, "get: %s\n", err.msg);
			xs_ctl_close(c);
			return 1;
		}
		double t = now_ms() - t0;
		if (arc != -EAGAIN) {
			printf("elapsed_ms=%.3f rc=%d state=%s reason=%s\n", t, arc,
			       state == XS_STATE_APPLIED ? "APPLIED" : "CHECKED", reason);
			break;
		}
		if (t > timeout + 20000.0) {
			printf("elapsed_ms=%.3f rc=%d state=? reason=no result\n", t, arc);
			break;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	xs_ctl_close(c);
	return 0;
}
