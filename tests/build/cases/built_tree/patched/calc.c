#include "calc.h"

int compute(int x)
{
	return scale(x) + 2;
}

int other(int x)
{
	return x - 7;
}
