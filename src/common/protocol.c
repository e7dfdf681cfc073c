/* SPDX-License-Identifier: MIT */
/*
 * Wire protocol codec: the message bodies of requests and replies, and the
 * names of states and actions. The frame header around a body is frame.c's
 * (this file calls xs_frame_encode_header and the LE helpers of frame.h);
 * moving frames over a socket is wire.c's.
 *
 * The decoder is fed by untrusted peers, so it works on a cursor that knows
 * how many bytes are left and every read is checked against it; counts of
 * repeated records are checked against the bytes present before anything is
 * allocated, so a lying count cannot make us allocate more than the frame
 * could describe. The body layout of every op is in docs/protocol.md.
 *
 * Threading: no shared state. Encoders and decoders work on caller-owned
 * buffers and may run in any number of threads at once; xs_state_name's
 * buffer for unknown states is thread-local.
 */
#include "xsplice/protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "common/frame.h"

/* ---- encoder: a growable buffer; the first error sticks ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int rc;
	struct xs_err *err;
};

static uint8_t *wb_room(struct wbuf *w, size_t n)
{
	if (w->rc)
		return NULL;
	if (n > XS_MAX_FRAME_BODY + XS_FRAME_HEADER_SIZE - w->len) {
		w->rc = xs_fail(w->err, -EMSGSIZE, "message larger than %u bytes",
				XS_MAX_FRAME_BODY);
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *np = realloc(w->p, cap);
		if (!np) {
			w->rc = xs_fail(w->err, -ENOMEM, "out of memory encoding a message");
			return NULL;
		}
		w->p = np;
		w->cap = cap;
	}
	uint8_t *r = w->p + w->len;
	w->len += n;
	return r;
}

static void wb_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *p = wb_room(w, 2);
	if (p)
		xs_le_put16(p, v);
}

static void wb_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *p = wb_room(w, 4);
	if (p)
		xs_le_put32(p, v);
}

static void wb_u64(struct wbuf *w, uint64_t v)
{
	uint8_t *p = wb_room(w, 8);
	if (p)
		xs_le_put64(p, v);
}

static void wb_bytes(struct wbuf *w, const void *s, size_t n)
{
	uint8_t *p = wb_room(w, n);
	if (p)
		memcpy(p, s, n);
}

/*
 * A string field from a fixed char array of `cap` bytes. The encoder is as
 * strict as the decoder (min..cap-1 bytes) so that what we send is always
 * something the peer accepts.
 */
static void wb_str(struct wbuf *w, const char *field, const char *s, size_t cap, size_t min)
{
	if (w->rc)
		return;
	size_t n = strnlen(s, cap);
	if (n >= cap) {
		w->rc = xs_fail(w->err, -ENAMETOOLONG, "%s: longer than %zu bytes", field,
				cap - 1);
		return;
	}
	if (n < min) {
		w->rc = xs_fail(w->err, -EINVAL, "%s: empty", field);
		return;
	}
	wb_u16(w, (uint16_t)n);
	wb_bytes(w, s, n);
}

/* Reasons are advisory text: truncate rather than fail. */
static void wb_reason(struct wbuf *w, const char *s)
{
	size_t n = strnlen(s, XS_REASON_SIZE - 1);
	wb_u16(w, (uint16_t)n);
	wb_bytes(w, s, n);
}

static int wb_finish(struct wbuf *w, uint16_t op, uint8_t **frame, size_t *frame_len)
{
	if (w->rc) {
		free(w->p);
		return w->rc;
	}
	xs_frame_encode_header(w->p, op, (uint32_t)(w->len - XS_FRAME_HEADER_SIZE));
	*frame = w->p;
	*frame_len = w->len;
	return 0;
}

static void wb_init(struct wbuf *w, struct xs_err *err)
{
	memset(w, 0, sizeof(*w));
	w->err = err;
	wb_room(w, XS_FRAME_HEADER_SIZE);
}

#define NAME_FIELD(f) (f), XS_NAME_SIZE, 1

int xs_encode_request(const struct xs_request *rq, uint8_t **frame, size_t *frame_len,
		      struct xs_err *err)
{
	struct wbuf w;

