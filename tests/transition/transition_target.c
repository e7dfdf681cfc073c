/* SPDX-License-Identifier: MIT */
/*
 * Target of the consistency-model tests (suite 'transition'): a small
 * service whose patchable functions are called by worker threads the test
 * scripts start and stop through requests on a Unix socket.
 *
 *   transition-target serve SOCKET [plain|churn|service]
 *   transition-target query SOCKET REQUEST      (prints the answer)
 *
 * Requests (one line each, one-line answer):
 *   ping                 pong
 *   answer               answer_function()            old 1, new 2
 *   slow                 slow_function(0)             old 1, new 2
 *   slow MS              a worker enters slow_function and sleeps MS inside;
 *                        answers "tid T" once it is inside
 *   slowblock MS         the same, but the worker blocks every signal first
 *   slowdone             1 when the last slow worker has left, else 0
 *   stale MS             a worker keeps a pointer into slow_function's body
 *                        in a local (a word the stack scan matches, not a
 *                        return address) and sleeps MS outside it; "tid T"
 *   staledone            1 once that worker has returned
 *   slowdeep MS DEPTH    from now on slow workers sleep DEPTH frames below
 *                        slow_function (answers DEPTH; MS is ignored)
 *   maps N               N more one-page mappings; answers how many
 *   headcall MS          a worker calls head_call(), whose first instruction
 *                        calls a function that sleeps MS; "tid T"
 *   headdone             1 once that worker has returned
 *   head                 head_call() with a quick callee: old 1, new 2
 *   dlchurn / dlrounds   one more thread dlopens and dlcloses a library in a loop
 *                        / how many rounds it has done
 *   nap                  nap_function(0)              old 10, new 20
 *   nap MS               a worker calls nap_function(MS) (the new code
 *                        sleeps MS); answers "tid T"
 *   napdone              1 when the nap worker has returned, else 0
 *   spinblock / spinstop a thread blocks every signal and spins in user
 *                        space (outside any patched function) / stop it
 *   sleepblock / sleepstop  the same thread sleeping in nanosleep
 *   service N            service_loop(N, &tag) on the server thread:
 *                        "ret R tag T" (old body tag 1, new body tag 2)
 *   permtag              the tag the never-ending service thread writes
 *                        (clears it and waits 30 ms first)
 *   triple               triple_a() triple_b() triple_c()
 *   libc                 what pwrite() and syscall(SYS_getpid) return now
 *   churn                counts of the churn mode so far
 *
 * On SIGTERM it prints "threads=N calls=N wrong=M" and exits 0 only if no
 * answer was wrong (churn mode checks every answer is old or new).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "transition_funcs.h"

#define NOIPA __attribute__((noipa))

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* gettid(), not syscall(SYS_gettid): a test patches syscall() in libc. */
static pid_t gettid_raw(void)
{
	return gettid();
}

/* ---- patchable functions ---- */

NOIPA long answer_function(void)
{
	return ANSWER_OLD;
}

static atomic_int slow_inside;
static atomic_int slow_tid;
static atomic_int slow_depth; /* extra frames below slow_function while it sleeps */
static volatile long deep_sink;

/* depth frames, then the sleep: an unwind from the sleep is cut short
 * before it reaches slow_function. Not a tail call (deep_sink). */
NOIPA static void deep_frames(int depth, long ms)
{
	if (depth <= 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return;
	}
	deep_frames(depth - 1, ms);
	deep_sink += depth;
}

/* Case 1: sleeps inside the old function (the return address of its
 * nanosleep call lies in slow_function while it sleeps). */
NOIPA long slow_function(long ms)
{
	if (ms > 0) {
		atomic_store(&slow_tid, gettid_raw());
		atomic_store(&slow_inside, 1);
		deep_frames(atomic_load(&slow_depth), ms);
		atomic_store(&slow_inside, 0);
	}
	return SLOW_OLD;
}

/* Case 10: a function whose first instruction is a call (2 bytes:
 * `call *%rdi`), so a thread inside the callee has a return address two
 * bytes into it, inside what a trampoline overwrites. */
__asm__(".text\n"
	".globl head_call\n"
	".type head_call, @function\n"
	"head_call:\n"
	"	call *%rdi\n"
	"	ret\n"
	"	.fill 13, 1, 0x90\n"
	".size head_call, .-head_call\n");
long head_call(long (*callee)(void));

static atomic_int head_inside;
static atomic_int head_tid;
static atomic_long head_ms;

/* Entered with the stack 8 bytes off the ABI's alignment (head_call has no
 * prologue): realign. */
