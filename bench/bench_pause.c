/* SPDX-License-Identifier: MIT */
/*
 * bench-pause: how long an APPLY/REVERT stops the target's threads.
 *
 * For every thread count and kind (busy: CPU-bound loops outside the
 * patched function; idle: blocked in epoll_wait) it starts bench-target
 * with the agent preloaded, uploads a one-function payload and runs
 * apply/revert cycles. After every action it reads INFO (last_pause_ns:
 * first park signal -> last thread released; last_park_ns: -> last thread
 * parked; last_action_ns: action accepted -> finished) and measures the
 * client-side latency: ACTION sent -> GET shows rc != -EAGAIN, polling
 * GET every 50 us.
 *
 *   bench-pause [--cycles N] [--threads 1,4,16,64,256] [--kinds busy,idle]
 *               [--json] [--profile] [--skip-unwind] [--warmup N]
 *               [--agent-fifo] [--poll-us N]
 *               [--agent SO] [--target BIN] [--payload FILE] [--shim SO]
 *               [--no-ptrace] [--no-cli] [--cli XSPLICE]
 *
 * After every apply/revert cycle, interleaved on the same target, it also
 * measures the ptrace floor (ptrace_floor: what a ptrace-based patcher
 * spends at least to stop every thread) and the whole `xsplice apply` and
 * `xsplice revert` commands (fork, exec, connect, act, wait for the
 * outcome) beside a bare /bin/true.
 *
 * --profile preloads libbench-unwind-timing.so as well and adds the time
 * spent in libunwind per action; --skip-unwind makes that shim fail
 * unw_init_local2 so the handlers do not unwind at all (measurement only).
 * Only the park column of such a run says what unwinding costs: the agent
 * treats a failed unwind as a truncated stack and scans the whole stack
 * word by word in the critical section, which lengthens the pause. --agent-fifo makes
 * the agent's xsplice-action thread SCHED_FIFO (needs CAP_SYS_NICE) and
 * --poll-us changes the GET polling interval: experiments, see
 * docs/performance.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unwind_timing.h"
#include "xsplice-ctl.h"


/* Targets of issue 14: median pause, whole command. */
#define TARGET_BUSY16_NS   100000.0
#define TARGET_BUSY64_NS   350000.0
#define TARGET_IDLE_PER_NS 5000.0
#define TARGET_CLI16_NS    5000000.0

struct opts {
	int cycles, warmup;
	int threads[32];
	int nthreads;
	bool busy, idle, json, profile, skip_unwind, agent_fifo, no_ptrace, no_cli;
	long poll_ns;
	char agent[PATH_MAX], target[PATH_MAX], payload[PATH_MAX], shim[PATH_MAX], cli[PATH_MAX];
};

struct result {
	const char *kind;
	int threads;
	int cycles, actions;
	long busy_retries;
	double wall_s;
	double parked_med;           /* INFO last_threads */
	double attempts_mean;
	double pause_med, pause_p99, park_med, park_p99;
	double client_med, client_p99, agent_med, agent_p99;
	/* the ptrace floor, interleaved: seize + interrupt every thread ->
	 * all stopped (stop), -> all detached (total) */
	int nptrace;
	double ptrace_stop_med, ptrace_total_med, ptrace_total_p99;
	/* the whole `xsplice apply|revert` command, and /bin/true beside it */
	int ncli, cli_failed;
	double cli_med, cli_p99, true_med;
	/* CPU time (schedstat) spent by the program's own threads during
	 * one action, per parked worker thread, and by the agent's action
	 * thread: what the stop costs, free of the wait for a CPU. */
	double wcpu_thr_med, acpu_med;
	/* --profile */
	bool profiled;
	double handlers_med;         /* handler runs that reached the unwinder */
	double unw_sum_med;          /* per action: sum over threads of unwind time */
	double unw_thread_med;       /* per handler run */
	double unw_thread_p99;
	double unw_init_med;         /* unw_init_local2 alone, per handler run */
	double steps_med;
	double span_med;             /* first handler's unwind start -> last unwind end */
	bool ok;
	char error[XS_REASON_SIZE + 64];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return pct(v, n, 50);
}

static double p99(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return pct(v, n, 99);
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	struct stat st;
	if (fstat(fileno(f), &st) < 0) {
		fclose(f);
		return -errno;
	}
	*buf = malloc((size_t)st.st_size + 1);
	*len = fread(*buf, 1, (size_t)st.st_size, f);
	fclose(f);
	return 0;
}

