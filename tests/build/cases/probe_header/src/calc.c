#include <stdio.h>
#if HAVE_PROBE
#error "the probe found a header that does not exist" /* its code would not be the running one */
#endif
volatile int input = 200;

__attribute__((noipa)) int compute(int x)
{
	return x + 1 + input;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "compute=%d", compute(input));
	return buf;
}
