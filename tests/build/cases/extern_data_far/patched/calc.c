#include <stdio.h>
#include "calc.h"

/* The program never used stderr: the executable has no copy of it, so the
 * new code must reach libc's, far from the payload. */
int compute(int x)
{
	/* Long enough for a 14-byte absolute jump (far placement). */
	if (x < 0)
		return other(-x) * 5 - scale;
	if (x > 1000)
		return x / 3 + scale;
	fputs("compute: the patched one\n", stderr);
	return x * scale + 1;
}

int other(int x)
{
	return x - 7;
}
