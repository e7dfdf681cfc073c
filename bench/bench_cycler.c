/* SPDX-License-Identifier: MIT */
/*
 * bench-cycler: one client process (libxsplice-ctl, one connection) that
 * uploads a payload into PID and applies / reverts it every INTERVAL_MS
 * for SECONDS (or until SIGTERM / SIGINT), then prints what it did: actions, -EBUSY retries, and the
 * median / p99 / max pause the agent reported (INFO last_pause_ns).
 *
 *   bench-cycler PID PAYLOAD INTERVAL_MS SECONDS
 *
 * Used by bench/bench-redis.sh (make bench-redis).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xsplice-ctl.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PID PAYLOAD INTERVAL_MS SECONDS\n", argv[0]);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int pid = atoi(argv[1]);
	long interval_ms = atol(argv[3]), secs = atol(argv[4]);
	struct xs_err err = { "" };
	struct xs_ctl *c = NULL;
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	static uint8_t buf[1 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (xs_ctl_connect_pid(pid, &c, &err) || xs_ctl_upload(c, "bench-redis", buf, len, &err)) {
		fprintf(stderr, "bench-cycler: %s\n", err.msg);
		return 1;
	}
	size_t cap = (size_t)(secs * 1000 / (interval_ms ? interval_ms : 1) + 16), n = 0;
	uint64_t *pause = calloc(cap, sizeof(*pause));
	long busy = 0;
	uint64_t end = now_ns() + (uint64_t)secs * 1000000000ull, next = now_ns();
	uint32_t cmd = XS_ACTION_APPLY;
	while (!g_stop && now_ns() < end && n < cap) {
		/* One request per action: the agent replies when it has ended. */
		int rc = xs_ctl_act(c, "bench-redis", cmd, 0, 30000, NULL, NULL, &err);
		if (rc == -EBUSY) {
			busy++;
			continue;
		}
		if (rc) {
			fprintf(stderr, "bench-cycler: %s: %s\n", xs_action_name(cmd), err.msg);
			return 1;
		}
		struct xs_info *info = NULL;
		if (xs_ctl_info(c, &info, &err) == 0) {
			pause[n++] = info->last_pause_ns;
			xs_info_free(info);
		}
		cmd = cmd == XS_ACTION_APPLY ? XS_ACTION_REVERT : XS_ACTION_APPLY;
		next += (uint64_t)interval_ms * 1000000ull;
		uint64_t t = now_ns();
		if (next > t) {
			struct timespec ts = { (time_t)((next - t) / 1000000000ull),
					       (long)((next - t) % 1000000000ull) };
			nanosleep(&ts, NULL);
		}
	}
	if (cmd == XS_ACTION_REVERT) {
		/* leave it reverted */
		xs_ctl_act(c, "bench-redis", cmd, 0, 30000, NULL, NULL, &err);
	}
	xs_ctl_action(c, "bench-redis", XS_ACTION_UNLOAD, 0, &err);
	qsort(pause, n, sizeof(*pause), cmp_u64);
	printf("actions %zu busy_retries %ld pause_us median %.1f p99 %.1f max %.1f\n", n, busy,
	       n ? pause[n / 2] / 1e3 : 0.0, n ? pause[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3 : 0.0,
	       n ? pause[n - 1] / 1e3 : 0.0);
	xs_ctl_close(c);
	return 0;
}