	*frame = NULL;
	*frame_len = 0;
	wb_init(&w, err);
	switch (rq->op) {
	case XS_OP_UPLOAD:
		wb_str(&w, "name", NAME_FIELD(rq->name));
		if (!w.rc && rq->payload_size == 0)
			w.rc = xs_fail(err, -EINVAL, "payload: empty");
		if (!w.rc && rq->payload_size > XS_MAX_PAYLOAD)
			w.rc = xs_fail(err, -EFBIG, "payload: %u bytes, more than the %u allowed",
				       rq->payload_size, XS_MAX_PAYLOAD);
		if (!w.rc && !rq->payload)
			w.rc = xs_fail(err, -EINVAL, "payload: no data");
		wb_u32(&w, rq->payload_size);
		wb_bytes(&w, rq->payload, rq->payload_size);
		break;
	case XS_OP_GET:
		wb_str(&w, "name", NAME_FIELD(rq->name));
		break;
	case XS_OP_LIST:
		if (rq->list_nr > XS_LIST_MAX)
			w.rc = xs_fail(err, -E2BIG, "nr: %u entries asked, at most %u per page",
				       rq->list_nr, XS_LIST_MAX);
		wb_u32(&w, rq->list_version);
		wb_u32(&w, rq->list_idx);
		wb_u32(&w, rq->list_nr);
		break;
	case XS_OP_ACTION:
		wb_str(&w, "name", NAME_FIELD(rq->name));
		if (!w.rc && !xs_action_name(rq->cmd))
			w.rc = xs_fail(err, -EINVAL, "cmd: unknown action %u", rq->cmd);
		wb_u32(&w, rq->cmd);
		wb_u32(&w, rq->timeout_ms);
		/* Flags only when set: an agent that predates them still
		 * understands the request (and refuses one with them). */
		if (rq->action_flags & ~XS_ACTION_FLAGS_KNOWN)
			w.rc = xs_fail(err, -EINVAL, "action flags: unknown %#x", rq->action_flags);
		if (rq->action_flags)
			wb_u32(&w, rq->action_flags);
		break;
	case XS_OP_INFO:
		/* The original INFO request is empty: flags only when set, so
		 * an agent that predates them still understands the request. */
		if (rq->info_flags & ~XS_INFO_FLAGS_KNOWN)
			w.rc = xs_fail(err, -EINVAL, "info flags: unknown %#x", rq->info_flags);
		if (rq->info_flags)
			wb_u32(&w, rq->info_flags);
		break;
	default:
		w.rc = xs_fail(err, -EINVAL, "op: unknown operation %u", rq->op);
		break;
	}
	return wb_finish(&w, rq->op, frame, frame_len);
}

/* An INFO section: u16 tag, u32 length (filled in on close), body. */
static size_t wb_section_open(struct wbuf *w, uint16_t tag)
{
	wb_u16(w, tag);
	size_t lenpos = w->len;
	wb_u32(w, 0);
	return lenpos;
}

static void wb_section_close(struct wbuf *w, size_t lenpos)
{
	if (!w->rc)
		xs_le_put32(w->p + lenpos, (uint32_t)(w->len - lenpos - 4));
}

