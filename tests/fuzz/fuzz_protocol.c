/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the protocol decoder. The first byte picks the
 * direction and op; the rest is a frame header and body as a peer would
 * send them. Anything accepted must re-encode to exactly the same body
 * (the encoding is canonical), so the decoder can neither skip nor invent
 * bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xsplice/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_err err;
	struct xs_frame_header h;

	if (size < 1 + sizeof(h))
		return 0;
	int reply = data[0] & 1;
	data++, size--;
	h.magic = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
		  (uint32_t)data[3] << 24;
	h.version = (uint16_t)(data[4] | data[5] << 8);
	h.op = (uint16_t)(data[6] | data[7] << 8);
	h.length = (uint32_t)data[8] | (uint32_t)data[9] << 8 | (uint32_t)data[10] << 16 |
		   (uint32_t)data[11] << 24;
	h.flags = (uint32_t)data[12] | (uint32_t)data[13] << 8 | (uint32_t)data[14] << 16 |
		  (uint32_t)data[15] << 24;
	/* Don't let the header gate the decoder: fuzz both with and without it. */
	int header_ok = xs_check_header(&h, reply, &err) == 0;
	const uint8_t *body = data + sizeof(h);
	size_t len = size - sizeof(h);
	uint16_t op = h.op & (uint16_t)~XS_OP_REPLY;
	if (!header_ok)
		op %= XS_OP_COUNT + 1;
	uint8_t *f = NULL;
	size_t n;

	if (!reply) {
		struct xs_request rq;
		if (xs_decode_request(op, body, len, &rq, &err) == 0) {
			if (xs_encode_request(&rq, &f, &n, &err) != 0 || n - sizeof(h) != len ||
			    memcmp(f + sizeof(h), body, len) != 0)
				abort();
		}
	} else {
		struct xs_response rs;
		if (xs_decode_response(op, body, len, &rs, &err) == 0) {
			if (xs_encode_response(&rs, &f, &n, &err) != 0 || n - sizeof(h) != len ||
			    memcmp(f + sizeof(h), body, len) != 0)
				abort();
			xs_response_free(&rs);
		}
	}
	free(f);
	return 0;
}