/* Parse "1,4,16". */
static int parse_list(const char *s, int *out, int max)
{
	int n = 0;
	while (*s && n < max) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > 4096)
			return -1;
		out[n++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}

static void exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0) {
		snprintf(buf, len, ".");
		return;
	}
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--cycles N] [--threads LIST] [--kinds busy,idle] [--json]\n"
		"          [--profile] [--skip-unwind] [--agent-fifo] [--poll-us N] [--warmup N]\n"
		"          [--agent SO] [--target BIN] [--payload FILE] [--shim SO]\n"
		"          [--no-ptrace] [--no-cli] [--cli XSPLICE]\n",
		argv0);
}

struct target {
	pid_t pid;
	char dir[64];
	char log_path[128];
	struct bench_unw_log *log;
};

static void stop_target(struct target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		char sock[160];
		snprintf(sock, sizeof(sock), "%s/%d.sock", t->dir, (int)t->pid);
		unlink(sock);
	}
	if (t->log) {
		munmap(t->log, BENCH_UNW_LOG_SIZE);
		unlink(t->log_path);
	}
	rmdir(t->dir);
	t->pid = 0;
	t->log = NULL;
}

/* Start bench-target with the agent; returns once it printed "ready". */
static int start_target(const struct opts *o, const char *kind, int n, struct target *t,
			char *why, size_t whylen)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/xsplice-bench.XXXXXX");
	if (!mkdtemp(t->dir)) {
		snprintf(why, whylen, "mkdtemp: %s", strerror(errno));
		return -errno;
	}
	char preload[2 * PATH_MAX + 2];
	if (o->profile || o->skip_unwind) {
		snprintf(t->log_path, sizeof(t->log_path), "%s/unwind.log", t->dir);
		int fd = open(t->log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)BENCH_UNW_LOG_SIZE) < 0) {
			snprintf(why, whylen, "%s: %s", t->log_path, strerror(errno));
			return -EIO;
		}
		void *m = mmap(NULL, BENCH_UNW_LOG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED) {
			snprintf(why, whylen, "mmap: %s", strerror(errno));
			return -ENOMEM;
		}
		t->log = m;
		t->log->magic = BENCH_UNW_MAGIC;
		t->log->cap = BENCH_UNW_CAP;
		snprintf(preload, sizeof(preload), "%s:%s", o->shim, o->agent);
	} else {
		snprintf(preload, sizeof(preload), "%s", o->agent);
	}
	int out[2];
	if (pipe(out) < 0)
		return -errno;
	char nbuf[16];
	snprintf(nbuf, sizeof(nbuf), "%d", n);
	t->pid = fork();
	if (t->pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(out[1]);
		setenv("XSPLICE_SOCKET_DIR", t->dir, 1);
		setenv("LD_PRELOAD", preload, 1);
		if (t->log)
			setenv("BENCH_UNWIND_LOG", t->log_path, 1);
		if (o->skip_unwind)
			setenv("BENCH_UNWIND_SKIP", "1", 1);
		execl(o->target, o->target, kind, nbuf, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[64];
	ssize_t got = 0;
	FILE *f = fdopen(out[0], "r");
	if (f && fgets(line, sizeof(line), f))
		got = (ssize_t)strlen(line);
	if (f)
		fclose(f);
	if (got <= 0 || strncmp(line, "ready", 5) != 0) {
		snprintf(why, whylen, "bench-target %s %d did not start (%.200s)", kind, n, o->target);
		return -ECHILD;
	}
	return 0;
}

/* Experiment: the agent's xsplice-action thread as SCHED_FIFO 1. */
static int set_agent_fifo(pid_t pid, char *why, size_t whylen)
{
	char path[96], comm[32];
	DIR *d;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		return -errno;
	struct dirent *e;
	int found = -ESRCH;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", (int)pid, e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && strncmp(comm, "xsplice-action", 14) == 0) {
			struct sched_param sp = { .sched_priority = 1 };
			found = sched_setscheduler(atoi(e->d_name), SCHED_FIFO, &sp) < 0 ? -errno : 0;
		}
		fclose(f);
	}
	closedir(d);
	if (found < 0)
		snprintf(why, whylen, "--agent-fifo: %s", strerror(-found));
	return found;
}

