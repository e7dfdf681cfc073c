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

/* The end of an action on p: the requester recorded in p by
 * xs_audit_set_requester. xs_audit_action_begin (action thread, table
 * locked) takes what the record needs before the stop, since after a
 * commit inside the stop p may already be someone else's to change or
 * free; xs_audit_action_end records it (no lock needed). */
void xs_audit_set_requester(struct xs_payload *p, const struct xs_peer *peer);
struct xs_audit_pending {
	struct xs_audit_subject s;
	struct xs_peer who;
	char op[16];
};
void xs_audit_action_begin(const struct xs_payload *p, uint32_t cmd, struct xs_audit_pending *a);
void xs_audit_action_end(const struct xs_audit_pending *a, int rc, const char *reason);

/* Copy the ring, oldest first, into a malloc'd array for INFO. */
int xs_audit_snapshot(struct xs_info_audit **out, uint32_t *n);

#endif
