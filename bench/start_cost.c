/* SPDX-License-Identifier: MIT */
/*
 * bench-start-cost N PROGRAM [ARGS...]: start PROGRAM N times, one after
 * the other (posix_spawn + waitpid, stdout and stderr to /dev/null), and
 * print the median, 10th and 90th percentile wall time of one run in
 * microseconds. The environment is passed on as it is, so the caller
 * chooses LD_PRELOAD and XSPLICE_PATCH_DIR (bench/start_cost.sh).
 * A benchmark, not a test.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench-start-cost N PROGRAM [ARGS...]\n");
		return 2;
	}
	int n = atoi(argv[1]);
	if (n <= 0)
		return 2;
	double *us = calloc((size_t)n, sizeof(*us));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		pid_t pid;
		int st;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ) != 0) {
			perror(argv[2]);
			return 1;
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "run %d failed\n", i);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, (size_t)n, sizeof(*us), cmp);
	printf("%.0f %.0f %.0f\n", us[n / 2], us[n / 10], us[n * 9 / 10]);
	free(us);
	return 0;
}