/* ACTION, then GET every POLL_NS until rc != -EAGAIN. */
static int act(struct xs_ctl *c, uint32_t cmd, long poll_ns, uint64_t *lat_ns, struct xs_err *err)
{
	uint64_t t0 = now_ns();
	int rc = xs_ctl_action(c, "bench", cmd, 0, err);
	if (rc)
		return rc;
	for (;;) {
		uint32_t state;
		int32_t arc;
		char reason[XS_REASON_SIZE];
		rc = xs_ctl_get(c, "bench", &state, &arc, reason, err);
		if (rc)
			return rc;
		if (arc != -EAGAIN) {
			*lat_ns = now_ns() - t0;
			if (arc)
				snprintf(err->msg, sizeof(err->msg), "%s", reason);
			return arc;
		}
		if (now_ns() - t0 > 30ull * 1000000000ull)
			return -ETIMEDOUT;
		struct timespec ts = { poll_ns / 1000000000L, poll_ns % 1000000000L };
		nanosleep(&ts, NULL);
	}
}

/*
 * The least a ptrace-based patcher (libcare, libpulp, upatch) spends to
 * stop a process: list its threads, PTRACE_SEIZE + PTRACE_INTERRUPT each,
 * wait until every one reports its stop, detach them all. No registers
 * read, no memory written, no stack checked: a floor, not a patcher.
 */
static int ptrace_floor(pid_t pid, uint64_t *stop_ns, uint64_t *total_ns)
{
	static pid_t tids[16384];
	uint64_t t0 = now_ns();
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < (int)(sizeof(tids) / sizeof(tids[0])))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
			tids[n++] = atoi(e->d_name);
	closedir(d);
	int seized = 0;
	for (int i = 0; i < n; i++) {
		if (ptrace(PTRACE_SEIZE, tids[i], 0, 0) < 0) {
			if (errno == ESRCH)
				continue;
			int rc = -errno;
			for (int j = 0; j < seized; j++)
				ptrace(PTRACE_DETACH, tids[j], 0, 0);
			return rc;
		}
		ptrace(PTRACE_INTERRUPT, tids[i], 0, 0);
		tids[seized++] = tids[i];
	}
	for (int i = 0; i < seized; i++) {
		int st;
		while (waitpid(tids[i], &st, __WALL) < 0 && errno == EINTR)
			;
	}
	uint64_t t1 = now_ns();
	for (int i = 0; i < seized; i++)
		ptrace(PTRACE_DETACH, tids[i], 0, 0);
	*stop_ns = t1 - t0;
	*total_ns = now_ns() - t0;
	return 0;
}

