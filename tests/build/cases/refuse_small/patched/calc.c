#include <stdio.h>
volatile int input = 20;

__attribute__((noipa)) int tiny(int x)
{
	return x - 8;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "tiny=%d", tiny(input));
	return buf;
}
