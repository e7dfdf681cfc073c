/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between the agent (inside the target) and clients.
 * Unix stream socket; every message is one frame:
 *
 *   struct xs_frame_header (16 bytes, little-endian) + body of `length` bytes
 *
 * Bodies are a sequence of fields: u16/u32/u64/i32 little-endian, strings as
 * u16 length + bytes (no NUL on the wire), blobs as u32 length + bytes.
 * A request with op X is answered by a frame with op X | XS_OP_REPLY.
 * See docs/protocol.md for every field.
 *
 * This header is installed and holds the protocol only: wire structs, ops,
 * states, limits, the codec and frame I/O. The header format is implemented
 * in src/common/frame.c, bodies in src/common/protocol.c, socket I/O in
 * src/common/wire.c.
 */
#ifndef XS_PROTOCOL_H
#define XS_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

#define XS_PROTO_MAGIC   0x4c505358u /* "XSPL" */
#define XS_PROTO_VERSION 1

#define XS_NAME_SIZE      128              /* includes the NUL, as in the seed */
#define XS_MAX_PAYLOAD    (64u << 20)      /* largest ELF payload accepted */
#define XS_MAX_FRAME_BODY (XS_MAX_PAYLOAD + 4096u)
#define XS_LIST_MAX       64               /* most entries per LIST reply */
#define XS_BUILD_ID_MAX   64               /* bytes */
#define XS_PATH_SIZE      512
#define XS_DESC_SIZE      256              /* payload .modinfo description, with NUL */
#define XS_VERSION_SIZE   64               /* payload .modinfo version, with NUL */

/* INFO request flags (optional u32 body; docs/protocol.md, "Metadata"). */
#define XS_INFO_METADATA  0x1u             /* append each payload's description/version */
#define XS_INFO_FLAGS_KNOWN XS_INFO_METADATA
/* ACTION flags (an optional u32 after timeout_ms; absent = 0). */
#define XS_ACTION_F_WAIT  0x1u             /* reply once the action has ended, with its outcome */
#define XS_ACTION_FLAGS_KNOWN XS_ACTION_F_WAIT

enum xs_op {
	XS_OP_UPLOAD = 0,
	XS_OP_GET = 1,
	XS_OP_LIST = 2,
	XS_OP_ACTION = 3,
	XS_OP_INFO = 4, /* xsplice extension: the keyhandler 'x' dump */
	XS_OP_COUNT,
	XS_OP_REPLY = 0x8000,
};

enum xs_state {
	XS_STATE_CHECKED = 1,
	XS_STATE_APPLIED = 2,
};

enum xs_action {
	XS_ACTION_UNLOAD = 1,
	XS_ACTION_REVERT = 2,
	XS_ACTION_APPLY = 3,
	XS_ACTION_REPLACE = 4,
	/* xsplice's own: stop retrying the action running on NAME; it ends
	 * with rc -ECANCELED and nothing changed (docs/protocol.md). */
	XS_ACTION_CANCEL = 5,
};

struct xs_frame_header {
	uint32_t magic;   /* XS_PROTO_MAGIC */
	uint16_t version; /* XS_PROTO_VERSION */
	uint16_t op;      /* enum xs_op, | XS_OP_REPLY on replies */
	uint32_t length;  /* body bytes that follow, <= XS_MAX_FRAME_BODY */
	uint32_t flags;   /* must be zero */
};

/* ---- requests ---- */

struct xs_request {
	uint16_t op;
	char name[XS_NAME_SIZE];   /* UPLOAD, GET, ACTION: 1..127 bytes, NUL-terminated */
	/* UPLOAD */
	const uint8_t *payload;    /* decode: points into the frame body */
	uint32_t payload_size;
	/* LIST */
	uint32_t list_version;
	uint32_t list_idx;
	uint32_t list_nr;
	/* ACTION */
	uint32_t cmd;              /* enum xs_action */
	uint32_t timeout_ms;       /* 0 = agent default */
	uint32_t action_flags;     /* XS_ACTION_F_* (0: the original request is sent) */
	/* INFO: XS_INFO_* (0: the original empty body is sent) */
	uint32_t info_flags;
};

/* ---- replies ---- */

struct xs_list_entry {
	char name[XS_NAME_SIZE];
	uint32_t state;
	int32_t rc;
};

struct xs_info_object {
	char path[XS_PATH_SIZE];
	char build_id[2 * XS_BUILD_ID_MAX + 1]; /* hex, "" if none */
	uint64_t base;                          /* load bias */
};

#define XS_FUNC_APPLIED        0x1u
#define XS_FUNC_NO_STACK_CHECK 0x2u

struct xs_info_func {
	char name[XS_NAME_SIZE];
	uint64_t old_addr;
	uint64_t new_addr;
	uint32_t old_size;
	uint32_t new_size;
	uint32_t flags; /* XS_FUNC_* */
};

struct xs_info_payload {
	char name[XS_NAME_SIZE];
	uint32_t state;
	int32_t rc;
	char reason[XS_REASON_SIZE];
	char build_id[2 * XS_BUILD_ID_MAX + 1];
	char depends[2 * XS_BUILD_ID_MAX + 1];
	char target[XS_PATH_SIZE]; /* object patched (path), or the payload stacked on */
	uint64_t load_addr;
	uint64_t load_size;
	uint32_t nfuncs;
	struct xs_info_func *funcs;
	/* With XS_INFO_METADATA (else ""): from the payload's .modinfo. */
	char description[XS_DESC_SIZE];
	char version[XS_VERSION_SIZE];
};

