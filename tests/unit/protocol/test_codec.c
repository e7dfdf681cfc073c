/* SPDX-License-Identifier: MIT */
/* Codec tests: round trips, every malformed case, seeded random mutations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hex.h"
#include "xsplice/protocol.h"

#define HDR sizeof(struct xs_frame_header)

/* ---- helpers ---- */

static void parse_header(const uint8_t *f, struct xs_frame_header *h)
{
	h->magic = (uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24;
	h->version = (uint16_t)(f[4] | f[5] << 8);
	h->op = (uint16_t)(f[6] | f[7] << 8);
	h->length = (uint32_t)f[8] | (uint32_t)f[9] << 8 | (uint32_t)f[10] << 16 | (uint32_t)f[11] << 24;
	h->flags = (uint32_t)f[12] | (uint32_t)f[13] << 8 | (uint32_t)f[14] << 16 | (uint32_t)f[15] << 24;
}

static void enc_rq(const struct xs_request *rq, uint8_t **f, size_t *n)
{
	struct xs_err err = { "" };
	int rc = xs_encode_request(rq, f, n, &err);
	if (rc)
		fail_msg("encode request op %u: %d %s", rq->op, rc, err.msg);
	struct xs_frame_header h;
	parse_header(*f, &h);
	assert_int_equal(xs_check_header(&h, 0, &err), 0);
	assert_int_equal(h.length, *n - HDR);
	assert_int_equal(h.op, rq->op);
}

static void enc_rs(const struct xs_response *rs, uint8_t **f, size_t *n)
{
	struct xs_err err = { "" };
	int rc = xs_encode_response(rs, f, n, &err);
	if (rc)
		fail_msg("encode response op %u: %d %s", rs->op, rc, err.msg);
	struct xs_frame_header h;
	parse_header(*f, &h);
	assert_int_equal(xs_check_header(&h, 1, &err), 0);
	assert_int_equal(h.op, rs->op | XS_OP_REPLY);
}

/* Decode must fail with want and give a reason mentioning `field`. */
static void expect_rq_fail(uint16_t op, const uint8_t *b, size_t n, int want, const char *field)
{
	struct xs_request rq;
	struct xs_err err = { "" };
	int rc = xs_decode_request(op, b, n, &rq, &err);
	if (rc != want)
		fail_msg("op %u len %zu: got %d (%s), want %d", op, n, rc, err.msg, want);
	assert_true(err.msg[0] != '\0');
	if (field && !strstr(err.msg, field))
		fail_msg("reason '%s' does not name '%s'", err.msg, field);
}

static void expect_rs_fail(uint16_t op, const uint8_t *b, size_t n, int want, const char *field)
{
	struct xs_response rs;
	struct xs_err err = { "" };
	int rc = xs_decode_response(op, b, n, &rs, &err);
	if (rc != want)
		fail_msg("reply op %u len %zu: got %d (%s), want %d", op, n, rc, err.msg, want);
	assert_true(err.msg[0] != '\0');
	if (field && !strstr(err.msg, field))
		fail_msg("reason '%s' does not name '%s'", err.msg, field);
	assert_null(rs.list);
	assert_null(rs.info);
}

/* A raw body builder for hand-made malformed messages. */
struct raw {
	uint8_t b[1024];
	size_t n;
};

static void r_u16(struct raw *r, uint16_t v)
{
	r->b[r->n++] = (uint8_t)v;
	r->b[r->n++] = (uint8_t)(v >> 8);
}

static void r_u32(struct raw *r, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		r->b[r->n++] = (uint8_t)(v >> (8 * i));
}

static void r_bytes(struct raw *r, const void *p, size_t n)
{
	memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void r_str(struct raw *r, const char *s, size_t n)
{
	r_u16(r, (uint16_t)n);
	r_bytes(r, s, n);
}

/* ---- sample messages ---- */

static const uint8_t elf_bytes[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3 };

static void sample_requests(struct xs_request rq[5])
{
	memset(rq, 0, 5 * sizeof(*rq));
	rq[0].op = XS_OP_UPLOAD;
	strcpy(rq[0].name, "hello");
	rq[0].payload = elf_bytes;
	rq[0].payload_size = sizeof(elf_bytes);
	rq[1].op = XS_OP_GET;
	strcpy(rq[1].name, "xen_hello_world");
	rq[2].op = XS_OP_LIST;
	rq[2].list_version = 7;
	rq[2].list_idx = 3;
	rq[2].list_nr = XS_LIST_MAX;
	rq[3].op = XS_OP_ACTION;
	strcpy(rq[3].name, "bye");
	rq[3].cmd = XS_ACTION_REPLACE;
	rq[3].timeout_ms = 1234;
	rq[4].op = XS_OP_INFO;
}

static struct xs_list_entry sample_list[3] = {
	{ "hello", XS_STATE_APPLIED, 0 },
	{ "bye", XS_STATE_CHECKED, -EBUSY },
	{ "x", XS_STATE_CHECKED, -EAGAIN },
};

static struct xs_info_func sample_funcs[2] = {
	{ "xen_extra_version", 0x401000, 0x7f0000001000, 32, 16, XS_FUNC_APPLIED },
	{ "other", 0x402000, 0, 8, 5, XS_FUNC_NO_STACK_CHECK },
};
static struct xs_info_object sample_objects[2] = {
	{ "/usr/bin/demo", "0123456789abcdef0123456789abcdef01234567", 0x555555554000 },
	{ "", "", 0x7ffff7dd0000 },
};
static struct xs_info_payload sample_payloads[2];
static struct xs_info sample_info;

static void init_info(void)
{
	memset(sample_payloads, 0, sizeof(sample_payloads));
	strcpy(sample_payloads[0].name, "hello");
	sample_payloads[0].state = XS_STATE_APPLIED;
	strcpy(sample_payloads[0].build_id, "aabbcc");
	strcpy(sample_payloads[0].depends, "0123456789abcdef0123456789abcdef01234567");
	strcpy(sample_payloads[0].target, "/usr/bin/demo");
	sample_payloads[0].load_addr = 0x7f0000000000;
	sample_payloads[0].load_size = 8192;
	sample_payloads[0].nfuncs = 2;
	sample_payloads[0].funcs = sample_funcs;
	strcpy(sample_payloads[1].name, "bye");
	sample_payloads[1].state = XS_STATE_CHECKED;
	sample_payloads[1].rc = -EBUSY;
	strcpy(sample_payloads[1].reason, "thread 42 is inside \"xen_extra_version\"");
	memset(&sample_info, 0, sizeof(sample_info));
	sample_info.pid = 4242;
	strcpy(sample_info.agent_version, "0.1.0");
	sample_info.nobjects = 2;
	sample_info.objects = sample_objects;
	sample_info.npayloads = 2;
	sample_info.payloads = sample_payloads;
}

/* Fills rs[0..6]: each op successful, plus two failures. */
static void sample_responses(struct xs_response rs[7])
{
	init_info();
	memset(rs, 0, 7 * sizeof(*rs));
	rs[0].op = XS_OP_UPLOAD;
	rs[1].op = XS_OP_GET;
	rs[1].state = XS_STATE_CHECKED;
	rs[1].rc = -EBUSY;
	strcpy(rs[1].rc_reason, "thread 17 stayed in foo()");
	rs[2].op = XS_OP_LIST;
	rs[2].list_version = 99;
	rs[2].list_count = 3;
	rs[2].list_left = 5;
	rs[2].list = sample_list;
	rs[3].op = XS_OP_ACTION;
	rs[4].op = XS_OP_INFO;
	rs[4].info = &sample_info;
	rs[5].op = XS_OP_UPLOAD;
	rs[5].ret = -EEXIST;
	strcpy(rs[5].reason, "a payload named hello is loaded");
	rs[6].op = XS_OP_GET;
	rs[6].ret = -ENOENT;
	strcpy(rs[6].reason, "no payload named nope");
}

/* ---- round trips ---- */

static void test_request_roundtrip(void **state)
{
	(void)state;
	struct xs_request rq[5];
	sample_requests(rq);
	for (int i = 0; i < 5; i++) {
		uint8_t *f;
		size_t n;
		struct xs_request out;
		struct xs_err err = { "" };
		enc_rq(&rq[i], &f, &n);
		assert_int_equal(xs_decode_request(rq[i].op, f + HDR, n - HDR, &out, &err), 0);
		assert_int_equal(out.op, rq[i].op);
		assert_string_equal(out.name, rq[i].name);
		assert_int_equal(out.payload_size, rq[i].payload_size);
		if (rq[i].payload_size)
			assert_memory_equal(out.payload, rq[i].payload, rq[i].payload_size);
		assert_int_equal(out.list_version, rq[i].list_version);
		assert_int_equal(out.list_idx, rq[i].list_idx);
		assert_int_equal(out.list_nr, rq[i].list_nr);
		assert_int_equal(out.cmd, rq[i].cmd);
		assert_int_equal(out.timeout_ms, rq[i].timeout_ms);
		/* decode does not allocate: the payload points into the body */
		if (rq[i].op == XS_OP_UPLOAD)
			assert_true(out.payload > f && out.payload < f + n);
		free(f);
	}
}

static void test_request_limits(void **state)
{
	(void)state;
	struct xs_request rq = { .op = XS_OP_GET }, out;
	struct xs_err err;
	uint8_t *f;
	size_t n;

	memset(rq.name, 'a', XS_NAME_SIZE - 1); /* 127 bytes: the longest */
	enc_rq(&rq, &f, &n);
	assert_int_equal(xs_decode_request(XS_OP_GET, f + HDR, n - HDR, &out, &err), 0);
	assert_int_equal(strlen(out.name), 127);
	free(f);

	struct xs_request l = { .op = XS_OP_LIST, .list_nr = 0 };
	enc_rq(&l, &f, &n);
	assert_int_equal(xs_decode_request(XS_OP_LIST, f + HDR, n - HDR, &out, &err), 0);
	free(f);

	for (uint32_t cmd = XS_ACTION_UNLOAD; cmd <= XS_ACTION_CANCEL; cmd++) {
		struct xs_request a = { .op = XS_OP_ACTION, .name = "p", .cmd = cmd };
		enc_rq(&a, &f, &n);
		assert_int_equal(xs_decode_request(XS_OP_ACTION, f + HDR, n - HDR, &out, &err), 0);
		assert_int_equal(out.cmd, cmd);
		free(f);
	}
}

static void check_info_equal(const struct xs_info *a, const struct xs_info *b)
{
	assert_int_equal(a->pid, b->pid);
	assert_string_equal(a->agent_version, b->agent_version);
	assert_int_equal(a->nobjects, b->nobjects);
	for (uint32_t i = 0; i < a->nobjects; i++) {
		assert_string_equal(a->objects[i].path, b->objects[i].path);
		assert_string_equal(a->objects[i].build_id, b->objects[i].build_id);
		assert_true(a->objects[i].base == b->objects[i].base);
	}
	assert_int_equal(a->npayloads, b->npayloads);
	for (uint32_t i = 0; i < a->npayloads; i++) {
		const struct xs_info_payload *p = &a->payloads[i], *q = &b->payloads[i];
		assert_string_equal(p->name, q->name);
		assert_int_equal(p->state, q->state);
		assert_int_equal(p->rc, q->rc);
		assert_string_equal(p->reason, q->reason);
		assert_string_equal(p->build_id, q->build_id);
		assert_string_equal(p->depends, q->depends);
		assert_string_equal(p->target, q->target);
		assert_true(p->load_addr == q->load_addr);
		assert_true(p->load_size == q->load_size);
		assert_int_equal(p->nfuncs, q->nfuncs);
		for (uint32_t j = 0; j < p->nfuncs; j++) {
			assert_string_equal(p->funcs[j].name, q->funcs[j].name);
			assert_true(p->funcs[j].old_addr == q->funcs[j].old_addr);
			assert_true(p->funcs[j].new_addr == q->funcs[j].new_addr);
			assert_int_equal(p->funcs[j].old_size, q->funcs[j].old_size);
			assert_int_equal(p->funcs[j].new_size, q->funcs[j].new_size);
			assert_int_equal(p->funcs[j].flags, q->funcs[j].flags);
		}
	}
}

static void test_response_roundtrip(void **state)
{
	(void)state;
	struct xs_response rs[7];
	sample_responses(rs);
	for (int i = 0; i < 7; i++) {
		uint8_t *f;
		size_t n;
		struct xs_response out;
		struct xs_err err = { "" };
		enc_rs(&rs[i], &f, &n);
		/* the decoder accepts the op with or without the reply bit */
		int rc = xs_decode_response((uint16_t)(rs[i].op | XS_OP_REPLY), f + HDR, n - HDR,
					    &out, &err);
		if (rc)
			fail_msg("decode %d: %d %s", i, rc, err.msg);
		assert_int_equal(out.op, rs[i].op);
		assert_int_equal(out.ret, rs[i].ret);
		assert_string_equal(out.reason, rs[i].reason);
		if (rs[i].ret == 0) {
			assert_int_equal(out.state, rs[i].state);
			assert_int_equal(out.rc, rs[i].rc);
			assert_string_equal(out.rc_reason, rs[i].rc_reason);
			assert_int_equal(out.list_version, rs[i].list_version);
			assert_int_equal(out.list_count, rs[i].list_count);
			assert_int_equal(out.list_left, rs[i].list_left);
			for (uint32_t k = 0; k < out.list_count; k++) {
				assert_string_equal(out.list[k].name, rs[i].list[k].name);
				assert_int_equal(out.list[k].state, rs[i].list[k].state);
				assert_int_equal(out.list[k].rc, rs[i].list[k].rc);
			}
			if (rs[i].info)
				check_info_equal(out.info, rs[i].info);
			else
				assert_null(out.info);
		}
		xs_response_free(&out);
		free(f);
	}
}

static void test_list_full_page(void **state)
{
	(void)state;
	struct xs_list_entry e[XS_LIST_MAX];
	for (int i = 0; i < XS_LIST_MAX; i++) {
		memset(e[i].name, 0, sizeof(e[i].name));
		memset(e[i].name, 'a' + i % 26, XS_NAME_SIZE - 1);
		e[i].state = XS_STATE_CHECKED;
		e[i].rc = -i;
	}
	struct xs_response rs = { .op = XS_OP_LIST, .list_count = XS_LIST_MAX, .list = e }, out;
	struct xs_err err;
	uint8_t *f;
	size_t n;
	enc_rs(&rs, &f, &n);
	assert_int_equal(xs_decode_response(XS_OP_LIST, f + HDR, n - HDR, &out, &err), 0);
	assert_int_equal(out.list_count, XS_LIST_MAX);
	assert_string_equal(out.list[63].name, e[63].name);
	xs_response_free(&out);
	free(f);

	rs.list_count = XS_LIST_MAX + 1;
	assert_int_equal(xs_encode_response(&rs, &f, &n, &err), -E2BIG);
}

/* ---- the encoder refuses what the decoder would ---- */

static void test_encoder_refuses(void **state)
{
	(void)state;
	struct xs_err err;
	uint8_t *f;
	size_t n;
	struct xs_request rq = { .op = XS_OP_GET };

	assert_int_equal(xs_encode_request(&rq, &f, &n, &err), -EINVAL); /* empty name */
	assert_null(f);
	memset(rq.name, 'x', sizeof(rq.name)); /* no NUL within 128 */
	assert_int_equal(xs_encode_request(&rq, &f, &n, &err), -ENAMETOOLONG);
	struct xs_request l = { .op = XS_OP_LIST, .list_nr = XS_LIST_MAX + 1 };
	assert_int_equal(xs_encode_request(&l, &f, &n, &err), -E2BIG);
	struct xs_request a = { .op = XS_OP_ACTION, .name = "p", .cmd = 9 };
	assert_int_equal(xs_encode_request(&a, &f, &n, &err), -EINVAL);
	struct xs_request u = { .op = XS_OP_UPLOAD, .name = "p", .payload = elf_bytes };
	assert_int_equal(xs_encode_request(&u, &f, &n, &err), -EINVAL); /* empty payload */
	u.payload_size = XS_MAX_PAYLOAD + 1;
	assert_int_equal(xs_encode_request(&u, &f, &n, &err), -EFBIG);
	struct xs_request bad = { .op = XS_OP_COUNT };
	assert_int_equal(xs_encode_request(&bad, &f, &n, &err), -EINVAL);
	struct xs_response rs = { .op = XS_OP_INFO };
	assert_int_equal(xs_encode_response(&rs, &f, &n, &err), -EINVAL); /* info missing */
	rs.op = 77;
	assert_int_equal(xs_encode_response(&rs, &f, &n, &err), -EINVAL);
}

/* ---- header ---- */

static void test_header(void **state)
{
	(void)state;
	struct xs_err err;
	struct xs_frame_header ok = { XS_PROTO_MAGIC, XS_PROTO_VERSION, XS_OP_GET, 10, 0 }, h;

	assert_int_equal(xs_check_header(&ok, 0, &err), 0);
	h = ok;
	h.magic ^= 1;
	assert_int_equal(xs_check_header(&h, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "magic"));
	h = ok;
	h.version = 2;
	assert_int_equal(xs_check_header(&h, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "version"));
	h = ok;
	h.op = XS_OP_COUNT;
	assert_int_equal(xs_check_header(&h, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "op"));
	h.op = 0x7fff;
	assert_int_equal(xs_check_header(&h, 0, &err), -EPROTO);
	h = ok; /* a request where a reply is expected, and vice versa */
	assert_int_equal(xs_check_header(&h, 1, &err), -EPROTO);
	h.op |= XS_OP_REPLY;
	assert_int_equal(xs_check_header(&h, 0, &err), -EPROTO);
	assert_int_equal(xs_check_header(&h, 1, &err), 0);
	h = ok;
	h.flags = 0x100;
	assert_int_equal(xs_check_header(&h, 0, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "flags"));
	h = ok;
	h.length = XS_MAX_FRAME_BODY;
	assert_int_equal(xs_check_header(&h, 0, &err), 0);
	h.length = XS_MAX_FRAME_BODY + 1;
	assert_int_equal(xs_check_header(&h, 0, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "length"));
	h.length = UINT32_MAX;
	assert_int_equal(xs_check_header(&h, 0, &err), -EMSGSIZE);
}

/* ---- truncation at every length, trailing bytes ---- */

static void test_truncated_requests(void **state)
{
	(void)state;
	struct xs_request rq[5];
	sample_requests(rq);
	for (int i = 0; i < 5; i++) {
		uint8_t *f;
		size_t n;
		enc_rq(&rq[i], &f, &n);
		size_t body = n - HDR;
		/* Copy each prefix to its own buffer so ASan sees any overread. */
		for (size_t k = 0; k < body; k++) {
			uint8_t *b = malloc(k ? k : 1);
			memcpy(b, f + HDR, k);
			expect_rq_fail(rq[i].op, b, k, -EBADMSG, "truncated");
			free(b);
		}
		uint8_t *b = malloc(body + 1);
		memcpy(b, f + HDR, body);
		b[body] = 0;
		expect_rq_fail(rq[i].op, b, body + 1, -EBADMSG, "trailing");
		free(b);
		free(f);
	}
}

static void test_truncated_responses(void **state)
{
	(void)state;
	struct xs_response rs[7];
	sample_responses(rs);
	for (int i = 0; i < 7; i++) {
		uint8_t *f;
		size_t n;
		enc_rs(&rs[i], &f, &n);
		size_t body = n - HDR;
		for (size_t k = 0; k < body; k++) {
			uint8_t *b = malloc(k ? k : 1);
			memcpy(b, f + HDR, k);
			/* A count that cannot fit is caught before the field that is cut. */
			expect_rs_fail(rs[i].op, b, k, -EBADMSG, NULL);
			free(b);
		}
		uint8_t *b = malloc(body + 3);
		memcpy(b, f + HDR, body);
		memset(b + body, 0xff, 3);
		expect_rs_fail(rs[i].op, b, body + 3, -EBADMSG, "trailing");
		free(b);
		free(f);
	}
}

/* ---- names ---- */

static void test_bad_names(void **state)
{
	(void)state;
	static const uint16_t ops[] = { XS_OP_UPLOAD, XS_OP_GET, XS_OP_ACTION };
	char big[200];
	memset(big, 'n', sizeof(big));
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct raw r;
		/* the rest of a valid body after the name */
		struct raw tail = { .n = 0 };
		if (ops[i] == XS_OP_UPLOAD) {
			r_u32(&tail, 4);
			r_bytes(&tail, "\x7f" "ELF", 4);
		} else if (ops[i] == XS_OP_ACTION) {
			r_u32(&tail, XS_ACTION_APPLY);
			r_u32(&tail, 0);
		}
		r.n = 0;
		r_str(&r, "", 0);
		r_bytes(&r, tail.b, tail.n);
		expect_rq_fail(ops[i], r.b, r.n, -EINVAL, "name");

		r.n = 0;
		r_str(&r, big, 128);
		r_bytes(&r, tail.b, tail.n);
		expect_rq_fail(ops[i], r.b, r.n, -ENAMETOOLONG, "name");

		r.n = 0;
		r_str(&r, big, 127);
		r_bytes(&r, tail.b, tail.n);
		struct xs_request out;
		struct xs_err err;
		assert_int_equal(xs_decode_request(ops[i], r.b, r.n, &out, &err), 0);

		r.n = 0;
		r_str(&r, "hel\0lo", 6);
		r_bytes(&r, tail.b, tail.n);
		expect_rq_fail(ops[i], r.b, r.n, -EINVAL, "NUL");

		r.n = 0; /* a length of 65535 with 3 bytes present */
		r_u16(&r, 0xffff);
		r_bytes(&r, "abc", 3);
		expect_rq_fail(ops[i], r.b, r.n, -ENAMETOOLONG, "name");
		r.n = 0; /* a length of 100 with 3 bytes present */
		r_u16(&r, 100);
		r_bytes(&r, "abc", 3);
		expect_rq_fail(ops[i], r.b, r.n, -EBADMSG, "name");
	}
	/* names in replies are checked as strictly */
	struct raw r = { .n = 0 };
	r_u32(&r, 0);
	r_str(&r, "", 0);
	r_u32(&r, 1);
	r_u32(&r, 1);
	r_u32(&r, 0);
	r_str(&r, "a\0b", 3);
	r_u32(&r, XS_STATE_CHECKED);
	r_u32(&r, 0);
	expect_rs_fail(XS_OP_LIST, r.b, r.n, -EINVAL, "entry name");
}

/* INFO's park signal and last-action figures (u32, 3 x u64, 2 x u32), zero. */
static const char info_stats_zero[36];

static void test_bad_fields(void **state)
{
	(void)state;
	struct raw r;

	/* LIST nr */
	for (uint32_t nr = XS_LIST_MAX + 1; nr < XS_LIST_MAX + 3; nr++) {
		r.n = 0;
		r_u32(&r, 0);
		r_u32(&r, 0);
		r_u32(&r, nr);
		expect_rq_fail(XS_OP_LIST, r.b, r.n, -E2BIG, "nr");
	}
	r.n = 0;
	r_u32(&r, 0);
	r_u32(&r, 0);
	r_u32(&r, UINT32_MAX);
	expect_rq_fail(XS_OP_LIST, r.b, r.n, -E2BIG, "nr");

	/* unknown action commands */
	static const uint32_t cmds[] = { 0, 6, 7, 0x80000003u, UINT32_MAX };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		r.n = 0;
		r_str(&r, "p", 1);
		r_u32(&r, cmds[i]);
		r_u32(&r, 0);
		expect_rq_fail(XS_OP_ACTION, r.b, r.n, -EINVAL, "cmd");
	}

	/* payload sizes */
	r.n = 0;
	r_str(&r, "p", 1);
	r_u32(&r, 0);
	expect_rq_fail(XS_OP_UPLOAD, r.b, r.n, -EINVAL, "payload");
	r.n = 0;
	r_str(&r, "p", 1);
	r_u32(&r, XS_MAX_PAYLOAD + 1);
	expect_rq_fail(XS_OP_UPLOAD, r.b, r.n, -EFBIG, "payload");
	r.n = 0;
	r_str(&r, "p", 1);
	r_u32(&r, UINT32_MAX);
	expect_rq_fail(XS_OP_UPLOAD, r.b, r.n, -EFBIG, "payload");
	r.n = 0; /* a size larger than what is present */
	r_str(&r, "p", 1);
	r_u32(&r, 100);
	r_bytes(&r, "ELF", 3);
	expect_rq_fail(XS_OP_UPLOAD, r.b, r.n, -EBADMSG, "payload");

	/* unknown ops */
	expect_rq_fail(XS_OP_COUNT, NULL, 0, -EPROTO, "op");
	expect_rq_fail(0x7fff, NULL, 0, -EPROTO, "op");
	expect_rs_fail(XS_OP_COUNT, NULL, 0, -EPROTO, "op");

	/* INFO request has no body */
	expect_rq_fail(XS_OP_INFO, (const uint8_t *)"x", 1, -EBADMSG, "trailing");

	/* reply: positive ret, unknown state, lying counts, bad hex */
	r.n = 0;
	r_u32(&r, 5);
	r_str(&r, "", 0);
	expect_rs_fail(XS_OP_GET, r.b, r.n, -EINVAL, "ret");
	r.n = 0;
	r_u32(&r, 0);
	r_str(&r, "", 0);
	r_u32(&r, 3);
	r_u32(&r, 0);
	r_str(&r, "", 0);
	expect_rs_fail(XS_OP_GET, r.b, r.n, -EINVAL, "state");
	r.n = 0;
	r_u32(&r, 0);
	r_str(&r, "", 0);
	r_u32(&r, 1);
	r_u32(&r, XS_LIST_MAX + 1);
	r_u32(&r, 0);
	expect_rs_fail(XS_OP_LIST, r.b, r.n, -E2BIG, "count");
	r.n = 0;
	r_u32(&r, 0);
	r_str(&r, "", 0);
	r_u32(&r, 1);
	r_u32(&r, 2);
	r_u32(&r, 0);
	r_str(&r, "a", 1);
	r_u32(&r, 1);
	r_u32(&r, 0);
	expect_rs_fail(XS_OP_LIST, r.b, r.n, -EBADMSG, "count");
	/* INFO: 4 billion objects in a few bytes */
	r.n = 0;
	r_u32(&r, 0);
	r_str(&r, "", 0);
	r_u32(&r, 1);
	r_str(&r, "v", 1);
	r_bytes(&r, info_stats_zero, sizeof(info_stats_zero));
	r_u32(&r, UINT32_MAX);
	r_bytes(&r, "0123456789ab", 12);
	expect_rs_fail(XS_OP_INFO, r.b, r.n, -EBADMSG, "nobjects");
	r.n = 0;
	r_u32(&r, 0);
	r_str(&r, "", 0);
	r_u32(&r, 1);
	r_str(&r, "v", 1);
	r_bytes(&r, info_stats_zero, sizeof(info_stats_zero));
	r_u32(&r, 1);
	r_str(&r, "/x", 2);
	r_str(&r, "abz0", 4);
	r_bytes(&r, "\0\0\0\0\0\0\0\0", 8);
	r_u32(&r, 0);
	expect_rs_fail(XS_OP_INFO, r.b, r.n, -EINVAL, "build_id");
	r.n = 0; /* agent_version of 32 bytes is too long */
	r_u32(&r, 0);
	r_str(&r, "", 0);
	r_u32(&r, 1);
	r_str(&r, "0123456789012345678901234567890123", 32);
	r_u32(&r, 0);
	r_u32(&r, 0);
	expect_rs_fail(XS_OP_INFO, r.b, r.n, -ENAMETOOLONG, "agent_version");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(xs_state_name(XS_STATE_CHECKED), "CHECKED");
	assert_string_equal(xs_state_name(XS_STATE_APPLIED), "APPLIED");
	assert_string_equal(xs_state_name(9), "UNKNOWN(9)");
	assert_string_equal(xs_action_name(XS_ACTION_UNLOAD), "unload");
	assert_string_equal(xs_action_name(XS_ACTION_REVERT), "revert");
	assert_string_equal(xs_action_name(XS_ACTION_APPLY), "apply");
	assert_string_equal(xs_action_name(XS_ACTION_REPLACE), "replace");
	assert_null(xs_action_name(0));
	assert_string_equal(xs_action_name(XS_ACTION_CANCEL), "cancel");
	assert_null(xs_action_name(6));

	uint8_t id[4] = { 0x00, 0xab, 0x7f, 0xff };
	char hex[9];
	xs_hex_encode(id, 4, hex);
	assert_string_equal(hex, "00ab7fff");
	xs_hex_encode(id, 0, hex);
	assert_string_equal(hex, "");
}

