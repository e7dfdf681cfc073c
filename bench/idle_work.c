/* SPDX-License-Identifier: MIT */
/*
 * bench-idle's workload: for SECONDS, either CPU-bound arithmetic (cpu) or
 * a real system call per iteration (syscall: getppid, no vDSO); prints
 * iterations per second and its own resident memory, so a run with the
 * agent preloaded (idle) can be compared with one without.
 *
 *   idle-work cpu|syscall SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "cpu") && strcmp(argv[1], "syscall"))) {
		fprintf(stderr, "usage: %s cpu|syscall SECONDS\n", argv[0]);
		return 2;
	}
	int cpu = strcmp(argv[1], "cpu") == 0;
	double secs = atof(argv[2]), t0 = now_s(), t;
	unsigned long x = 1, n = 0;
	do {
		/* 1000 iterations between clock reads */
		for (int i = 0; i < 1000; i++) {
			if (cpu) {
				for (int k = 0; k < 100; k++)
					x = x * 6364136223846793005ul + 1442695040888963407ul;
				sink = x;
			} else {
				syscall(SYS_getppid);
			}
		}
		n += 1000;
		t = now_s();
	} while (t - t0 < secs);
	printf("%.0f %ld\n", (double)n / (t - t0), rss_kb());
	return 0;
}