/* Run argv (stdout, stderr to /dev/null) and wait: wall time, or 0 on failure. */
static uint64_t run_timed(char *const argv[], const char *sockdir)
{
	uint64_t t0 = now_ns();
	pid_t p = fork();
	if (p == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("XSPLICE_SOCKET_DIR", sockdir, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return 0;
	uint64_t d = now_ns() - t0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? d : 0;
}

/* CPU time so far (ns, /proc/PID/task/TID/schedstat) of the program's
 * own threads (workers) and of the agent's action thread. */
static void target_cpu(pid_t pid, uint64_t *workers, uint64_t *action, int *nworkers)
{
	char path[320];
	*workers = *action = 0;
	*nworkers = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char comm[32] = "", buf[128];
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
		f = fopen(path, "r");
		unsigned long long run = 0;
		if (f) {
			if (fgets(buf, sizeof(buf), f))
				run = strtoull(buf, NULL, 10);
			fclose(f);
		}
		if (!strncmp(comm, "xsplice-action", 14))
			*action += run;
		else if (strncmp(comm, "xsplice-", 8)) {
			*workers += run;
			(*nworkers)++;
		}
	}
	closedir(d);
}

static void run_config(const struct opts *o, const char *kind, int n, struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->threads = n;
	r->cycles = o->cycles;
	struct target t;
	struct xs_ctl *c = NULL;
	struct xs_err err = { "" };
	uint8_t *elf = NULL;
	size_t elf_len = 0;
	size_t cap = 2 * (size_t)o->cycles;
	double *pause = calloc(cap, sizeof(double)), *park = calloc(cap, sizeof(double));
	double *client = calloc(cap, sizeof(double)), *agent = calloc(cap, sizeof(double));
	double *parked = calloc(cap, sizeof(double));
	double *handlers = calloc(cap, sizeof(double)), *unw_sum = calloc(cap, sizeof(double));
	double *span = calloc(cap, sizeof(double));
	double *pt_stop = calloc(cap, sizeof(double)), *pt_total = calloc(cap, sizeof(double));
	double *cli = calloc(cap, sizeof(double)), *tru = calloc(cap, sizeof(double));
	double *wcpu = calloc(cap, sizeof(double)), *acpu = calloc(cap, sizeof(double));
	size_t npt = 0, ncli = 0, ntrue = 0;
	char pidbuf[16];
	size_t ucap = cap * (size_t)(n + 4);
	double *unw_thread = calloc(ucap, sizeof(double)), *unw_init = calloc(ucap, sizeof(double));
	double *steps = calloc(ucap, sizeof(double));
	size_t nu = 0;
	long attempts = 0;

	int rc = start_target(o, kind, n, &t, r->error, sizeof(r->error));
	if (rc)
		goto out;
	rc = -ENOENT;
	for (int i = 0; i < 500 && rc; i++) {
		rc = xs_ctl_connect_pid(t.pid, &c, &err);
		if (rc)
			usleep(10000);
	}
	if (rc) {
		snprintf(r->error, sizeof(r->error), "connect: %s", err.msg);
		goto out;
	}
	xs_ctl_set_io_timeout(c, 30000);
	if (o->agent_fifo && set_agent_fifo(t.pid, r->error, sizeof(r->error)) < 0)
		goto out;
	rc = read_file(o->payload, &elf, &elf_len);
	if (rc) {
		snprintf(r->error, sizeof(r->error), "%.200s: %s", o->payload, strerror(-rc));
		goto out;
	}
	rc = xs_ctl_upload(c, "bench", elf, elf_len, &err);
	if (rc) {
		snprintf(r->error, sizeof(r->error), "upload: %s", err.msg);
		goto out;
	}

	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t.pid);
	uint64_t t_start = now_ns();
	size_t na = 0;
	for (int cyc = -o->warmup; cyc < o->cycles; cyc++) {
		for (int k = 0; k < 2; k++) {
			uint32_t cmd = k == 0 ? XS_ACTION_APPLY : XS_ACTION_REVERT;
			uint64_t lat = 0;
			uint64_t log_before = t.log ? atomic_load(&t.log->n) : 0;
			uint64_t w0 = 0, a0 = 0, w1 = 0, a1 = 0;
			int nw = 0;
			if (!strcmp(kind, "idle"))
				target_cpu(t.pid, &w0, &a0, &nw);
			while ((rc = act(c, cmd, o->poll_ns, &lat, &err)) == -EBUSY)
				r->busy_retries++;
			if (!strcmp(kind, "idle"))
				target_cpu(t.pid, &w1, &a1, &nw);
			if (rc) {
				snprintf(r->error, sizeof(r->error), "%s: %s (%d)", xs_action_name(cmd),
					 err.msg, rc);
				goto out;
			}
			uint64_t log_after = t.log ? atomic_load(&t.log->n) : 0;
			struct xs_info *info = NULL;
			rc = xs_ctl_info(c, &info, &err);
			if (rc) {
				snprintf(r->error, sizeof(r->error), "info: %s", err.msg);
				goto out;
			}
			if (cyc >= 0) {
				pause[na] = (double)info->last_pause_ns;
				park[na] = (double)info->last_park_ns;
				agent[na] = (double)info->last_action_ns;
				client[na] = (double)lat;
				parked[na] = info->last_threads;
				wcpu[na] = nw ? (double)(w1 - w0) / nw : 0;
				acpu[na] = (double)(a1 - a0);
				attempts += info->last_attempts;
				if (t.log) {
					/* Handler runs logged during this action (all
					 * attempts; retries are rare here). */
					double sum = 0;
					uint64_t first = UINT64_MAX, last = 0;
					for (uint64_t i = log_before; i < log_after; i++) {
						const struct bench_unw_rec *u = &t.log->rec[i % t.log->cap];
						double d = (double)(u->t_last - u->t_enter);
						sum += d;
						if (nu < ucap) {
							unw_thread[nu] = d;
							unw_init[nu] = (double)(u->t_init - u->t_enter);
							steps[nu] = u->nsteps;
							nu++;
						}
						if (u->t_enter < first)
							first = u->t_enter;
						if (u->t_last > last)
							last = u->t_last;
					}
					handlers[na] = (double)(log_after - log_before);
					unw_sum[na] = sum;
					span[na] = last > first ? (double)(last - first) : 0;
				}
				na++;
			}
			xs_info_free(info);
		}
		if (cyc < 0)
			continue;
		/* Interleaved with the agent's actions: the ptrace floor, then
		 * the whole command (apply, revert) and a bare process start. */
		uint64_t ps = 0, pt = 0;
		if (!o->no_ptrace && ptrace_floor(t.pid, &ps, &pt) == 0) {
			pt_stop[npt] = (double)ps;
			pt_total[npt++] = (double)pt;
		}
		if (!o->no_cli) {
			for (int k = 0; k < 2; k++) {
				char *av[] = { (char *)o->cli, "-p", pidbuf, "--no-attach",
					       k == 0 ? "apply" : "revert", "bench", NULL };
				uint64_t d = run_timed(av, t.dir);
				if (!d) {
					/* e.g. -EBUSY on a loaded machine: counted, and
					 * the state put back for the next cycle. */
					r->cli_failed++;
					if (k == 0) {
						struct xs_err e2 = { "" };
						uint64_t l2;
						act(c, XS_ACTION_REVERT, o->poll_ns, &l2, &e2);
					}
					break;
				}
				cli[ncli++] = (double)d;
			}
			char *tv[] = { "/bin/true", NULL };
			uint64_t d = run_timed(tv, t.dir);
			if (d)
				tru[ntrue++] = (double)d;
		}
	}
	r->wall_s = (double)(now_ns() - t_start) / 1e9;
	r->nptrace = (int)npt;
	r->ptrace_stop_med = median(pt_stop, npt);
	r->ptrace_total_med = median(pt_total, npt);
	r->ptrace_total_p99 = p99(pt_total, npt);
	r->ncli = (int)ncli;
	r->cli_med = median(cli, ncli);
	r->cli_p99 = p99(cli, ncli);
	r->true_med = median(tru, ntrue);
	r->actions = (int)na;
	r->attempts_mean = na ? (double)attempts / (double)na : 0;
	r->parked_med = median(parked, na);
	r->pause_med = median(pause, na);
	r->pause_p99 = p99(pause, na);
	r->park_med = median(park, na);
	r->park_p99 = p99(park, na);
	r->client_med = median(client, na);
	r->client_p99 = p99(client, na);
	r->agent_med = median(agent, na);
	r->agent_p99 = p99(agent, na);
	r->wcpu_thr_med = median(wcpu, na);
	r->acpu_med = median(acpu, na);
	if (t.log) {
		r->profiled = true;
		r->handlers_med = median(handlers, na);
		r->unw_sum_med = median(unw_sum, na);
		r->span_med = median(span, na);
		r->unw_thread_med = median(unw_thread, nu);
		r->unw_thread_p99 = p99(unw_thread, nu);
		r->unw_init_med = median(unw_init, nu);
		r->steps_med = median(steps, nu);
	}
	r->ok = true;
out:
	if (c)
		xs_ctl_close(c);
	stop_target(&t);
	free(elf);
	free(pause);
	free(park);
	free(client);
	free(agent);
	free(parked);
	free(handlers);
	free(unw_sum);
	free(span);
	free(pt_stop);
	free(pt_total);
	free(cli);
	free(tru);
	free(wcpu);
	free(acpu);
	free(unw_thread);
	free(unw_init);
	free(steps);
}