__attribute__((force_align_arg_pointer)) static long head_sleeper(void)
{
	atomic_store(&head_tid, gettid_raw());
	atomic_store(&head_inside, 1);
	sleep_ms(atomic_load(&head_ms));
	atomic_store(&head_inside, 0);
	return 1;
}

__attribute__((force_align_arg_pointer)) static long head_quick(void)
{
	return 1;
}

/* Case 10: dlopen/dlclose in a loop; each round takes the loader's locks. */
static atomic_int dl_churn_on;
static atomic_long dl_churn_rounds;

static void *dl_churn(void *arg)
{
	const char *lib = arg;
	while (atomic_load(&dl_churn_on)) {
		void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		if (h)
			dlclose(h);
		atomic_fetch_add(&dl_churn_rounds, 1);
	}
	return NULL;
}

static void *head_worker(void *arg)
{
	(void)arg;
	head_call(head_sleeper);
	return NULL;
}

/* Case 4: the old nap returns at once; the payload's nap sleeps. */
NOIPA long nap_function(long ms)
{
	(void)ms;
	return NAP_OLD;
}

/* Case 3. */
NOIPA long churn_function(long x)
{
	return CHURN(x, 0);
}

/* Case 5: a loop that never returns (max == 0), calling a helper each
 * iteration. The payload's body writes tag 2 instead of 1. */
NOIPA long service_helper(long i)
{
	return i * 7 + 3;
}

NOIPA long service_loop(long max, volatile long *tag)
{
	long acc = 0;
	for (long i = 0; max == 0 || i < max; i++) {
		acc += service_helper(i);
		*tag = SERVICE_TAG_OLD;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return acc;
}

/* Case 7: three functions patched together. */
NOIPA long triple_a(void)
{
	return TRIPLE_A_OLD;
}

NOIPA long triple_b(void)
{
	return TRIPLE_B_OLD;
}

NOIPA long triple_c(void)
{
	return TRIPLE_C_OLD;
}

/* ---- workers ---- */

static void block_all(void)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
}

struct slow_arg {
	long ms;
	int block;
};

static void *slow_worker(void *arg)
{
	struct slow_arg *a = arg;
	if (a->block)
		block_all();
	slow_function(a->ms);
	free(a);
	return NULL;
}

static atomic_int stale_tid, stale_done = 1;

/* A live frame holding a stale code pointer into slow_function, shaped
 * like a return address (past its first byte), while the thread sleeps
 * elsewhere. */
NOIPA static void stale_sleep(long ms)
{
	volatile uintptr_t stale = (uintptr_t)slow_function + 4;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	atomic_store(&stale_tid, gettid_raw());
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	deep_sink += (long)stale;
}

static void *stale_worker(void *arg)
{
	stale_sleep((long)(intptr_t)arg);
	atomic_store(&stale_done, 1);
	return NULL;
}

static atomic_int nap_tid, nap_done = 1;

static void *nap_worker(void *arg)
{
	atomic_store(&nap_tid, gettid_raw());
	nap_function((long)(intptr_t)arg);
	atomic_store(&nap_done, 1);
	return NULL;
}

/* A thread that blocks every signal: spinning or sleeping, always outside
 * the patched functions. */
static atomic_int blocker_run, blocker_tid, blocker_ready;
static pthread_t blocker;
static int blocker_active;
static volatile unsigned long spin_count;

static void *spin_blocker(void *arg)
{
	(void)arg;
	block_all();
	atomic_store(&blocker_tid, gettid_raw());
	atomic_store(&blocker_ready, 1);
	while (atomic_load_explicit(&blocker_run, memory_order_relaxed))
		spin_count++;
	return NULL;
}

static void *sleep_blocker(void *arg)
{
	(void)arg;
	block_all();
	atomic_store(&blocker_tid, gettid_raw());
	atomic_store(&blocker_ready, 1);
	while (atomic_load(&blocker_run))
		sleep_ms(20);
	return NULL;
}

static int start_blocker(void *(*fn)(void *))
{
	if (blocker_active)
		return -1;
	atomic_store(&blocker_ready, 0);
	atomic_store(&blocker_run, 1);
	if (pthread_create(&blocker, NULL, fn, NULL))
		return -1;
	blocker_active = 1;
	while (!atomic_load(&blocker_ready))
		sleep_ms(1);
	return atomic_load(&blocker_tid);
}

static void stop_blocker(void)
{
	if (!blocker_active)
		return;
	atomic_store(&blocker_run, 0);
	pthread_join(blocker, NULL);
	blocker_active = 0;
}

/* The service thread: inside service_loop forever. */
static volatile long perm_tag;

static void *service_thread(void *arg)
{
	(void)arg;
	service_loop(0, &perm_tag);
	return NULL;
}

