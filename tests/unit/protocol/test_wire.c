/* SPDX-License-Identifier: MIT */
/*
 * Frame I/O over socketpairs (partial transfers, signals, time bounds, end
 * of stream) and libxsplice-ctl against the fake agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/socket_path.h"
#include "ctl/xsplice-ctl.h"
#include "fake_agent.h"
#include "xsplice/protocol.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static uint8_t *make_frame(uint16_t op, size_t payload, size_t *len)
{
	struct xs_request rq = { .op = op };
	struct xs_err err;
	uint8_t *f, *data = NULL;
	strcpy(rq.name, "hello");
	if (op == XS_OP_UPLOAD) {
		data = malloc(payload);
		for (size_t i = 0; i < payload; i++)
			data[i] = (uint8_t)(i * 7);
		rq.payload = data;
		rq.payload_size = (uint32_t)payload;
	}
	assert_int_equal(xs_encode_request(&rq, &f, len, &err), 0);
	free(data);
	return f;
}

/* ---- writer threads ---- */

struct writer {
	int fd;
	const uint8_t *buf;
	size_t len;
	unsigned delay_ms;  /* before writing */
	size_t chunk;       /* bytes per write, 0 = xs_write_all */
	unsigned gap_us;    /* between chunks */
	int close_after;
	int rc;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals go to the reader */
	if (w->delay_ms)
		usleep(w->delay_ms * 1000);
	if (w->chunk) {
		for (size_t off = 0; off < w->len; off += w->chunk) {
			size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;
			if (write(w->fd, w->buf + off, n) != (ssize_t)n)
				w->rc = -EIO;
			usleep(w->gap_us);
		}
	} else {
		struct xs_err err;
		w->rc = xs_write_all(w->fd, w->buf, w->len, &err);
	}
	if (w->close_after)
		close(w->fd);
	return NULL;
}

static void read_and_check(int fd, const uint8_t *frame, size_t len, unsigned timeout)
{
	struct xs_frame_header h;
	struct xs_err err = { "" };
	uint8_t *body;
	int rc = xs_read_frame(fd, &h, &body, 0, timeout, &err);
	if (rc)
		fail_msg("read_frame: %d %s", rc, err.msg);
	assert_int_equal(h.length, len - sizeof(h));
	assert_memory_equal(body, frame + sizeof(h), h.length);
	free(body);
}

static void test_partial_reads(void **state)
{
	(void)state;
	int sv[2];
	size_t len;
	uint8_t *f = make_frame(XS_OP_UPLOAD, 300, &len);
	pair(sv);
	struct writer w = { .fd = sv[1], .buf = f, .len = len, .chunk = 1, .gap_us = 200 };
	pthread_t t;
	pthread_create(&t, NULL, writer_main, &w);
	read_and_check(sv[0], f, len, 10000);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 0);
	close(sv[0]);
	close(sv[1]);
	free(f);
}

/* Bigger than the socket buffer: the writer sees partial sends. */
static void test_large_frame(void **state)
{
	(void)state;
	for (int nonblock = 0; nonblock < 2; nonblock++) {
		int sv[2];
		size_t len;
		uint8_t *f = make_frame(XS_OP_UPLOAD, 4u << 20, &len);
		pair(sv);
		if (nonblock) {
			fcntl(sv[1], F_SETFL, O_NONBLOCK);
			fcntl(sv[0], F_SETFL, O_NONBLOCK);
		}
		struct writer w = { .fd = sv[1], .buf = f, .len = len };
		pthread_t t;
		pthread_create(&t, NULL, writer_main, &w);
		read_and_check(sv[0], f, len, nonblock ? 0 : 10000);
		pthread_join(t, NULL);
		assert_int_equal(w.rc, 0);
		close(sv[0]);
		close(sv[1]);
		free(f);
	}
}

