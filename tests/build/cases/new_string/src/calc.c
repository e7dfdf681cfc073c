#include <stdio.h>

__attribute__((noipa)) const char *greet(void)
{
	return "hello";
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "greet=%s", greet());
	return buf;
}
