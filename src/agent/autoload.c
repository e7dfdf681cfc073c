/* SPDX-License-Identifier: MIT */
/*
 * The installed payloads a process gets when the agent starts in it
 * (preloaded: from its constructor, before main). The cost for a process
 * that no installed payload concerns is one directory listing and, per
 * payload file, an open and a few small reads of its ELF headers and two
 * notes (common/payload_ident.c): no payload is read whole, loaded or
 * linked unless its depends chain ends at one of this process's objects.
 *
 * Order: a payload whose depends build-id is an object of the process
 * comes before the payloads stacked on it (depends = its build-id), which
 * are applied only once it is APPLIED; payloads of one level go in name
 * order. Each one is uploaded and applied with the agent's own code paths
 * (xs_payload_upload, xs_action_run_now: plan, rendezvous, all-or-nothing
 * writes), so nothing is patched here that a client could not have
 * patched. A payload that fails stays out (upload failed) or stays
 * CHECKED with its reason (apply failed), and the others go on.
 *
 * After a dlopen (dlhook.c) the same steps run for the objects that are
 * new since the last look, and for payloads whose applied copy went with
 * an object that was unloaded (retired, then applied to the new copy).
 *
 * Threading: xs_autoload_run once, on the thread of the agent's
 * constructor, before the agent's own threads exist; the dlopen steps on
 * the xsplice-dl thread only (g_known is its own). Both take the table
 * lock around the table.
 */
#include "autoload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "action.h"
#include "agent.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/patchdir.h"
#include "common/payload_ident.h"
#include "payload.h"
#include "symbols.h"

#define MAX_INSTALLED 4096 /* bound on the work per start */
#define MAX_CHAIN     64   /* longest stack followed */

enum cand_state {
	C_PENDING, /* concerns us, not yet tried */
	C_APPLIED,
	C_FAILED,  /* tried (or its base failed): logged */
	C_SKIPPED, /* unreadable or not for this process */
};

struct cand {
	char name[XS_NAME_SIZE];
	char *path;      /* malloc'd */
	struct xs_payload_ident id;
	bool identified; /* id was read */
	bool bad;        /* NAME.bad exists: never applied, but part of chains */
	enum cand_state state;
};

/* An object as the dlopen step tells new from known: where, what, which file. */
struct objkey {
	uintptr_t bias;
	uint64_t path_hash;
	uint8_t id[XS_BUILD_ID_MAX];
	size_t len;
};

struct scan_ctx {
	struct cand *v;
	size_t n, cap;
	bool oom;
	bool dl;                   /* after a dlopen: only what the new objects need */
	const struct objkey *fresh; /* dl: the objects that are new */
	size_t nfresh;
};

/* The objects seen by the last look (dlhook's thread, and the start). */
static struct objkey *g_known;
static size_t g_nknown;

/* XSPLICE_AUTOLOAD: "0" off; "verbose" also logs the payloads skipped as
 * not for this process and a summary with the time taken. */
bool xs_autoload_wanted(void)
{
	const char *off = getenv("XSPLICE_AUTOLOAD");
	if (off && strcmp(off, "0") == 0)
		return false;
	return (pid_t)syscall(SYS_gettid) == getpid();
}

/* Only the listing here: payloads are opened once the list is complete. */
static void on_entry(const char *name, const char *path, bool bad, void *arg)
{
	struct scan_ctx *c = arg;
	if (c->oom || c->n >= MAX_INSTALLED)
		return;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		struct cand *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv) {
			c->oom = true;
			return;
		}
		c->v = nv;
		c->cap = ncap;
	}
	struct cand *k = &c->v[c->n];
	memset(k, 0, sizeof(*k));
	if (!(k->path = strdup(path))) {
		c->oom = true;
		return;
	}
	c->n++;
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->bad = bad; /* kept: what stacks on it must say why it is not applied */
	k->state = C_PENDING;
}

