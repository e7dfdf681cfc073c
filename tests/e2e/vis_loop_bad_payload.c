/* SPDX-License-Identifier: MIT */
/* vis_loop_payload.c with a wrong expectation, for a function that is
 * always on a stack: the apply must say the bytes differ at once, not wait
 * out the time bound for a stop that can never succeed. mkpayload.sh reads
 * what to fill in from here: OLD_ADDR_run_loop OLD_SIZE_run_loop
 * NEW_SIZE_run_loop_payload EXPECT_run_loop */
#define WANT_BAD_EXPECTATION 1
#include "vis_loop_payload.c"
