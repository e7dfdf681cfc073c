#include "calc.h"

int compute(int x)
{
	return x * 2 + 1;
}

/* other: x less seven */
int other(int x)
{
	return x - 7;
}
