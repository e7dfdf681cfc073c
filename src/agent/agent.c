/* SPDX-License-Identifier: MIT */
/*
 * libxsplice.so start-up and the control thread: it owns the control
 * socket, accepts only root or the process's own user, and serves the four
 * seed operations (plus INFO) one request at a time. It never writes to
 * stdout and never exits the process; start-up problems go to stderr once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "action.h"
#include "info.h"
#include "payload.h"
#include "symbols.h"
#include "rendezvous.h"
#include "common/socket_path.h"
#include "xsplice/protocol.h"

#define XS_MAX_CLIENTS 16
#define XS_REQUEST_IO_MS 5000

static int g_listen_fd = -1;
static char g_sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pid_t g_owner_pid;

static void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void agent_log(const char *fmt, ...)
{
	char buf[XS_REASON_SIZE + 64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* stderr only, one write, never stdout. */
	ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
	(void)w;
}

/* ---- requests ---- */

static void do_list(const struct xs_request *rq, struct xs_response *rs)
{
	static struct xs_list_entry entries[XS_LIST_MAX];
	uint32_t total = xs_payloads_count();
	rs->list_version = xs_payloads_version();
	rs->list = entries;
	rs->list_count = 0;
	uint32_t idx = 0;
	for (struct xs_payload *p = xs_payload_first(); p; p = p->next, idx++) {
		if (idx < rq->list_idx || rs->list_count >= rq->list_nr)
			continue;
		struct xs_list_entry *e = &entries[rs->list_count++];
		snprintf(e->name, sizeof(e->name), "%s", p->name);
		e->state = p->state;
		e->rc = p->rc;
	}
	uint32_t after = rq->list_idx + rs->list_count;
	rs->list_left = total > after ? total - after : 0;
}

static void do_action(const struct xs_request *rq, struct xs_response *rs, struct xs_err *err)
{
	struct xs_payload *p = xs_payload_find(rq->name);
	if (!p) {
		rs->ret = xs_fail(err, -ENOENT, "no payload named '%s'", rq->name);
		return;
	}
	rs->ret = xs_action_request(p, rq->cmd, rq->timeout_ms, err);
}

static void dispatch(const struct xs_request *rq, struct xs_response *rs, struct xs_info *info)
{
	struct xs_err err = { "" };
	memset(rs, 0, sizeof(*rs));
	rs->op = rq->op;
	xs_payloads_lock();
	switch (rq->op) {
	case XS_OP_UPLOAD:
		rs->ret = xs_payload_upload(rq->name, rq->payload, rq->payload_size, &err);
		break;
	case XS_OP_GET: {
		struct xs_payload *p = xs_payload_find(rq->name);
		if (!p) {
			rs->ret = xs_fail(&err, -ENOENT, "no payload named '%s'", rq->name);
			break;
		}
		rs->state = p->state;
		rs->rc = p->rc;
		snprintf(rs->rc_reason, sizeof(rs->rc_reason), "%s", p->rc ? p->reason : "");
		break;
	}
	case XS_OP_LIST:
		do_list(rq, rs);
		break;
	case XS_OP_ACTION:
		do_action(rq, rs, &err);
		break;
	case XS_OP_INFO:
		rs->ret = xs_info_build(info, &err);
		if (!rs->ret)
			rs->info = info;
		break;
	default:
		rs->ret = xs_fail(&err, -EINVAL, "unknown operation %u", rq->op);
	}
	xs_payloads_unlock();
	if (rs->ret)
		snprintf(rs->reason, sizeof(rs->reason), "%s", err.msg);
}

static int send_response(int fd, const struct xs_response *rs)
{
	uint8_t *frame = NULL;
	size_t len = 0;
	struct xs_err err = { "" };
	int rc = xs_encode_response(rs, &frame, &len, &err);
	if (rc == 0)
		rc = xs_write_all(fd, frame, len, &err);
	free(frame);
	return rc;
}

