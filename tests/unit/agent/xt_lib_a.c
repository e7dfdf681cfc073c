/* SPDX-License-Identifier: MIT */
/* A small shared library for the symbol tests (version A). */
__attribute__((noinline, used)) static int xt_lib_local(void)
{
	__asm__ volatile("");
	return 1;
}

int xt_lib_func(void)
{
	return xt_lib_local() + 10;
}
