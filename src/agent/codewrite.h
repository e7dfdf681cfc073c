/* SPDX-License-Identifier: MIT */
/*
 * The code writer: every byte of code the agent changes goes through
 * /proc/thread-self/mem, so no mapping is ever writable and
 * executable at once. Callable with threads parked: raw system calls and
 * our own byte loops only.
 */
#ifndef XS_AGENT_CODEWRITE_H
#define XS_AGENT_CODEWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

/* Open /proc/self/mem for writing (before threads are parked). */
int xs_code_open(struct xs_err *err);
void xs_code_close(int fd);

/* Write len bytes at addr and read them back. 0 or -errno. No libc. */
int xs_code_write(int fd, uintptr_t addr, const uint8_t *bytes, size_t len);

/* libc-free helpers for the critical section. */
void xs_bytes_copy(uint8_t *dst, const uint8_t *src, size_t n);
int xs_bytes_equal(const uint8_t *a, const uint8_t *b, size_t n);

#endif
