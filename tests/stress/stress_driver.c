/* SPDX-License-Identifier: MIT */
/*
 * Stress driver: runs the stress target with the agent, then cycles
 * apply A -> replace with B -> revert B through libxsplice-ctl while a
 * sampler thread reads /proc/PID/maps looking for writable+executable
 * mappings. Prints TAP.
 *
 *   stress-driver AGENT_SO TARGET PAYLOAD_A PAYLOAD_B CYCLES THREADS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xsplice-ctl.h"

static pid_t target;
static atomic_int sampling = 1;
static atomic_ulong samples, wx_found;
static char wx_line[512];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *sampler(void *arg)
{
	(void)arg;
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)target);
	while (atomic_load(&sampling)) {
		FILE *f = fopen(path, "re");
		if (!f)
			break;
		while (fgets(line, sizeof(line), f)) {
			char perms[8] = "";
			if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
				if (atomic_fetch_add(&wx_found, 1) == 0)
					snprintf(wx_line, sizeof(wx_line), "%s", line);
			}
		}
		fclose(f);
		atomic_fetch_add(&samples, 1);
		usleep(500);
	}
	return NULL;
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	struct stat st;
	fstat(fileno(f), &st);
	*buf = malloc((size_t)st.st_size);
	*len = fread(*buf, 1, (size_t)st.st_size, f);
	fclose(f);
	return 0;
}

/* ACTION then poll GET quickly; returns the action's rc. */
static int act(struct xs_ctl *c, const char *name, uint32_t cmd, struct xs_err *err)
{
	int rc = xs_ctl_action(c, name, cmd, 2000, err);
	if (rc)
		return rc;
	for (int i = 0; i < 100000; i++) {
		uint32_t state;
		int32_t arc;
		char reason[XS_REASON_SIZE];
		rc = xs_ctl_get(c, name, &state, &arc, reason, err);
		if (rc)
			return rc;
		if (arc != -EAGAIN) {
			if (arc)
				snprintf(err->msg, sizeof(err->msg), "%s", reason);
			return arc;
		}
		usleep(100);
	}
	return -ETIMEDOUT;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: %s AGENT_SO TARGET PAYLOAD_A PAYLOAD_B CYCLES THREADS\n", argv[0]);
		return 2;
	}
	const char *agent = argv[1], *tgt = argv[2];
	long cycles = atol(argv[5]);
	const char *threads = argv[6];
	char dir[] = "/tmp/xsplice-stress.XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XSPLICE_SOCKET_DIR", dir, 1);
	int outpipe[2];
	if (pipe(outpipe) < 0)
		return 1;
	target = fork();
	if (target == 0) {
		dup2(outpipe[1], 1);
		close(outpipe[0]);
		setenv("LD_PRELOAD", agent, 1);
		execl(tgt, tgt, threads, (char *)NULL);
		_exit(127);
	}
	close(outpipe[1]);
	setvbuf(stdout, NULL, _IOLBF, 0); /* what ran shows, even if killed */
	printf("1..5\n");

	struct xs_ctl *c = NULL;
	struct xs_err err = { "" };
	/* Up to 60 s: a loaded machine may take seconds to start the target
	 * (the bound was 4 s); stop early if it died. */
	int rc = -ENOENT, status = 0;
	double start = now_s();
	while (rc && now_s() - start < 60) {
		usleep(20000);
		if (waitpid(target, &status, WNOHANG) == target) {
			printf("not ok 1 - connect to the agent: the target exited first (%s %d)\n",
			       WIFEXITED(status) ? "status" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			return 1;
		}
		rc = xs_ctl_connect_pid(target, &c, &err);
	}
	if (rc) {
		printf("not ok 1 - connect to the agent within %.0f s: %s\n", now_s() - start, err.msg);
		kill(target, SIGKILL);
		return 1;
	}
	uint8_t *a, *b;
	size_t alen, blen;
	if (read_file(argv[3], &a, &alen) || read_file(argv[4], &b, &blen)) {
		printf("not ok 1 - read payloads\n");
		kill(target, SIGKILL);
		return 1;
	}
	rc = xs_ctl_upload(c, "stress-a", a, alen, &err);
	if (!rc)
		rc = xs_ctl_upload(c, "stress-b", b, blen, &err);
	printf("%s 1 - upload both payloads%s%s\n", rc ? "not ok" : "ok", rc ? ": " : "", err.msg);
	free(a);
	free(b);

	pthread_t st;
	pthread_create(&st, NULL, sampler, NULL);
	double t0 = now_s();
	long done = 0, busy = 0, failed = 0;
	char first_fail[XS_REASON_SIZE + 64] = "";
	static const struct { const char *name; uint32_t cmd; } steps[] = {
		{ "stress-a", XS_ACTION_APPLY },
		{ "stress-b", XS_ACTION_REPLACE },
		{ "stress-b", XS_ACTION_REVERT },
	};
	for (long i = 0; i < cycles && !rc; i++) {
		for (unsigned s = 0; s < 3; s++) {
			int r;
			/* -EBUSY means a thread stayed in the way for the whole
			 * time bound: legal, the state is unchanged; try again. */
			while ((r = act(c, steps[s].name, steps[s].cmd, &err)) == -EBUSY)
				busy++;
			if (r) {
				if (!failed++)
					snprintf(first_fail, sizeof(first_fail), "%s %s: %s (%d)",
						 xs_action_name(steps[s].cmd), steps[s].name, err.msg, r);
				break;
			}
		}
		if (failed)
			break;
		done++;
		if (done % 1000 == 0)
			fprintf(stderr, "stress: %ld/%ld cycles\n", done, cycles);
	}
	double elapsed = now_s() - t0;
	atomic_store(&sampling, 0);
	pthread_join(st, NULL);
	printf("%s 2 - %ld apply/replace/revert cycles (%ld actions) in %.1f s, %ld busy retries%s%s\n",
	       done == cycles ? "ok" : "not ok", done, done * 3, elapsed, busy,
	       failed ? "; first failure: " : "", first_fail);
	printf("%s 3 - no writable+executable mapping in %lu samples of /proc/%d/maps%s%s",
	       atomic_load(&wx_found) ? "not ok" : "ok", atomic_load(&samples), (int)target,
	       atomic_load(&wx_found) ? ": " : "", atomic_load(&wx_found) ? wx_line : "\n");
	xs_ctl_close(c);

	kill(target, SIGTERM);
	/* Bounded: a target that does not end on SIGTERM is a failure with a
	 * name, not a test timeout with no output. */
	bool hung = false;
	for (int i = 0; i < 3000 && waitpid(target, &status, WNOHANG) == 0; i++) {
		usleep(10000);
		if (i == 2999) {
			hung = true;
			kill(target, SIGKILL);
			waitpid(target, &status, 0);
		}
	}
	char out[512] = "";
	ssize_t n = read(outpipe[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ';' : '\0';
	bool crashed = !WIFEXITED(status);
	printf("%s 4 - target survived (%s)\n", crashed ? "not ok" : "ok",
	       hung ? "did not exit within 30 s of SIGTERM; killed"
		    : crashed ? strsignal(WTERMSIG(status)) : "exited normally");
	printf("%s 5 - every answer was the old or a new one: %s\n",
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "not ok", out);
	char sock[256];
	snprintf(sock, sizeof(sock), "%s/%d.sock", dir, (int)target);
	unlink(sock);
	rmdir(dir);
	return 0;
}
