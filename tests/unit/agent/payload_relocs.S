/* SPDX-License-Identifier: MIT */
/* Test payload: one field per relocation type, against symbols the test's
 * resolver chooses (so it can also force overflows). */
	.section .text.r,"ax",@progbits
	.globl r_func
r_func:
	movq $0, %rax
	ret
near_lbl:
	.globl r_code32s
r_code32s:
	.reloc ., R_X86_64_32S, xr_s32
	.long 0

	.section .data.r,"aw",@progbits
	.balign 8
	.globl r_table
r_table:
	.reloc ., R_X86_64_64, xr_64+8
	.quad 0                              /* 0 */
	.reloc ., R_X86_64_PC64, xr_64+3
	.quad 0                              /* 8 */
	.reloc ., R_X86_64_32, xr_u32
	.long 0                              /* 16 */
	.reloc ., R_X86_64_32S, xr_s32
	.long 0                              /* 20 */
	.reloc ., R_X86_64_16, xr_16
	.short 0                             /* 24 */
	.reloc ., R_X86_64_8, xr_8
	.byte 0                              /* 26 */
	.byte 0                              /* 27 */
	.reloc ., R_X86_64_PC32, xr_pc
	.long 0                              /* 28 */
	.reloc ., R_X86_64_PC16, xr_pc16
	.short 0                             /* 32 */
	.reloc ., R_X86_64_PC8, xr_pc8
	.byte 0                              /* 34 */
	.byte 0
	.reloc ., R_X86_64_GOTPCREL, xr_64-4
	.long 0                              /* 36 */
	.reloc ., R_X86_64_GOTPCRELX, xr_64-4
	.long 0                              /* 40 */
	.reloc ., R_X86_64_REX_GOTPCRELX, xr_u32-4
	.long 0                              /* 44 */
	.reloc ., R_X86_64_PLT32, xr_plt-4
	.long 0                              /* 48 */
	.reloc ., R_X86_64_PC32, r_func
	.long 0                              /* 52 */
	.reloc ., R_X86_64_64, r_func
	.quad 0                              /* 56 */
	.quad 0                              /* 64 */
	.globl xr_pc16
xr_pc16:                                     /* 72 */
	.quad 0
	.globl xr_pc8
xr_pc8:                                      /* 80 */
	.quad 0

	.section .livepatch.funcs,"a",@progbits
	.balign 8
	.quad 0
	.quad r_func
	.quad 0
	.long 16, 16
	.byte 1
	.fill 31, 1, 0

	.section .note.GNU-stack,"",@progbits
