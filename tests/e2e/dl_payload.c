/* SPDX-License-Identifier: MIT */
/* Patches dl_lib_a's dl_greet (built with examples/demo/mkpayload.sh
 * against libxse2e_dla.so). */
#include <xsplice/livepatch.h>

static const char *greet_patched(void)
{
	return "greet patched";
}

static const char greet_name[] = "dl_greet";

struct livepatch_func livepatch_dl_greet LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = greet_name,
	.new_addr = greet_patched,
	.old_addr = (void *)OLD_ADDR_dl_greet,
	.new_size = NEW_SIZE_greet_patched,
	.old_size = OLD_SIZE_dl_greet,
};
