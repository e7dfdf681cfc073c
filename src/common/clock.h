/* SPDX-License-Identifier: MIT */
/*
 * The monotonic clock every part of xsplice measures time with (time
 * bounds, idle timeouts, statistics). The agent's rendezvous keeps its own
 * raw-syscall reading: it runs while libc code may be mid-patch.
 */
#ifndef XS_COMMON_CLOCK_H
#define XS_COMMON_CLOCK_H

#include <stdint.h>

/* Nanoseconds and milliseconds on CLOCK_MONOTONIC. */
uint64_t xs_mono_ns(void);
uint64_t xs_mono_ms(void);

#endif
