/* SPDX-License-Identifier: MIT */
/*
 * The agent's limits (docs/security.md, "Limits"): payload size and count,
 * request size, bytes being received at once, requests per second per
 * connection. Each refusal names the limit and how to raise it.
 */
#ifndef XS_AGENT_QUOTA_H
#define XS_AGENT_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

/* Largest body of a request other than UPLOAD (the biggest is ACTION,
 * under 150 bytes). */
#define XS_QUOTA_SMALL_REQUEST 4096u

struct xs_quota {
	uint32_t max_payload_bytes;   /* XSPLICE_MAX_PAYLOAD_BYTES, default 64 MiB */
	uint32_t max_payloads;        /* XSPLICE_MAX_PAYLOADS, default 256 */
	uint64_t max_inflight_bytes;  /* XSPLICE_MAX_INFLIGHT_BYTES, default 128 MiB */
	uint32_t max_rate;            /* XSPLICE_MAX_REQUESTS_PER_S, default 1000 */
};

/* Read the environment once, at start. */
void xs_quota_init(void);
const struct xs_quota *xs_quota(void);

/* UPLOAD of size bytes with npayloads already loaded: -EFBIG / -ENOSPC. */
int xs_quota_check_upload(size_t size, unsigned npayloads, struct xs_err *err);
/* A request header announcing length body bytes while inflight bytes of
 * other requests are held: -EMSGSIZE / -EFBIG / -EBUSY. */
int xs_quota_check_frame(uint16_t op, uint32_t length, uint64_t inflight, struct xs_err *err);

/* Costly requests per second on one connection (a one-second window):
 * UPLOAD (parse and link), ACTION (a stop of every thread) and INFO (a
 * walk of the loaded objects). GET and LIST are answered from the table
 * and not counted: clients poll GET while an action runs. */
struct xs_rate {
	uint64_t window_ms;
	uint32_t count;
};
/* Count one request of op at now_ms: 0, or -EAGAIN when over the limit. */
int xs_quota_rate(struct xs_rate *r, uint16_t op, uint64_t now_ms, struct xs_err *err);

#endif
