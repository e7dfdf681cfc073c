/* SPDX-License-Identifier: MIT */
/*
 * The control thread: owns the listening socket and up to 16 client
 * connections, accepts only root or the process's own user, and serves
 * requests one at a time (dispatch). Nothing a client does can hold it up:
 * requests are read without blocking and served once complete (5 s bound),
 * each reply is queued and written with MSG_DONTWAIT as the client drains
 * it (dropped after 5 s), idle connections are closed after
 * $XSPLICE_IDLE_TIMEOUT_MS (30 s). It never touches an fd that is no longer
 * its own (the program may close every fd and reuse the numbers): every fd
 * is checked by inode before it is read, written or closed, and a lost
 * listening socket is re-created when the next client connects
 * (docs/protocol.md, "Connections"). Idle, it never wakes up on its own.
 *
 * Threading: one control thread. g_ctl_lock guards the socket and the
 * client table; the thread holds it except while in poll(), and the fork
 * prepare handler takes it (then the payload table lock) so a fork child
 * never sees them half-changed nor inherits a held lock.
 */
#include "agent.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "action.h"
#include "audit.h"
#include "common/clock.h"
#include "info.h"
#include "common/latency.h"
#include "payload.h"
#include "quota.h"
#include "rendezvous.h"
#include "xsplice/protocol.h"

#define XS_MAX_CLIENTS 16
#define XS_REQUEST_IO_MS 5000
#define XS_REPLY_DRAIN_MS 5000
#define XS_IDLE_DEFAULT_MS 30000
#define XS_RECREATE_MS 1000

/*
 * A client connection: the request being read, or the reply being
 * written (one at a time: the protocol is lock step, so at most one reply,
 * the largest the protocol allows, is ever queued per client).
 */
struct client {
	int fd;
	dev_t dev;
	ino_t ino;
	uint8_t head[sizeof(struct xs_frame_header)];
	size_t head_got;
	struct xs_frame_header h;
	uint8_t *body;
	size_t body_got;
	size_t body_held;    /* bytes of body counted in g_inflight */
	uint64_t started_ms; /* when the current frame began; 0 = between frames */
	uint8_t *out;        /* queued reply */
	size_t out_len, out_off;
	uint64_t out_since;
	bool close_after;    /* end once the reply is out (the stream is out of step) */
	uint64_t last_ms;    /* last sign of life, for the idle timeout */
	struct xs_peer peer; /* SO_PEERCRED at accept, for the audit trail */
	/* An ACTION with XS_ACTION_F_WAIT was accepted: its reply goes out
	 * when that payload's action has ended (check_waiters). */
	bool waiting;
	char wait_name[XS_NAME_SIZE];
	struct xs_rate rate; /* requests per second (quota.c) */
};

static pthread_mutex_t g_ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xs_sock g_sock = { .fd = -1 };
static struct client g_clients[XS_MAX_CLIENTS];
static int g_nclients;
static pid_t g_owner_pid;
static unsigned g_idle_ms = XS_IDLE_DEFAULT_MS;
static bool g_started;
static uint64_t g_inflight; /* request body bytes held by all clients (quota.c) */
static _Atomic int g_waiters;    /* clients waiting for an action's end */
static _Atomic pid_t g_ctl_tid;  /* the control thread, woken when an action ends */
static bool g_ctl_boosted;       /* SCHED_FIFO while a client waits (control thread only) */
/* While a client waits, poll at least this often: the wake-up signal can
 * come just before poll() is entered (then poll would not see it). */
#define XS_WAIT_RECHECK_MS 20

static uint64_t now_ms(void)
{
	return xs_mono_ms();
}

/* Time from t to now; 0 when t was taken after now. */
static uint64_t since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
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

