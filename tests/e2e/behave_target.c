/* SPDX-License-Identifier: MIT */
/*
 * A service that does, after start-up, what real daemons do to their
 * process and what the agent must survive. It answers "info" on a Unix
 * socket with extra_version() (patched by the demo's hello payload, built
 * against this binary), from worker threads:
 *
 *   behave_target SOCKET BEHAVIOUR
 *     sig-dfl      every signal reset to SIG_DFL (daemons, fork children)
 *     sig-ign      every catchable signal set to SIG_IGN
 *     rt-handlers  its own handler on every real-time signal
 *     exit-main    the main thread calls pthread_exit while workers serve
 *     drop-root    started as root, it becomes uid/gid 65534 (nobody), as
 *                  daemons do: the process is then not dumpable
 *     drop-fork    drops root, then forks (memcached -d): the child serves,
 *                  the parent exits
 *     none         nothing (the control case)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) const char *extra_version(void)
{
	return "-unstable";
}

static int listen_fd;
static volatile sig_atomic_t rt_seen;

static void own_rt_handler(int sig)
{
	(void)sig;
	rt_seen++;
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
		char req[64];
		ssize_t n = read(fd, req, sizeof(req) - 1);
		if (n > 0) {
			char out[128];
			snprintf(out, sizeof(out), "xen_extra              : %s\nrt_seen %d\n",
				 extra_version(), (int)rt_seen);
			ssize_t w = write(fd, out, strlen(out));
			(void)w;
		}
		close(fd);
	}
}

static void behave(const char *how)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	if (strcmp(how, "sig-dfl") == 0 || strcmp(how, "sig-ign") == 0) {
		sa.sa_handler = how[4] == 'd' ? SIG_DFL : SIG_IGN;
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &sa, NULL); /* glibc's own (32, 33) are refused */
	} else if (strcmp(how, "drop-root") == 0) {
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			perror("drop-root");
	} else if (strcmp(how, "drop-fork") == 0) {
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			perror("drop-fork");
#ifdef __SANITIZE_ADDRESS__
		/* As in fork_target.c: GCC 12's ASan allocator is not
		 * fork-safe while the agent's threads are starting. */
		struct timespec settle = { 0, 200 * 1000 * 1000 };
		nanosleep(&settle, NULL);
#endif
		pid_t c = fork();
		if (c > 0)
			_exit(0);
		setsid();
	} else if (strcmp(how, "rt-handlers") == 0) {
		sa.sa_handler = own_rt_handler;
		for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
			sigaction(s, &sa, NULL);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET sig-dfl|sig-ign|rt-handlers|exit-main|none\n",
			argv[0]);
		return 2;
	}
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	unlink(argv[1]);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 64) < 0) {
		perror(argv[1]);
		return 1;
	}
	behave(argv[2]);
	pthread_t t;
	for (int i = 0; i < 3; i++)
		pthread_create(&t, NULL, worker, NULL);
	if (strcmp(argv[2], "exit-main") == 0)
		pthread_exit(NULL);
	worker(NULL);
	return 0;
}
