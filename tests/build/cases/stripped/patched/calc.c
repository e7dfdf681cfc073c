#include <stdio.h>
volatile int input = 20;

static __attribute__((noipa)) int helper(int x)
{
	return x - 1;
}

__attribute__((noipa)) int compute(int x)
{
	return helper(x) * 4;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "compute=%d", compute(input));
	return buf;
}
