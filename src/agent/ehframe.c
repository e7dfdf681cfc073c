/* SPDX-License-Identifier: MIT */
/*
 * Unwinding through payload code with libgcc's unwinder (backtrace(), C++
 * exceptions): the payload's .eh_frame (loaded, relocated, and followed by
 * the zero terminator the loader leaves, load.c) is handed to
 * __register_frame and taken back with __deregister_frame before unload.
 * libgcc_s is what glibc's backtrace() and libstdc++ use; it is found in
 * the process or loaded (glibc loads it itself for backtrace()).
 *
 * Threading: control thread, table locked; libgcc locks its own list.
 */
#include "visibility.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

#include "agent.h"

typedef void frame_fn(void *);

static frame_fn *lookup(const char *sym)
{
	void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		h = dlopen("libgcc_s.so.1", RTLD_NOW);
	void *f = h ? dlsym(h, sym) : NULL;
	/* the handle stays open: registered frames live in that copy */
	return (frame_fn *)f;
}

void *xs_ehframe_register(const struct xs_loaded *ld, const char *name)
{
	const struct xs_loaded_sec *s = xs_loaded_section(ld, ".eh_frame");
	if (!s || s->size < 8)
		return NULL;
	frame_fn *reg = lookup("__register_frame");
	if (!reg) {
		xs_agent_log("xsplice: pid %d: payload %s: libgcc_s not found, its .eh_frame is not "
			     "registered (backtraces and exceptions will not cross its code)\n",
			     (int)getpid(), name);
		return NULL;
	}
	reg((void *)s->addr);
	return (void *)s->addr;
}

void xs_ehframe_unregister(void *begin)
{
	if (!begin)
		return;
	frame_fn *dereg = lookup("__deregister_frame");
	if (dereg)
		dereg(begin);
}
