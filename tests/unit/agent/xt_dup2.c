/* SPDX-License-Identifier: MIT */
/* A second static xt_dup, so the name is ambiguous in the test program. */
__attribute__((noinline, used)) static int xt_dup(void)
{
	__asm__ volatile("");
	return 2;
}

int xt_dup2_call(void);
int xt_dup2_call(void)
{
	return xt_dup();
}
