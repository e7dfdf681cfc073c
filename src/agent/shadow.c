/* SPDX-License-Identifier: MIT */
/*
 * Shadow variables (include/xsplice/shadow.h): a hash table of
 * (object, id) -> data, chained, guarded by one mutex. Data lives in the
 * same malloc'd block as its node, after it, 16-byte aligned.
 *
 * Threading: every function takes g_lock; constructors and destructors run
 * with it held (klp does the same: get_or_alloc stays atomic). Fork: the
 * lock is taken around fork (atfork handlers registered by agent.c so that
 * they run after the table lock's: load hooks take it with the table lock
 * held), so a child never inherits it held by a thread absent there.
 */
#define XS_SHADOW_IMPL 1 /* the definitions: not weak */
#include "shadow.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024u

struct node {
	struct node *next;
	void *obj;
	unsigned long id;
	size_t size;
	_Alignas(16) unsigned char data[];
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *g_buckets[NBUCKETS];
static size_t g_count;

static unsigned bucket(const void *obj, unsigned long id)
{
	uint64_t h = (uint64_t)(uintptr_t)obj * 0x9e3779b97f4a7c15ull ^ (uint64_t)id * 0xc2b2ae3d27d4eb4full;
	return (unsigned)(h >> 32) % NBUCKETS;
}

static struct node **find(void *obj, unsigned long id)
{
	struct node **pp = &g_buckets[bucket(obj, id)];
	while (*pp && ((*pp)->obj != obj || (*pp)->id != id))
		pp = &(*pp)->next;
	return pp;
}

void *xs_shadow_get(void *obj, unsigned long id)
{
	pthread_mutex_lock(&g_lock);
	struct node *n = *find(obj, id);
	pthread_mutex_unlock(&g_lock);
	return n ? n->data : NULL;
}

/* With g_lock held: attach a new node at *pp (the end of the chain). */
static void *attach(struct node **pp, void *obj, unsigned long id, size_t size,
		    xs_shadow_ctor_t ctor, void *ctor_data)
{
	if (size > SIZE_MAX - sizeof(struct node))
		return NULL;
	struct node *n = calloc(1, sizeof(*n) + size);
	if (!n)
		return NULL;
	n->obj = obj;
	n->id = id;
	n->size = size;
	if (ctor && ctor(obj, n->data, ctor_data) != 0) {
		free(n);
		return NULL;
	}
	*pp = n;
	g_count++;
	return n->data;
}

static void *alloc_common(void *obj, unsigned long id, size_t size, xs_shadow_ctor_t ctor,
			  void *ctor_data, int existing_ok)
{
	pthread_mutex_lock(&g_lock);
	struct node **pp = find(obj, id);
	void *r;
	if (*pp)
		r = existing_ok ? (*pp)->data : NULL;
	else
		r = attach(pp, obj, id, size, ctor, ctor_data);
	pthread_mutex_unlock(&g_lock);
	return r;
}

void *xs_shadow_alloc(void *obj, unsigned long id, size_t size, xs_shadow_ctor_t ctor,
		      void *ctor_data)
{
	return alloc_common(obj, id, size, ctor, ctor_data, 0);
}

void *xs_shadow_get_or_alloc(void *obj, unsigned long id, size_t size, xs_shadow_ctor_t ctor,
			     void *ctor_data)
{
	return alloc_common(obj, id, size, ctor, ctor_data, 1);
}

void xs_shadow_free(void *obj, unsigned long id, xs_shadow_dtor_t dtor)
{
	pthread_mutex_lock(&g_lock);
	struct node **pp = find(obj, id);
	struct node *n = *pp;
	if (n) {
		*pp = n->next;
		g_count--;
		if (dtor)
			dtor(n->obj, n->data);
	}
	pthread_mutex_unlock(&g_lock);
	free(n);
}

void xs_shadow_free_all(unsigned long id, xs_shadow_dtor_t dtor)
{
	pthread_mutex_lock(&g_lock);
	for (unsigned b = 0; b < NBUCKETS; b++) {
		struct node **pp = &g_buckets[b];
		while (*pp) {
			struct node *n = *pp;
			if (n->id != id) {
				pp = &n->next;
				continue;
			}
			*pp = n->next;
			g_count--;
			if (dtor)
				dtor(n->obj, n->data);
			free(n);
		}
	}
	pthread_mutex_unlock(&g_lock);
}

size_t xs_shadow_count(void)
{
	pthread_mutex_lock(&g_lock);
	size_t n = g_count;
	pthread_mutex_unlock(&g_lock);
	return n;
}

void xs_shadow_fork_prepare(void)
{
	pthread_mutex_lock(&g_lock);
}

void xs_shadow_fork_release(void)
{
	pthread_mutex_unlock(&g_lock);
}

/* ---- agent functions payloads may call ---- */

static const struct {
	const char *name;
	void (*fn)(void);
} g_exports[] = {
	{ "xs_shadow_get", (void (*)(void))xs_shadow_get },
	{ "xs_shadow_alloc", (void (*)(void))xs_shadow_alloc },
	{ "xs_shadow_get_or_alloc", (void (*)(void))xs_shadow_get_or_alloc },
	{ "xs_shadow_free", (void (*)(void))xs_shadow_free },
	{ "xs_shadow_free_all", (void (*)(void))xs_shadow_free_all },
};

int xs_agent_export_lookup(const char *name, uintptr_t *addr)
{
	for (size_t i = 0; i < sizeof(g_exports) / sizeof(g_exports[0]); i++)
		if (strcmp(g_exports[i].name, name) == 0) {
			*addr = (uintptr_t)g_exports[i].fn;
			return 0;
		}
	return -ENOENT;
}