/* The brief's targets; returns NULL when none applies. */
static const char *target_of(const struct result *r, double *limit_ns, double *value_ns)
{
	if (!strcmp(r->kind, "busy") && r->threads == 16) {
		*limit_ns = TARGET_BUSY16_NS;
		*value_ns = r->pause_med;
		return "median pause <= 100 us";
	}
	if (!strcmp(r->kind, "busy") && r->threads == 64) {
		*limit_ns = TARGET_BUSY64_NS;
		*value_ns = r->pause_med;
		return "median pause <= 350 us";
	}
	if (!strcmp(r->kind, "idle")) {
		*limit_ns = TARGET_IDLE_PER_NS;
		*value_ns = r->parked_med > 0 ? r->pause_med / r->parked_med : r->pause_med;
		return "median pause / parked thread <= 5 us";
	}
	return NULL;
}

static void print_table(const struct result *res, int nres, const struct opts *o)
{
	printf("\nbench-pause: %d apply/revert cycles per configuration (%d actions), "
	       "GET polled every %ld us%s\n",
	       o->cycles, 2 * o->cycles, o->poll_ns / 1000,
	       o->skip_unwind ? "; UNWINDING SKIPPED (--skip-unwind)" : "");
	if (o->agent_fifo)
		printf("EXPERIMENT: the agent's action thread runs SCHED_FIFO (--agent-fifo)\n");
	printf("times in us; pause = first signal -> last thread released (INFO last_pause_ns)\n");
	printf("park = first signal -> last thread parked; client = ACTION sent -> GET rc != -EAGAIN;"
	       " agent = INFO last_action_ns\n\n");
	printf("%-5s %7s %6s | %9s %9s | %9s | %9s %9s | %9s %9s | %7s %5s | %s\n", "kind",
	       "threads", "parked", "pause-med", "pause-p99", "park-med", "client-med",
	       "client-p99", "agent-med", "agent-p99", "us/thr", "busy", "target");
	for (int i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		if (!r->ok) {
			printf("%-5s %7d  FAILED: %s\n", r->kind, r->threads, r->error);
			continue;
		}
		double lim = 0, val = 0;
		const char *tgt = target_of(r, &lim, &val);
		char tbuf[96] = "-";
		if (tgt)
			snprintf(tbuf, sizeof(tbuf), "%s: %s (%.1f us)", val <= lim ? "MET" : "MISSED",
				 tgt, val / 1e3);
		printf("%-5s %7d %6.0f | %9.1f %9.1f | %9.1f | %9.1f %9.1f | %9.1f %9.1f | %7.2f %5ld | %s\n",
		       r->kind, r->threads, r->parked_med, r->pause_med / 1e3, r->pause_p99 / 1e3,
		       r->park_med / 1e3, r->client_med / 1e3, r->client_p99 / 1e3,
		       r->agent_med / 1e3, r->agent_p99 / 1e3,
		       r->parked_med > 0 ? r->pause_med / 1e3 / r->parked_med : 0, r->busy_retries,
		       tbuf);
	}
	printf("\n(parked = threads the agent parked, median; it includes the agent's own "
	       "xsplice-ctl thread. us/thr = pause-med / parked. busy = actions that ended "
	       "-EBUSY and were retried.)\n");
	printf("\nThe ptrace floor (interleaved, same target): list the threads, PTRACE_SEIZE +"
	       " PTRACE_INTERRUPT each,\nwait for every stop (stop), detach all (total); ratio ="
	       " ptrace total / agent pause (medians).\nWhole command: `xsplice -p PID apply|revert"
	       " bench` started and waited for, beside /bin/true.\n\n");
	printf("%-5s %7s | %9s | %10s %10s %10s | %7s | %10s %10s %9s %6s | %s\n", "kind",
	       "threads", "pause-med", "ptrace-stop", "ptrace-med", "ptrace-p99", "ratio", "cmd-med",
	       "cmd-p99", "true-med", "failed", "target (command, 16 busy: <= 5 ms)");
	for (int i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		if (!r->ok)
			continue;
		char tbuf[64] = "-";
		if (!strcmp(r->kind, "busy") && r->threads == 16 && r->ncli)
			snprintf(tbuf, sizeof(tbuf), "%s (%.2f ms)",
				 r->cli_med <= TARGET_CLI16_NS ? "MET" : "MISSED", r->cli_med / 1e6);
		printf("%-5s %7d | %9.1f | %10.1f %10.1f %10.1f | %7.1f | %10.1f %10.1f %9.1f %6d | %s\n",
		       r->kind, r->threads, r->pause_med / 1e3, r->ptrace_stop_med / 1e3,
		       r->ptrace_total_med / 1e3, r->ptrace_total_p99 / 1e3,
		       r->pause_med > 0 ? r->ptrace_total_med / r->pause_med : 0, r->cli_med / 1e3,
		       r->cli_p99 / 1e3, r->true_med / 1e3, r->cli_failed, tbuf);
	}
	printf("\nCPU time of one action (idle kind: /proc/PID/task/*/schedstat around it; the "
	       "program's threads\nrun nothing but the park handler then): per worker thread, "
	       "and the agent's action thread.\n");
	printf("%-5s %7s | %12s %12s\n", "kind", "threads", "cpu/thread", "action-cpu");
	for (int i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		if (!r->ok || strcmp(r->kind, "idle"))
			continue;
		printf("%-5s %7d | %12.2f %12.1f\n", r->kind, r->threads, r->wcpu_thr_med / 1e3,
		       r->acpu_med / 1e3);
	}
	bool any = false;
	for (int i = 0; i < nres; i++)
		any |= res[i].profiled && res[i].ok;
	if (!any)
		return;
	printf("\nlibunwind inside the park handlers (per action medians; per handler run: "
	       "median / p99):\n");
	printf("%-5s %7s | %8s %9s %9s | %9s %9s %9s %6s | %9s\n", "kind", "threads", "handlers",
	       "unw-sum", "span", "unw/thr", "unw/thr99", "init/thr", "steps", "pause-med");
	for (int i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		if (!r->ok || !r->profiled)
			continue;
		printf("%-5s %7d | %8.0f %9.1f %9.1f | %9.2f %9.2f %9.2f %6.0f | %9.1f\n", r->kind,
		       r->threads, r->handlers_med, r->unw_sum_med / 1e3, r->span_med / 1e3,
		       r->unw_thread_med / 1e3, r->unw_thread_p99 / 1e3, r->unw_init_med / 1e3,
		       r->steps_med, r->pause_med / 1e3);
	}
	printf("(unw-sum = sum over handler runs of unw_init_local2 + all unw_step; span = first "
	       "unwind start -> last unwind end, on both CPUs)\n");
}