/* Churn: a spawner creates short-lived threads without pause; each calls
 * churn_function and checks the answer is the old or the new one. */
static atomic_int stop;
static atomic_ulong churn_threads, churn_calls, churn_wrong;
static char first_wrong[160];

static void *churn_child(void *arg)
{
	long base = (long)(intptr_t)arg;
	for (long x = base; x < base + 64; x++) {
		long got = churn_function(x);
		if (got != CHURN(x, 0) && got != CHURN(x, 1)) {
			if (atomic_fetch_add(&churn_wrong, 1) == 0)
				snprintf(first_wrong, sizeof(first_wrong),
					 "churn_function(%ld) returned %ld, expected %ld or %ld", x, got,
					 CHURN(x, 0), CHURN(x, 1));
		}
		atomic_fetch_add_explicit(&churn_calls, 1, memory_order_relaxed);
	}
	atomic_fetch_add(&churn_threads, 1);
	return NULL;
}

static void *churn_spawner(void *arg)
{
	(void)arg;
	long base = 0;
	while (!atomic_load(&stop)) {
		pthread_t t[4];
		int n = 0;
		for (int i = 0; i < 4; i++, base += 64)
			if (pthread_create(&t[n], NULL, churn_child, (void *)(intptr_t)base) == 0)
				n++;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	}
	return NULL;
}

/* ---- the request server ---- */

static int listen_fd;