static void send_error(int fd, uint16_t op, int ret, const char *reason)
{
	struct xs_response rs;
	memset(&rs, 0, sizeof(rs));
	rs.op = op < XS_OP_COUNT ? op : 0;
	rs.ret = ret;
	snprintf(rs.reason, sizeof(rs.reason), "%s", reason);
	send_response(fd, &rs);
}

/*
 * A client connection. Requests are read without blocking and served only
 * once complete, so one slow or stalled client never holds up the others.
 */
struct client {
	int fd;
	uint8_t head[sizeof(struct xs_frame_header)];
	size_t head_got;
	struct xs_frame_header h;
	uint8_t *body;
	size_t body_got;
	uint64_t started_ms; /* when the current frame began; 0 = between frames */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void client_reset(struct client *c)
{
	free(c->body);
	c->body = NULL;
	c->head_got = 0;
	c->body_got = 0;
	c->started_ms = 0;
}

static void serve_frame(struct client *c)
{
	struct xs_err err = { "" };
	struct xs_request rq;
	int rc = xs_decode_request(c->h.op, c->body, c->h.length, &rq, &err);
	if (rc) {
		send_error(c->fd, c->h.op, rc, err.msg);
		return;
	}
	struct xs_response rs;
	struct xs_info info;
	memset(&info, 0, sizeof(info));
	dispatch(&rq, &rs, &info);
	send_response(c->fd, &rs);
	xs_info_release(&info);
}

/* Read what is there. Returns <0 when the connection must end. */
static int client_readable(struct client *c)
{
	for (;;) {
		bool in_head = c->head_got < sizeof(c->head);
		uint8_t *dst = in_head ? c->head + c->head_got : c->body + c->body_got;
		size_t want = in_head ? sizeof(c->head) - c->head_got : c->h.length - c->body_got;
		ssize_t n = recv(c->fd, dst, want, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1;
		if (!c->started_ms)
			c->started_ms = mono_ms();
		if (in_head) {
			c->head_got += (size_t)n;
			if (c->head_got < sizeof(c->head))
				continue;
			struct xs_err err = { "" };
			xs_parse_header(c->head, &c->h);
			int rc = xs_check_header(&c->h, 0, &err);
			if (rc) {
				/* The stream may be out of step: say why, then end. */
				send_error(c->fd, c->h.op, rc, err.msg);
				return -1;
			}
			if (c->h.length && !(c->body = malloc(c->h.length))) {
				send_error(c->fd, c->h.op, -ENOMEM, "out of memory for the request");
				return -1;
			}
		} else {
			c->body_got += (size_t)n;
		}
		if (c->body_got == c->h.length) {
			serve_frame(c);
			client_reset(c);
			return 0;
		}
	}
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void *control_thread(void *arg)
{
	(void)arg;
	struct pollfd fds[1 + XS_MAX_CLIENTS];
	struct client clients[XS_MAX_CLIENTS];
	int nclients = 0;
	for (;;) {
		fds[0].fd = g_listen_fd;
		fds[0].events = POLLIN;
		for (int i = 0; i < nclients; i++) {
			fds[1 + i].fd = clients[i].fd;
			fds[1 + i].events = POLLIN;
			fds[1 + i].revents = 0;
		}
		/* Wake up now and then to drop clients stuck mid-frame. */
		int n = poll(fds, (nfds_t)(1 + nclients), 1000);
		if (n < 0)
			continue; /* EINTR: the park signal */
		uint64_t now = mono_ms();
		for (int i = 0; i < nclients; i++) {
			struct client *c = &clients[i];
			bool drop = false;
			if (fds[1 + i].revents & (POLLIN | POLLHUP | POLLERR))
				drop = client_readable(c) < 0;
			if (!drop && c->started_ms && now - c->started_ms > XS_REQUEST_IO_MS) {
				send_error(c->fd, c->head_got == sizeof(c->head) ? c->h.op : 0, -ETIMEDOUT,
					   "request incomplete after 5 s; closing the connection");
				drop = true;
			}
			if (drop) {
				client_reset(c);
				close(c->fd);
				/* Keep fds[] in step with clients[] for this round. */
				clients[i] = clients[nclients - 1];
				fds[1 + i] = fds[nclients];
				nclients--;
				i--;
			}
		}
		if (fds[0].revents & POLLIN) {
			int fd = accept4(g_listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			/* Refused before a byte is read. */
			if (!peer_allowed(fd)) {
				close(fd);
				continue;
			}
			if (nclients == XS_MAX_CLIENTS) {
				send_error(fd, 0, -EBUSY, "too many clients connected (16); try again");
				close(fd);
				continue;
			}
			memset(&clients[nclients], 0, sizeof(clients[0]));
			clients[nclients++].fd = fd;
		}
	}
	return NULL;
}

/* ---- socket ---- */

static int make_dir(const char *dir, struct xs_err *err)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(tmp, 0755);
		*s = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return xs_fail(err, -errno, "cannot create %s: %s", dir, strerror(errno));
	struct stat st;
	if (stat(tmp, &st) < 0 || !S_ISDIR(st.st_mode))
		return xs_fail(err, -ENOTDIR, "%s is not a directory", dir);
	/* Only its owner may enter: others cannot even reach the socket. */
	if (st.st_uid != geteuid())
		return xs_fail(err, -EPERM, "%s belongs to uid %u, not to us (uid %u)", dir,
			       (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 0077) && chmod(tmp, 0700) < 0)
		return xs_fail(err, -errno, "cannot restrict %s to its owner: %s", dir,
			       strerror(errno));
	return 0;
}

static int open_socket(struct xs_err *err)
{
	char dir[200];
	int rc = xs_socket_dir(dir, sizeof(dir), err);
	if (rc)
		return rc;
	rc = make_dir(dir, err);
	if (rc)
		return rc;
	rc = xs_socket_path_for(dir, getpid(), g_sock_path, sizeof(g_sock_path), err);
	if (rc)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xs_fail(err, -errno, "socket: %s", strerror(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g_sock_path);
	/* A socket left by a dead process with our (recycled) pid. */
	unlink(g_sock_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(g_sock_path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		rc = xs_fail(err, -errno, "cannot listen on %s: %s", g_sock_path, strerror(errno));
		close(fd);
		return rc;
	}
	g_listen_fd = fd;
	return 0;
}

/* A fork child has no agent thread: it must not hold the parent's socket
 * open (clients would hang on it) nor remove it at exit. */
static void atfork_child(void)
{
	if (g_listen_fd >= 0)
		close(g_listen_fd);
	g_listen_fd = -1;
}

__attribute__((destructor)) static void xs_agent_fini(void)
{
	if (g_listen_fd >= 0 && getpid() == g_owner_pid)
		unlink(g_sock_path);
}

__attribute__((constructor)) static void xs_agent_init(void)
{
	const char *off = getenv("XSPLICE_DISABLE");
	if (off && *off && strcmp(off, "0") != 0)
		return;
	struct xs_err err = { "" };
	g_owner_pid = getpid();
	int rc = xs_rendezvous_init(&err);
	if (!rc)
		rc = xs_action_init(&err);
	if (!rc)
		rc = open_socket(&err);
	if (rc) {
		agent_log("xsplice: agent not started in pid %d: %s\n", (int)getpid(), err.msg);
		return;
	}
	pthread_atfork(NULL, NULL, atfork_child);

	/* The control thread takes only the park signal: it is parked like
	 * any other thread, so nothing it runs can be mid-patch. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, xs_rendezvous_signal());
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	rc = pthread_create(&t, NULL, control_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		agent_log("xsplice: agent not started in pid %d: cannot create its thread: %s\n",
			  (int)getpid(), strerror(rc));
		close(g_listen_fd);
		unlink(g_sock_path);
		g_listen_fd = -1;
		return;
	}
	pthread_setname_np(t, "xsplice-ctl");
	pthread_detach(t);
}
