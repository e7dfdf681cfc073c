/* SPDX-License-Identifier: MIT */
/*
 * Linked into shlib_dl_poisoned (libs.sh): its constructor, which runs
 * before the agent's, turns the loader's breakpoint function from `ret`
 * into `rep ret` (f3 c3: still a return), as another loader build or a
 * tool could have. The agent must then refuse to hook it, say so, and the
 * program's dlopen must keep working.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((constructor)) static void poison(void)
{
	struct r_debug *r = dlsym(RTLD_DEFAULT, "_r_debug");
	if (!r || !r->r_brk || *(const uint8_t *)r->r_brk != 0xc3) {
		fprintf(stderr, "brk_poison: no ret at r_brk\n");
		return;
	}
	static const uint8_t rep_ret[2] = { 0xf3, 0xc3 };
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	/* The second byte first: it is padding until the first one changes. */
	if (fd < 0 || pwrite(fd, rep_ret + 1, 1, (off_t)r->r_brk + 1) != 1 ||
	    pwrite(fd, rep_ret, 1, (off_t)r->r_brk) != 1)
		fprintf(stderr, "brk_poison: cannot write r_brk\n");
	else
		fprintf(stderr, "brk_poison: r_brk is rep ret now\n");
	if (fd >= 0)
		close(fd);
}

/* Referenced by the program, so the link keeps this library (as-needed). */
int brk_poison_linked(void)
{
	return 1;
}