static void print_json(const struct result *res, int nres, const struct opts *o)
{
	printf("{\n  \"cycles\": %d,\n  \"poll_us\": %ld,\n  \"skip_unwind\": %s,\n"
	       "  \"agent_fifo\": %s,\n  \"configs\": [\n", o->cycles, o->poll_ns / 1000,
	       o->skip_unwind ? "true" : "false", o->agent_fifo ? "true" : "false");
	for (int i = 0; i < nres; i++) {
		const struct result *r = &res[i];
		printf("    {\"kind\": \"%s\", \"threads\": %d, \"ok\": %s", r->kind, r->threads,
		       r->ok ? "true" : "false");
		if (!r->ok) {
			printf(", \"error\": \"");
			for (const char *p = r->error; *p; p++)
				if (*p == '"' || *p == '\\')
					printf("\\%c", *p);
				else if ((unsigned char)*p >= 0x20)
					putchar(*p);
			printf("\"}%s\n", i + 1 < nres ? "," : "");
			continue;
		}
		printf(", \"actions\": %d, \"parked_threads\": %.0f, \"attempts_mean\": %.3f, "
		       "\"busy_retries\": %ld, \"wall_s\": %.2f,\n", r->actions, r->parked_med,
		       r->attempts_mean, r->busy_retries, r->wall_s);
		printf("     \"pause_ns\": {\"median\": %.0f, \"p99\": %.0f}, "
		       "\"park_ns\": {\"median\": %.0f, \"p99\": %.0f},\n", r->pause_med, r->pause_p99,
		       r->park_med, r->park_p99);
		printf("     \"client_latency_ns\": {\"median\": %.0f, \"p99\": %.0f}, "
		       "\"agent_action_ns\": {\"median\": %.0f, \"p99\": %.0f}",
		       r->client_med, r->client_p99, r->agent_med, r->agent_p99);
		if (r->nptrace)
			printf(",\n     \"ptrace_floor_ns\": {\"stop_median\": %.0f, \"median\": %.0f, "
			       "\"p99\": %.0f, \"ratio_to_pause\": %.2f}", r->ptrace_stop_med,
			       r->ptrace_total_med, r->ptrace_total_p99,
			       r->pause_med > 0 ? r->ptrace_total_med / r->pause_med : 0);
		if (r->ncli)
			printf(",\n     \"command_ns\": {\"median\": %.0f, \"p99\": %.0f, "
			       "\"bin_true_median\": %.0f, \"failed\": %d}", r->cli_med, r->cli_p99,
			       r->true_med, r->cli_failed);
		if (!strcmp(r->kind, "idle"))
			printf(",\n     \"cpu_ns\": {\"per_worker_thread\": %.0f, \"action_thread\": %.0f}",
			       r->wcpu_thr_med, r->acpu_med);
		if (r->profiled)
			printf(",\n     \"unwind\": {\"handlers\": %.0f, \"sum_ns\": %.0f, \"span_ns\": %.0f, "
			       "\"per_thread_ns\": {\"median\": %.0f, \"p99\": %.0f}, "
			       "\"init_ns\": %.0f, \"steps\": %.0f}",
			       r->handlers_med, r->unw_sum_med, r->span_med, r->unw_thread_med,
			       r->unw_thread_p99, r->unw_init_med, r->steps_med);
		double lim = 0, val = 0;
		const char *tgt = target_of(r, &lim, &val);
		if (tgt)
			printf(",\n     \"target\": {\"what\": \"%s\", \"limit_ns\": %.0f, \"value_ns\": %.0f, "
			       "\"met\": %s}", tgt, lim, val, val <= lim ? "true" : "false");
		printf("}%s\n", i + 1 < nres ? "," : "");
	}
	printf("  ]\n}\n");
}

