#include "calc.h"

int compute(int x)
{
	return x * 2 + 1;
}

int other(int x)
{
	return x - 7;
}
