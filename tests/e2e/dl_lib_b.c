/* SPDX-License-Identifier: MIT */
/* Another library, dlopened where dl_lib_a was (after dlclose): its code
 * sits where the payload's old_addr pointed. */
#define NOPS16 "nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop; nop;"
__attribute__((noinline)) const char *dl_other(void)
{
	__asm__ volatile(NOPS16 NOPS16 NOPS16 NOPS16);
	return "other from B";
}
