/* SPDX-License-Identifier: MIT */
/* The answers of each version (0 = original, 1 = payload A, 2 = payload B),
 * shared by the target (to check) and the payloads (to compute). */
#ifndef STRESS_FUNCS_H
#define STRESS_FUNCS_H
#define STRESS_LEAF(x, v) ((x) * 3 + 1 + (v) * 1000003L)
#define STRESS_MID(h, x, v) ((h) + (x) + (v) * 7000001L)
#define STRESS_LOOP(s, v) ((s) ^ ((v) * 0x5a5a5a5aL))
#endif
