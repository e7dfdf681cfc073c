#include <stdio.h>
#include <stdlib.h>
volatile int input = 20;
volatile int g = 1;

/* Called with a constant: GCC makes work.constprop.0. */
static __attribute__((noinline)) int work(int a, int b)
{
	if (a > 1000)
		puts("big");
	return a * b + 1;
}

__attribute__((cold, noinline)) void report_error(const char *m, int x)
{
	fprintf(stderr, "%s %d\n", m, x);
}

/* The unlikely block goes to check.cold. */
__attribute__((noipa)) int check(int x)
{
	int s = 0;
	for (int i = 0; i < x; i++)
		s += i * g;
	if (s == 12345) {
		report_error("bad", x);
		fprintf(stderr, "odd sum %d\n", x);
		s = 9;
	}
	return s;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "work=%d check=%d", work(input, 3) + work(input + 1, 3),
		 check(input));
	return buf;
}
