#include "calc.h"
#include "config.h"

int compute(int x)
{
	return x * 3 + 1 + EXTRA;
}

int other(int x)
{
	return x - 7 + EXTRA;
}
