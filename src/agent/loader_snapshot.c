/* SPDX-License-Identifier: MIT */
/*
 * The loaded-object list as the park handlers see it (see
 * loader_snapshot.h for why). Threading: xs_loader_snapshot_take and
 * _active are called by the action thread only; dl_iterate_phdr below is
 * called by any thread: it reads the copy only while the stop is active
 * and the caller is a thread inside its park handler, when the action
 * thread does not write it.
 */
#include "loader_snapshot.h"

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "rendezvous.h"

#define SNAP_OBJECTS 512
#define SNAP_PHDRS 32
#define SNAP_NAME 256

struct snap_object {
	struct dl_phdr_info info;
	ElfW(Phdr) phdr[SNAP_PHDRS]; /* copies: the object's own may be unmapped meanwhile */
	char name[SNAP_NAME];
};

typedef int (*iterate_fn)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

static iterate_fn g_real;
static _Atomic bool g_active;
static struct snap_object g_objects[SNAP_OBJECTS];
static unsigned g_nobjects;
static bool g_overflow;

void xs_loader_snapshot_init(void)
{
	g_real = (iterate_fn)dlsym(RTLD_NEXT, "dl_iterate_phdr");
}

static int copy_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (g_nobjects == SNAP_OBJECTS || info->dlpi_phnum > SNAP_PHDRS) {
		g_overflow = true;
		return 0;
	}
	struct snap_object *o = &g_objects[g_nobjects++];
	o->info = *info;
	for (unsigned i = 0; i < info->dlpi_phnum; i++)
		o->phdr[i] = info->dlpi_phdr[i];
	o->info.dlpi_phdr = o->phdr;
	size_t n = info->dlpi_name ? strnlen(info->dlpi_name, SNAP_NAME - 1) : 0;
	if (n)
		memcpy(o->name, info->dlpi_name, n);
	o->name[n] = '\0';
	o->info.dlpi_name = o->name;
	return 0;
}

bool xs_loader_snapshot_take(void)
{
	g_nobjects = 0;
	g_overflow = false;
	if (g_real)
		g_real(copy_one, NULL);
	return !g_overflow;
}

void xs_loader_snapshot_active(bool on)
{
	atomic_store(&g_active, on);
}

/* Exported: the definition libunwind (and the program) binds to. */
__attribute__((visibility("default"))) int
dl_iterate_phdr(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data)
{
	if (atomic_load(&g_active) && xs_rendezvous_in_handler()) {
		for (unsigned i = 0; i < g_nobjects; i++) {
			int r = callback(&g_objects[i].info, sizeof(g_objects[i].info), data);
			if (r)
				return r;
		}
		return 0;
	}
	if (!g_real)
		xs_loader_snapshot_init(); /* called before our constructor ran */
	return g_real ? g_real(callback, data) : 0;
}
