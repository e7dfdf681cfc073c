#include "calc.h"

int compute(int x)
{
	return scale(x) + 1;
}

int other(int x)
{
	return x - 8;
}
