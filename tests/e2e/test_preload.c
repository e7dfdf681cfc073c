/* SPDX-License-Identifier: MIT */
/*
 * A test helper preloaded after the agent into the demo target, to make it
 * behave like real servers the agent must survive (tests/e2e/closefds.sh,
 * tests/e2e/fork_workers.sh). Driven by environment variables:
 *
 *   XS_TEST_CLOSEFDS=DONEFILE  300 ms after start close every fd >= 3
 *                   except the socket bound to $XS_TEST_KEEP (daemon(3)
 *                   style), then with XS_TEST_REUSE=1 open /dev/null 32
 *                   times (the numbers are reused), then create DONEFILE.
 *   XS_TEST_FORK=DIR  wait for DIR/fork-now, then fork as $XS_TEST_FORK_MODE
 *                   says: "workers N" (N pre-fork workers) or "daemon"
 *                   (fork, setsid, fork, the middle one exits). Each child
 *                   writes DIR/NAME.pid and answers "info" on DIR/NAME.sock
 *                   with extra_version() of the demo target, found at
 *                   $XS_TEST_FN_OFFSET (hex) from the executable's base.
 */
#include <dirent.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void ms_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static void *closer(void *arg)
{
	(void)arg;
	const char *keep = getenv("XS_TEST_KEEP");
	ms_sleep(300);
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_un sa;
		socklen_t len = sizeof(sa);
		if (keep && getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
		    sa.sun_family == AF_UNIX && strcmp(sa.sun_path, keep) == 0)
			continue;
		close(fd);
	}
	const char *reuse = getenv("XS_TEST_REUSE");
	if (reuse && !strcmp(reuse, "1"))
		for (int i = 0; i < 32; i++)
			open("/dev/null", O_RDONLY);
	touch(getenv("XS_TEST_CLOSEFDS"));
	return NULL;
}

static uintptr_t g_base;
static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	g_base = info->dlpi_addr;
	return 1;
}

static void write_pid(const char *dir, const char *name)
{
	char path[512], tmp[512];
	snprintf(path, sizeof(path), "%s/%s.pid", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	rename(tmp, path);
}

/* A child: answer "info" with extra_version() on DIR/NAME.sock. */
static void serve(const char *dir, const char *name)
{
	dl_iterate_phdr(first_object, NULL);
	const char *off = getenv("XS_TEST_FN_OFFSET");
	const char *(*fn)(void) = (const char *(*)(void))(g_base + strtoul(off ? off : "0", NULL, 16));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", dir, name);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(sa.sun_path);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 8) < 0)
		_exit(1);
	write_pid(dir, name);
	for (int i = 0; i < 100000; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		char buf[64];
		ssize_t n = read(fd, buf, sizeof(buf));
		(void)n;
		char out[256];
		snprintf(out, sizeof(out), "xen_extra              : %s\n", fn());
		n = write(fd, out, strlen(out));
		close(fd);
	}
	_exit(0);
}

static void *forker(void *arg)
{
	(void)arg;
	const char *dir = getenv("XS_TEST_FORK");
	const char *mode = getenv("XS_TEST_FORK_MODE");
	char path[512];
	snprintf(path, sizeof(path), "%s/fork-now", dir);
	while (access(path, F_OK) != 0)
		ms_sleep(10);
	if (mode && !strncmp(mode, "workers", 7)) {
		int n = atoi(mode + 7);
		for (int i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) {
				char name[32];
				snprintf(name, sizeof(name), "worker%d", i);
				serve(dir, name);
			}
		}
	} else {
		pid_t p = fork();
		if (p == 0) {
			setsid();
#ifdef __SANITIZE_ADDRESS__
			/* GCC 12's ASan allocator is not fork-safe while this
			 * child's new agent threads start (fork_target.c). */
			ms_sleep(10); /* less than the 20 ms before its socket */
#endif
			if (fork() == 0)
				serve(dir, "daemon");
			_exit(0);
		}
		waitpid(p, NULL, 0);
	}
	return NULL;
}

__attribute__((constructor)) static void test_preload_init(void)
{
	pthread_t t;
	if (getenv("XS_TEST_CLOSEFDS") && pthread_create(&t, NULL, closer, NULL) == 0)
		pthread_detach(t);
	if (getenv("XS_TEST_FORK") && pthread_create(&t, NULL, forker, NULL) == 0)
		pthread_detach(t);
}
