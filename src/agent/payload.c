/* SPDX-License-Identifier: MIT */
/*
 * The payload table and the seed's state machine (UPLOAD, check of an
 * ACTION, UNLOAD, INFO), target selection by build-id, the symbol
 * resolver handed to the loader, and the re-validation of targets before
 * an action writes (xs_payload_revalidate; docs/decisions.md).
 * Threading: one mutex (xs_payloads_lock) guards the table and every
 * payload's state; everything here runs with it held, on the control
 * thread, or on the action thread for xs_payload_revalidate.
 */
#include "payload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "elf.h"
#include "procfs.h"
#include "quota.h"
#include "trust.h"
#include "shadow.h"
#include "visibility.h"
#include "symbols.h"

/* The table lock: guards g_head, every payload's state/rc/reason and
 * funcs[].applied/saved, g_version and g_seq. Held by the control thread
 * while it serves a request and by the action thread while it plans and
 * commits; never held during the stop itself. g_owner lets the functions
 * below assert that their caller holds it. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(pthread_t) g_owner;
static _Atomic bool g_locked;
static struct xs_payload *g_head;
static uint32_t g_version = 1;
static uint64_t g_seq;

void xs_payloads_lock(void)
{
	pthread_mutex_lock(&g_lock);
	atomic_store(&g_owner, pthread_self());
	atomic_store(&g_locked, true);
}

void xs_payloads_unlock(void)
{
	XS_ASSERT_TABLE_LOCKED();
	atomic_store(&g_locked, false);
	pthread_mutex_unlock(&g_lock);
}

/* Lent to the stop (xs_payloads_borrow): every other thread is parked. */
static _Atomic bool g_borrowed;

bool xs_payloads_borrow(void)
{
	if (atomic_load(&g_locked))
		return false;
	atomic_store(&g_borrowed, true);
	return true;
}

void xs_payloads_giveback(void)
{
	atomic_store(&g_borrowed, false);
}

bool xs_payloads_locked_by_me(void)
{
	if (atomic_load(&g_borrowed))
		return true; /* the only thread running is the borrower */
	return atomic_load(&g_locked) && pthread_equal(atomic_load(&g_owner), pthread_self());
}

void xs_payloads_wait(pthread_cond_t *cond)
{
	XS_ASSERT_TABLE_LOCKED();
	atomic_store(&g_locked, false);
	pthread_cond_wait(cond, &g_lock);
	atomic_store(&g_owner, pthread_self());
	atomic_store(&g_locked, true);
}

struct xs_payload *xs_payload_first(void)
{
	XS_ASSERT_TABLE_LOCKED();
	return g_head;
}

struct xs_payload *xs_payload_applied_before(uint64_t below)
{
	struct xs_payload *newest = NULL;
	for (struct xs_payload *q = xs_payload_first(); q; q = q->next)
		if (q->state == XS_STATE_APPLIED && q->applied_seq < below &&
		    (!newest || q->applied_seq > newest->applied_seq))
			newest = q;
	return newest;
}

uint32_t xs_payloads_version(void)
{
	XS_ASSERT_TABLE_LOCKED();
	return g_version;
}

void xs_payloads_bump_version(void)
{
	XS_ASSERT_TABLE_LOCKED();
	if (++g_version == 0)
		g_version = 1;
}

uint64_t xs_payloads_next_seq(void)
{
	XS_ASSERT_TABLE_LOCKED();
	return ++g_seq;
}

unsigned xs_payloads_count(void)
{
	XS_ASSERT_TABLE_LOCKED();
	unsigned n = 0;
	for (struct xs_payload *p = g_head; p; p = p->next)
		n++;
	return n;
}