static void handle(const char *req, char *out, size_t len)
{
	long v;
	int depth;
	if (strcmp(req, "ping") == 0) {
		snprintf(out, len, "pong");
	} else if (strcmp(req, "answer") == 0) {
		snprintf(out, len, "%ld", answer_function());
	} else if (strcmp(req, "slow") == 0) {
		snprintf(out, len, "%ld", slow_function(0));
	} else if (sscanf(req, "headcall %ld", &v) == 1) {
		atomic_store(&head_ms, v);
		atomic_store(&head_inside, 0);
		pthread_t t;
		pthread_create(&t, NULL, head_worker, NULL);
		pthread_detach(t);
		while (!atomic_load(&head_inside))
			sleep_ms(1);
		snprintf(out, len, "tid %d", atomic_load(&head_tid));
	} else if (strcmp(req, "dlchurn") == 0) {
		/* one more looping thread per request, each with its own
		 * library so every round maps and unmaps it */
		static int n;
		atomic_store(&dl_churn_on, 1);
		pthread_t t;
		pthread_create(&t, NULL, dl_churn, (void *)(n++ % 2 ? DL_CHURN_LIB2 : DL_CHURN_LIB));
		pthread_detach(t);
		snprintf(out, len, "on");
	} else if (strcmp(req, "dlrounds") == 0) {
		snprintf(out, len, "%ld", atomic_load(&dl_churn_rounds));
	} else if (strcmp(req, "headdone") == 0) {
		snprintf(out, len, "%d", !atomic_load(&head_inside));
	} else if (strcmp(req, "head") == 0) {
		snprintf(out, len, "%ld", head_call(head_quick));
	} else if (sscanf(req, "maps %ld", &v) == 1) {
		/* v more mappings (alternating protections: never merged) */
		long made = 0;
		for (long i = 0; i < v; i++)
			if (mmap(NULL, 4096, i & 1 ? PROT_READ : PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED)
				made++;
		snprintf(out, len, "%ld", made);
	} else if (sscanf(req, "slowdeep %ld %d", &v, &depth) == 2) {
		atomic_store(&slow_depth, depth);
		snprintf(out, len, "%d", depth);
	} else if (sscanf(req, "slow %ld", &v) == 1 || sscanf(req, "slowblock %ld", &v) == 1) {
		struct slow_arg *a = malloc(sizeof(*a));
		a->ms = v;
		a->block = strncmp(req, "slowblock", 9) == 0;
		atomic_store(&slow_inside, 0);
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_create(&t, &at, slow_worker, a);
		pthread_attr_destroy(&at);
		while (!atomic_load(&slow_inside))
			sleep_ms(1);
		snprintf(out, len, "tid %d", atomic_load(&slow_tid));
	} else if (sscanf(req, "stale %ld", &v) == 1) {
		atomic_store(&stale_tid, 0);
		atomic_store(&stale_done, 0);
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_create(&t, &at, stale_worker, (void *)(intptr_t)v);
		pthread_attr_destroy(&at);
		while (!atomic_load(&stale_tid))
			sleep_ms(1);
		snprintf(out, len, "tid %d", atomic_load(&stale_tid));
	} else if (strcmp(req, "staledone") == 0) {
		snprintf(out, len, "%d", atomic_load(&stale_done));
	} else if (strcmp(req, "slowdone") == 0) {
		snprintf(out, len, "%d", !atomic_load(&slow_inside));
	} else if (strcmp(req, "nap") == 0) {
		snprintf(out, len, "%ld", nap_function(0));
	} else if (sscanf(req, "nap %ld", &v) == 1) {
		atomic_store(&nap_tid, 0);
		atomic_store(&nap_done, 0);
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_create(&t, &at, nap_worker, (void *)(intptr_t)v);
		pthread_attr_destroy(&at);
		while (!atomic_load(&nap_tid))
			sleep_ms(1);
		sleep_ms(20); /* let it get into nap_function */
		snprintf(out, len, "tid %d", atomic_load(&nap_tid));
	} else if (strcmp(req, "napdone") == 0) {
		snprintf(out, len, "%d", atomic_load(&nap_done));
	} else if (strcmp(req, "spinblock") == 0) {
		snprintf(out, len, "tid %d", start_blocker(spin_blocker));
	} else if (strcmp(req, "sleepblock") == 0) {
		snprintf(out, len, "tid %d", start_blocker(sleep_blocker));
	} else if (strcmp(req, "spinstop") == 0 || strcmp(req, "sleepstop") == 0) {
		stop_blocker();
		snprintf(out, len, "stopped");
	} else if (sscanf(req, "service %ld", &v) == 1 && v > 0) {
		volatile long tag = 0;
		long r = service_loop(v, &tag);
		snprintf(out, len, "ret %ld tag %ld", r, tag);
	} else if (strcmp(req, "permtag") == 0) {
		perm_tag = 0;
		sleep_ms(30);
		snprintf(out, len, "%ld", perm_tag);
	} else if (strcmp(req, "triple") == 0) {
		snprintf(out, len, "%ld %ld %ld", triple_a(), triple_b(), triple_c());
	} else if (strcmp(req, "libc") == 0) {
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		errno = 0;
		ssize_t w = pwrite(fd, "x", 1, 0);
		int e1 = errno;
		errno = 0;
		long s = syscall(SYS_getpid);
		int e2 = errno;
		close(fd);
		snprintf(out, len, "pwrite %zd errno %d syscall %s errno %d", w, e1,
			 s == (long)getpid() ? "pid" : s < 0 ? "-1" : "?", e2);
	} else if (strcmp(req, "churn") == 0) {
		snprintf(out, len, "threads=%lu calls=%lu wrong=%lu", atomic_load(&churn_threads),
			 atomic_load(&churn_calls), atomic_load(&churn_wrong));
	} else {
		snprintf(out, len, "unknown request '%s'", req);
	}
}

static void serve_one(int fd)
{
	char req[128];
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
	handle(req, out, sizeof(out) - 1);
	size_t l = strlen(out);
	out[l++] = '\n';
	ssize_t w = write(fd, out, l);
	(void)w;
}

static void on_term(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

static int serve(const char *path, const char *mode)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: accept returns EINTR */

	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(listen_fd, 64) < 0) {
		perror(path);
		return 1;
	}
	pthread_t spawner, svc;
	int churn = strcmp(mode, "churn") == 0;
	if (churn)
		pthread_create(&spawner, NULL, churn_spawner, NULL);
	if (strcmp(mode, "service") == 0) {
		pthread_create(&svc, NULL, service_thread, NULL);
		pthread_detach(svc);
	}
	fprintf(stderr, "transition target %d serving %s (%s)\n", (int)getpid(), path, mode);
	while (!atomic_load(&stop)) {
		/* SIGTERM may be handled by any thread: look at the flag often. */
		struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			break;
		}
		serve_one(fd);
		close(fd);
	}
	atomic_store(&stop, 1);
	stop_blocker();
	if (churn)
		pthread_join(spawner, NULL);
	unlink(path);
	printf("threads=%lu calls=%lu wrong=%lu\n", atomic_load(&churn_threads),
	       atomic_load(&churn_calls), atomic_load(&churn_wrong));
	if (atomic_load(&churn_wrong))
		printf("first wrong answer: %s\n", first_wrong);
	fflush(stdout);
	/* Detached workers may still sleep: leave without waiting for them. */
	_exit(atomic_load(&churn_wrong) ? 1 : 0);
}

static int query(const char *path, const char *req)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror(path);
		return 1;
	}
	char line[160];
	snprintf(line, sizeof(line), "%s\n", req);
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

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argc > 3 ? argv[3] : "plain");
	if (argc >= 4 && strcmp(argv[1], "query") == 0)
		return query(argv[2], argv[3]);
	fprintf(stderr, "usage: %s serve SOCKET [plain|churn|service] | query SOCKET REQUEST\n",
		argv[0]);
	return 2;
}
