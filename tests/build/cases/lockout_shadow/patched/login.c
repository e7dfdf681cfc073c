#include <stdio.h>
#include <string.h>
#include <xsplice/livepatch.h>
#include <xsplice/shadow.h>

#include "conn.h"

struct conn conns[3] = {
	{ "alice", "wonderland", 0 },
	{ "bob", "builder", 0 },
	{ "mallory", "unguessable", 0 },
};

/* Live-patch form of "struct conn gains unsigned failures": the field is
 * shadow data keyed by the connection, attached on first use. */
#define SHADOW_FAILURES 0x6c6f636bul /* "lock" */
#define MAX_AUTH_TRIES 3

__attribute__((noipa)) int check_login(struct conn *c, const char *password)
{
	unsigned *failures = xs_shadow_get_or_alloc(c, SHADOW_FAILURES, sizeof(*failures), NULL,
						    NULL);
	if (failures && *failures >= MAX_AUTH_TRIES)
		return -1;
	c->attempts++;
	if (strcmp(password, c->password) != 0) {
		if (failures)
			(*failures)++;
		return 0;
	}
	if (failures)
		*failures = 0;
	return 1;
}

/* Reverted or unloaded: the counters have no reader any more. */
static void drop_failures(livepatch_payload_t *p)
{
	(void)p;
	xs_shadow_free_all(SHADOW_FAILURES, NULL);
}
static void drop_failures_unload(void)
{
	xs_shadow_free_all(SHADOW_FAILURES, NULL);
}
LIVEPATCH_POSTREVERT_HOOK(drop_failures);
LIVEPATCH_UNLOAD_HOOK(drop_failures_unload);

const char *line(void)
{
	static char buf[64];
	int r = check_login(&conns[2], "guess");
	snprintf(buf, sizeof(buf), "conn2=%s", r > 0 ? "allowed" : r < 0 ? "locked" : "denied");
	return buf;
}
