/* SPDX-License-Identifier: MIT */
/*
 * The INFO reply: the agent's version and park signal, the last action's
 * pause figures, the loaded objects and every payload with its functions.
 * Built on the control thread with the table lock held (asserted).
 */
#include "info.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action.h"
#include "audit.h"
#include "common/hex.h"
#include "payload.h"
#include "rendezvous.h"
#include "symbols.h"

int xs_info_build(struct xs_info *info, struct xs_err *err)
{
	XS_ASSERT_TABLE_LOCKED();
	memset(info, 0, sizeof(*info));
	int rc = xs_objects_refresh(err);
	if (rc)
		return rc;
	info->pid = (uint32_t)getpid();
	snprintf(info->agent_version, sizeof(info->agent_version), "%s", XSPLICE_VERSION);
	info->park_signal = (uint32_t)xs_rendezvous_signal();
	struct xs_rendezvous_stats st = xs_action_last_stats(&info->last_action_ns);
	info->last_pause_ns = st.pause_ns;
	info->last_park_ns = st.park_ns;
	info->last_threads = st.threads;
	info->last_attempts = st.attempts;
	size_t nobj = xs_objects_count();
	info->objects = calloc(nobj ? nobj : 1, sizeof(*info->objects));
	unsigned np = xs_payloads_count();
	info->payloads = calloc(np ? np : 1, sizeof(*info->payloads));
	if (!info->objects || !info->payloads) {
		xs_info_release(info);
		return xs_fail(err, -ENOMEM, "out of memory");
	}
	if (xs_audit_snapshot(&info->audit, &info->naudit) != 0) {
		xs_info_release(info);
		return xs_fail(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < nobj; i++) {
		struct xs_object *o = xs_object_at(i);
		struct xs_info_object *io = &info->objects[info->nobjects++];
		snprintf(io->path, sizeof(io->path), "%s", o->path);
		xs_hex_encode(o->build_id, o->build_id_len, io->build_id);
		io->base = o->bias;
	}
	for (struct xs_payload *p = xs_payload_first(); p; p = p->next) {
		struct xs_info_payload *ip = &info->payloads[info->npayloads++];
		snprintf(ip->name, sizeof(ip->name), "%s", p->name);
		ip->state = p->state;
		ip->rc = p->rc;
		snprintf(ip->reason, sizeof(ip->reason), "%s", p->rc ? p->reason : "");
		xs_hex_encode(p->ld.build_id, p->ld.build_id_len, ip->build_id);
		xs_hex_encode(p->ld.depends, p->ld.depends_len, ip->depends);
		if (p->below)
			snprintf(ip->target, sizeof(ip->target), "payload %s", p->below->name);
		else
			snprintf(ip->target, sizeof(ip->target), "%s", p->target_path);
		snprintf(ip->description, sizeof(ip->description), "%s", p->md.description);
		snprintf(ip->version, sizeof(ip->version), "%s", p->md.version);
		ip->load_addr = (uintptr_t)p->ld.base;
		ip->load_size = p->ld.size;
		ip->funcs = calloc(p->nfuncs ? p->nfuncs : 1, sizeof(*ip->funcs));
		if (!ip->funcs) {
			xs_info_release(info);
			return xs_fail(err, -ENOMEM, "out of memory");
		}
		for (unsigned i = 0; i < p->nfuncs; i++) {
			const struct xs_func *f = &p->funcs[i];
			struct xs_info_func *fi = &ip->funcs[ip->nfuncs++];
			snprintf(fi->name, sizeof(fi->name), "%s", f->name);
			fi->old_addr = f->old_addr;
			fi->new_addr = f->new_addr;
			fi->old_size = f->old_size;
			fi->new_size = f->new_size;
			fi->flags = (f->applied ? XS_FUNC_APPLIED : 0) |
				    (f->flags & LIVEPATCH_FUNC_NO_STACK_CHECK ? XS_FUNC_NO_STACK_CHECK : 0);
		}
	}
	return 0;
}

void xs_info_release(struct xs_info *info)
{
	if (info->payloads)
		for (uint32_t i = 0; i < info->npayloads; i++)
			free(info->payloads[i].funcs);
	free(info->payloads);
	free(info->objects);
	free(info->audit);
	memset(info, 0, sizeof(*info));
}
