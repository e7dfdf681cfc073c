/* SPDX-License-Identifier: MIT */
/*
 * The frame header: encode, parse and check the 16 bytes that precede
 * every message body (layout in frame.h and docs/protocol.md, "Frames").
 * The body codec (protocol.c) and the socket I/O (wire.c) both build on
 * this file; it calls neither.
 *
 * Threading: pure functions on caller-owned memory, no state; safe from any
 * thread.
 */
#include "common/frame.h"

#include <errno.h>
#include <stdbool.h>

void xs_frame_encode_header(uint8_t raw[XS_FRAME_HEADER_SIZE], uint16_t op, uint32_t body_len)
{
	xs_le_put32(raw + XS_FRAME_OFF_MAGIC, XS_PROTO_MAGIC);
	xs_le_put16(raw + XS_FRAME_OFF_VERSION, XS_PROTO_VERSION);
	xs_le_put16(raw + XS_FRAME_OFF_OP, op);
	xs_le_put32(raw + XS_FRAME_OFF_LENGTH, body_len);
	xs_le_put32(raw + XS_FRAME_OFF_FLAGS, 0);
}

void xs_parse_header(const uint8_t raw[16], struct xs_frame_header *h)
{
	h->magic = xs_le_get32(raw + XS_FRAME_OFF_MAGIC);
	h->version = xs_le_get16(raw + XS_FRAME_OFF_VERSION);
	h->op = xs_le_get16(raw + XS_FRAME_OFF_OP);
	h->length = xs_le_get32(raw + XS_FRAME_OFF_LENGTH);
	h->flags = xs_le_get32(raw + XS_FRAME_OFF_FLAGS);
}

int xs_check_header(const struct xs_frame_header *h, int expect_reply, struct xs_err *err)
{
	if (h->magic != XS_PROTO_MAGIC)
		return xs_fail(err, -EPROTO, "header magic: 0x%08x, expected 0x%08x", h->magic,
			       XS_PROTO_MAGIC);
	if (h->version != XS_PROTO_VERSION)
		return xs_fail(err, -EPROTO, "header version: %u, this side speaks %u",
			       h->version, XS_PROTO_VERSION);
	bool is_reply = (h->op & XS_OP_REPLY) != 0;
	uint16_t base = h->op & (uint16_t)~XS_OP_REPLY;
	if (is_reply != (expect_reply != 0))
		return xs_fail(err, -EPROTO, "header op: 0x%04x is a %s, expected a %s", h->op,
			       is_reply ? "reply" : "request", expect_reply ? "reply" : "request");
	if (base >= XS_OP_COUNT)
		return xs_fail(err, -EPROTO, "header op: unknown operation %u", base);
	if (h->flags != 0)
		return xs_fail(err, -EPROTO, "header flags: 0x%x, must be zero", h->flags);
	if (h->length > XS_MAX_FRAME_BODY)
		return xs_fail(err, -EMSGSIZE, "header length: %u bytes, more than the %u allowed",
			       h->length, XS_MAX_FRAME_BODY);
	return 0;
}