/* ---- seeded random mutations ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static void mutate(uint8_t *b, size_t *n, size_t cap)
{
	int rounds = 1 + (int)(rnd() % 4);
	for (int r = 0; r < rounds; r++) {
		switch (rnd() % 7) {
		case 0: /* flip a bit */
			if (*n)
				b[rnd() % *n] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* set a byte to an interesting value */
			if (*n) {
				static const uint8_t v[] = { 0, 1, 0x7f, 0x80, 0xff, 0x40, 3, 4, 64, 65 };
				b[rnd() % *n] = v[rnd() % sizeof(v)];
			}
			break;
		case 2: /* truncate */
			if (*n)
				*n = rnd() % *n;
			break;
		case 3: /* insert a byte */
			if (*n < cap) {
				size_t at = rnd() % (*n + 1);
				memmove(b + at + 1, b + at, *n - at);
				b[at] = (uint8_t)rnd();
				(*n)++;
			}
			break;
		case 4: /* delete a byte */
			if (*n) {
				size_t at = rnd() % *n;
				memmove(b + at, b + at + 1, *n - at - 1);
				(*n)--;
			}
			break;
		case 5: /* a 16/32-bit length field gets a large value */
			if (*n >= 4) {
				size_t at = rnd() % (*n - 3);
				uint32_t v = rnd() % 3 == 0 ? UINT32_MAX : rnd() % 70000;
				memcpy(b + at, &v, rnd() % 2 ? 2 : 4);
			}
			break;
		case 6: /* duplicate a chunk */
			if (*n && *n < cap) {
				size_t at = rnd() % *n, len = 1 + rnd() % 16;
				if (at + len > *n)
					len = *n - at;
				if (*n + len > cap)
					len = cap - *n;
				memmove(b + at + len, b + at, *n - at);
				(*n) += len;
			}
			break;
		}
	}
}

