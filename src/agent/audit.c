/* SPDX-License-Identifier: MIT */
/*
 * The audit trail: who changed this process, and when. Each record goes
 * into a ring of the last XS_AUDIT_MAX (INFO returns it) and, as one line,
 * to syslog with facility authpriv. The agent does not call syslog(3): that
 * would share (and could change) the program's own openlog() ident and
 * options. It sends an RFC 3164 datagram itself, without blocking, to
 * /dev/log, or to $XSPLICE_SYSLOG_SOCKET read at start (tests listen
 * there). A syslog that is absent or full loses the line, never the
 * record in the ring.
 *
 * Threading: g_lock guards the ring; records come from the control
 * thread and (ends of actions) the action thread.
 */
#include "audit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"
#include "payload.h"

#define LOG_AUTHPRIV_FAC (10 << 3)
#define SEV_NOTICE 5
#define SEV_WARNING 4

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xs_info_audit g_ring[XS_AUDIT_MAX];
static uint32_t g_next, g_count;
static char g_syslog_path[108] = "/dev/log";

void xs_audit_init(void)
{
	const char *s = getenv("XSPLICE_SYSLOG_SOCKET");
	if (s && *s && strlen(s) < sizeof(g_syslog_path))
		snprintf(g_syslog_path, sizeof(g_syslog_path), "%s", s);
}

void xs_audit_subject_of(const struct xs_payload *p, const char *name, struct xs_audit_subject *s)
{
	memset(s, 0, sizeof(*s));
	/* name ? name : "": -O3 (the release build) otherwise sees a null
	 * %s through an inlined caller and -Werror=format-truncation stops. */
	snprintf(s->name, sizeof(s->name), "%s", p ? p->name : name ? name : "");
	if (p) {
		xs_hex_encode(p->ld.build_id, p->ld.build_id_len, s->build_id);
		snprintf(s->signer, sizeof(s->signer), "%s", p->signer);
	}
}

static void to_syslog(const struct xs_info_audit *a)
{
	char line[1400];
	char ts[32];
	time_t t = (time_t)(a->time_ns / 1000000000ull);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	int n = snprintf(line, sizeof(line),
			 "<%d>%s xsplice[%d]: op=%s payload=%s build_id=%s signer=\"%s\" "
			 "client_pid=%u client_uid=%u result=%d%s%s",
			 LOG_AUTHPRIV_FAC | (a->result ? SEV_WARNING : SEV_NOTICE), ts, (int)getpid(),
			 a->op, a->name[0] ? a->name : "-", a->build_id[0] ? a->build_id : "-",
			 a->signer, a->pid, a->uid, a->result, a->reason[0] ? " reason=" : "",
			 a->reason);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, g_syslog_path, strlen(g_syslog_path));
	ssize_t w = sendto(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   sizeof(sa));
	(void)w;
	close(fd);
}

void xs_audit_record(const struct xs_peer *peer, const char *op, const struct xs_audit_subject *s,
		     int result, const char *reason)
{
	struct xs_info_audit a;
	memset(&a, 0, sizeof(a));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	a.time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	a.pid = peer ? (uint32_t)peer->pid : 0;
	a.uid = peer ? (uint32_t)peer->uid : 0;
	snprintf(a.op, sizeof(a.op), "%s", op);
	snprintf(a.name, sizeof(a.name), "%s", s->name);
	snprintf(a.build_id, sizeof(a.build_id), "%s", s->build_id);
	snprintf(a.signer, sizeof(a.signer), "%s", s->signer);
	a.result = result;
	snprintf(a.reason, sizeof(a.reason), "%s", result ? reason : "");
	pthread_mutex_lock(&g_lock);
	g_ring[g_next] = a;
	g_next = (g_next + 1) % XS_AUDIT_MAX;
	if (g_count < XS_AUDIT_MAX)
		g_count++;
	pthread_mutex_unlock(&g_lock);
	to_syslog(&a);
}

void xs_audit_set_requester(struct xs_payload *p, const struct xs_peer *peer)
{
	p->audit_pid = peer ? (uint32_t)peer->pid : 0;
	p->audit_uid = peer ? (uint32_t)peer->uid : 0;
}

void xs_audit_done_prepare(const struct xs_payload *p, uint32_t cmd, struct xs_audit_done *d)
{
	xs_audit_subject_of(p, NULL, &d->subject);
	const char *an = xs_action_name(cmd);
	snprintf(d->op, sizeof(d->op), "%s-done", an ? an : "action");
	d->who.pid = (pid_t)p->audit_pid;
	d->who.uid = (uid_t)p->audit_uid;
}

void xs_audit_done_record(const struct xs_audit_done *d, int rc, const char *reason)
{
	xs_audit_record(&d->who, d->op, &d->subject, rc, reason);
}

void xs_audit_action_done(const struct xs_payload *p, uint32_t cmd, int rc, const char *reason)
{
	struct xs_audit_done d;
	xs_audit_done_prepare(p, cmd, &d);
	xs_audit_done_record(&d, rc, reason);
}

int xs_audit_snapshot(struct xs_info_audit **out, uint32_t *n)
{
	pthread_mutex_lock(&g_lock);
	uint32_t cnt = g_count;
	struct xs_info_audit *a = cnt ? malloc(cnt * sizeof(*a)) : NULL;
	if (cnt && !a) {
		pthread_mutex_unlock(&g_lock);
		return -ENOMEM;
	}
	uint32_t first = (g_next + XS_AUDIT_MAX - cnt) % XS_AUDIT_MAX;
	for (uint32_t i = 0; i < cnt; i++)
		a[i] = g_ring[(first + i) % XS_AUDIT_MAX];
	pthread_mutex_unlock(&g_lock);
	*out = a;
	*n = cnt;
	return 0;
}
