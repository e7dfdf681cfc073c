#include <stdio.h>

__attribute__((noipa)) int tick(void)
{
	static int count;
	return ++count;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "tick=%d", tick());
	return buf;
}
