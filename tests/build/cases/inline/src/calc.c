#include <stdio.h>
volatile int input = 20;

static inline int helper(int x)
{
	return x + 1;
}

__attribute__((noipa)) int first(int x)
{
	return helper(x) * 2;
}

__attribute__((noipa)) int second(int x)
{
	return helper(x) * 3;
}

__attribute__((noipa)) int third(int x)
{
	return x * 4;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "first=%d second=%d third=%d", first(input), second(input),
		 third(input));
	return buf;
}