static void test_timeout(void **state)
{
	(void)state;
	int sv[2];
	struct xs_frame_header h;
	struct xs_err err = { "" };
	uint8_t *body;
	pair(sv);
	uint64_t t0 = xs_mono_ms();
	assert_int_equal(xs_read_frame(sv[0], &h, &body, 1, 150, &err), -ETIMEDOUT);
	uint64_t dt = xs_mono_ms() - t0;
	assert_true(dt >= 140 && dt < 3000);
	assert_non_null(strstr(err.msg, "150 ms"));

	/* the bound covers the whole frame, not each read */
	size_t len;
	uint8_t *f = make_frame(XS_OP_GET, 0, &len);
	struct writer w = { .fd = sv[1], .buf = f, .len = len - 2, .chunk = 1, .gap_us = 20000 };
	pthread_t t;
	pthread_create(&t, NULL, writer_main, &w);
	t0 = xs_mono_ms();
	assert_int_equal(xs_read_frame(sv[0], &h, &body, 0, 200, &err), -ETIMEDOUT);
	assert_true(xs_mono_ms() - t0 < 2000);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	free(f);

	/* a blocking send bounded by SO_SNDTIMEO reports -ETIMEDOUT */
	pair(sv);
	struct timeval tv = { 0, 100000 };
	setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	f = make_frame(XS_OP_UPLOAD, 8u << 20, &len);
	assert_int_equal(xs_write_all(sv[1], f, len, &err), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	free(f);
}

static void test_end_of_stream(void **state)
{
	(void)state;
	int sv[2];
	struct xs_frame_header h;
	struct xs_err err;
	uint8_t *body;
	size_t len;
	uint8_t *f = make_frame(XS_OP_UPLOAD, 100, &len);

	pair(sv); /* closed before any byte */
	close(sv[1]);
	assert_int_equal(xs_read_frame(sv[0], &h, &body, 0, 1000, &err), -ENOTCONN);
	close(sv[0]);

	pair(sv); /* a short header */
	assert_int_equal(write(sv[1], f, 10), 10);
	close(sv[1]);
	assert_int_equal(xs_read_frame(sv[0], &h, &body, 0, 1000, &err), -ECONNRESET);
	assert_non_null(strstr(err.msg, "10 of 16"));
	close(sv[0]);

	pair(sv); /* a short body */
	assert_int_equal(write(sv[1], f, len - 5), (ssize_t)(len - 5));
	close(sv[1]);
	assert_int_equal(xs_read_frame(sv[0], &h, &body, 0, 0, &err), -ECONNRESET);
	assert_null(body);
	close(sv[0]);

	pair(sv); /* bad magic is refused before the body is read */
	f[0] ^= 0xff;
	assert_int_equal(write(sv[1], f, len), (ssize_t)len);
	assert_int_equal(xs_read_frame(sv[0], &h, &body, 0, 1000, &err), -EPROTO);
	f[0] ^= 0xff;
	close(sv[0]);
	close(sv[1]);

	pair(sv); /* an oversize length */
	uint8_t big[16];
	memcpy(big, f, 16);
	big[8] = big[9] = big[10] = big[11] = 0xff;
	assert_int_equal(write(sv[1], big, 16), 16);
	assert_int_equal(xs_read_frame(sv[0], &h, &body, 0, 1000, &err), -EMSGSIZE);
	close(sv[0]);
	close(sv[1]);

	pair(sv); /* writing to a closed peer: -EPIPE, and no SIGPIPE */
	close(sv[0]);
	int rc = xs_write_all(sv[1], f, len, &err);
	assert_true(rc == -EPIPE || rc == -ECONNRESET);
	close(sv[1]);
	free(f);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* Signals without SA_RESTART interrupt poll and read: both are retried. */
static void test_signals(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct sigaction old;
	sigaction(SIGALRM, &sa, &old);
	struct itimerval it = { { 0, 3000 }, { 0, 3000 } };
	for (unsigned timeout = 0; timeout <= 5000; timeout += 5000) {
		int sv[2];
		size_t len;
		uint8_t *f = make_frame(XS_OP_UPLOAD, 1000, &len);
		pair(sv);
		struct writer w = { .fd = sv[1], .buf = f, .len = len, .delay_ms = 60, .chunk = 100,
				    .gap_us = 5000 };
		pthread_t t;
		alarms = 0;
		setitimer(ITIMER_REAL, &it, NULL);
		pthread_create(&t, NULL, writer_main, &w);
		read_and_check(sv[0], f, len, timeout);
		pthread_join(t, NULL);
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
		assert_true(alarms > 3);
		close(sv[0]);
		close(sv[1]);
		free(f);
	}
	sigaction(SIGALRM, &old, NULL);
}

static void test_socket_paths(void **state)
{
	(void)state;
	char buf[XS_PATH_SIZE];
	struct xs_err err;

	setenv("XSPLICE_SOCKET_DIR", "/some/dir", 1);
	assert_int_equal(xs_socket_dir(buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "/some/dir");
	assert_int_equal(xs_socket_dir(buf, 5, &err), -ENAMETOOLONG);
	unsetenv("XSPLICE_SOCKET_DIR");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	assert_int_equal(xs_socket_dir(buf, sizeof(buf), &err), 0);
	if (geteuid() == 0)
		assert_string_equal(buf, "/run/xsplice");
	else
		assert_string_equal(buf, "/run/user/1000/xsplice");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(xs_socket_dir(buf, sizeof(buf), &err), 0);
	if (geteuid() != 0) {
		char want[64];
		snprintf(want, sizeof(want), "/tmp/xsplice-%u", (unsigned)geteuid());
		assert_string_equal(buf, want);
	}
	assert_int_equal(xs_socket_path_for("/run/xsplice", 1234, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "/run/xsplice/1234.sock");
	char longdir[200];
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	/* fits the buffer but not a sockaddr_un */
	assert_int_equal(xs_socket_path_for(longdir, 1, buf, sizeof(buf), &err), -ENAMETOOLONG);
	assert_int_equal(xs_socket_path_for("/r", 1234, buf, 8, &err), -ENAMETOOLONG);
}

/* ---- libxsplice-ctl against the fake agent ---- */

static char tmpdir[] = "/tmp/xs-wire-XXXXXX";
static char sock_normal[256], sock_refuse[256], sock_garbage[256];

struct server {
	int fd;
	enum fake_mode mode;
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	fake_agent_serve(s->fd, s->mode);
	return NULL;
}

static int start_servers(void **state)
{
	(void)state;
	static struct server s[3];
	const enum fake_mode modes[3] = { FAKE_NORMAL, FAKE_REFUSE, FAKE_GARBAGE };
	char *paths[3] = { sock_normal, sock_refuse, sock_garbage };
	if (!mkdtemp(tmpdir))
		return -1;
	/* The normal one is named after us, so connect_pid finds it. */
	snprintf(sock_normal, sizeof(sock_normal), "%s/%d.sock", tmpdir, getpid());
	snprintf(sock_refuse, sizeof(sock_refuse), "%s/refuse.sock", tmpdir);
	snprintf(sock_garbage, sizeof(sock_garbage), "%s/garbage.sock", tmpdir);
	for (int i = 0; i < 3; i++) {
		s[i].fd = fake_agent_listen(paths[i]);
		s[i].mode = modes[i];
		if (s[i].fd < 0)
			return -1;
		pthread_t t;
		pthread_create(&t, NULL, server_main, &s[i]);
		pthread_detach(t);
	}
	return 0;
}

static int cleanup_servers(void **state)
{
	(void)state;
	unlink(sock_normal);
	unlink(sock_refuse);
	unlink(sock_garbage);
	rmdir(tmpdir);
	return 0;
}

static struct xs_ctl *connect_normal(void)
{
	struct xs_ctl *c;
	struct xs_err err = { "" };
	int rc = xs_ctl_connect_path(sock_normal, &c, &err);
	if (rc)
		fail_msg("connect: %d %s", rc, err.msg);
	return c;
}

static const char elf[] = "\x7f" "ELF payload bytes";
static const char elf_fail[] = "\x7f" "ELF FAILAPPLY";

static void count_progress(void *arg)
{
	(*(int *)arg)++;
}

static void test_ctl_lifecycle(void **state)
{
	(void)state;
	struct xs_ctl *c = connect_normal();
	struct xs_err err = { "" };
	uint32_t st;
	int32_t rc32;
	char reason[XS_REASON_SIZE];
	int progress = 0;

	assert_int_equal(xs_ctl_upload(c, "hello", elf, sizeof(elf), &err), 0);
	assert_int_equal(xs_ctl_get(c, "hello", &st, &rc32, reason, &err), 0);
	assert_int_equal(st, XS_STATE_CHECKED);
	assert_int_equal(rc32, 0);

	assert_int_equal(xs_ctl_upload(c, "hello", elf, sizeof(elf), &err), -EEXIST);
	assert_non_null(strstr(err.msg, "hello"));
	assert_int_equal(xs_ctl_upload(c, "junk", "MZ..", 4, &err), -ENOEXEC);

	/* the seed's example: REVERT of a CHECKED payload is refused */
	assert_int_equal(xs_ctl_action(c, "hello", XS_ACTION_REVERT, 0, &err), -EINVAL);
	assert_int_equal(xs_ctl_action(c, "hello", XS_ACTION_APPLY, 0, &err), 0);
	assert_int_equal(xs_ctl_wait(c, "hello", XS_ACTION_APPLY, 5000, count_progress, &progress,
				     &err), 0);
	assert_true(progress >= 1);
	assert_int_equal(xs_ctl_get(c, "hello", &st, &rc32, reason, &err), 0);
	assert_int_equal(st, XS_STATE_APPLIED);
	assert_int_equal(xs_ctl_action(c, "hello", XS_ACTION_UNLOAD, 0, &err), -EINVAL);
	assert_int_equal(xs_ctl_action(c, "hello", XS_ACTION_REVERT, 100, &err), 0);
	assert_int_equal(xs_ctl_wait(c, "hello", XS_ACTION_REVERT, 5000, NULL, NULL, &err), 0);
	assert_int_equal(xs_ctl_action(c, "hello", XS_ACTION_UNLOAD, 0, &err), 0);
	assert_int_equal(xs_ctl_wait(c, "hello", XS_ACTION_UNLOAD, 5000, NULL, NULL, &err), 0);
	assert_int_equal(xs_ctl_get(c, "hello", &st, &rc32, reason, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no payload named hello"));

	/* a failed apply: rc carries the agent's reason, the state stays */
	assert_int_equal(xs_ctl_upload(c, "busy", elf_fail, sizeof(elf_fail), &err), 0);
	assert_int_equal(xs_ctl_action(c, "busy", XS_ACTION_APPLY, 0, &err), 0);
	assert_int_equal(xs_ctl_wait(c, "busy", XS_ACTION_APPLY, 5000, NULL, NULL, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "thread 4242"));
	assert_int_equal(xs_ctl_get(c, "busy", &st, &rc32, reason, &err), 0);
	assert_int_equal(st, XS_STATE_CHECKED);
	assert_int_equal(rc32, -EBUSY);
	assert_int_equal(xs_ctl_action(c, "busy", XS_ACTION_UNLOAD, 0, &err), 0);

	/* an action that never finishes: the client's bound */
	assert_int_equal(xs_ctl_upload(c, "slow", elf, sizeof(elf), &err), 0);
	assert_int_equal(xs_ctl_action(c, "slow", XS_ACTION_APPLY, 0, &err), 0);
	uint64_t t0 = xs_mono_ms();
	assert_int_equal(xs_ctl_wait(c, "slow", XS_ACTION_APPLY, 80, NULL, NULL, &err), -ETIMEDOUT);
	assert_true(xs_mono_ms() - t0 < 2000);

	/* names are checked before anything is sent */
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(xs_ctl_get(c, longname, &st, &rc32, reason, &err), -ENAMETOOLONG);
	assert_int_equal(xs_ctl_get(c, "", &st, &rc32, reason, &err), -EINVAL);
	assert_int_equal(xs_ctl_action(c, "slow", 42, 0, &err), -EINVAL);
	xs_ctl_close(c);
}

static void test_ctl_list_info(void **state)
{
	(void)state;
	struct xs_ctl *c = connect_normal();
	struct xs_err err = { "" };
	char name[32];

	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "p%03d", i);
		assert_int_equal(xs_ctl_upload(c, name, elf, sizeof(elf), &err), 0);
	}
	struct xs_list_entry *e;
	size_t n;
	assert_int_equal(xs_ctl_list_all(c, &e, &n, &err), 0);
	assert_int_equal(n, 151); /* plus "slow" */
	int seen = 0;
	for (size_t i = 0; i < n; i++)
		seen += e[i].name[0] == 'p';
	assert_int_equal(seen, 150);
	free(e);

	/* one page, and nr over the limit refused locally like the agent would */
	struct xs_list_entry page[XS_LIST_MAX];
	uint32_t version = 0, count, left;
	assert_int_equal(xs_ctl_list(c, &version, 0, 10, page, &count, &left, &err), 0);
	assert_int_equal(count, 10);
	assert_int_equal(left, 141);
	assert_int_not_equal(version, 0);
	assert_int_equal(xs_ctl_list(c, &version, 0, XS_LIST_MAX + 1, page, &count, &left, &err),
			 -E2BIG);

	struct xs_info *in;
	assert_int_equal(xs_ctl_info(c, &in, &err), 0);
	assert_int_equal(in->pid, (uint32_t)getpid());
	assert_int_equal(in->nobjects, 1);
	assert_int_equal(in->npayloads, 151);
	assert_int_equal(in->payloads[0].nfuncs, 1);
	assert_string_equal(in->payloads[0].funcs[0].name, "xen_extra_version");
	xs_info_free(in);

	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof(name), "p%03d", i);
		assert_int_equal(xs_ctl_action(c, name, XS_ACTION_UNLOAD, 0, &err), 0);
	}
	xs_ctl_close(c);
}

static void test_ctl_bad_agents(void **state)
{
	(void)state;
	struct xs_ctl *c;
	struct xs_err err = { "" };
	uint32_t st;
	int32_t rc32;
	char reason[XS_REASON_SIZE];

	assert_int_equal(xs_ctl_connect_path(sock_refuse, &c, &err), 0);
	int rc = xs_ctl_get(c, "x", &st, &rc32, reason, &err);
	assert_true(rc == -ENOTCONN || rc == -ECONNRESET || rc == -EPIPE);
	assert_non_null(strstr(err.msg, "closed the connection"));
	xs_ctl_close(c);

	assert_int_equal(xs_ctl_connect_path(sock_garbage, &c, &err), 0);
	assert_int_equal(xs_ctl_get(c, "x", &st, &rc32, reason, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "bad reply"));
	xs_ctl_close(c);

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/none.sock", tmpdir);
	assert_int_equal(xs_ctl_connect_path(missing, &c, &err), -ENOENT);
	assert_null(c);
}

static void test_ctl_connect_pid(void **state)
{
	(void)state;
	struct xs_ctl *c;
	struct xs_err err = { "" };

	/* Found through /proc/self/fd + /proc/net/unix wherever it lives. */
	setenv("XSPLICE_SOCKET_DIR", "/nonexistent-dir", 1);
	assert_int_equal(xs_ctl_connect_pid(getpid(), &c, &err), 0);
	uint32_t st;
	int32_t rc32;
	char reason[XS_REASON_SIZE];
	assert_int_equal(xs_ctl_get(c, "slow", &st, &rc32, reason, &err), 0);
	xs_ctl_close(c);

	/* A dead process's socket file: removed, -ESRCH. */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	char stale[300];
	snprintf(stale, sizeof(stale), "%s/%d.sock", tmpdir, child);
	int fd = fake_agent_listen(stale);
	assert_true(fd >= 0);
	close(fd); /* the file stays, nobody listens */
	setenv("XSPLICE_SOCKET_DIR", tmpdir, 1);
	assert_int_equal(xs_ctl_connect_pid(child, &c, &err), -ESRCH);
	assert_non_null(strstr(err.msg, "stale socket"));
	assert_int_equal(access(stale, F_OK), -1);

	/* Gone without a socket; alive without an agent. */
	assert_int_equal(xs_ctl_connect_pid(child, &c, &err), -ESRCH);
	assert_non_null(strstr(err.msg, "no such process"));
	assert_int_equal(xs_ctl_connect_pid(getppid(), &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "LD_PRELOAD"));
	assert_int_equal(xs_ctl_connect_pid(-5, &c, &err), -ESRCH);
	unsetenv("XSPLICE_SOCKET_DIR");
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL); /* prove MSG_NOSIGNAL: a SIGPIPE would kill us */
	const struct CMUnitTest io[] = {
		cmocka_unit_test(test_partial_reads),
		cmocka_unit_test(test_large_frame),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_end_of_stream),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_socket_paths),
	};
	const struct CMUnitTest ctl[] = {
		cmocka_unit_test(test_ctl_lifecycle),
		cmocka_unit_test(test_ctl_list_info),
		cmocka_unit_test(test_ctl_bad_agents),
		cmocka_unit_test(test_ctl_connect_pid),
	};
	int rc = cmocka_run_group_tests_name("frame I/O", io, NULL, NULL);
	rc |= cmocka_run_group_tests_name("libxsplice-ctl", ctl, start_servers, cleanup_servers);
	return rc;
}
