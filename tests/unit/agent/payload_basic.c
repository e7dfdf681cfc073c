/* SPDX-License-Identifier: MIT */
/* Test payload: calls libc, reads the test program's data and TLS. */
#include <stddef.h>
#include <string.h>

#include "xsplice/livepatch.h"

extern int xt_global;
extern int xt_old_func(int);
extern int xt_other_func(int);
extern int xt_secret(void); /* named only in .livepatch.symbols */
extern __thread int xt_tls_ie __attribute__((tls_model("initial-exec")));
extern __thread int xt_tls_le __attribute__((tls_model("local-exec")));

static int counter;
int lp_data = 42;

int lp_new_func(int x)
{
	return x * 2 + xt_global;
}

size_t lp_strlen(const char *s)
{
	return strlen(s) + (size_t)counter * 0;
}

int lp_call_old(int x)
{
	return xt_old_func(x) + 1;
}

int *lp_global_addr(void)
{
	return &xt_global;
}

int lp_bump(void)
{
	return ++counter + lp_data - 42;
}

const char *lp_string(void)
{
	return "payload-string";
}

int lp_tls_ie(void)
{
	return xt_tls_ie;
}

int lp_tls_le(void)
{
	return xt_tls_le;
}

int lp_call_secret(void)
{
	return xt_secret() + 1000;
}

/* record: addr (patched by the test), size 0, name_len 9, flags 0, name */
__asm__(".pushsection .livepatch.symbols,\"a\",@progbits\n"
	".balign 8\n"
	".quad 0x1122334455667788\n"
	".long 0\n"
	".short 9\n"
	".short 0\n"
	".ascii \"xt_secret\"\n"
	".balign 8\n"
	".popsection\n");

struct livepatch_func lp_funcs[] LIVEPATCH_FUNC_ATTR = {
	{ .name = "xt_old_func", .new_addr = lp_new_func, .old_addr = xt_old_func,
	  .new_size = 16, .old_size = 16, .version = LIVEPATCH_PAYLOAD_VERSION },
	{ .name = "xt_other_func", .new_addr = lp_bump, .old_addr = 0,
	  .new_size = 16, .old_size = 16, .version = LIVEPATCH_PAYLOAD_VERSION },
};
