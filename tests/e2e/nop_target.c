/* SPDX-License-Identifier: MIT */
/*
 * The NOP-patching target: feature_enabled() starts with a 2-byte jump to
 * its "disabled" path (written in assembly so the bytes are known). A
 * payload entry with new_addr 0 and new_size 2 NOPs the jump out: the
 * function then returns 1. Prints "feature=N" every 50 ms.
 *
 *   nop_target [TICKS]     (0 = until killed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int feature_enabled(void);
__asm__(".text\n"
	".globl feature_enabled\n"
	".type feature_enabled, @function\n"
	"feature_enabled:\n"
	"	jmp 1f\n"             /* eb 06: the 2 bytes a NOP entry removes */
	"	movl $1, %eax\n"      /* b8 01 00 00 00 */
	"	ret\n"                /* c3 */
	"1:	xorl %eax, %eax\n"
	"	ret\n"
	".size feature_enabled, .-feature_enabled\n");

int main(int argc, char **argv)
{
	long ticks = argc > 1 ? atol(argv[1]) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long t = 0; !ticks || t < ticks; t++) {
		printf("feature=%d\n", feature_enabled());
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}
