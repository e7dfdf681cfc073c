/* SPDX-License-Identifier: MIT */
/*
 * Shadow variables for payload code, on the model of Linux's klp_shadow_*:
 * attach new data to an existing object by (object address, id) -- a new
 * "field" for a live structure whose layout cannot change. The agent
 * implements them; a payload that calls them is bound to the agent's copy
 * when it is uploaded (docs/hooks-and-shadow.md).
 *
 * Thread-safe: any thread of the program may call any of them at any time.
 * Constructors and destructors run with the shadow lock held: they must be
 * short and must not call xs_shadow_* themselves.
 * A payload that leaves shadow data behind should free it in an unload (or
 * postrevert) hook: the agent does not know which ids are whose.
 */
#ifndef XSPLICE_SHADOW_H
#define XSPLICE_SHADOW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Weak references outside the agent: a source patch that calls these must
 * still link as a program (xsplice-build builds the patched tree); in the
 * payload the agent binds them at upload. */
#ifdef XS_SHADOW_IMPL
#define XS_SHADOW_API
#else
#define XS_SHADOW_API __attribute__((weak))
#endif

/* Fill a new shadow variable (zeroed before); non-zero: not attached, the
 * allocation returns NULL. */
typedef int (*xs_shadow_ctor_t)(void *obj, void *shadow_data, void *ctor_data);
/* Called on a shadow variable just before it is freed. */
typedef void (*xs_shadow_dtor_t)(void *obj, void *shadow_data);

/* The data attached to (obj, id), or NULL. */
XS_SHADOW_API void *xs_shadow_get(void *obj, unsigned long id);
/* Attach size zeroed bytes to (obj, id), then run ctor (if any) on them.
 * NULL if (obj, id) already has data, on out of memory, or when ctor
 * fails. The data is 16-byte aligned. */
XS_SHADOW_API void *xs_shadow_alloc(void *obj, unsigned long id, size_t size, xs_shadow_ctor_t ctor,
		      void *ctor_data);
/* The data of (obj, id), attached first (as by xs_shadow_alloc) if there
 * is none: atomic, two threads get the same data. */
XS_SHADOW_API void *xs_shadow_get_or_alloc(void *obj, unsigned long id, size_t size, xs_shadow_ctor_t ctor,
			     void *ctor_data);
/* Detach and free (obj, id)'s data, after dtor (if any). No-op if none. */
XS_SHADOW_API void xs_shadow_free(void *obj, unsigned long id, xs_shadow_dtor_t dtor);
/* Detach and free the data of every object for id, after dtor on each. */
XS_SHADOW_API void xs_shadow_free_all(unsigned long id, xs_shadow_dtor_t dtor);

#ifdef __cplusplus
}
#endif

#endif
