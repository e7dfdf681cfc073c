/* SPDX-License-Identifier: MIT */
/*
 * fork_target: a small program for the fork/exec e2e test (run it with the
 * agent preloaded).
 *
 *   fork_target DIR fork            fork a child; both wait for a file
 *   fork_target DIR exec PROG ARGS  fork a child that execs PROG ARGS
 *   fork_target DIR execself PROG ARGS   exec PROG ARGS in this process
 *
 * The parent writes DIR/parent.pid and waits until DIR/parent-exit exists
 * (then exits with exit(0), so atexit handlers and destructors run); a
 * forked child writes DIR/child.pid and waits for DIR/child-exit the same
 * way. Nobody waits longer than 60 s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void write_pid(const char *dir, const char *name, pid_t pid)
{
	char path[4096], tmp[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror(tmp);
		exit(1);
	}
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	if (rename(tmp, path) < 0) {
		perror(path);
		exit(1);
	}
}

static void wait_file(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (int i = 0; i < 6000 && access(path, F_OK) != 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fork_target DIR fork|exec|execself [PROG ARGS]\n");
		return 2;
	}
	const char *dir = argv[1], *mode = argv[2];
	if (!strcmp(mode, "execself")) {
		if (argc < 4)
			return 2;
		write_pid(dir, "parent.pid", getpid());
		execv(argv[3], argv + 3);
		perror(argv[3]);
		return 127;
	}
	if (strcmp(mode, "fork") && strcmp(mode, "exec"))
		return 2;
	if (!strcmp(mode, "exec") && argc < 4)
		return 2;
	fflush(NULL);
#ifdef __SANITIZE_ADDRESS__
	/* GCC 12's AddressSanitizer allocator is not fork-safe: forking while
	 * the agent's threads are still starting (they allocate in ASan's
	 * thread set-up) can leave a size-class lock held in the child, whose
	 * next allocation then waits for ever. glibc's malloc, which the
	 * normal build uses, takes its locks across fork. Let them start. */
	struct timespec settle = { 0, 200 * 1000 * 1000 };
	nanosleep(&settle, NULL);
#endif
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		if (!strcmp(mode, "exec")) {
			execv(argv[3], argv + 3);
			perror(argv[3]);
			_exit(127);
		}
		write_pid(dir, "child.pid", getpid());
		wait_file(dir, "child-exit");
		exit(0);
	}
	if (!strcmp(mode, "exec"))
		write_pid(dir, "child.pid", child);
	write_pid(dir, "parent.pid", getpid());
	wait_file(dir, "parent-exit");
	/* Reap the child if it is already gone; do not wait for it. */
	waitpid(child, NULL, WNOHANG);
	exit(0);
}