struct xs_payload *xs_payload_find(const char *name)
{
	XS_ASSERT_TABLE_LOCKED();
	for (struct xs_payload *p = g_head; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static struct xs_payload *find_by_build_id(const uint8_t *id, size_t len)
{
	for (struct xs_payload *p = g_head; p; p = p->next)
		if (p->ld.build_id_len == len && memcmp(p->ld.build_id, id, len) == 0)
			return p;
	return NULL;
}

/* ---- symbol resolution for the loader (docs/payload-format.md, "Symbols";
 * after the payload's own .livepatch.symbols, which the loader handles) ---- */

struct resolve_ctx {
	struct xs_object *target;
	struct xs_payload *below;
};

static int resolve_symbol(void *vctx, const char *name, uintptr_t *addr, struct xs_err *err)
{
	struct resolve_ctx *ctx = vctx;
	/* The agent's own API for payloads (shadow variables) first: a
	 * program symbol of the same name must not capture the call. */
	if (xs_agent_export_lookup(name, addr) == 0)
		return 0;
	/* Payloads: only the chain this one stacks on (its depends), so that a
	 * provider can neither be reverted nor unloaded under a caller. */
	for (struct xs_payload *p = ctx->below; p; p = p->below)
		if (xs_loaded_lookup(&p->ld, name, addr) == 0)
			return 0;
	return xs_bind_symbol(ctx->target, name, addr, err);
}

static int pick_target(const uint8_t *dep, size_t deplen, struct xs_object **target,
		       struct xs_payload **below, struct xs_err *err)
{
	char dephex[2 * XS_BUILD_ID_MAX + 1];
	xs_hex_encode(dep, deplen, dephex);
	int rc = xs_objects_refresh(err);
	if (rc)
		return rc;
	struct xs_object *obj = xs_object_by_build_id(dep, deplen);
	if (obj) {
		if (obj->is_agent)
			return xs_fail(err, -EPERM,
				       "payload depends on build-id %s, which is the xsplice agent itself; "
				       "the agent is never patched", dephex);
		if (obj->is_vdso)
			return xs_fail(err, -EPERM, "payload depends on the vDSO (%s); it cannot be "
				       "patched", dephex);
		*target = obj;
		*below = NULL;
		return 0;
	}
	struct xs_payload *p = find_by_build_id(dep, deplen);
	if (p) {
		obj = NULL;
		for (size_t i = 0; i < xs_objects_count(); i++) {
			struct xs_object *o = xs_object_at(i);
			if (o->bias == p->target_bias && strcmp(o->path, p->target_path) == 0)
				obj = o;
		}
		if (!obj)
			return xs_fail(err, -ENOENT, "payload %s is stacked on %s, whose object %s is no "
				       "longer loaded", dephex, p->name, p->target_path);
		*target = obj;
		*below = p;
		return 0;
	}
	struct xs_object *main_obj = xs_objects_count() ? xs_object_at(0) : NULL;
	char mainhex[2 * XS_BUILD_ID_MAX + 1] = "";
	if (main_obj)
		xs_hex_encode(main_obj->build_id, main_obj->build_id_len, mainhex);
	return xs_fail(err, -EINVAL,
		       "build-id mismatch: payload depends on %s, which is neither a loaded object nor "
		       "a loaded payload (the program %s is %s); build the payload against the "
		       "running binary", dephex, main_obj ? main_obj->path : "?",
		       mainhex[0] ? mainhex : "without build-id");
}

int xs_payload_upload(const char *name, const uint8_t *image, size_t size, struct xs_err *err)
{
	if (xs_payload_find(name))
		return xs_fail(err, -EEXIST, "a payload named '%s' is already loaded", name);
	if (size == 0)
		return xs_fail(err, -EINVAL, "payload '%s' is empty", name);
	int lrc = xs_quota_check_upload(size, xs_payloads_count(), err);
	if (lrc)
		return lrc;
	/* The signature first: under enforcement nothing else of an
	 * unverified payload is parsed (trust.c). */
	char signer[XS_SIGNER_SIZE];
	size_t content_len;
	int trc = xs_trust_check(image, size, &content_len, signer, sizeof(signer), err);
	if (trc)
		return trc;
	size = content_len;
	if (size == 0)
		return xs_fail(err, -EINVAL, "payload '%s' is empty (only a signature)", name);

	/* Our own copy: the peer's buffer is gone after the request. */
	uint8_t *copy = malloc(size);
	if (!copy)
		return xs_fail(err, -ENOMEM, "out of memory for a %zu-byte payload", size);
	memcpy(copy, image, size);

	struct xs_payload *p = calloc(1, sizeof(*p));
	struct xs_elf elf;
	memset(&elf, 0, sizeof(elf));
	int rc = -ENOMEM;
	if (!p) {
		xs_fail(err, rc, "out of memory");
		goto out;
	}
	rc = xs_elf_parse(&elf, copy, size, XS_ELF_PAYLOAD, err);
	if (rc)
		goto out;
	uint8_t bid[XS_BUILD_ID_MAX], dep[XS_BUILD_ID_MAX];
	size_t bidlen = 0, deplen = 0;
	rc = xs_payload_notes(&elf, bid, &bidlen, dep, &deplen, err);
	if (rc)
		goto out;
	struct xs_payload *same = find_by_build_id(bid, bidlen);
	if (same) {
		char h[2 * XS_BUILD_ID_MAX + 1];
		xs_hex_encode(bid, bidlen, h);
		rc = xs_fail(err, -EEXIST, "payload '%s' with the same build-id %s is already loaded",
			     same->name, h);
		goto out;
	}
	struct xs_object *target = NULL;
	rc = pick_target(dep, deplen, &target, &p->below, err);
	if (rc)
		goto out;

	rc = xs_hooks_check_elf(&elf, err);
	if (rc)
		goto out;
	struct resolve_ctx rctx = { target, p->below };
	struct xs_load_params params = { target, resolve_symbol, &rctx };
	rc = xs_load(&elf, &params, &p->ld, err);
	if (rc)
		goto out;
	rc = xs_funcs_prepare(&p->ld, target, &p->funcs, &p->nfuncs, err);
	if (rc) {
		xs_unload(&p->ld);
		goto out;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->signer, sizeof(p->signer), "%s", signer);
	if ((rc = xs_metadata_parse(&elf, &p->md, err)) ||
	    (rc = xs_hooks_find(&p->ld, p->name, &p->hooks, err))) {
		free(p->funcs);
		xs_unload(&p->ld);
		goto out;
	}
	/* Visible to gdb, perf and unwinders from now on (a load hook that
	 * crashes is named in a backtrace), then the load hooks: linked, not
	 * yet in the table (docs/hooks-and-shadow.md). */
	p->jit_entry = xs_jit_gdb_register(&p->ld, p->name);
	xs_perfmap_add(&p->ld, p->name);
	p->eh_frame = xs_ehframe_register(&p->ld, p->name);
	xs_hooks_run(&p->ld, &p->hooks, XS_HOOK_LOAD, err);
	snprintf(p->target_path, sizeof(p->target_path), "%s", target->path);
	p->target_bias = target->bias;
	memcpy(p->target_build_id, target->build_id, target->build_id_len);
	p->target_build_id_len = target->build_id_len;
	p->state = XS_STATE_CHECKED;
	p->rc = 0;
	struct xs_payload **tail = &g_head;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
	p = NULL;
	xs_payloads_bump_version();
	rc = 0;
out:
	xs_elf_free(&elf);
	free(copy);
	free(p);
	return rc;
}

/* ---- payloads whose object was unloaded (dlhook.c, autoload.c) ---- */

/* The trampoline in the code at f's place now: that of the payload applied
 * last over the same bytes (a stacked payload replacing the same function
 * writes its own over ours), or f's. */
static const struct xs_func *top_func(const struct xs_func *f, uint64_t seq)
{
	const struct xs_func *top = f;
	uint64_t top_seq = seq;
	for (struct xs_payload *q = g_head; q; q = q->next) {
		if (q->state != XS_STATE_APPLIED || q->applied_seq <= top_seq)
			continue;
		for (unsigned i = 0; i < q->nfuncs; i++)
			if (q->funcs[i].applied &&
			    xs_func_patch_addr(&q->funcs[i]) == xs_func_patch_addr(f)) {
				top = &q->funcs[i];
				top_seq = q->applied_seq;
			}
	}
	return top;
}

bool xs_payload_in_force(struct xs_payload *p)
{
	XS_ASSERT_TABLE_LOCKED();
	struct xs_err ignored = { "" };
	if (p->state != XS_STATE_APPLIED || xs_payload_revalidate(p, &ignored) != 0)
		return false;
	/* Same object, same place: still our trampolines? A library
	 * dlclosed and dlopened again at the same address has its own bytes
	 * back. Read through /proc/self/mem: an unmap meanwhile is an error,
	 * not a fault in the agent. */
	int fd = xs_procfs_open("self/mem", O_RDONLY);
	if (fd < 0)
		return false;
	bool ours = true;
	for (unsigned i = 0; i < p->nfuncs && ours; i++) {
		const struct xs_func *f = top_func(&p->funcs[i], p->applied_seq);
		uint8_t now[XS_ARCH_PATCH_MAX];
		if (!f->applied || !f->patch_len)
			continue;
		ssize_t n = pread(fd, now, f->patch_len, (off_t)xs_func_patch_addr(f));
		ours = n == (ssize_t)f->patch_len && memcmp(now, f->patch, f->patch_len) == 0;
	}
	close(fd);
	return ours;
}

void xs_payload_retire(struct xs_payload *p)
{
	XS_ASSERT_TABLE_LOCKED();
	for (struct xs_payload **pp = &g_head; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	/* Nothing freed: the program may still hold a pointer into the
	 * payload's code or data (a callback it registered). The cost is the
	 * payload's mapping, once per unload of its object. */
	p->next = NULL;
	xs_payloads_bump_version();
}

/* ---- targets that moved (docs/decisions.md, "Payloads and dependencies") ---- */

static int revalidate_one(const struct xs_payload *q, struct xs_err *err)
{
	char want[2 * XS_BUILD_ID_MAX + 1];
	xs_hex_encode(q->target_build_id, q->target_build_id_len, want);
	struct xs_object *obj = NULL;
	for (size_t i = 0; i < xs_objects_count(); i++) {
		struct xs_object *o = xs_object_at(i);
		if (o->bias == q->target_bias && strcmp(o->path, q->target_path) == 0)
			obj = o;
	}
	if (!obj) {
		/* What is mapped where the payload's first function was? */
		struct xs_object *now = q->nfuncs ? xs_object_by_addr(q->funcs[0].old_addr) : NULL;
		if (now)
			return xs_fail(err, -ESTALE,
				       "payload '%s' patches %s (build-id %s, loaded at %#lx), which is no "
				       "longer loaded; %s is mapped there now: nothing written. Unload the "
				       "payload and build one for what is loaded",
				       q->name, q->target_path, want, (unsigned long)q->target_bias,
				       now->path);
		return xs_fail(err, -ENOENT,
			       "payload '%s' patches %s (build-id %s, loaded at %#lx), which is no "
			       "longer loaded (dlclosed?): nothing written. %s",
			       q->name, q->target_path, want, (unsigned long)q->target_bias,
			       q->state == XS_STATE_APPLIED
				       ? "The payload stays APPLIED (its code stays mapped)"
				       : "Unload the payload, or load the object again and upload "
					 "a new one");
	}
	if (obj->build_id_len != q->target_build_id_len ||
	    memcmp(obj->build_id, q->target_build_id, obj->build_id_len) != 0) {
		char got[2 * XS_BUILD_ID_MAX + 1];
		xs_hex_encode(obj->build_id, obj->build_id_len, got);
		return xs_fail(err, -ESTALE,
			       "payload '%s' patches %s with build-id %s, but the object loaded there "
			       "now has build-id %s (reloaded after a change?): nothing written",
			       q->name, q->target_path, want, got[0] ? got : "none");
	}
	for (unsigned i = 0; i < q->nfuncs; i++) {
		const struct xs_func *f = &q->funcs[i];
		if (f->old_addr < obj->text_lo || f->old_addr >= obj->text_hi ||
		    f->old_size > obj->text_hi - f->old_addr)
			return xs_fail(err, -ESTALE,
				       "payload '%s': function %s at %#lx+%u is no longer inside the "
				       "executable segment of %s: nothing written",
				       q->name, f->name, (unsigned long)f->old_addr, f->old_size,
				       q->target_path);
	}
	return 0;
}

int xs_payload_revalidate(struct xs_payload *p, struct xs_err *err)
{
	int rc = xs_objects_refresh(err);
	if (rc)
		return rc;
	for (struct xs_payload *q = p; q; q = q->below) {
		rc = revalidate_one(q, err);
		if (rc)
			return rc;
	}
	/* A possible REPLACE reverts every applied payload. */
	if (p->state == XS_STATE_CHECKED && !p->below)
		for (struct xs_payload *q = g_head; q; q = q->next)
			if (q != p && q->state == XS_STATE_APPLIED) {
				rc = revalidate_one(q, err);
				if (rc)
					return rc;
			}
	return 0;
}

static int refuse(struct xs_payload *p, struct xs_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct xs_payload *p, struct xs_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	p->rc = -EINVAL;
	return xs_fail(err, -EINVAL, "%s", p->reason);
}

/* Does an applied payload newer than p patch one of p's functions? */
static struct xs_payload *patched_on_top(struct xs_payload *p, const char **fname)
{
	for (struct xs_payload *q = g_head; q; q = q->next) {
		if (q == p || q->state != XS_STATE_APPLIED || q->applied_seq < p->applied_seq)
			continue;
		for (unsigned i = 0; i < p->nfuncs; i++)
			for (unsigned j = 0; j < q->nfuncs; j++)
				if (p->funcs[i].old_addr == q->funcs[j].old_addr) {
					*fname = p->funcs[i].name;
					return q;
				}
	}
	return NULL;
}

int xs_payload_check_action(struct xs_payload *p, uint32_t cmd, struct xs_err *err)
{
	XS_ASSERT_TABLE_LOCKED();
	const char *st = xs_state_name(p->state);
	switch (cmd) {
	case XS_ACTION_UNLOAD:
		if (p->state != XS_STATE_CHECKED)
			return refuse(p, err, "cannot unload '%s': it is %s; revert it first", p->name, st);
		for (struct xs_payload *q = g_head; q; q = q->next)
			if (q->below == p)
				return refuse(p, err, "cannot unload '%s': payload '%s' is stacked on it; "
					      "unload '%s' first", p->name, q->name, q->name);
		return 0;
	case XS_ACTION_APPLY:
		if (p->state != XS_STATE_CHECKED)
			return refuse(p, err, "cannot apply '%s': it is already %s", p->name, st);
		if (p->below && p->below->state != XS_STATE_APPLIED)
			return refuse(p, err, "cannot apply '%s': it depends on '%s', which is not "
				      "applied; apply '%s' first", p->name, p->below->name,
				      p->below->name);
		return 0;
	case XS_ACTION_REPLACE:
		if (p->state != XS_STATE_CHECKED)
			return refuse(p, err, "cannot replace with '%s': it is already %s", p->name, st);
		if (p->below)
			return refuse(p, err, "cannot replace with '%s': it is stacked on '%s'; a "
				      "replacement must be built against the program itself", p->name,
				      p->below->name);
		return 0;
	case XS_ACTION_REVERT: {
		if (p->state != XS_STATE_APPLIED)
			return refuse(p, err, "cannot revert '%s': it is %s, not APPLIED", p->name, st);
		for (struct xs_payload *q = g_head; q; q = q->next)
			if (q->below == p && q->state == XS_STATE_APPLIED)
				return refuse(p, err, "cannot revert '%s': payload '%s' depends on it and is "
					      "applied; revert '%s' first", p->name, q->name, q->name);
		const char *fname = NULL;
		struct xs_payload *q = patched_on_top(p, &fname);
		if (q)
			return refuse(p, err, "cannot revert '%s': function %s is also patched by '%s', "
				      "applied later; revert '%s' first", p->name, fname, q->name,
				      q->name);
		return 0;
	}
	default:
		return xs_fail(err, -EINVAL, "unknown action %u", cmd);
	}
}

void xs_payload_unload(struct xs_payload *p)
{
	XS_ASSERT_TABLE_LOCKED();
	for (struct xs_payload **pp = &g_head; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	struct xs_err ignored = { "" };
	xs_hooks_run(&p->ld, &p->hooks, XS_HOOK_UNLOAD, &ignored);
	xs_ehframe_unregister(p->eh_frame);
	xs_jit_gdb_unregister(p->jit_entry);
	xs_unload(&p->ld);
	free(p->funcs);
	free(p);
	xs_payloads_bump_version();
}

int xs_payload_symbolize(uintptr_t addr, char *buf, size_t len)
{
	XS_ASSERT_TABLE_LOCKED();
	for (struct xs_payload *p = g_head; p; p = p->next)
		if (xs_loaded_in_exec(&p->ld, addr, 1)) {
			xs_hooks_describe(&p->ld, p->name, addr, buf, len);
			return 0;
		}
	return -ENOENT;
}
