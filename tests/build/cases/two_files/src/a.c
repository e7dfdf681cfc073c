#include <stdio.h>
int from_b(int x);
volatile int input = 3;

__attribute__((noipa)) int from_a(int x)
{
	return input + x + 10;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "a=%d b=%d", from_a(1), from_b(1));
	return buf;
}
