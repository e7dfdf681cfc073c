/* SPDX-License-Identifier: MIT */
/*
 * bench-redis's payload: libc's getloadavg replaced by an equivalent that
 * reports "not available" (-1, as getloadavg does without /proc). Redis
 * never calls it, so the payload itself costs nothing while applied: what
 * bench-redis measures is the apply/revert (the stop), not a slower
 * function. LIBC_ADDR_/LIBC_SIZE_ come from libc's dynamic symbols
 * (tests/transition/mklibcpayload.sh).
 */
#include <xsplice/livepatch.h>

static int getloadavg_none(double loadavg[], int nelem)
{
	(void)loadavg;
	(void)nelem;
	return -1;
}

static const char name_getloadavg[] = "getloadavg";

struct livepatch_func livepatch_getloadavg LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = name_getloadavg,
	.new_addr = getloadavg_none,
	.old_addr = (void *)LIBC_ADDR_getloadavg,
	.new_size = NEW_SIZE_getloadavg_none,
	.old_size = LIBC_SIZE_getloadavg,
};
