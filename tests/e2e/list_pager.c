/* SPDX-License-Identifier: MIT */
/*
 * list_pager: one LIST page through libxsplice-ctl, for the e2e tests.
 *
 *   list_pager SOCKET IDX NR [VERSION]
 *
 * Prints "ret R version V count C left L" and then one "NAME STATE RC"
 * line per entry; on an error "ret R reason ...". Exit 0 when the request
 * was made (whatever the agent answered), 1 when it could not connect,
 * 2 on a usage error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/xsplice-ctl.h"
#include "xsplice/protocol.h"

static int number(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (!*s || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct xs_err err = { "" };
	struct xs_ctl *ctl;
	uint32_t idx, nr, version = 0, count = 0, left = 0;

	if (argc < 4 || argc > 5 || number(argv[2], &idx) || number(argv[3], &nr) ||
	    (argc == 5 && number(argv[4], &version))) {
		fprintf(stderr, "usage: list_pager SOCKET IDX NR [VERSION]\n");
		return 2;
	}
	int rc = xs_ctl_connect_path(argv[1], &ctl, &err);
	if (rc) {
		fprintf(stderr, "list_pager: %s\n", err.msg);
		return 1;
	}
	/* Room for more than asked: a misbehaving reply must not overflow us
	 * (xs_ctl_list checks count <= nr itself). */
	size_t room = nr > XS_LIST_MAX ? nr : XS_LIST_MAX;
	if (room > 4096)
		room = 4096;
	struct xs_list_entry *e = calloc(room, sizeof(*e));
	if (!e) {
		xs_ctl_close(ctl);
		return 1;
	}
	rc = xs_ctl_list(ctl, &version, idx, nr, e, &count, &left, &err);
	if (rc) {
		printf("ret %d reason %s\n", rc, err.msg);
	} else {
		printf("ret 0 version %" PRIu32 " count %" PRIu32 " left %" PRIu32 "\n", version,
		       count, left);
		for (uint32_t i = 0; i < count; i++)
			printf("%s %s %" PRId32 "\n", e[i].name, xs_state_name(e[i].state), e[i].rc);
	}
	free(e);
	xs_ctl_close(ctl);
	return 0;
}
