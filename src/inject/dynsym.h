/* SPDX-License-Identifier: MIT */
/*
 * Exported function symbols of a shared object file, read with libelf
 * (dynsym.c): how the attach finds dlopen, pthread_create and friends in
 * the target's libc.
 *
 * Threading: no state; call from any thread (libelf's elf_version is
 * called once per call, which is idempotent).
 */
#ifndef XS_INJECT_DYNSYM_H
#define XS_INJECT_DYNSYM_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

/* For each of names[0..n), the st_value of the defined FUNC symbol of that
 * name in the .dynsym of the ELF file open on fd (the default version
 * preferred), or 0 if there is none. -ENOEXEC: not a readable ELF file
 * with a .dynsym. */
int xs_dynsym_lookup(int fd, const char *const names[], uint64_t values[], size_t n,
		     struct xs_err *err);

#endif
