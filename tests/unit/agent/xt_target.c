/* SPDX-License-Identifier: MIT */
/* libxt_target.so: what payload_state patches, for the tests that upload
 * it through the agent's real path (xt_upload.h). */
#include "xt_upload.h"

/* At least 16 bytes (payload_state's old_size) plus a loop. */
__attribute__((noinline, used)) int xt_old_func(int x)
{
	for (volatile int i = 0; i < 3; i++)
		x += i * 3 + 1;
	return x + 1;
}

__attribute__((noinline, used)) int xt_other_func(int x)
{
	for (volatile int i = 0; i < 3; i++)
		x -= i * 5 + 1;
	return x - 1;
}