/* One audit record (docs/security.md, "Audit"); INFO's section 1. */
#define XS_AUDIT_MAX 64
#define XS_INFO_SECTION_AUDIT 1
#define XS_INFO_SECTION_METADATA 2
struct xs_info_audit {
	uint64_t time_ns;          /* CLOCK_REALTIME */
	uint32_t pid;              /* the client's (SO_PEERCRED) */
	uint32_t uid;
	char op[16];               /* "upload", "apply", ..., "apply-done", ... */
	char name[XS_NAME_SIZE];   /* payload name ("" if none) */
	char build_id[2 * XS_BUILD_ID_MAX + 1];
	char signer[256];          /* certificate subject, "unsigned", "unverified: ..." */
	int32_t result;            /* 0 or -errno */
	char reason[XS_REASON_SIZE];
};

struct xs_info {
	uint32_t pid;
	char agent_version[32];
	uint32_t park_signal;      /* the reserved real-time signal */
	/* The last successful APPLY/REVERT/REPLACE's rendezvous. */
	uint64_t last_pause_ns;    /* first signal sent -> last thread released */
	uint64_t last_park_ns;     /* first signal sent -> last thread parked */
	uint64_t last_action_ns;   /* action accepted -> finished */
	uint32_t last_threads;     /* threads parked */
	uint32_t last_attempts;    /* attempts (retries after stack conflicts + 1) */
	uint32_t nobjects;
	struct xs_info_object *objects;
	uint32_t npayloads;
	struct xs_info_payload *payloads;
	/* Section 1 (after the payloads; absent when naudit is 0): the last
	 * XS_AUDIT_MAX audit records, oldest first. */
	uint32_t naudit;
	struct xs_info_audit *audit;
	/* Section 2, XS_INFO_SECTION_METADATA (encode: the request asked for
	 * it with XS_INFO_METADATA; decode: the reply carried it): each
	 * payload's description and version. */
	bool metadata;
};

struct xs_response {
	uint16_t op;                 /* the request's op (without XS_OP_REPLY) */
	int32_t ret;                 /* 0 or -errno: did the request itself succeed */
	char reason[XS_REASON_SIZE]; /* why, when ret != 0 */
	/* GET */
	uint32_t state;
	int32_t rc;                  /* last action's result, -EAGAIN while running */
	char rc_reason[XS_REASON_SIZE];
	/* ACTION with XS_ACTION_F_WAIT: the reply carries the outcome (state,
	 * rc, rc_reason as GET's); false when it came at once (UNLOAD). */
	bool action_ended;
	/* LIST */
	uint32_t list_version;
	uint32_t list_count;         /* entries returned */
	uint32_t list_left;          /* entries after these */
	struct xs_list_entry *list;  /* list_count entries; decode: malloc'd */
	/* INFO; decode: malloc'd */
	struct xs_info *info;
};

/*
 * Encode a whole frame (header + body) into a malloc'd buffer.
 * Return 0 or -errno with err set.
 */
int xs_encode_request(const struct xs_request *rq, uint8_t **frame, size_t *frame_len,
		      struct xs_err *err);
int xs_encode_response(const struct xs_response *rs, uint8_t **frame, size_t *frame_len,
		       struct xs_err *err);

/*
 * Check a received header: magic, version, op range, flags zero, length
 * bounds. Return 0 or -EPROTO / -EMSGSIZE with a reason.
 */
int xs_check_header(const struct xs_frame_header *h, int expect_reply, struct xs_err *err);
/* The 16 header bytes as they are on the wire, into h (no checks). */
void xs_parse_header(const uint8_t raw[16], struct xs_frame_header *h);

/*
 * Decode a body (after xs_check_header). Every length is checked against
 * the bytes present; trailing bytes, missing bytes, names that are empty,
 * too long or contain NUL, unknown commands etc. are -EBADMSG / -EINVAL /
 * -ENAMETOOLONG with a reason naming the field.
 * Request decode does not allocate (payload points into body).
 */
int xs_decode_request(uint16_t op, const uint8_t *body, size_t len, struct xs_request *rq,
		      struct xs_err *err);
int xs_decode_response(uint16_t op, const uint8_t *body, size_t len, struct xs_response *rs,
		       struct xs_err *err);
/* Free what xs_decode_response allocated. */
void xs_response_free(struct xs_response *rs);

/*
 * Blocking frame I/O on a stream socket: retries EINTR and partial
 * transfers. xs_read_frame returns a malloc'd body (may be NULL when
 * length is 0). timeout_ms 0 = wait forever.
 */
int xs_write_all(int fd, const void *buf, size_t len, struct xs_err *err);
int xs_read_frame(int fd, struct xs_frame_header *h, uint8_t **body, int expect_reply,
		  unsigned timeout_ms, struct xs_err *err);

/* "CHECKED", "APPLIED", or "UNKNOWN(n)" (a thread-local buffer) for unknown. */
const char *xs_state_name(uint32_t state);
/* "unload", "revert", "apply", "replace"; NULL if unknown. */
const char *xs_action_name(uint32_t cmd);

#endif