/* The first identified payload (by name) with that build-id, not skipped. */
static struct cand *by_build_id(struct scan_ctx *c, const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].identified && c->v[i].state != C_SKIPPED &&
		    c->v[i].id.build_id_len == len && memcmp(c->v[i].id.build_id, id, len) == 0)
			return &c->v[i];
	return NULL;
}

/* Is id the build-id of an object of this process? (table lock NOT held) */
static bool is_object(const uint8_t *id, size_t len)
{
	bool found = false;
	xs_payloads_lock();
	for (size_t i = 0; i < xs_objects_count() && !found; i++) {
		const struct xs_object *o = xs_object_at(i);
		found = o->build_id_len == len && memcmp(o->build_id, id, len) == 0;
	}
	xs_payloads_unlock();
	return found;
}

/* Does k's depends chain end at an object of this process? */
static bool concerns_us(struct scan_ctx *c, const struct cand *k)
{
	for (unsigned depth = 0; depth < MAX_CHAIN && k; depth++) {
		if (is_object(k->id.depends, k->id.depends_len))
			return true;
		k = by_build_id(c, k->id.depends, k->id.depends_len);
	}
	return false; /* ends at nothing here, or a cycle */
}

/* The object k's chain ends at (its build-id), or NULL. */
static const uint8_t *chain_end(struct scan_ctx *c, const struct cand *k, size_t *len)
{
	for (unsigned depth = 0; depth < MAX_CHAIN && k; depth++) {
		if (is_object(k->id.depends, k->id.depends_len)) {
			*len = k->id.depends_len;
			return k->id.depends;
		}
		k = by_build_id(c, k->id.depends, k->id.depends_len);
	}
	return NULL;
}

static bool is_fresh(const struct scan_ctx *c, const uint8_t *id, size_t len)
{
	for (size_t i = 0; i < c->nfresh; i++)
		if (c->fresh[i].len == len && memcmp(c->fresh[i].id, id, len) == 0)
			return true;
	return false;
}

/*
 * After a dlopen, k (which concerns an object of the process) is applied
 * when its object is new and no payload of its name is loaded, or when the
 * payload of its name was APPLIED to a copy of the object that is gone
 * (dlclosed, maybe loaded again at the same place: its trampolines are not
 * there): that one is retired and k applied to the copy loaded now.
 */
static bool dl_wanted(struct scan_ctx *c, const struct cand *k)
{
	size_t len = 0;
	const uint8_t *end = chain_end(c, k, &len);
	if (!end)
		return false;
	bool fresh = is_fresh(c, end, len), want = false;
	xs_payloads_lock();
	struct xs_payload *p = xs_payload_find(k->name);
	if (!p) {
		want = fresh;
	} else if (p->state == XS_STATE_APPLIED && p->rc != -EAGAIN && !xs_payload_in_force(p)) {
		char target[XS_PATH_SIZE];
		snprintf(target, sizeof(target), "%s", p->target_path);
		xs_payload_retire(p);
		xs_agent_log("xsplice: pid %d: payload %s was applied to %s, which was unloaded: "
			     "applying the installed payload again to the copy loaded now\n",
			     (int)getpid(), k->name, target[0] ? target : "the program");
		want = true;
	}
	xs_payloads_unlock();
	return want;
}

static int read_fd(int fd, uint8_t **img, size_t *len, struct xs_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return xs_fail(err, -errno, "cannot stat: %s", strerror(errno));
	if (st.st_size <= 0 || (uint64_t)st.st_size > XS_MAX_PAYLOAD)
		return xs_fail(err, -EFBIG, "%lld bytes (1..%u allowed)", (long long)st.st_size,
			       XS_MAX_PAYLOAD);
	size_t size = (size_t)st.st_size, done = 0;
	uint8_t *b = malloc(size); /* malloc: 8-byte aligned, as the ELF reader needs */
	if (!b)
		return xs_fail(err, -ENOMEM, "out of memory for %zu bytes", size);
	while (done < size) {
		ssize_t n = pread(fd, b + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			free(b);
			return xs_fail(err, -e, "cannot read: %s",
				       n < 0 ? strerror(e) : "the file shrank");
		}
		done += (size_t)n;
	}
	*img = b;
	*len = size;
	return 0;
}