static void enc_info(struct wbuf *w, const struct xs_info *in)
{
	wb_u32(w, in->pid);
	wb_str(w, "agent_version", in->agent_version, sizeof(in->agent_version), 0);
	wb_u32(w, in->park_signal);
	wb_u64(w, in->last_pause_ns);
	wb_u64(w, in->last_park_ns);
	wb_u64(w, in->last_action_ns);
	wb_u32(w, in->last_threads);
	wb_u32(w, in->last_attempts);
	if (in->nobjects && !in->objects)
		w->rc = w->rc ? w->rc : xs_fail(w->err, -EINVAL, "objects: missing");
	wb_u32(w, in->nobjects);
	for (uint32_t i = 0; i < in->nobjects && !w->rc; i++) {
		const struct xs_info_object *o = &in->objects[i];
		wb_str(w, "object path", o->path, sizeof(o->path), 0);
		wb_str(w, "object build_id", o->build_id, sizeof(o->build_id), 0);
		wb_u64(w, o->base);
	}
	if (in->npayloads && !in->payloads)
		w->rc = w->rc ? w->rc : xs_fail(w->err, -EINVAL, "payloads: missing");
	wb_u32(w, in->npayloads);
	for (uint32_t i = 0; i < in->npayloads && !w->rc; i++) {
		const struct xs_info_payload *p = &in->payloads[i];
		wb_str(w, "payload name", NAME_FIELD(p->name));
		wb_u32(w, p->state);
		wb_u32(w, (uint32_t)p->rc);
		wb_reason(w, p->reason);
		wb_str(w, "payload build_id", p->build_id, sizeof(p->build_id), 0);
		wb_str(w, "payload depends", p->depends, sizeof(p->depends), 0);
		wb_str(w, "payload target", p->target, sizeof(p->target), 0);
		wb_u64(w, p->load_addr);
		wb_u64(w, p->load_size);
		if (p->nfuncs && !p->funcs)
			w->rc = w->rc ? w->rc : xs_fail(w->err, -EINVAL, "funcs: missing");
		wb_u32(w, p->nfuncs);
		for (uint32_t j = 0; j < p->nfuncs && !w->rc; j++) {
			const struct xs_info_func *f = &p->funcs[j];
			wb_str(w, "func name", f->name, sizeof(f->name), 0);
			wb_u64(w, f->old_addr);
			wb_u64(w, f->new_addr);
			wb_u32(w, f->old_size);
			wb_u32(w, f->new_size);
			wb_u32(w, f->flags);
		}
	}
	/* Sections after the payloads: u16 tag, u32 length, body; in
	 * ascending tag order, each present only when non-empty (so the
	 * encoding stays canonical). Section 1: the audit ring. */
	if (in->naudit && !in->audit)
		w->rc = w->rc ? w->rc : xs_fail(w->err, -EINVAL, "audit: missing");
	if (in->naudit > XS_AUDIT_MAX)
		w->rc = w->rc ? w->rc : xs_fail(w->err, -E2BIG, "audit: %u records, at most %u",
						in->naudit, XS_AUDIT_MAX);
	if (in->naudit && !w->rc) {
		size_t lenpos = wb_section_open(w, XS_INFO_SECTION_AUDIT);
		wb_u32(w, in->naudit);
		for (uint32_t i = 0; i < in->naudit && !w->rc; i++) {
			const struct xs_info_audit *a = &in->audit[i];
			wb_u64(w, a->time_ns);
			wb_u32(w, a->pid);
			wb_u32(w, a->uid);
			wb_str(w, "audit op", a->op, sizeof(a->op), 1);
			wb_str(w, "audit name", a->name, sizeof(a->name), 0);
			wb_str(w, "audit build_id", a->build_id, sizeof(a->build_id), 0);
			wb_str(w, "audit signer", a->signer, sizeof(a->signer), 0);
			wb_u32(w, (uint32_t)a->result);
			wb_reason(w, a->reason);
		}
		wb_section_close(w, lenpos);
	}
	/* Section 2: the metadata, only when asked for (an old client's
	 * decoder refuses what it does not know). */
	if (in->metadata && !w->rc) {
		size_t lenpos = wb_section_open(w, XS_INFO_SECTION_METADATA);
		wb_u32(w, in->npayloads);
		for (uint32_t i = 0; i < in->npayloads && !w->rc; i++) {
			const struct xs_info_payload *p = &in->payloads[i];
			wb_str(w, "payload description", p->description, sizeof(p->description), 0);
			wb_str(w, "payload version", p->version, sizeof(p->version), 0);
		}
		wb_section_close(w, lenpos);
	}
}

int xs_encode_response(const struct xs_response *rs, uint8_t **frame, size_t *frame_len,
		       struct xs_err *err)
{
	struct wbuf w;

	*frame = NULL;
	*frame_len = 0;
	wb_init(&w, err);
	if (rs->op >= XS_OP_COUNT)
		w.rc = xs_fail(err, -EINVAL, "op: unknown operation %u", rs->op);
	wb_u32(&w, (uint32_t)rs->ret);
	wb_reason(&w, rs->reason);
	/* A failed request carries only ret and reason. */
	if (rs->ret == 0) {
		switch (rs->op) {
		case XS_OP_GET:
			wb_u32(&w, rs->state);
			wb_u32(&w, (uint32_t)rs->rc);
			wb_reason(&w, rs->rc_reason);
			break;
		case XS_OP_ACTION:
			/* Only to a request with XS_ACTION_F_WAIT: the original
			 * reply is empty. */
			if (rs->action_ended) {
				wb_u32(&w, rs->state);
				wb_u32(&w, (uint32_t)rs->rc);
				wb_reason(&w, rs->rc_reason);
			}
			break;
		case XS_OP_LIST:
			if (!w.rc && rs->list_count > XS_LIST_MAX)
				w.rc = xs_fail(err, -E2BIG, "count: %u entries, at most %u",
					       rs->list_count, XS_LIST_MAX);
			if (!w.rc && rs->list_count && !rs->list)
				w.rc = xs_fail(err, -EINVAL, "entries: missing");
			wb_u32(&w, rs->list_version);
			wb_u32(&w, rs->list_count);
			wb_u32(&w, rs->list_left);
			for (uint32_t i = 0; i < rs->list_count && !w.rc; i++) {
				wb_str(&w, "entry name", NAME_FIELD(rs->list[i].name));
				wb_u32(&w, rs->list[i].state);
				wb_u32(&w, (uint32_t)rs->list[i].rc);
			}
			break;
		case XS_OP_INFO:
			if (!rs->info) {
				if (!w.rc)
					w.rc = xs_fail(err, -EINVAL, "info: missing");
				break;
			}
			enc_info(&w, rs->info);
			break;
		default:
			break;
		}
	}
	return wb_finish(&w, (uint16_t)(rs->op | XS_OP_REPLY), frame, frame_len);
}

