#include <stdio.h>
#include <string.h>

#include "conn.h"

struct conn conns[3] = {
	{ "alice", "wonderland", 0, 0 },
	{ "bob", "builder", 0, 0 },
	{ "mallory", "unguessable", 0, 0 },
};

#define MAX_AUTH_TRIES 3

__attribute__((noipa)) int check_login(struct conn *c, const char *password)
{
	if (c->failures >= MAX_AUTH_TRIES)
		return -1;
	c->attempts++;
	if (strcmp(password, c->password) != 0) {
		c->failures++;
		return 0;
	}
	c->failures = 0;
	return 1;
}

const char *line(void)
{
	static char buf[64];
	int r = check_login(&conns[2], "guess");
	snprintf(buf, sizeof(buf), "conn2=%s", r > 0 ? "allowed" : r < 0 ? "locked" : "denied");
	return buf;
}
