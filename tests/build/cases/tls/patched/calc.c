#include <stdio.h>
__thread int tls_counter;
static __thread int stls = 5;
extern __thread int other_tls;

__attribute__((noipa)) int bump(void)
{
	tls_counter += 1000;
	stls++;
	other_tls++;
	return tls_counter + stls + other_tls;
}

const char *line(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "bump=%d", bump());
	return buf;
}