/* The whole file, opened again with the trust checks (it may have been
 * replaced since it was identified: the upload checks it whole anyway). */
static int read_image(const struct cand *k, uint8_t **img, size_t *len, struct xs_err *err)
{
	int fd = xs_patchdir_open(k->path, err);
	if (fd < 0)
		return fd;
	int rc = read_fd(fd, img, len, err);
	close(fd);
	return rc;
}

/* Apply now; after a dlopen a client's action may be running: wait for
 * it (up to 10 s), as a client would. */
static int run_apply(struct xs_payload *p, bool dl, struct xs_err *err)
{
	for (int tries = 0;; tries++) {
		int rc = xs_action_run_now(p, XS_ACTION_APPLY, err);
		if (rc != -EBUSY || !dl || tries >= 500)
			return rc;
		xs_payloads_lock();
		bool stopped = p->rc == -EBUSY; /* the stop itself failed, not the busy check */
		xs_payloads_unlock();
		if (stopped)
			return rc;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* Upload and apply one; logs the outcome. */
static void apply_one(struct cand *k, bool dl)
{
	struct xs_err err = { "" };
	uint8_t *img = NULL;
	size_t len = 0;
	int pid = (int)getpid();

	int rc = read_image(k, &img, &len, &err);
	if (rc) {
		k->state = C_FAILED;
		xs_agent_log("xsplice: pid %d: installed payload %s (%s) not applied: %s\n", pid,
			     k->name, k->path, err.msg);
		return;
	}
	xs_payloads_lock();
	rc = xs_payload_upload(k->name, img, len, &err);
	struct xs_payload *p = rc ? NULL : xs_payload_find(k->name);
	/* The audit trail: the agent itself is the client of an autoload. */
	struct xs_peer self = { getpid(), geteuid() };
	struct xs_audit_subject subj;
	xs_audit_subject_of(p, k->name, &subj);
	xs_audit_record(&self, "autoload", &subj, rc, err.msg);
	if (p)
		xs_audit_set_requester(p, &self);
	xs_payloads_unlock();
	free(img);
	if (rc) {
		k->state = C_FAILED;
		xs_agent_log("xsplice: pid %d: installed payload %s (%s) not loaded: %s\n", pid,
			     k->name, k->path, err.msg);
		return;
	}
	rc = run_apply(p, dl, &err);
	if (rc) {
		k->state = C_FAILED;
		xs_agent_log("xsplice: pid %d: installed payload %s (%s) loaded but not applied "
			     "(left CHECKED): %s\n", pid, k->name, k->path, err.msg);
		return;
	}
	k->state = C_APPLIED;
	xs_payloads_lock();
	char target[XS_PATH_SIZE];
	snprintf(target, sizeof(target), "%s", p->target_path);
	xs_payloads_unlock();
	xs_agent_log("xsplice: pid %d: applied installed payload %s (%s) to %s\n", pid, k->name,
		     k->path, target[0] ? target : "the program");
}

/* Apply what concerns us, bases before what stacks on them. */
static void apply_all(struct scan_ctx *c)
{
	for (bool progress = true; progress;) {
		progress = false;
		for (size_t i = 0; i < c->n; i++) {
			struct cand *k = &c->v[i];
			if (k->state != C_PENDING)
				continue;
			if (k->bad) {
				k->state = C_FAILED;
				xs_agent_log("xsplice: pid %d: installed payload %s (%s) not applied: it "
					     "is marked bad (%s%s)\n", (int)getpid(), k->name, k->path,
					     k->name, XS_PATCHDIR_BAD);
				progress = true;
				continue;
			}
			if (!is_object(k->id.depends, k->id.depends_len)) {
				struct cand *below = by_build_id(c, k->id.depends, k->id.depends_len);
				if (below && below->state == C_PENDING)
					continue; /* its turn comes after the one below */
				if (!below || below->state != C_APPLIED) {
					k->state = C_FAILED;
					xs_agent_log("xsplice: pid %d: installed payload %s (%s) not "
						     "applied: it stacks on %s, which was not applied\n",
						     (int)getpid(), k->name, k->path,
						     below ? below->name : "a payload not installed");
					progress = true;
					continue;
				}
			}
			apply_one(k, c->dl);
			progress = true;
		}
	}
}

static bool verbose(void)
{
	const char *v = getenv("XSPLICE_AUTOLOAD");
	return v && strcmp(v, "verbose") == 0;
}

/* The work of xs_autoload_run; *listed gets the number of installed files. */
static void autoload(struct scan_ctx *c, const char *dir, bool talk, size_t *listed)
{
	struct xs_err err = { "" };
	int pid = (int)getpid();

	int rc = xs_patchdir_trusted(dir, &err);
	if (rc == -ENOENT)
		return; /* nothing installed: the common case, silent */
	if (rc) {
		xs_agent_log("xsplice: pid %d: installed payloads not applied: %s\n", pid, err.msg);
		return;
	}
	rc = xs_patchdir_scan(dir, on_entry, c, &err);
	*listed = c->n;
	if (rc || c->oom) {
		xs_agent_log("xsplice: pid %d: installed payloads not applied: %s\n", pid,
			     rc ? err.msg : "out of memory listing the patch directory");
		return;
	}
	if (c->n == 0)
		return;
	if (c->n >= MAX_INSTALLED)
		xs_agent_log("xsplice: pid %d: more than %u payloads installed in %s: only the first "
			     "%u by name are considered\n", pid, MAX_INSTALLED, dir, MAX_INSTALLED);

	/* Identify each one from its headers only. */
	for (size_t i = 0; i < c->n; i++) {
		struct cand *k = &c->v[i];
		int fd = xs_patchdir_open(k->path, &err);
		if (fd < 0) {
			k->state = C_SKIPPED;
			if (fd != -ENOENT) /* uninstalled meanwhile: nothing to say */
				xs_agent_log("xsplice: pid %d: installed payload %s refused: %s\n", pid,
					     k->name, err.msg);
			continue;
		}
		rc = xs_payload_ident_fd(fd, &k->id, &err);
		close(fd); /* no descriptor kept per payload: the program's limit is its own */
		if (rc) {
			xs_agent_log("xsplice: pid %d: installed payload %s (%s) skipped: %s\n", pid,
				     k->name, k->path, err.msg);
			k->state = C_SKIPPED;
			continue;
		}
		k->identified = true;
	}

	xs_payloads_lock();
	rc = xs_objects_refresh(&err);
	xs_payloads_unlock();
	if (rc) {
		xs_agent_log("xsplice: pid %d: installed payloads not applied: %s\n", pid, err.msg);
		return;
	}
	/* Decide for all before skipping any: a chain runs through payloads
	 * that are not skipped yet. */
	bool ours[MAX_INSTALLED];
	for (size_t i = 0; i < c->n; i++) {
		ours[i] = c->v[i].state == C_PENDING && concerns_us(c, &c->v[i]);
		if (ours[i] && c->dl)
			ours[i] = dl_wanted(c, &c->v[i]);
	}
	for (size_t i = 0; i < c->n; i++) {
		if (ours[i] || c->v[i].state != C_PENDING)
			continue;
		c->v[i].state = C_SKIPPED; /* not for this process: silent unless asked */
		if (talk && !c->dl) {
			char dep[2 * XS_BUILD_ID_MAX + 1];
			xs_hex_encode(c->v[i].id.depends, c->v[i].id.depends_len, dep);
			xs_agent_log("xsplice: pid %d: installed payload %s is not for this process "
				     "(it depends on build-id %s, and its depends chain does not end at an object loaded here)\n", pid,
				     c->v[i].name, dep);
		}
	}
	apply_all(c);
}

void xs_autoload_run(void)
{
	char dir[4096];
	struct scan_ctx c = { 0 };
	bool talk = verbose();
	size_t listed = 0;

	if (xs_patchdir_default(dir, sizeof(dir)))
		return;
	uint64_t t0 = xs_mono_ns();
	autoload(&c, dir, talk, &listed);
	uint64_t us = (xs_mono_ns() - t0) / 1000;
	if (talk) {
		size_t applied = 0;
		for (size_t i = 0; i < c.n; i++)
			applied += c.v[i].state == C_APPLIED;
		xs_agent_log("xsplice: pid %d: patch directory %s: %zu installed, %zu applied, "
			     "%llu us\n", (int)getpid(), dir, listed, applied,
			     (unsigned long long)us);
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].path);
	free(c.v);
}

/* ---- after a dlopen (dlhook.c's thread) ---- */

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The objects loaded now (malloc'd), or -errno. */
static int take_objects(struct objkey **out, size_t *n)
{
	struct xs_err err = { "" };
	xs_payloads_lock();
	int rc = xs_objects_refresh(&err);
	size_t cnt = rc ? 0 : xs_objects_count();
	struct objkey *v = cnt ? calloc(cnt, sizeof(*v)) : NULL;
	if (!rc && cnt && !v)
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < cnt; i++) {
		const struct xs_object *o = xs_object_at(i);
		v[i].bias = o->bias;
		v[i].path_hash = hash_path(o->path);
		v[i].len = o->build_id_len;
		memcpy(v[i].id, o->build_id, o->build_id_len);
	}
	xs_payloads_unlock();
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static bool known(const struct objkey *k)
{
	for (size_t i = 0; i < g_nknown; i++)
		if (g_known[i].bias == k->bias && g_known[i].path_hash == k->path_hash &&
		    g_known[i].len == k->len && memcmp(g_known[i].id, k->id, k->len) == 0)
			return true;
	return false;
}

void xs_autoload_remember_objects(void)
{
	struct objkey *v = NULL;
	size_t n = 0;
	if (take_objects(&v, &n) != 0)
		return; /* then every object counts as new at the first dlopen */
	free(g_known);
	g_known = v;
	g_nknown = n;
}

static void count_entry(const char *name, const char *path, bool bad, void *arg)
{
	(void)name;
	(void)path;
	(void)bad;
	++*(size_t *)arg;
}

bool xs_autoload_anything_installed(void)
{
	char dir[4096];
	struct xs_err err = { "" };
	size_t n = 0;
	if (xs_patchdir_default(dir, sizeof(dir)) || xs_patchdir_trusted(dir, &err) ||
	    xs_patchdir_scan(dir, count_entry, &n, &err))
		return false; /* absent (the common case), or refused: the start said why */
	return n > 0;
}

void xs_autoload_after_dlopen(void)
{
	struct objkey *now = NULL;
	size_t n = 0;
	if (take_objects(&now, &n) != 0)
		return;
	/* New: not loaded (at that place, from that file) at the last look. */
	size_t nfresh = 0;
	struct objkey *fresh = n ? calloc(n, sizeof(*fresh)) : NULL;
	for (size_t i = 0; fresh && i < n; i++)
		if (!known(&now[i]))
			fresh[nfresh++] = now[i];
	free(g_known);
	g_known = now;
	g_nknown = n;

	char dir[4096];
	if (fresh && xs_patchdir_default(dir, sizeof(dir)) == 0) {
		struct scan_ctx c = { .dl = true, .fresh = fresh, .nfresh = nfresh };
		size_t listed = 0;
		uint64_t t0 = xs_mono_ns();
		autoload(&c, dir, false, &listed);
		if (verbose()) {
			size_t applied = 0;
			for (size_t i = 0; i < c.n; i++)
				applied += c.v[i].state == C_APPLIED;
			xs_agent_log("xsplice: pid %d: after a dlopen (%zu new objects): %zu installed, "
				     "%zu applied, %llu us\n", (int)getpid(), nfresh, listed, applied,
				     (unsigned long long)((xs_mono_ns() - t0) / 1000));
		}
		for (size_t i = 0; i < c.n; i++)
			free(c.v[i].path);
		free(c.v);
	}
	free(fresh);
}
