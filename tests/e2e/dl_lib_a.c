/* SPDX-License-Identifier: MIT */
/* A library the dl_target dlopens and calls; dl.livepatch patches dl_greet. */
__attribute__((noinline)) const char *dl_greet(void)
{
	__asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop");
	return "greet from A";
}