/*
 * Every accepted message re-encodes to exactly the bytes accepted: the
 * encoding is canonical, so the decoder cannot have skipped or invented
 * anything.
 */
/* INFO's audit section (tag 1): round trip, and what decoders refuse. */
static void test_info_audit(void **state)
{
	(void)state;
	init_info();
	struct xs_info_audit recs[2];
	memset(recs, 0, sizeof(recs));
	recs[0].time_ns = 1700000000123456789ull;
	recs[0].pid = 4321;
	recs[0].uid = 1000;
	strcpy(recs[0].op, "upload");
	strcpy(recs[0].name, "hello");
	strcpy(recs[0].build_id, "00112233");
	strcpy(recs[0].signer, "/CN=xsplice test signer");
	recs[1] = recs[0];
	strcpy(recs[1].op, "apply-done");
	recs[1].result = -EBUSY;
	strcpy(recs[1].reason, "threads busy");
	struct xs_info in = sample_info;
	in.naudit = 2;
	in.audit = recs;
	struct xs_response rs = { .op = XS_OP_INFO, .info = &in };
	uint8_t *f;
	size_t n;
	enc_rs(&rs, &f, &n);
	struct xs_response out;
	struct xs_err err = { "" };
	assert_int_equal(xs_decode_response(XS_OP_INFO, f + HDR, n - HDR, &out, &err), 0);
	check_info_equal(out.info, &in);
	assert_int_equal(out.info->naudit, 2);
	for (int i = 0; i < 2; i++) {
		const struct xs_info_audit *a = &out.info->audit[i], *b = &recs[i];
		assert_true(a->time_ns == b->time_ns);
		assert_int_equal(a->pid, b->pid);
		assert_int_equal(a->uid, b->uid);
		assert_string_equal(a->op, b->op);
		assert_string_equal(a->name, b->name);
		assert_string_equal(a->build_id, b->build_id);
		assert_string_equal(a->signer, b->signer);
		assert_int_equal(a->result, b->result);
		assert_string_equal(a->reason, b->reason);
	}
	xs_response_free(&out);

	/* Without records there is no section: the body is the one of an
	 * agent that has none (old bodies stay valid). */
	in.naudit = 0;
	uint8_t *f0;
	size_t n0;
	enc_rs(&rs, &f0, &n0);
	size_t sec = n - n0; /* the section: tag, length, body */
	assert_true(sec > 6);
	assert_memory_equal(f0 + HDR, f + HDR, n0 - HDR);

	uint8_t b[4096];
	assert_true(n <= sizeof(b));
	/* An unknown tag. */
	memcpy(b, f + HDR, n - HDR);
	b[n0 - HDR] = 7;
	expect_rs_fail(XS_OP_INFO, b, n - HDR, -EBADMSG, "INFO section 7: unknown");
	/* The section twice. */
	memcpy(b, f + HDR, n - HDR);
	memcpy(b + (n - HDR), f + n0, sec);
	expect_rs_fail(XS_OP_INFO, b, n - HDR + sec, -EBADMSG, "after section 1");
	/* A length past the body. */
	memcpy(b, f + HDR, n - HDR);
	b[n0 - HDR + 2] = (uint8_t)(b[n0 - HDR + 2] + 1);
	expect_rs_fail(XS_OP_INFO, b, n - HDR, -EBADMSG, "section body: truncated");
	/* Count 0, and count 65. */
	memcpy(b, f0 + HDR, n0 - HDR);
	const uint8_t empty[] = { 1, 0, 4, 0, 0, 0, 0, 0, 0, 0 };
	memcpy(b + (n0 - HDR), empty, sizeof(empty));
	expect_rs_fail(XS_OP_INFO, b, n0 - HDR + sizeof(empty), -EBADMSG, "no records");
	/* 65 records do not fit in a 4-byte body: the count check says so first. */
	const uint8_t many[] = { 1, 0, 4, 0, 0, 0, 65, 0, 0, 0 };
	memcpy(b + (n0 - HDR), many, sizeof(many));
	expect_rs_fail(XS_OP_INFO, b, n0 - HDR + sizeof(many), -EBADMSG, "audit count");
	/* The encoder refuses more than 64. */
	struct xs_info_audit *lots = calloc(65, sizeof(*lots));
	assert_non_null(lots);
	for (int i = 0; i < 65; i++)
		strcpy(lots[i].op, "upload");
	in.naudit = 65;
	in.audit = lots;
	uint8_t *fx = NULL;
	size_t nx;
	assert_int_equal(xs_encode_response(&rs, &fx, &nx, &err), -E2BIG);
	free(lots);
	free(f0);
	free(f);
}