int main(int argc, char **argv)
{
	struct opts o;
	memset(&o, 0, sizeof(o));
	o.cycles = 200;
	o.warmup = 5;
	o.poll_ns = 50000;
	o.busy = o.idle = true;
	static const int def_threads[] = { 1, 4, 16, 64, 256 };
	o.nthreads = 5;
	memcpy(o.threads, def_threads, sizeof(def_threads));
	char dir[PATH_MAX - 64];
	exe_dir(dir, sizeof(dir));
	snprintf(o.agent, sizeof(o.agent), "%s/../src/agent/libxsplice.so", dir);
	snprintf(o.target, sizeof(o.target), "%s/bench-target", dir);
	snprintf(o.payload, sizeof(o.payload), "%s/bench-hook.livepatch", dir);
	snprintf(o.shim, sizeof(o.shim), "%s/libbench-unwind-timing.so", dir);
	snprintf(o.cli, sizeof(o.cli), "%s/../src/cli/xsplice", dir);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(a, "--profile")) {
			o.profile = true;
		} else if (!strcmp(a, "--agent-fifo")) {
			o.agent_fifo = true;
		} else if (!strcmp(a, "--poll-us") && v) {
			o.poll_ns = atol(v) * 1000L;
			i++;
		} else if (!strcmp(a, "--no-ptrace")) {
			o.no_ptrace = true;
		} else if (!strcmp(a, "--no-cli")) {
			o.no_cli = true;
		} else if (!strcmp(a, "--cli") && v) {
			snprintf(o.cli, sizeof(o.cli), "%s", v);
			i++;
		} else if (!strcmp(a, "--skip-unwind")) {
			o.skip_unwind = true;
		} else if (!strcmp(a, "--cycles") && v) {
			o.cycles = atoi(v);
			i++;
			if (o.cycles < 1) {
				usage(argv[0]);
				return 2;
			}
		} else if (!strcmp(a, "--warmup") && v) {
			o.warmup = atoi(v);
			i++;
		} else if (!strcmp(a, "--threads") && v) {
			o.nthreads = parse_list(v, o.threads, 32);
			i++;
			if (o.nthreads <= 0) {
				usage(argv[0]);
				return 2;
			}
		} else if (!strcmp(a, "--kinds") && v) {
			o.busy = strstr(v, "busy") != NULL;
			o.idle = strstr(v, "idle") != NULL;
			i++;
		} else if (!strcmp(a, "--agent") && v) {
			snprintf(o.agent, sizeof(o.agent), "%s", v);
			i++;
		} else if (!strcmp(a, "--target") && v) {
			snprintf(o.target, sizeof(o.target), "%s", v);
			i++;
		} else if (!strcmp(a, "--payload") && v) {
			snprintf(o.payload, sizeof(o.payload), "%s", v);
			i++;
		} else if (!strcmp(a, "--shim") && v) {
			snprintf(o.shim, sizeof(o.shim), "%s", v);
			i++;
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	const char *need[] = { o.agent, o.target, o.payload,
			       o.profile || o.skip_unwind ? o.shim : o.agent };
	for (unsigned i = 0; i < 4; i++)
		if (access(need[i], R_OK) != 0) {
			fprintf(stderr, "bench-pause: %s: %s (build first, or pass --agent/--target/"
				"--payload/--shim)\n", need[i], strerror(errno));
			return 1;
		}
	/* 50 us polls mean 50 us, not 50 us + the default 50 us timer slack. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);

	struct result res[64];
	int nres = 0;
	uint64_t t0 = now_ns();
	for (int kind = 0; kind < 2; kind++) {
		if ((kind == 0 && !o.busy) || (kind == 1 && !o.idle))
			continue;
		for (int i = 0; i < o.nthreads && nres < 64; i++) {
			const char *k = kind == 0 ? "busy" : "idle";
			fprintf(stderr, "bench-pause: %s %d threads, %d cycles ...", k, o.threads[i],
				o.cycles);
			run_config(&o, k, o.threads[i], &res[nres]);
			if (res[nres].ok)
				fprintf(stderr, " pause median %.1f us (%.1f s)\n",
					res[nres].pause_med / 1e3, res[nres].wall_s);
			else
				fprintf(stderr, " FAILED: %s\n", res[nres].error);
			nres++;
		}
	}
	fprintf(stderr, "bench-pause: total %.1f s\n", (double)(now_ns() - t0) / 1e9);
	if (o.json) {
		/* The table goes to stderr then, so one run gives both. */
		fflush(stdout);
		int saved = dup(1);
		dup2(2, 1);
		print_table(res, nres, &o);
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		print_json(res, nres, &o);
	} else {
		print_table(res, nres, &o);
	}
	for (int i = 0; i < nres; i++)
		if (!res[i].ok)
			return 1;
	return 0;
}
