/* SPDX-License-Identifier: MIT */
/* The same library rebuilt differently (version B): another build-id. */
__attribute__((noinline, used)) static int xt_lib_local(void)
{
	__asm__ volatile("");
	return 2;
}

int xt_lib_func(void)
{
	return xt_lib_local() + 20;
}
