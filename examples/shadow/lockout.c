/* SPDX-License-Identifier: MIT */
/*
 * The fix, as it would be in the source: add "unsigned failures" to struct
 * conn and refuse a login after 3 consecutive failures. The struct cannot
 * grow under running code, so the live patch keeps the field as shadow data
 * (xs_shadow_*, keyed by the connection's address):
 *  - check_login() gets or attaches it (new connections: from zero);
 *  - a postapply hook seeds it for connections that exist already, from
 *    what the old struct knows (attempts - successes);
 *  - conn_reset() frees it, since a reopened slot is a new connection;
 *  - the unload hook frees whatever is left.
 * Hand-written for mkpayload.sh (OLD_ADDR_/OLD_SIZE_/NEW_SIZE_ filled in).
 */
#include <string.h>
#include <xsplice/livepatch.h>
#include <xsplice/shadow.h>

struct conn {
	int id;
	unsigned attempts;
	unsigned successes;
};
#define NCONN 4
extern struct conn conns[NCONN]; /* the target's, bound at upload */

#define SHADOW_FAILURES 0x10c0u /* this payload's shadow id */
#define MAX_FAILURES 3

int check_login_fixed(struct conn *c, const char *password)
{
	unsigned *failures = xs_shadow_get_or_alloc(c, SHADOW_FAILURES, sizeof(*failures), NULL,
						    NULL);
	if (failures && *failures >= MAX_FAILURES)
		return -1; /* locked */
	c->attempts++;
	if (strcmp(password, "secret") != 0) {
		if (failures)
			(*failures)++;
		return 0;
	}
	c->successes++;
	if (failures)
		*failures = 0;
	return 1;
}

void conn_reset_fixed(struct conn *c)
{
	xs_shadow_free(c, SHADOW_FAILURES, NULL);
	static int next = 1000; /* new ids after the patch: visible in the log */
	memset(c, 0, sizeof(*c));
	c->id = next++;
}

/* Existing connections: what the old struct knows is a lower bound. The
 * program is single-threaded here; a threaded one would use atomics. */
static void seed_existing(livepatch_payload_t *p)
{
	(void)p;
	for (int i = 0; i < NCONN; i++) {
		unsigned *f = xs_shadow_get_or_alloc(&conns[i], SHADOW_FAILURES, sizeof(*f), NULL,
						     NULL);
		unsigned known = conns[i].attempts - conns[i].successes;
		if (f && *f < known)
			*f = known;
	}
}

static void drop_all(void)
{
	xs_shadow_free_all(SHADOW_FAILURES, NULL);
}

LIVEPATCH_POSTAPPLY_HOOK(seed_existing);
LIVEPATCH_UNLOAD_HOOK(drop_all);
LIVEPATCH_MODINFO(description, "lock a connection out after 3 failed logins");
LIVEPATCH_MODINFO(version, "1");

static const char n_check[] = "check_login", n_reset[] = "conn_reset";

struct livepatch_func livepatch_lockout[] LIVEPATCH_FUNC_ATTR = {
	{ .version = LIVEPATCH_PAYLOAD_VERSION, .name = n_check, .new_addr = check_login_fixed,
	  .old_addr = (void *)OLD_ADDR_check_login, .new_size = NEW_SIZE_check_login_fixed,
	  .old_size = OLD_SIZE_check_login },
	{ .version = LIVEPATCH_PAYLOAD_VERSION, .name = n_reset, .new_addr = conn_reset_fixed,
	  .old_addr = (void *)OLD_ADDR_conn_reset, .new_size = NEW_SIZE_conn_reset_fixed,
	  .old_size = OLD_SIZE_conn_reset },
};
