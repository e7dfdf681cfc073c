#include <stdio.h>
#include <string.h>
static char buf[32];

const char *line(void)
{
	snprintf(buf, sizeof(buf), "buf=%zu", sizeof(buf));
	return buf;
}
