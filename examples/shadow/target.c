/* SPDX-License-Identifier: MIT */
/*
 * The shadow-variable example's target: a login service whose connections
 * (struct conn) count attempts but never lock anybody out. Every 50 ms each
 * connection tries to log in (conn 0 with the right password, the others
 * with a wrong one) and the result is printed; every 40 ticks the last
 * connection is closed and reopened as a new one (same slot, new id).
 * The fix needs a new field (consecutive failures) in struct conn: the
 * payload (lockout.c) adds it as shadow data. See docs/hooks-and-shadow.md.
 *
 *   xsplice-shadow-target [TICKS]     (0 = run until killed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct conn {
	int id;
	unsigned attempts;
	unsigned successes;
};

#define NCONN 4
struct conn conns[NCONN];
static int next_id = 1;

/* noipa: the loop must really call them, or patching would change nothing. */
__attribute__((noipa)) int check_login(struct conn *c, const char *password)
{
	c->attempts++;
	if (strcmp(password, "secret") != 0)
		return 0; /* denied -- and tried again next time: no lockout */
	c->successes++;
	return 1;
}

__attribute__((noipa)) void conn_reset(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->id = next_id++;
}

int main(int argc, char **argv)
{
	long ticks = argc > 1 ? atol(argv[1]) : 0;
	for (int i = 0; i < NCONN; i++)
		conn_reset(&conns[i]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long t = 0; !ticks || t < ticks; t++) {
		for (int i = 0; i < NCONN; i++) {
			int r = check_login(&conns[i], i == 0 ? "secret" : "guess");
			printf("tick %ld conn %d: %s\n", t, conns[i].id,
			       r > 0 ? "allowed" : r < 0 ? "locked" : "denied");
		}
		if (t % 40 == 39)
			conn_reset(&conns[NCONN - 1]);
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}
