/* SPDX-License-Identifier: MIT */
/*
 * The payload table and the seed's state machine: UPLOAD -> CHECKED;
 * APPLY/REPLACE from CHECKED; REVERT from APPLIED; UNLOAD from CHECKED.
 * All functions here run on the control thread with the table locked
 * (xs_payloads_lock) unless said otherwise.
 */
#ifndef XS_AGENT_PAYLOAD_H
#define XS_AGENT_PAYLOAD_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "funcs.h"
#include "hooks.h"
#include "load.h"
#include "metadata.h"
#include "xsplice/error.h"
#include "xsplice/protocol.h"

struct xs_payload {
	struct xs_payload *next;      /* upload order */
	char name[XS_NAME_SIZE];
	uint32_t state;               /* XS_STATE_* */
	int32_t rc;                   /* last action: 0, -EAGAIN while running, -errno */
	char reason[XS_REASON_SIZE];  /* why rc is non-zero */
	struct xs_loaded ld;
	char target_path[XS_PATH_SIZE];
	uintptr_t target_bias;
	uint8_t target_build_id[XS_BUILD_ID_MAX]; /* of the object at upload */
	size_t target_build_id_len;
	struct xs_payload *below;     /* the payload this one is stacked on */
	struct xs_func *funcs;
	unsigned nfuncs;
	uint64_t applied_seq;         /* order of application; 0 when not applied */
	char signer[256];             /* trust.c: certificate subject, "unsigned", "unverified: ..." */
	uint32_t audit_pid, audit_uid; /* audit.c: who asked for the running action */
	struct xs_hooks hooks;        /* .livepatch.hooks.* (hooks.c) */
	struct xs_metadata md;        /* .modinfo description/version */
	void *jit_entry;              /* gdb JIT entry (visibility.h) */
	void *eh_frame;               /* registered .eh_frame, NULL if none */
};

void xs_payloads_lock(void);
void xs_payloads_unlock(void);
/* pthread_cond_wait on the table lock (held on entry and on return). */
void xs_payloads_wait(pthread_cond_t *cond);
/* Does the calling thread hold the table lock? (for assertions) */
/*
 * Inside the stop only (every other thread parked): use the table without
 * its mutex when nobody holds it, i.e. no thread was parked between taking
 * and dropping it (one parked inside pthread_mutex_lock has not read
 * anything yet). No libc: the mutex is not touched. False when it is held;
 * then the caller does its work after the release, under the lock.
 */
bool xs_payloads_borrow(void);
void xs_payloads_giveback(void);
bool xs_payloads_locked_by_me(void);
#define XS_ASSERT_TABLE_LOCKED() assert(xs_payloads_locked_by_me())

struct xs_payload *xs_payload_find(const char *name);
struct xs_payload *xs_payload_first(void);
/* The newest APPLIED payload applied before sequence number below (table
 * locked): walking down from UINT64_MAX gives REPLACE's revert order. */
struct xs_payload *xs_payload_applied_before(uint64_t below);
uint32_t xs_payloads_version(void);
void xs_payloads_bump_version(void);
unsigned xs_payloads_count(void);
uint64_t xs_payloads_next_seq(void);

/* UPLOAD: verify, load, link; state CHECKED, or an error and nothing kept. */
int xs_payload_upload(const char *name, const uint8_t *image, size_t size, struct xs_err *err);

/*
 * Check that cmd is allowed now (state table, stacking order, nothing else
 * patched on top). On refusal records rc/reason in the payload as the seed
 * does, and returns -EINVAL.
 */
int xs_payload_check_action(struct xs_payload *p, uint32_t cmd, struct xs_err *err);

/*
 * Before APPLY/REVERT/REPLACE writes anything (the action thread, table
 * locked): refresh the object list and check that the object p was linked
 * against at upload, for p and every payload below it, is still mapped at
 * the same bias with the same path and build-id, and that every function's
 * [old_addr, old_addr + old_size) still lies in its executable segment.
 * When p may be a replacement (CHECKED, not stacked) every applied payload
 * is checked too, since REPLACE reverts them all. 0, or -ENOENT (object
 * gone) / -ESTALE (something else there) with a reason naming the object.
 */
int xs_payload_revalidate(struct xs_payload *p, struct xs_err *err);

/* "payload:function+0xoff" for an address in a loaded payload's code;
 * -ENOENT if none holds it. */
int xs_payload_symbolize(uintptr_t addr, char *buf, size_t len);

/*
 * Is p APPLIED, its object (and those of the payloads below) still loaded
 * where it was, and every trampoline still in the object's code? False
 * when the object was dlclosed, or dlclosed and loaded again (even at the
 * same address: the new copy has its own bytes). Refreshes the object list.
 */
bool xs_payload_in_force(struct xs_payload *p);
/*
 * Take p out of the table without unmapping it: for an APPLIED payload
 * whose object was unloaded, so that the installed payload of that name
 * can be applied to the object loaded again. Its memory stays mapped.
 */
void xs_payload_retire(struct xs_payload *p);

/* UNLOAD (checked by xs_payload_check_action): free and forget. */
void xs_payload_unload(struct xs_payload *p);


#endif
