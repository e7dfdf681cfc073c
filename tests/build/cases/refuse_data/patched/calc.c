#include <stdio.h>
int limit = 20;

__attribute__((noipa)) int capped(int x)
{
	return x >= limit ? limit : x;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "capped=%d", capped(50));
	return buf;
}
