#include <assert.h>
#include <stdio.h>

#define LOG(fmt, ...) fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__)

volatile int input = 20;

__attribute__((noipa)) int f1(int x)
{
	return x + 1 + input;
}

/* Unchanged, but __LINE__ (assert, LOG) encodes where it sits. */
__attribute__((noipa)) int f2(int x)
{
	assert(x >= 0);
	if (x > 1000)
		LOG("big %d", x);
	return x * 2;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "f1=%d f2=%d", f1(input), f2(input));
	return buf;
}
