/* SPDX-License-Identifier: MIT */
/* nap_function(ms): the NEW code sleeps ms (in 10 ms naps), then -> 20. */
#include <time.h>

#include <xsplice/livepatch.h>

#include "../transition_funcs.h"

static long nap_new(long ms)
{
	while (ms > 0) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		ms -= 10;
	}
	return NAP_NEW;
}

static const char name_nap[] = "nap_function";

struct livepatch_func livepatch_nap LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name_nap,
	.new_addr = nap_new,
	.old_addr = (void *)OLD_ADDR_nap_function,
	.new_size = NEW_SIZE_nap_new,
	.old_size = OLD_SIZE_nap_function,
};
