/* SPDX-License-Identifier: MIT */
/*
 * bench-dlopen-cost LIB N: dlopen + dlclose LIB N times and print the CPU
 * time per round of the whole process (every thread: the agent's
 * xsplice-dl thread, woken by the loader hook, included). CPU time, not
 * wall time: on a shared machine the latter says more about the load
 * (bench/dlopen_cost.sh; docs/performance.md).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_us(void)
{
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s LIB N\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[2]);
	if (n <= 0)
		return 2;
	double t0 = cpu_us();
	for (int i = 0; i < n; i++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
			return 1;
		}
		dlclose(h);
	}
	/* The agent's thread may still be on its last pass. */
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	printf("%.1f\n", (cpu_us() - t0) / n);
	return 0;
}
