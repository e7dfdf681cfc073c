#include <stdio.h>

/* New, with its own static: shifts GCC's numbering of count. */
__attribute__((noipa)) int tock(void)
{
	static int count;
	return count++;
}

__attribute__((noipa)) int tick(void)
{
	static int count;
	count += 100 + 0 * tock();
	return count;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "tick=%d", tick());
	return buf;
}
