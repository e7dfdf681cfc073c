#include "calc.h"

/* Called here and from main.c: with -fPIC -fno-semantic-interposition GCC
 * calls it through a local alias, compute.localalias, at the same address. */
__attribute__((noinline)) int compute(int x)
{
	return x * 2 + 1;
}

int other(int x)
{
	return compute(x) - x * 2 - 8;
}
