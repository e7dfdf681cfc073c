#include "calc.h"

int compute(int x)
{
	/* Long enough for a 14-byte absolute jump (far placement). */
	if (x < 0)
		return other(-x) * 5 - scale;
	if (x > 1000)
		return x / 3 + scale;
	return x * 2 + 1;
}

int other(int x)
{
	return x - 7;
}
