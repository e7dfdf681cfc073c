/* SPDX-License-Identifier: MIT */
/*
 * The shared objects the agent needs besides the C library (deps.c): the
 * attach carries each of them into the target from a memfd, before the
 * agent, so that a target whose filesystem lacks them (a container, a
 * minimal image) still satisfies the agent's DT_NEEDED: glibc matches a
 * needed name against the SONAME of an object already loaded.
 *
 * Threading: no state; call from one thread (it may dlopen the libraries
 * into the calling process to learn where the system's loader finds them).
 */
#ifndef XS_INJECT_DEPS_H
#define XS_INJECT_DEPS_H

#include <limits.h>

#include "xsplice/error.h"

#define XS_DEPS_MAX 6

struct xs_dep {
	char soname[64]; /* the DT_NEEDED name, e.g. "libunwind.so.8" */
	char path[PATH_MAX];
};

/*
 * The non-glibc dependencies of the ELF shared object at path, recursively,
 * in load order (an object after everything it needs). Names provided by
 * glibc itself (libc, libm, libdl, libpthread, librt, ld-linux ...) are
 * left out: every glibc system has them. -ENOENT: one cannot be found,
 * named; -E2BIG: more than XS_DEPS_MAX.
 */
int xs_agent_deps(const char *path, struct xs_dep *deps, int max, int *n, struct xs_err *err);

#endif
