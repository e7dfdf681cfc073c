/* SPDX-License-Identifier: MIT */
/*
 * The audit trail (docs/security.md, "Audit"): every UPLOAD and ACTION,
 * and the end of every APPLY/REVERT/REPLACE, as a record in a bounded ring
 * (INFO shows it) and a line to syslog, facility authpriv.
 */
#ifndef XS_AGENT_AUDIT_H
#define XS_AGENT_AUDIT_H

#include <stdint.h>
#include <sys/types.h>

#include "xsplice/protocol.h"

struct xs_payload;

/* Who sent a request (SO_PEERCRED of its connection). */
struct xs_peer {
	pid_t pid;
	uid_t uid;
};

/* At start: where syslog lines go ($XSPLICE_SYSLOG_SOCKET, else /dev/log). */
void xs_audit_init(void);

/* The payload's name, build-id and signer as they are now (p may be NULL). */
struct xs_audit_subject {
	char name[XS_NAME_SIZE];
	char build_id[2 * XS_BUILD_ID_MAX + 1];
	char signer[256];
};
void xs_audit_subject_of(const struct xs_payload *p, const char *name, struct xs_audit_subject *s);

/* One record: op is "upload", an action's name, or "<action>-done". */
void xs_audit_record(const struct xs_peer *peer, const char *op, const struct xs_audit_subject *s,
		     int result, const char *reason);

/* The end of an action on p (the action thread, table locked): the
 * requester recorded in p by xs_audit_set_requester. */
void xs_audit_set_requester(struct xs_payload *p, const struct xs_peer *peer);
void xs_audit_action_done(const struct xs_payload *p, uint32_t cmd, int rc, const char *reason);
/* The same in two steps, for an outcome recorded inside the stop, after
 * which p may already be gone: capture (table locked), then record. */
struct xs_audit_done {
	struct xs_peer who;
	char op[16];
	struct xs_audit_subject subject;
};
void xs_audit_done_prepare(const struct xs_payload *p, uint32_t cmd, struct xs_audit_done *d);
void xs_audit_done_record(const struct xs_audit_done *d, int rc, const char *reason);

/* Copy the ring, oldest first, into a malloc'd array for INFO. */
int xs_audit_snapshot(struct xs_info_audit **out, uint32_t *n);

#endif