/* ---- decoder ---- */

struct rbuf {
	const uint8_t *p;
	size_t left;
	size_t off; /* for reasons: where in the body */
};

static int rb_need(struct rbuf *r, size_t n, const char *field, struct xs_err *err)
{
	if (r->left < n)
		return xs_fail(err, -EBADMSG,
			       "%s: truncated at byte %zu (needs %zu bytes, %zu left)", field,
			       r->off, n, r->left);
	return 0;
}

static const uint8_t *rb_take(struct rbuf *r, size_t n)
{
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	r->off += n;
	return p;
}

static int rb_u32(struct rbuf *r, uint32_t *v, const char *field, struct xs_err *err)
{
	int rc = rb_need(r, 4, field, err);
	if (rc)
		return rc;
	*v = xs_le_get32(rb_take(r, 4));
	return 0;
}

static int rb_u16(struct rbuf *r, uint16_t *v, const char *field, struct xs_err *err)
{
	int rc = rb_need(r, 2, field, err);
	if (rc)
		return rc;
	*v = xs_le_get16(rb_take(r, 2));
	return 0;
}

static int rb_i32(struct rbuf *r, int32_t *v, const char *field, struct xs_err *err)
{
	uint32_t u;
	int rc = rb_u32(r, &u, field, err);
	if (!rc)
		memcpy(v, &u, sizeof(*v));
	return rc;
}

static int rb_u64(struct rbuf *r, uint64_t *v, const char *field, struct xs_err *err)
{
	int rc = rb_need(r, 8, field, err);
	if (rc)
		return rc;
	*v = xs_le_get64(rb_take(r, 8));
	return 0;
}

/*
 * A string into out[cap]: min..cap-1 bytes, no NUL inside. Too long is
 * -ENAMETOOLONG, missing bytes -EBADMSG, empty or NUL inside -EINVAL.
 */
