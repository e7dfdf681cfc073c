/* SPDX-License-Identifier: MIT */
/*
 * The agent's only output: one line to stderr per event, never stdout
 * (its own file so the unit-tested core, which runs hooks, has it too).
 * Threading: any thread; one write(2) per line, no lock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "agent.h"
#include "xsplice/protocol.h"

void xs_agent_log(const char *fmt, ...)
{
	char buf[XS_REASON_SIZE + 64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* stderr only, one write, never stdout. */
	ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
	(void)w;
}
