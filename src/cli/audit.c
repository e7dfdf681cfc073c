/* SPDX-License-Identifier: MIT */
/*
 * The audit records of INFO (docs/security.md, "Audit"), for `xsplice
 * info`: who changed the process, and when.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "cli/json.h"

static void utc(uint64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03uZ", (unsigned)(ns / 1000000ull % 1000));
}

void audit_json(const struct xs_info *in)
{
	printf(",\"audit\":[");
	for (uint32_t i = 0; i < in->naudit; i++) {
		const struct xs_info_audit *a = &in->audit[i];
		char ts[48];
		utc(a->time_ns, ts, sizeof(ts));
		printf("%s{\"time\":\"%s\",\"time_ns\":%" PRIu64 ",\"client_pid\":%" PRIu32
		       ",\"client_uid\":%" PRIu32 ",\"op\":", i ? "," : "", ts, a->time_ns, a->pid,
		       a->uid);
		json_str(stdout, a->op);
		printf(",\"name\":");
		json_str(stdout, a->name);
		printf(",\"build_id\":");
		json_str(stdout, a->build_id);
		printf(",\"signer\":");
		json_str(stdout, a->signer);
		printf(",\"result\":%" PRId32 ",\"error\":", a->result);
		json_str(stdout, a->result ? errname(a->result) : "");
		printf(",\"reason\":");
		json_str(stdout, a->reason);
		printf("}");
	}
	printf("]");
}

void audit_text(const struct xs_info *in)
{
	printf("audit (last %" PRIu32 "):\n", in->naudit);
	for (uint32_t i = 0; i < in->naudit; i++) {
		const struct xs_info_audit *a = &in->audit[i];
		char ts[48];
		utc(a->time_ns, ts, sizeof(ts));
		printf("  %s %-12s %-20s pid %" PRIu32 " uid %" PRIu32 "  %s", ts, a->op,
		       a->name[0] ? a->name : "-", a->pid, a->uid,
		       a->result ? errname(a->result) : "ok");
		if (a->signer[0])
			printf("  signer: %s", a->signer);
		if (a->build_id[0])
			printf("  build-id %s", a->build_id);
		if (a->reason[0])
			printf("\n      %s", a->reason);
		printf("\n");
	}
}
