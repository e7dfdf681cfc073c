/* SPDX-License-Identifier: MIT */
/*
 * The agent's limits: what one client can make the agent hold or do, so
 * that no client can grow the target's memory without bound or keep its
 * control thread busy (docs/security.md, "Limits"). Values come from the
 * target's environment at start (a client cannot change them).
 *
 * Threading: xs_quota_init in the constructor; the rest on the control
 * thread (the rate state belongs to one connection).
 */
#include "quota.h"

#include <errno.h>
#include <stdlib.h>

#include "xsplice/protocol.h"

static struct xs_quota g_q = {
	.max_payload_bytes = XS_MAX_PAYLOAD,
	.max_payloads = 256,
	.max_inflight_bytes = 128ull << 20,
	.max_rate = 1000,
};

static void env_u64(const char *name, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return;
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	if (!*end && n >= lo && n <= hi)
		*out = n;
}

void xs_quota_init(void)
{
	uint64_t v = g_q.max_payload_bytes;
	env_u64("XSPLICE_MAX_PAYLOAD_BYTES", 1, XS_MAX_PAYLOAD, &v);
	g_q.max_payload_bytes = (uint32_t)v;
	v = g_q.max_payloads;
	env_u64("XSPLICE_MAX_PAYLOADS", 1, 65536, &v);
	g_q.max_payloads = (uint32_t)v;
	env_u64("XSPLICE_MAX_INFLIGHT_BYTES", 4096, 1ull << 40, &g_q.max_inflight_bytes);
	v = g_q.max_rate;
	env_u64("XSPLICE_MAX_REQUESTS_PER_S", 1, 1000000, &v);
	g_q.max_rate = (uint32_t)v;
}

const struct xs_quota *xs_quota(void)
{
	return &g_q;
}

int xs_quota_check_upload(size_t size, unsigned npayloads, struct xs_err *err)
{
	if (size > g_q.max_payload_bytes)
		return xs_fail(err, -EFBIG, "payload of %zu bytes is over this agent's limit of %u "
			       "bytes (XSPLICE_MAX_PAYLOAD_BYTES)", size, g_q.max_payload_bytes);
	if (npayloads >= g_q.max_payloads)
		return xs_fail(err, -ENOSPC, "%u payloads are loaded, this agent's limit "
			       "(XSPLICE_MAX_PAYLOADS); unload one first", npayloads);
	return 0;
}

int xs_quota_check_frame(uint16_t op, uint32_t length, uint64_t inflight, struct xs_err *err)
{
	if (op != XS_OP_UPLOAD && length > XS_QUOTA_SMALL_REQUEST)
		return xs_fail(err, -EMSGSIZE, "request body of %u bytes is over the %u bytes any "
			       "request but UPLOAD may have", length, XS_QUOTA_SMALL_REQUEST);
	if (op == XS_OP_UPLOAD && length > (uint64_t)g_q.max_payload_bytes + XS_QUOTA_SMALL_REQUEST)
		return xs_fail(err, -EFBIG, "UPLOAD of %u bytes is over this agent's payload limit "
			       "of %u bytes (XSPLICE_MAX_PAYLOAD_BYTES)", length,
			       g_q.max_payload_bytes);
	if (inflight + length > g_q.max_inflight_bytes)
		return xs_fail(err, -EBUSY, "the agent is receiving %llu bytes of other requests; "
			       "%u more would pass its limit of %llu (XSPLICE_MAX_INFLIGHT_BYTES): "
			       "try again when they are done", (unsigned long long)inflight, length,
			       (unsigned long long)g_q.max_inflight_bytes);
	return 0;
}

int xs_quota_rate(struct xs_rate *r, uint16_t op, uint64_t now_ms, struct xs_err *err)
{
	if (op != XS_OP_UPLOAD && op != XS_OP_ACTION && op != XS_OP_INFO)
		return 0;
	if (now_ms - r->window_ms >= 1000 || now_ms < r->window_ms) {
		r->window_ms = now_ms;
		r->count = 0;
	}
	if (++r->count > g_q.max_rate)
		return xs_fail(err, -EAGAIN, "more than %u UPLOAD/ACTION/INFO requests in a second on "
			       "this connection (XSPLICE_MAX_REQUESTS_PER_S): refused; slow down", g_q.max_rate);
	return 0;
}