static int rb_str(struct rbuf *r, char *out, size_t cap, size_t min, const char *field,
		  struct xs_err *err)
{
	int rc = rb_need(r, 2, field, err);
	if (rc)
		return rc;
	size_t n = xs_le_get16(rb_take(r, 2));
	if (n >= cap)
		return xs_fail(err, -ENAMETOOLONG, "%s: %zu bytes, at most %zu allowed", field, n,
			       cap - 1);
	rc = rb_need(r, n, field, err);
	if (rc)
		return rc;
	if (n < min)
		return xs_fail(err, -EINVAL, "%s: empty", field);
	const uint8_t *s = rb_take(r, n);
	const void *nul = memchr(s, 0, n);
	if (nul)
		return xs_fail(err, -EINVAL, "%s: NUL byte at offset %zu",
			       field, (size_t)((const uint8_t *)nul - s));
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Build-ids travel as lowercase or uppercase hex, even length. */
static int rb_hex(struct rbuf *r, char *out, size_t cap, const char *field, struct xs_err *err)
{
	int rc = rb_str(r, out, cap, 0, field, err);
	if (rc)
		return rc;
	size_t n = strlen(out);
	if (n % 2)
		return xs_fail(err, -EINVAL, "%s: odd number of hex digits", field);
	for (size_t i = 0; i < n; i++) {
		char c = out[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return xs_fail(err, -EINVAL, "%s: not hex at offset %zu", field, i);
	}
	return 0;
}

static int rb_end(struct rbuf *r, struct xs_err *err)
{
	if (r->left)
		return xs_fail(err, -EBADMSG, "body: %zu trailing bytes after byte %zu", r->left,
			       r->off);
	return 0;
}

static int check_state(uint32_t state, const char *field, struct xs_err *err)
{
	if (state != XS_STATE_CHECKED && state != XS_STATE_APPLIED)
		return xs_fail(err, -EINVAL, "%s: unknown state %u", field, state);
	return 0;
}

int xs_decode_request(uint16_t op, const uint8_t *body, size_t len, struct xs_request *rq,
		      struct xs_err *err)
{
	struct rbuf r = { .p = body, .left = body ? len : 0, .off = 0 };
	int rc = 0;

	memset(rq, 0, sizeof(*rq));
	op &= (uint16_t)~XS_OP_REPLY;
	rq->op = op;
	switch (op) {
	case XS_OP_UPLOAD:
		if ((rc = rb_str(&r, rq->name, sizeof(rq->name), 1, "name", err)))
			return rc;
		if ((rc = rb_u32(&r, &rq->payload_size, "payload size", err)))
			return rc;
		if (rq->payload_size == 0)
			return xs_fail(err, -EINVAL, "payload size: 0, an empty payload");
		if (rq->payload_size > XS_MAX_PAYLOAD)
			return xs_fail(err, -EFBIG, "payload size: %u bytes, more than the %u allowed",
				       rq->payload_size, XS_MAX_PAYLOAD);
		if ((rc = rb_need(&r, rq->payload_size, "payload", err)))
			return rc;
		rq->payload = rb_take(&r, rq->payload_size);
		break;
	case XS_OP_GET:
		if ((rc = rb_str(&r, rq->name, sizeof(rq->name), 1, "name", err)))
			return rc;
		break;
	case XS_OP_LIST:
		if ((rc = rb_u32(&r, &rq->list_version, "version", err)) ||
		    (rc = rb_u32(&r, &rq->list_idx, "idx", err)) ||
		    (rc = rb_u32(&r, &rq->list_nr, "nr", err)))
			return rc;
		if (rq->list_nr > XS_LIST_MAX)
			return xs_fail(err, -E2BIG, "nr: %u entries asked, at most %u per page",
				       rq->list_nr, XS_LIST_MAX);
		break;
	case XS_OP_ACTION:
		if ((rc = rb_str(&r, rq->name, sizeof(rq->name), 1, "name", err)) ||
		    (rc = rb_u32(&r, &rq->cmd, "cmd", err)) ||
		    (rc = rb_u32(&r, &rq->timeout_ms, "timeout", err)))
			return rc;
		if (!xs_action_name(rq->cmd))
			return xs_fail(err, -EINVAL, "cmd: unknown action %u", rq->cmd);
		if (r.left >= 4) {
			if ((rc = rb_u32(&r, &rq->action_flags, "action flags", err)))
				return rc;
			if (rq->action_flags == 0)
				return xs_fail(err, -EINVAL, "action flags: 0 is not sent as a field");
			if (rq->action_flags & ~XS_ACTION_FLAGS_KNOWN)
				return xs_fail(err, -EINVAL, "action flags: unknown %#x",
					       rq->action_flags & ~XS_ACTION_FLAGS_KNOWN);
		}
		break;
	case XS_OP_INFO:
		/* Optional flags; fewer than 4 bytes are trailing bytes. */
		if (r.left >= 4) {
			if ((rc = rb_u32(&r, &rq->info_flags, "info flags", err)))
				return rc;
			if (rq->info_flags == 0)
				return xs_fail(err, -EINVAL,
					       "info flags: 0 is sent as an empty body, not as a field");
			if (rq->info_flags & ~XS_INFO_FLAGS_KNOWN)
				return xs_fail(err, -EINVAL, "info flags: unknown %#x",
					       rq->info_flags & ~XS_INFO_FLAGS_KNOWN);
		}
		break;
	default:
		return xs_fail(err, -EPROTO, "op: unknown operation %u", op);
	}
	return rb_end(&r, err);
}

/*
 * Smallest encoding of one record, used to bound counts before allocating:
 * a count larger than (bytes left / smallest record) cannot be honest.
 */
#define MIN_LIST_ENTRY (2 + 1 + 4 + 4)
#define MIN_OBJECT     (2 + 2 + 8)
#define MIN_PAYLOAD    (2 + 1 + 4 + 4 + 2 + 2 + 2 + 2 + 8 + 8 + 4)
#define MIN_FUNC       (2 + 8 + 8 + 4 + 4 + 4)

static int rb_count(struct rbuf *r, uint32_t *n, size_t min_rec, const char *field,
		    struct xs_err *err)
{
	int rc = rb_u32(r, n, field, err);
	if (rc)
		return rc;
	if (*n > r->left / min_rec)
		return xs_fail(err, -EBADMSG, "%s: %u records cannot fit in the %zu bytes left",
			       field, *n, r->left);
	return 0;
}

#define MIN_AUDIT (8 + 4 + 4 + 2 + 1 + 2 + 2 + 2 + 4 + 2)

static int dec_audit(struct rbuf *r, struct xs_info *in, struct xs_err *err)
{
	uint32_t n;
	int rc = rb_count(r, &n, MIN_AUDIT, "audit count", err);
	if (rc)
		return rc;
	if (n == 0)
		return xs_fail(err, -EBADMSG, "audit section: no records (an empty section is "
			       "left out)");
	if (n > XS_AUDIT_MAX)
		return xs_fail(err, -E2BIG, "audit section: %u records, at most %u", n,
			       XS_AUDIT_MAX);
	in->audit = calloc(n, sizeof(*in->audit));
	if (!in->audit)
		return xs_fail(err, -ENOMEM, "out of memory decoding INFO");
	in->naudit = n;
	for (uint32_t i = 0; i < n; i++) {
		struct xs_info_audit *a = &in->audit[i];
		if ((rc = rb_u64(r, &a->time_ns, "audit time", err)) ||
		    (rc = rb_u32(r, &a->pid, "audit pid", err)) ||
		    (rc = rb_u32(r, &a->uid, "audit uid", err)) ||
		    (rc = rb_str(r, a->op, sizeof(a->op), 1, "audit op", err)) ||
		    (rc = rb_str(r, a->name, sizeof(a->name), 0, "audit name", err)) ||
		    (rc = rb_hex(r, a->build_id, sizeof(a->build_id), "audit build_id", err)) ||
		    (rc = rb_str(r, a->signer, sizeof(a->signer), 0, "audit signer", err)) ||
		    (rc = rb_i32(r, &a->result, "audit result", err)) ||
		    (rc = rb_str(r, a->reason, sizeof(a->reason), 0, "audit reason", err)))
			return xs_fail_prefix(err, rc, "audit record %u", i);
	}
	return rb_end(r, err);
}

static int dec_metadata(struct rbuf *r, struct xs_info *in, struct xs_err *err)
{
	uint32_t nm;
	int rc;
	if ((rc = rb_u32(r, &nm, "metadata count", err)))
		return rc;
	if (nm != in->npayloads)
		return xs_fail(err, -EBADMSG, "metadata count %u, but %u payloads", nm,
			       in->npayloads);
	for (uint32_t i = 0; i < nm; i++) {
		struct xs_info_payload *p = &in->payloads[i];
		if ((rc = rb_str(r, p->description, sizeof(p->description), 0,
				 "payload description", err)) ||
		    (rc = rb_str(r, p->version, sizeof(p->version), 0, "payload version", err)))
			return xs_fail_prefix(err, rc, "payload %u", i);
	}
	in->metadata = true;
	return rb_end(r, err);
}

/* The sections after the payloads (see enc_info): known tags only, in
 * ascending order, each once. */
static int dec_info_sections(struct rbuf *r, struct xs_info *in, struct xs_err *err)
{
	unsigned last = 0;
	while (r->left) {
		int rc;
		uint16_t tag;
		uint32_t len;
		if (r->left < 6) /* not even a section header */
			return rb_end(r, err);
		if ((rc = rb_u16(r, &tag, "section tag", err)) ||
		    (rc = rb_u32(r, &len, "section length", err)) ||
		    (rc = rb_need(r, len, "section body", err)))
			return rc;
		if (tag <= last)
			return xs_fail(err, -EBADMSG, "INFO section %u after section %u (ascending, "
				       "each once)", tag, last);
		last = tag;
		struct rbuf sub = { .p = r->p, .left = len, .off = r->off };
		rb_take(r, len);
		switch (tag) {
		case XS_INFO_SECTION_AUDIT:
			rc = dec_audit(&sub, in, err);
			break;
		case XS_INFO_SECTION_METADATA:
			rc = dec_metadata(&sub, in, err);
			break;
		default:
			rc = xs_fail(err, -EBADMSG, "INFO section %u: unknown", tag);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int dec_info(struct rbuf *r, struct xs_info **out, struct xs_err *err)
{
	struct xs_info *in = calloc(1, sizeof(*in));
	int rc;

	if (!in)
		return xs_fail(err, -ENOMEM, "out of memory decoding INFO");
	*out = in;
	if ((rc = rb_u32(r, &in->pid, "pid", err)) ||
	    (rc = rb_str(r, in->agent_version, sizeof(in->agent_version), 0, "agent_version",
			 err)) ||
	    (rc = rb_u32(r, &in->park_signal, "park_signal", err)) ||
	    (rc = rb_u64(r, &in->last_pause_ns, "last_pause_ns", err)) ||
	    (rc = rb_u64(r, &in->last_park_ns, "last_park_ns", err)) ||
	    (rc = rb_u64(r, &in->last_action_ns, "last_action_ns", err)) ||
	    (rc = rb_u32(r, &in->last_threads, "last_threads", err)) ||
	    (rc = rb_u32(r, &in->last_attempts, "last_attempts", err)))
		return rc;
	uint32_t n;
	if ((rc = rb_count(r, &n, MIN_OBJECT, "nobjects", err)))
		return rc;
	if (n) {
		in->objects = calloc(n, sizeof(*in->objects));
		if (!in->objects)
			return xs_fail(err, -ENOMEM, "out of memory decoding INFO");
	}
	in->nobjects = n;
	for (uint32_t i = 0; i < n; i++) {
		struct xs_info_object *o = &in->objects[i];
		if ((rc = rb_str(r, o->path, sizeof(o->path), 0, "object path", err)) ||
		    (rc = rb_hex(r, o->build_id, sizeof(o->build_id), "object build_id", err)) ||
		    (rc = rb_u64(r, &o->base, "object base", err)))
			return xs_fail_prefix(err, rc, "object %u", i);
	}
	if ((rc = rb_count(r, &n, MIN_PAYLOAD, "npayloads", err)))
		return rc;
	if (n) {
		in->payloads = calloc(n, sizeof(*in->payloads));
		if (!in->payloads)
			return xs_fail(err, -ENOMEM, "out of memory decoding INFO");
	}
	in->npayloads = n;
	for (uint32_t i = 0; i < n; i++) {
		struct xs_info_payload *p = &in->payloads[i];
		uint32_t nf;
		if ((rc = rb_str(r, p->name, sizeof(p->name), 1, "payload name", err)) ||
		    (rc = rb_u32(r, &p->state, "payload state", err)) ||
		    (rc = check_state(p->state, "payload state", err)) ||
		    (rc = rb_i32(r, &p->rc, "payload rc", err)) ||
		    (rc = rb_str(r, p->reason, sizeof(p->reason), 0, "payload reason", err)) ||
		    (rc = rb_hex(r, p->build_id, sizeof(p->build_id), "payload build_id", err)) ||
		    (rc = rb_hex(r, p->depends, sizeof(p->depends), "payload depends", err)) ||
		    (rc = rb_str(r, p->target, sizeof(p->target), 0, "payload target", err)) ||
		    (rc = rb_u64(r, &p->load_addr, "payload load_addr", err)) ||
		    (rc = rb_u64(r, &p->load_size, "payload load_size", err)) ||
		    (rc = rb_count(r, &nf, MIN_FUNC, "payload nfuncs", err)))
			return xs_fail_prefix(err, rc, "payload %u", i);
		if (nf) {
			p->funcs = calloc(nf, sizeof(*p->funcs));
			if (!p->funcs)
				return xs_fail(err, -ENOMEM, "out of memory decoding INFO");
		}
		p->nfuncs = nf;
		for (uint32_t j = 0; j < nf; j++) {
			struct xs_info_func *f = &p->funcs[j];
			if ((rc = rb_str(r, f->name, sizeof(f->name), 0, "func name", err)) ||
			    (rc = rb_u64(r, &f->old_addr, "func old_addr", err)) ||
			    (rc = rb_u64(r, &f->new_addr, "func new_addr", err)) ||
			    (rc = rb_u32(r, &f->old_size, "func old_size", err)) ||
			    (rc = rb_u32(r, &f->new_size, "func new_size", err)) ||
			    (rc = rb_u32(r, &f->flags, "func flags", err)))
				return xs_fail_prefix(err, rc, "payload %u func %u", i, j);
		}
	}
	return dec_info_sections(r, in, err);
}

static void info_free(struct xs_info *in)
{
	if (!in)
		return;
	for (uint32_t i = 0; in->payloads && i < in->npayloads; i++)
		free(in->payloads[i].funcs);
	free(in->payloads);
	free(in->objects);
	free(in->audit);
	free(in);
}

static int dec_response(uint16_t op, struct rbuf *r, struct xs_response *rs, struct xs_err *err)
{
	int rc;

	if ((rc = rb_i32(r, &rs->ret, "ret", err)) ||
	    (rc = rb_str(r, rs->reason, sizeof(rs->reason), 0, "reason", err)))
		return rc;
	if (rs->ret > 0)
		return xs_fail(err, -EINVAL, "ret: %d, must be 0 or a negative errno", rs->ret);
	if (rs->ret != 0)
		return 0;
	switch (op) {
	case XS_OP_GET:
		if ((rc = rb_u32(r, &rs->state, "state", err)) ||
		    (rc = check_state(rs->state, "state", err)) ||
		    (rc = rb_i32(r, &rs->rc, "rc", err)) ||
		    (rc = rb_str(r, rs->rc_reason, sizeof(rs->rc_reason), 0, "rc_reason", err)))
			return rc;
		break;
	case XS_OP_LIST:
		if ((rc = rb_u32(r, &rs->list_version, "version", err)) ||
		    (rc = rb_u32(r, &rs->list_count, "count", err)) ||
		    (rc = rb_u32(r, &rs->list_left, "left", err)))
			return rc;
		if (rs->list_count > XS_LIST_MAX)
			return xs_fail(err, -E2BIG, "count: %u entries, at most %u per page",
				       rs->list_count, XS_LIST_MAX);
		if (rs->list_count > r->left / MIN_LIST_ENTRY)
			return xs_fail(err, -EBADMSG, "count: %u entries cannot fit in %zu bytes",
				       rs->list_count, r->left);
		if (rs->list_count) {
			rs->list = calloc(rs->list_count, sizeof(*rs->list));
			if (!rs->list)
				return xs_fail(err, -ENOMEM, "out of memory decoding LIST");
		}
		for (uint32_t i = 0; i < rs->list_count; i++) {
			struct xs_list_entry *e = &rs->list[i];
			if ((rc = rb_str(r, e->name, sizeof(e->name), 1, "entry name", err)) ||
			    (rc = rb_u32(r, &e->state, "entry state", err)) ||
			    (rc = check_state(e->state, "entry state", err)) ||
			    (rc = rb_i32(r, &e->rc, "entry rc", err)))
				return xs_fail_prefix(err, rc, "entry %u", i);
		}
		break;
	case XS_OP_ACTION:
		/* The outcome (XS_ACTION_F_WAIT) or nothing; fewer bytes than a
		 * state are trailing bytes. */
		if (r->left < 4)
			break;
		if ((rc = rb_u32(r, &rs->state, "state", err)) ||
		    (rc = check_state(rs->state, "state", err)) ||
		    (rc = rb_i32(r, &rs->rc, "rc", err)) ||
		    (rc = rb_str(r, rs->rc_reason, sizeof(rs->rc_reason), 0, "rc_reason", err)))
			return rc;
		if (rs->rc == -EAGAIN)
			return xs_fail(err, -EBADMSG, "rc: an ended action cannot be -EAGAIN");
		rs->action_ended = true;
		break;
	case XS_OP_INFO:
		if ((rc = dec_info(r, &rs->info, err)))
			return rc;
		break;
	default:
		break;
	}
	return 0;
}

int xs_decode_response(uint16_t op, const uint8_t *body, size_t len, struct xs_response *rs,
		       struct xs_err *err)
{
	struct rbuf r = { .p = body, .left = body ? len : 0, .off = 0 };
	int rc;

	memset(rs, 0, sizeof(*rs));
	op &= (uint16_t)~XS_OP_REPLY;
	rs->op = op;
	if (op >= XS_OP_COUNT)
		return xs_fail(err, -EPROTO, "op: unknown operation %u", op);
	rc = dec_response(op, &r, rs, err);
	if (!rc)
		rc = rb_end(&r, err);
	if (rc)
		xs_response_free(rs);
	return rc;
}

void xs_response_free(struct xs_response *rs)
{
	if (!rs)
		return;
	free(rs->list);
	rs->list = NULL;
	info_free(rs->info);
	rs->info = NULL;
}

/* ---- names ---- */

const char *xs_state_name(uint32_t state)
{
	/* Thread-local so concurrent callers (agent threads) don't race. */
	static __thread char buf[24];

	switch (state) {
	case XS_STATE_CHECKED:
		return "CHECKED";
	case XS_STATE_APPLIED:
		return "APPLIED";
	default:
		snprintf(buf, sizeof(buf), "UNKNOWN(%u)", state);
		return buf;
	}
}

const char *xs_action_name(uint32_t cmd)
{
	switch (cmd) {
	case XS_ACTION_UNLOAD:
		return "unload";
	case XS_ACTION_REVERT:
		return "revert";
	case XS_ACTION_APPLY:
		return "apply";
	case XS_ACTION_REPLACE:
		return "replace";
	case XS_ACTION_CANCEL:
		return "cancel";
	default:
		return NULL;
	}
}
