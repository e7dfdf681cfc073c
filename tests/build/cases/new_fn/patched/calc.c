#include <stdio.h>
volatile int input = 200;

static __attribute__((noipa)) int clamp(int x)
{
	return x > 100 ? 100 : x;
}

__attribute__((noipa)) int compute(int x)
{
	return clamp(x) + 1 + input;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "compute=%d", compute(input));
	return buf;
}
