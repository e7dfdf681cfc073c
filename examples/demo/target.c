/* SPDX-License-Identifier: MIT */
/*
 * The demo target: a small long-running service, like the hypervisor in
 * the seed's demo. It answers "info" on a Unix socket with the extra
 * version string, served by a pool of worker threads, while a background
 * thread keeps ticking. Run it with the agent preloaded and patch
 * extra_version() live.
 *
 *   xsplice-demo-target serve SOCKET [THREADS]
 *   xsplice-demo-target query SOCKET [REQUEST]      (prints the answer)
 *   xsplice-demo-target version                     (prints extra_version() and exits)
 *   xsplice-demo-target respawn N                   (prints it, then N times: fork, the
 *                                                    child prints it and execs itself)
 *
 * version and respawn call extra_version() first thing in main: with the
 * agent preloaded and a payload installed, they show whether the payload
 * was applied before main (docs/user-guide.md, "The patch directory").
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef DEMO_BUILD_TAG
#define DEMO_BUILD_TAG "release"
#endif

/* noipa: callers must really call it, or patching it would change nothing. */
__attribute__((noipa)) const char *extra_version(void)
{
	return "-unstable";
}

__attribute__((noipa)) const char *build_tag(void)
{
	return DEMO_BUILD_TAG;
}

static int listen_fd;
static volatile unsigned long ticks;

static void answer(int fd)
{
	char req[64];
	size_t n = 0;
	while (n < sizeof(req) - 1 && !memchr(req, '\n', n)) {
		ssize_t got = read(fd, req + n, sizeof(req) - 1 - n);
		if (got <= 0)
			return;
		n += (size_t)got;
	}
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	char out[256];
	if (strcmp(req, "info") == 0)
		snprintf(out, sizeof(out), "xen_extra              : %s\n", extra_version());
	else if (strcmp(req, "ticks") == 0)
		snprintf(out, sizeof(out), "ticks                  : %lu\n", ticks);
	else if (strcmp(req, "build") == 0)
		snprintf(out, sizeof(out), "build                  : %s\n", build_tag());
	else
		snprintf(out, sizeof(out), "unknown request '%s'\n", req);
	ssize_t w = write(fd, out, strlen(out));
	(void)w;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		answer(fd);
		close(fd);
	}
}

static void *ticker(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		ticks++;
	}
	return NULL;
}

static int serve(const char *path, int nthreads)
{
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 64) < 0) {
		perror(path);
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	for (int i = 1; i < nthreads; i++)
		pthread_create(&t, NULL, worker, NULL);
	fprintf(stderr, "demo target %d serving %s with %d threads\n", (int)getpid(), path,
		nthreads);
	worker(NULL);
	return 0;
}

static int query(const char *path, const char *req)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(path);
		return 1;
	}
	char line[128];
	snprintf(line, sizeof(line), "%s\n", req);
	/* One write: the server answers as soon as it has the line. */
	if (write(fd, line, strlen(line)) < 0) {
		perror("write");
		return 1;
	}
	char buf[256];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

/* A daemon that re-executes itself: the fork child runs the parent's
 * (patched) code, the exec'd program starts afresh with the agent. */
static int respawn(int n)
{
	printf("pid %d: xen_extra : %s\n", (int)getpid(), extra_version());
	fflush(stdout);
	if (n <= 0)
		return 0;
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		printf("pid %d (fork child): xen_extra : %s\n", (int)getpid(), extra_version());
		fflush(stdout);
		char count[16];
		snprintf(count, sizeof(count), "%d", n - 1);
		execl("/proc/self/exe", "xsplice-demo-target", "respawn", count, (char *)NULL);
		perror("exec");
		_exit(127);
	}
	int st;
	if (waitpid(child, &st, 0) < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "version") == 0) {
		printf("xen_extra : %s\n", extra_version());
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "respawn") == 0)
		return respawn(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argc > 3 ? atoi(argv[3]) : 4);
	if (argc >= 3 && strcmp(argv[1], "query") == 0)
		return query(argv[2], argc > 3 ? argv[3] : "info");
	fprintf(stderr, "usage: %s serve SOCKET [THREADS] | query SOCKET [REQUEST] | version | "
		"respawn N\n", argv[0]);
	return 2;
}