static void test_mutations(void **state)
{
	(void)state;
	struct xs_request rq[5];
	struct xs_response rs[7];
	uint8_t *seeds[12];
	size_t seed_len[12];
	int is_reply[12];
	uint16_t ops[12];
	int nseeds = 0;
	unsigned accepted = 0;

	sample_requests(rq);
	sample_responses(rs);
	for (int i = 0; i < 5; i++, nseeds++) {
		enc_rq(&rq[i], &seeds[nseeds], &seed_len[nseeds]);
		is_reply[nseeds] = 0;
		ops[nseeds] = rq[i].op;
	}
	for (int i = 0; i < 7; i++, nseeds++) {
		enc_rs(&rs[i], &seeds[nseeds], &seed_len[nseeds]);
		is_reply[nseeds] = 1;
		ops[nseeds] = rs[i].op;
	}

	rng_state = 0x9e3779b97f4a7c15ULL;
	enum { CAP = 4096 };
	uint8_t *buf = malloc(CAP);
	for (int iter = 0; iter < 50000; iter++) {
		int s = (int)(rnd() % (unsigned)nseeds);
		size_t n = seed_len[s];
		memcpy(buf, seeds[s], n);
		mutate(buf, &n, CAP);
		/* Exact-size copy so ASan flags any read past the end. */
		uint8_t *m = malloc(n ? n : 1);
		memcpy(m, buf, n);
		struct xs_err err = { "" };
		if (n < HDR) {
			free(m);
			continue;
		}
		struct xs_frame_header h;
		parse_header(m, &h);
		int rc = xs_check_header(&h, is_reply[s], &err);
		if (rc) {
			assert_true(rc == -EPROTO || rc == -EMSGSIZE);
			assert_true(err.msg[0]);
			free(m);
			continue;
		}
		/* Decode what is present (length field or not: both must be safe). */
		size_t body = n - HDR;
		uint16_t op = h.op & (uint16_t)~XS_OP_REPLY;
		if (!is_reply[s]) {
			struct xs_request out;
			rc = xs_decode_request(op, m + HDR, body, &out, &err);
			if (rc == 0) {
				uint8_t *f2;
				size_t n2;
				accepted++;
				assert_int_equal(xs_encode_request(&out, &f2, &n2, &err), 0);
				assert_int_equal(n2 - HDR, body);
				assert_memory_equal(f2 + HDR, m + HDR, body);
				free(f2);
			} else {
				assert_true(rc < 0 && err.msg[0]);
			}
		} else {
			struct xs_response out;
			rc = xs_decode_response(op, m + HDR, body, &out, &err);
			if (rc == 0) {
				uint8_t *f2;
				size_t n2;
				accepted++;
				assert_int_equal(xs_encode_response(&out, &f2, &n2, &err), 0);
				assert_int_equal(n2 - HDR, body);
				assert_memory_equal(f2 + HDR, m + HDR, body);
				free(f2);
				xs_response_free(&out);
			} else {
				assert_true(rc < 0 && err.msg[0]);
				assert_null(out.list);
				assert_null(out.info);
			}
		}
		(void)ops;
		free(m);
	}
	free(buf);
	for (int i = 0; i < nseeds; i++)
		free(seeds[i]);
	/* Some mutations (of values, not structure) must still be accepted. */
	assert_true(accepted > 100);
	print_message("mutations: 50000, accepted and re-encoded identically: %u\n", accepted);
}