static void dispatch(const struct xs_request *rq, struct xs_response *rs, struct xs_info *info,
		     const struct xs_peer *peer)
{
	struct xs_err err = { "" };
	struct xs_audit_subject subj;
	memset(rs, 0, sizeof(*rs));
	rs->op = rq->op;
	xs_payloads_lock();
	switch (rq->op) {
	case XS_OP_UPLOAD:
		rs->ret = xs_payload_upload(rq->name, rq->payload, rq->payload_size, &err);
		xs_audit_subject_of(rs->ret ? NULL : xs_payload_find(rq->name), rq->name, &subj);
		xs_audit_record(peer, "upload", &subj, rs->ret, err.msg);
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
	case XS_OP_ACTION: {
		/* Who and what before the action: UNLOAD frees the payload. */
		struct xs_payload *p = xs_payload_find(rq->name);
		xs_audit_subject_of(p, rq->name, &subj);
		if (p && rq->cmd != XS_ACTION_CANCEL && rq->cmd != XS_ACTION_UNLOAD)
			xs_audit_set_requester(p, peer);
		do_action(rq, rs, &err);
		const char *an = xs_action_name(rq->cmd);
		xs_audit_record(peer, an ? an : "action", &subj, rs->ret, err.msg);
		break;
	}
	case XS_OP_INFO:
		rs->ret = xs_info_build(info, &err);
		info->metadata = (rq->info_flags & XS_INFO_METADATA) != 0;
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

/* ---- replies: queued, written without blocking ---- */

static bool client_is_ours(const struct client *c)
{
	return xs_fd_is(c->fd, c->dev, c->ino);
}

/* Write what the socket takes now. 0: done or more to come; <0: end. */
static int client_flush(struct client *c)
{
	while (c->out && c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->last_ms = now_ms();
	return c->close_after ? -1 : 0;
}

static void queue_response(struct client *c, const struct xs_response *rs)
{
	struct xs_err err = { "" };
	uint8_t *frame = NULL;
	size_t len = 0;
	if (xs_encode_response(rs, &frame, &len, &err) != 0) {
		c->close_after = true;
		return;
	}
	free(c->out);
	c->out = frame;
	c->out_len = len;
	c->out_off = 0;
	c->out_since = now_ms();
}

static void fill_error(struct xs_response *rs, uint16_t op, int ret, const char *reason)
{
	memset(rs, 0, sizeof(*rs));
	rs->op = op < XS_OP_COUNT ? op : 0;
	rs->ret = ret;
	snprintf(rs->reason, sizeof(rs->reason), "%s", reason);
}

static void queue_error(struct client *c, uint16_t op, int ret, const char *reason)
{
	struct xs_response rs;
	fill_error(&rs, op, ret, reason);
	queue_response(c, &rs);
}

/* A last word to a connection about to be closed: one try, never blocks. */
static void say_once(int fd, uint16_t op, int ret, const char *reason)
{
	struct xs_response rs;
	struct xs_err err = { "" };
	uint8_t *frame = NULL;
	size_t len = 0;
	fill_error(&rs, op, ret, reason);
	if (xs_encode_response(&rs, &frame, &len, &err) == 0) {
		ssize_t n = send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
	}
	free(frame);
}

/* ---- requests: read without blocking ---- */

static void client_reset(struct client *c)
{
	g_inflight -= c->body_held;
	c->body_held = 0;
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
	int rc = xs_quota_rate(&c->rate, c->h.op, now_ms(), &err);
	if (!rc)
		rc = xs_decode_request(c->h.op, c->body, c->h.length, &rq, &err);
	if (rc) {
		queue_error(c, c->h.op, rc, err.msg);
		return;
	}
	struct xs_response rs;
	struct xs_info info;
	memset(&info, 0, sizeof(info));
	dispatch(&rq, &rs, &info, &c->peer);
	if (rq.op == XS_OP_ACTION && (rq.action_flags & XS_ACTION_F_WAIT) && rs.ret == 0 &&
	    rq.cmd != XS_ACTION_UNLOAD) {
		/* Accepted: answer when it has ended (UNLOAD is done already,
		 * and answered at once with no outcome: the client asks GET). */
		c->waiting = true;
		atomic_fetch_add(&g_waiters, 1);
		/* Real-time while someone waits (decisions.md): the reply is
		 * not queued behind the program's busy threads. */
		if (!g_ctl_boosted)
			g_ctl_boosted = xs_thread_boost(0);
		snprintf(c->wait_name, sizeof(c->wait_name), "%s", rq.name);
		xs_info_release(&info);
		return;
	}
	queue_response(c, &rs);
	xs_info_release(&info);
}

static void stop_waiting(struct client *c)
{
	if (c->waiting) {
		c->waiting = false;
		if (atomic_fetch_sub(&g_waiters, 1) == 1 && g_ctl_boosted) {
			xs_thread_unboost(0);
			g_ctl_boosted = false;
		}
	}
}

/* Clients waiting for an action: the reply, with GET's fields, once the
 * payload's rc is no longer -EAGAIN. */
static void check_waiters(void)
{
	if (!atomic_load(&g_waiters))
		return;
	for (int i = 0; i < g_nclients; i++) {
		struct client *c = &g_clients[i];
		if (!c->waiting)
			continue;
		struct xs_response rs;
		memset(&rs, 0, sizeof(rs));
		rs.op = XS_OP_ACTION;
		xs_payloads_lock();
		struct xs_payload *p = xs_payload_find(c->wait_name);
		if (p && p->rc == -EAGAIN) {
			xs_payloads_unlock();
			continue;
		}
		if (!p) {
			rs.ret = -ENOENT;
			snprintf(rs.reason, sizeof(rs.reason), "payload '%s' is gone", c->wait_name);
		} else {
			rs.action_ended = true;
			rs.state = p->state;
			rs.rc = p->rc;
			snprintf(rs.rc_reason, sizeof(rs.rc_reason), "%s", p->rc ? p->reason : "");
		}
		xs_payloads_unlock();
		stop_waiting(c);
		queue_response(c, &rs);
	}
}

void xs_control_action_ended(void)
{
	pid_t tid = atomic_load(&g_ctl_tid);
	/* Never into a handler the program put on the signal. */
	if (!atomic_load(&g_waiters) || !tid || !xs_rendezvous_handler_ours())
		return;
	/* The park signal with no attempt in it: the handler returns at
	 * once, and poll() in the control thread ends with EINTR. */
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = xs_rendezvous_signal();
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_ptr = (void *)(uintptr_t)UINT64_MAX;
	syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, si.si_signo, &si);
}

/* Read what is there (up to one frame). Returns <0 when the connection must end. */
static int client_readable(struct client *c)
{
	while (!c->out) {
		bool in_head = c->head_got < sizeof(c->head);
		uint8_t *dst = in_head ? c->head + c->head_got : c->body + c->body_got;
		size_t want = in_head ? sizeof(c->head) - c->head_got : c->h.length - c->body_got;
		ssize_t n = want ? recv(c->fd, dst, want, MSG_DONTWAIT) : 0;
		if (want && n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (want && n == 0)
			return -1;
		c->last_ms = now_ms();
		if (!c->started_ms)
			c->started_ms = c->last_ms;
		if (in_head) {
			c->head_got += (size_t)n;
			if (c->head_got < sizeof(c->head))
				continue;
			struct xs_err err = { "" };
			xs_parse_header(c->head, &c->h);
			int rc = xs_check_header(&c->h, 0, &err);
			if (rc) {
				/* The stream may be out of step: say why, then end. */
				queue_error(c, c->h.op, rc, err.msg);
				c->close_after = true;
				client_reset(c);
				return 0;
			}
			/* Bounded before anything is allocated: the stream is
			 * then out of step, so the connection ends. */
			rc = xs_quota_check_frame(c->h.op, c->h.length, g_inflight, &err);
			if (rc) {
				queue_error(c, c->h.op, rc, err.msg);
				c->close_after = true;
				client_reset(c);
				return 0;
			}
			if (c->h.length && !(c->body = malloc(c->h.length))) {
				queue_error(c, c->h.op, -ENOMEM, "out of memory for the request");
				c->close_after = true;
				client_reset(c);
				return 0;
			}
			c->body_held = c->h.length;
			g_inflight += c->body_held;
		} else {
			c->body_got += (size_t)n;
		}
		if (c->body_got == c->h.length) {
			serve_frame(c);
			client_reset(c);
		}
	}
	return 0;
}

static bool peer_allowed(int fd, struct xs_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

/* Forget client i; close its fd only if it is still ours. */
static void client_drop(int i, bool ours)
{
	struct client *c = &g_clients[i];
	client_reset(c);
	stop_waiting(c);
	free(c->out);
	if (ours && client_is_ours(c))
		close(c->fd);
	g_clients[i] = g_clients[--g_nclients];
	memset(&g_clients[g_nclients], 0, sizeof(g_clients[0]));
}

/* Seconds until an idle connection frees a slot (for the 17th client). */
/* When the control thread must next look at a client without being woken:
 * its request's or reply's I/O bound, the recheck of a waiting client, or
 * its idle timeout; the earliest of all clients, UINT64_MAX with none. */
static uint64_t next_client_due_ms(uint64_t now)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < g_nclients; i++) {
		const struct client *c = &g_clients[i];
		uint64_t at = c->started_ms ? c->started_ms + XS_REQUEST_IO_MS
			      : c->out ? c->out_since + XS_REPLY_DRAIN_MS
			      : c->waiting ? now + XS_WAIT_RECHECK_MS : c->last_ms + g_idle_ms;
		if (at < best)
			best = at;
	}
	return best;
}

static unsigned next_slot_s(uint64_t now)
{
	uint64_t best = next_client_due_ms(now);
	return best == UINT64_MAX || best <= now ? 0 : (unsigned)((best - now + 999) / 1000);
}

static void accept_one(uint64_t now)
{
	if (!xs_sock_is_ours(&g_sock))
		return;
	int fd = accept4(g_sock.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	/* Refused before a byte is read. */
	struct xs_peer peer;
	if (!peer_allowed(fd, &peer)) {
		close(fd);
		return;
	}
	if (g_nclients == XS_MAX_CLIENTS) {
		char why[200];
		snprintf(why, sizeof(why), "too many clients connected (%d); a slot frees within "
			 "%u s (idle connections are closed after %u ms): try again then",
			 XS_MAX_CLIENTS, next_slot_s(now), g_idle_ms);
		say_once(fd, 0, -EBUSY, why);
		close(fd);
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	struct client *c = &g_clients[g_nclients++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->last_ms = now;
	c->peer = peer;
}

/* Is the listening socket still ours? If not, forget it (never close a
 * number the program may have reused) and make a new one, at most once a
 * second when that fails. */
static void check_listener(uint64_t now, uint64_t *retry_at, bool invalid)
{
	if (g_sock.fd >= 0 && (invalid || !xs_sock_is_ours(&g_sock))) {
		g_sock.fd = -1;
		*retry_at = 0;
	}
	if (g_sock.fd >= 0 || now < *retry_at)
		return;
	struct xs_err err = { "" };
	struct xs_sock s = { .fd = -1 };
	if (xs_sock_open(&s, &err) == 0) {
		g_sock = s;
		*retry_at = 0;
		return;
	}
	if (!*retry_at)
		xs_agent_log("xsplice: agent in pid %d cannot (re)create its socket: %s; retrying "
			  "every second\n", (int)getpid(), err.msg);
	*retry_at = now + XS_RECREATE_MS;
}

static void control_round(struct pollfd *fds, int n, uint64_t now, uint64_t *retry_at)
{
	check_waiters();
	/* Backwards: a drop moves the last client (already seen) into i. */
	for (int i = g_nclients - 1; i >= 0; i--) {
		struct client *c = &g_clients[i];
		short re = i + 1 < n ? fds[1 + i].revents : 0;
		if (re & POLLNVAL) {
			/* Closed under us by the program: drop, never close. */
			client_drop(i, false);
			continue;
		}
		if (re && !client_is_ours(c)) {
			client_drop(i, false);
			continue;
		}
		int rc = 0;
		if (re & (POLLIN | POLLHUP | POLLERR) && !c->out)
			rc = client_readable(c);
		if (!rc && c->out && (re & (POLLOUT | POLLHUP | POLLERR) || c->out_off == 0))
			rc = client_flush(c);
		if (!rc && c->out && since(now, c->out_since) > XS_REPLY_DRAIN_MS)
			rc = -1; /* it does not read its reply */
		if (!rc && c->started_ms && since(now, c->started_ms) > XS_REQUEST_IO_MS && client_is_ours(c)) {
			say_once(c->fd, c->head_got == sizeof(c->head) ? c->h.op : 0, -ETIMEDOUT,
				 "request incomplete after 5 s; closing the connection");
			rc = -1;
		}
		if (!rc && !c->started_ms && !c->out && !c->waiting && since(now, c->last_ms) > g_idle_ms &&
		    client_is_ours(c)) {
			char why[120];
			snprintf(why, sizeof(why), "connection idle for %u ms; closed by the agent",
				 g_idle_ms);
			say_once(c->fd, 0, -ETIMEDOUT, why);
			rc = -1;
		}
		if (rc < 0)
			client_drop(i, true);
	}
	short lre = fds[0].revents;
	if (g_sock.fd >= 0 && fds[0].fd == g_sock.fd && (lre & POLLNVAL))
		check_listener(now, retry_at, true);
	else if (g_sock.fd >= 0 && fds[0].fd == g_sock.fd && (lre & POLLIN))
		accept_one(now);
}

/*
 * The next deadline, or -1 (none): with no client connected and the
 * socket in place the thread sleeps until something happens, so an idle
 * agent costs the program no wake-up at all (docs/decisions.md, "Issue
 * 14"). A listening socket the program closed stays alive while poll()
 * holds it, so the next client's connect still wakes us; then the fd is
 * found not ours and a new socket made (that client's connection is reset
 * unread, and libxsplice-ctl connects again).
 */
static int poll_timeout(uint64_t now, uint64_t retry_at)
{
	uint64_t t = next_client_due_ms(now);
	if (t != UINT64_MAX)
		t++; /* past the bound, so the check that follows sees it expired */
	if (g_sock.fd < 0 && retry_at && retry_at < t)
		t = retry_at;
	if (t == UINT64_MAX)
		return -1;
	if (t <= now)
		return 0;
	return t - now > INT_MAX ? INT_MAX : (int)(t - now);
}

static void *control_thread(void *arg)
{
	bool in_child = arg != NULL;
	struct pollfd fds[1 + XS_MAX_CLIENTS];
	uint64_t retry_at = 0;

	xs_thread_prefer_latency();
	atomic_store(&g_ctl_tid, (pid_t)syscall(SYS_gettid));
	if (in_child) {
		/* A child that execs at once never gets this far: give it a
		 * moment before making a socket on its behalf. */
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	pthread_mutex_lock(&g_ctl_lock);
	for (;;) {
		uint64_t now = now_ms();
		check_listener(now, &retry_at, false);
		fds[0].fd = g_sock.fd;
		fds[0].events = POLLIN;
		fds[0].revents = 0;
		for (int i = 0; i < g_nclients; i++) {
			fds[1 + i].fd = g_clients[i].fd;
			/* A waiting client is not read (lock step): only its
			 * hang-up is noticed (always reported). */
			fds[1 + i].events = g_clients[i].out ? POLLOUT : g_clients[i].waiting ? 0 : POLLIN;
			fds[1 + i].revents = 0;
		}
		int n = 1 + g_nclients;
		int timeout = poll_timeout(now, retry_at);
		pthread_mutex_unlock(&g_ctl_lock);
		int r = poll(fds, (nfds_t)n, timeout);
		pthread_mutex_lock(&g_ctl_lock);
		if (r < 0) {
			for (int i = 0; i < n; i++)
				fds[i].revents = 0; /* EINTR: the park signal */
		}
		/* A fork handler may have changed the table meanwhile (no: only
		 * in a child, where this thread does not exist), so fds[] and
		 * g_clients[] are in step here. */
		control_round(fds, n, now_ms(), &retry_at);
	}
	return NULL;
}

int xs_control_start(bool in_child, struct xs_err *err)
{
	const char *idle = getenv("XSPLICE_IDLE_TIMEOUT_MS");
	if (idle && *idle) {
		char *end;
		unsigned long v = strtoul(idle, &end, 10);
		if (!*end && v > 0 && v <= 24ul * 3600 * 1000)
			g_idle_ms = (unsigned)v;
	}
	g_owner_pid = getpid();
	/* A fork child makes its socket from its control thread, 20 ms
	 * later (a child that execs at once leaves nothing behind). If it
	 * dropped root meanwhile and the directory is not its own, the
	 * socket is abstract (socket.c). */
	if (!in_child) {
		int rc = xs_sock_open(&g_sock, err);
		if (rc)
			return rc;
	}
	/* The control thread takes only the park signal: it is parked like
	 * any other thread, so nothing it runs can be mid-patch. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, xs_rendezvous_signal());
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	int rc = pthread_create(&t, NULL, control_thread, in_child ? (void *)1 : NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		xs_sock_close(&g_sock, true);
		return xs_fail(err, -rc, "cannot create its control thread: %s", strerror(rc));
	}
	pthread_setname_np(t, "xsplice-ctl");
	pthread_detach(t);
	g_started = true;
	return 0;
}

void xs_control_fork_prepare(void)
{
	pthread_mutex_lock(&g_ctl_lock);
	xs_payloads_lock();
	xs_action_fork_prepare();
}

void xs_control_fork_parent(void)
{
	xs_payloads_unlock();
	pthread_mutex_unlock(&g_ctl_lock);
}

void xs_control_fork_child(void)
{
	/* The parent's connections and socket: close our copies so the
	 * parent's clients see its own closes, and the path stays the
	 * parent's. Nothing else of the parent's runs here. */
	for (int i = 0; i < g_nclients; i++) {
		struct client *c = &g_clients[i];
		if (client_is_ours(c))
			close(c->fd);
		free(c->body);
		free(c->out);
	}
	memset(g_clients, 0, sizeof(g_clients));
	g_nclients = 0;
	g_inflight = 0;
	atomic_store(&g_waiters, 0);
	atomic_store(&g_ctl_tid, 0);
	g_ctl_boosted = false;
	if (xs_sock_is_ours(&g_sock))
		close(g_sock.fd);
	g_sock.fd = -1;
	g_sock.path[0] = '\0';
	xs_action_fork_child();
	xs_payloads_unlock();
	/* A fresh lock: the parent's control thread, which held it at other
	 * times, does not exist here. */
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	g_ctl_lock = fresh;
	struct xs_err err = { "" };
	/* Both threads now, in the fork handler: a program may forbid new
	 * threads right after (haproxy's workers set RLIMIT_NPROC to 0). */
	if (g_started && xs_action_init(&err) != 0)
		xs_agent_log("xsplice: agent not restarted in fork child %d: %s\n", (int)getpid(),
			  err.msg);
	else if (g_started && xs_control_start(true, &err) != 0)
		xs_agent_log("xsplice: agent not restarted in fork child %d: %s\n", (int)getpid(),
			  err.msg);
}

void xs_control_exit(void)
{
	/* The control thread may still run: only the path goes, and only
	 * while our socket is the one bound there. */
	if (g_started && getpid() == g_owner_pid && g_sock.path[0] && !g_sock.abstract &&
	    xs_sock_is_ours(&g_sock))
		unlink(g_sock.path);
}
