/* SPDX-License-Identifier: MIT */
/*
 * The frame format, in one place: the 16-byte header's layout on the wire
 * and the little-endian field helpers every encoder and decoder of the
 * protocol uses. xs_parse_header and xs_check_header (declared in
 * include/xsplice/protocol.h) are defined in frame.c next to the encoder.
 * See docs/protocol.md, "Frames".
 */
#ifndef XS_COMMON_FRAME_H
#define XS_COMMON_FRAME_H

#include <stdint.h>

#include "xsplice/protocol.h"

/* Header bytes on the wire: magic, version, op, length, flags. */
#define XS_FRAME_HEADER_SIZE 16
#define XS_FRAME_OFF_MAGIC   0
#define XS_FRAME_OFF_VERSION 4
#define XS_FRAME_OFF_OP      6
#define XS_FRAME_OFF_LENGTH  8
#define XS_FRAME_OFF_FLAGS   12

_Static_assert(sizeof(struct xs_frame_header) == XS_FRAME_HEADER_SIZE,
	       "struct xs_frame_header must be as large as the header on the wire");

/* ---- little-endian helpers (explicit, so the code is endian-neutral) ---- */

static inline void xs_le_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void xs_le_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void xs_le_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t xs_le_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t xs_le_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t xs_le_get64(const uint8_t *p)
{
	return (uint64_t)xs_le_get32(p) | (uint64_t)xs_le_get32(p + 4) << 32;
}

/*
 * Write a header for a body of body_len bytes with op (| XS_OP_REPLY for a
 * reply) into raw: magic, this side's version, flags zero.
 */
void xs_frame_encode_header(uint8_t raw[XS_FRAME_HEADER_SIZE], uint16_t op, uint32_t body_len);

#endif
