/* SPDX-License-Identifier: MIT */
/*
 * Built with -fcf-protection (as Debian's hardening and Ubuntu's defaults
 * do): every function starts with endbr64. Every 50 ms prints what greet()
 * answers called directly and through a function pointer (an indirect call,
 * which with IBT must land on an endbr64).
 *
 *   cet_target [TICKS]     (0 = until killed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noipa)) const char *greet(void)
{
	return "plain";
}

static const char *(*volatile greet_ptr)(void) = greet;

int main(int argc, char **argv)
{
	long ticks = argc > 1 ? atol(argv[1]) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long t = 0; !ticks || t < ticks; t++) {
		printf("direct=%s indirect=%s\n", greet(), greet_ptr());
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}