/* ACTION with XS_ACTION_F_WAIT (docs/protocol.md, "Waiting for the end"):
 * the flag only when set, refused as 0 or unknown; the reply carries the
 * outcome only when there is one, and both old forms still decode. */
static void test_action_wait(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	struct xs_request rq = { .op = XS_OP_ACTION, .cmd = XS_ACTION_APPLY, .timeout_ms = 300,
				 .action_flags = XS_ACTION_F_WAIT }, out;
	strcpy(rq.name, "p");
	uint8_t *f, *f0;
	size_t n, n0;
	enc_rq(&rq, &f, &n);
	assert_int_equal(xs_decode_request(XS_OP_ACTION, f + HDR, n - HDR, &out, &err), 0);
	assert_int_equal(out.action_flags, XS_ACTION_F_WAIT);
	assert_int_equal(out.timeout_ms, 300);
	rq.action_flags = 0;
	enc_rq(&rq, &f0, &n0);
	assert_int_equal(n - n0, 4); /* the original request, plus the field */
	assert_int_equal(xs_decode_request(XS_OP_ACTION, f0 + HDR, n0 - HDR, &out, &err), 0);
	assert_int_equal(out.action_flags, 0);
	uint8_t *bad = malloc(n - HDR);
	assert_non_null(bad);
	memcpy(bad, f + HDR, n - HDR);
	memset(bad + (n - HDR) - 4, 0, 4);
	expect_rq_fail(XS_OP_ACTION, bad, n - HDR, -EINVAL, "action flags");
	bad[n - HDR - 4] = 2;
	expect_rq_fail(XS_OP_ACTION, bad, n - HDR, -EINVAL, "unknown");
	free(bad);
	free(f);
	free(f0);
	rq.action_flags = 4;
	assert_int_equal(xs_encode_request(&rq, &f, &n, &err), -EINVAL);

	/* Replies: empty (accepted, the original), and with the outcome. */
	struct xs_response rs = { .op = XS_OP_ACTION }, back;
	enc_rs(&rs, &f, &n);
	assert_int_equal(xs_decode_response(XS_OP_ACTION, f + HDR, n - HDR, &back, &err), 0);
	assert_false(back.action_ended);
	free(f);
	rs.action_ended = true;
	rs.state = XS_STATE_CHECKED;
	rs.rc = -EBUSY;
	strcpy(rs.rc_reason, "thread 7 is in function f");
	enc_rs(&rs, &f, &n);
	assert_int_equal(xs_decode_response(XS_OP_ACTION, f + HDR, n - HDR, &back, &err), 0);
	assert_true(back.action_ended);
	assert_int_equal(back.state, XS_STATE_CHECKED);
	assert_int_equal(back.rc, -EBUSY);
	assert_string_equal(back.rc_reason, rs.rc_reason);
	free(f);
	/* An ended action is never -EAGAIN. */
	rs.rc = -EAGAIN;
	enc_rs(&rs, &f, &n);
	assert_int_not_equal(xs_decode_response(XS_OP_ACTION, f + HDR, n - HDR, &back, &err), 0);
	free(f);
}

/* INFO metadata (docs/protocol.md, "Metadata"): the flag in the request,
 * the trailer in the reply only when asked; both directions decode the old
 * forms (an old agent's reply, an old client's empty request). */
static void test_info_metadata(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	struct xs_request rq = { .op = XS_OP_INFO, .info_flags = XS_INFO_METADATA }, out;
	uint8_t *f;
	size_t n;
	enc_rq(&rq, &f, &n);
	assert_int_equal(n - HDR, 4);
	assert_int_equal(xs_decode_request(XS_OP_INFO, f + HDR, n - HDR, &out, &err), 0);
	assert_int_equal(out.info_flags, XS_INFO_METADATA);
	free(f);
	assert_int_equal(xs_decode_request(XS_OP_INFO, NULL, 0, &out, &err), 0);
	assert_int_equal(out.info_flags, 0);
	const uint8_t zero[4] = { 0 }, unknown[4] = { 2, 0, 0, 0 };
	expect_rq_fail(XS_OP_INFO, zero, 4, -EINVAL, "info flags");
	expect_rq_fail(XS_OP_INFO, unknown, 4, -EINVAL, "unknown");

	init_info();
	strcpy(sample_payloads[0].description, "fix CVE-2026-0001: bounds check in parse()");
	strcpy(sample_payloads[0].version, "1.2");
	for (int with = 0; with < 2; with++) {
		sample_info.metadata = with;
		struct xs_response rs = { .op = XS_OP_INFO, .info = &sample_info }, back;
		enc_rs(&rs, &f, &n);
		assert_int_equal(xs_decode_response(XS_OP_INFO, f + HDR, n - HDR, &back, &err), 0);
		assert_int_equal(back.info->metadata, with);
		assert_string_equal(back.info->payloads[0].description,
				    with ? sample_payloads[0].description : "");
		assert_string_equal(back.info->payloads[0].version, with ? "1.2" : "");
		assert_string_equal(back.info->payloads[1].description, "");
		xs_response_free(&back);
		if (with) {
			/* a trailer whose count is not npayloads */
			/* u32 count, then u16-length strings: 2 + desc, 2 + "1.2", 2, 2 */
			f[n - (4 + 2 + strlen(sample_payloads[0].description) + 2 + 3 + 2 + 2)] ^= 1;
			assert_int_not_equal(xs_decode_response(XS_OP_INFO, f + HDR, n - HDR, &back,
								&err), 0);
		}
		free(f);
	}
	sample_info.metadata = false;
	init_info();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_response_roundtrip),
		cmocka_unit_test(test_list_full_page),
		cmocka_unit_test(test_encoder_refuses),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_truncated_requests),
		cmocka_unit_test(test_truncated_responses),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_info_audit),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_info_metadata),
		cmocka_unit_test(test_action_wait),
	};
	return cmocka_run_group_tests_name("protocol codec", tests, NULL, NULL);
}
