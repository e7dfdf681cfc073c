/* SPDX-License-Identifier: MIT */
/*
 * Frame I/O on the control socket, the socket location, and small helpers
 * shared by the agent and the clients.
 *
 * End-of-stream conventions (documented in docs/protocol.md):
 *   - the peer closes before the first byte of a frame: -ENOTCONN
 *     (a clean close between requests; the agent just drops the client);
 *   - the peer closes in the middle of a frame: -ECONNRESET;
 *   - the time bound passes: -ETIMEDOUT.
 * Writes use MSG_NOSIGNAL: a client that goes away must never kill the
 * target process (or the CLI) with SIGPIPE.
 */
#include "xsplice/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait for `events` until deadline (0 = none). 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		int ms = -1;
		if (deadline) {
			uint64_t now = now_ms();
			if (now >= deadline)
				return -ETIMEDOUT;
			uint64_t left = deadline - now;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, ms);
		if (n > 0)
			return 0; /* readable, writable, or an error the next call reports */
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int xs_write_all(int fd, const void *buf, size_t len, struct xs_err *err)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int use_send = 1;

	while (done < len) {
		ssize_t n = use_send ? send(fd, p + done, len - done, MSG_NOSIGNAL)
				     : write(fd, p + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return xs_fail(err, -EIO, "write made no progress after %zu of %zu bytes",
				       done, len);
		if (errno == EINTR)
			continue;
		if (errno == ENOTSOCK && use_send) {
			use_send = 0; /* a pipe or file (tests): plain write */
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int fl = fcntl(fd, F_GETFL);
			/* Blocking socket: SO_SNDTIMEO expired. */
			if (fl < 0 || !(fl & O_NONBLOCK))
				return xs_fail(err, -ETIMEDOUT,
					       "timed out sending (%zu of %zu bytes sent)", done, len);
			int rc = wait_fd(fd, POLLOUT, 0);
			if (rc)
				return xs_fail(err, rc, "waiting to send: %s", strerror(-rc));
			continue;
		}
		int e = errno;
		if (e == EPIPE || e == ECONNRESET)
			return xs_fail(err, -e, "connection closed by the peer after %zu of %zu bytes sent",
				       done, len);
		return xs_fail(err, -e, "send: %s", strerror(e));
	}
	return 0;
}

/*
 * Read exactly len bytes before deadline. *got counts bytes read so the
 * caller can tell a clean close (nothing read) from a cut-off frame.
 */
static int read_full(int fd, uint8_t *buf, size_t len, uint64_t deadline, size_t *got)
{
	*got = 0;
	while (*got < len) {
		if (deadline) {
			int rc = wait_fd(fd, POLLIN, deadline);
			if (rc)
				return rc;
		}
		ssize_t n = read(fd, buf + *got, len - *got);
		if (n > 0) {
			*got += (size_t)n;
			continue;
		}
		if (n == 0)
			return *got ? -ECONNRESET : -ENOTCONN;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int rc = wait_fd(fd, POLLIN, deadline);
			if (rc)
				return rc;
			continue;
		}
		return -errno;
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void xs_parse_header(const uint8_t raw[16], struct xs_frame_header *h)
{
	h->magic = le32(raw);
	h->version = (uint16_t)(raw[4] | raw[5] << 8);
	h->op = (uint16_t)(raw[6] | raw[7] << 8);
	h->length = le32(raw + 8);
	h->flags = le32(raw + 12);
}

int xs_read_frame(int fd, struct xs_frame_header *h, uint8_t **body, int expect_reply,
		  unsigned timeout_ms, struct xs_err *err)
{
	uint8_t raw[sizeof(struct xs_frame_header)];
	uint64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0;
	size_t got;
	int rc;

	*body = NULL;
	rc = read_full(fd, raw, sizeof(raw), deadline, &got);
	if (rc == -ENOTCONN)
		return xs_fail(err, rc, "connection closed by the peer");
	if (rc == -ECONNRESET)
		return xs_fail(err, rc, "connection closed in a frame header (%zu of %zu bytes)",
			       got, sizeof(raw));
	if (rc == -ETIMEDOUT)
		return xs_fail(err, rc, "no %s within %u ms", expect_reply ? "reply" : "request",
			       timeout_ms);
	if (rc)
		return xs_fail(err, rc, "receive: %s", strerror(-rc));

	xs_parse_header(raw, h);
	rc = xs_check_header(h, expect_reply, err);
	if (rc)
		return rc;
	if (h->length == 0)
		return 0;

	uint8_t *b = malloc(h->length);
	if (!b)
		return xs_fail(err, -ENOMEM, "out of memory for a %u-byte frame", h->length);
	rc = read_full(fd, b, h->length, deadline, &got);
	if (rc) {
		free(b);
		if (rc == -ENOTCONN || rc == -ECONNRESET)
			return xs_fail(err, -ECONNRESET,
				       "connection closed in a frame body (%zu of %u bytes)", got,
				       h->length);
		if (rc == -ETIMEDOUT)
			return xs_fail(err, rc, "timed out after %u ms in a frame body (%zu of %u bytes)",
				       timeout_ms, got, h->length);
		return xs_fail(err, rc, "receive: %s", strerror(-rc));
	}
	*body = b;
	return 0;
}

/* ---- socket location ---- */

int xs_socket_dir(char *buf, size_t len, struct xs_err *err)
{
	const char *env = getenv("XSPLICE_SOCKET_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/xsplice");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
		n = snprintf(buf, len, "%s/xsplice", env);
	else
		n = snprintf(buf, len, "/tmp/xsplice-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return xs_fail(err, -ENAMETOOLONG, "socket directory name longer than %zu bytes",
			       len ? len - 1 : 0);
	return 0;
}

int xs_socket_path_for(const char *dir, int pid, char *buf, size_t len, struct xs_err *err)
{
	int n = snprintf(buf, len, "%s/%d.sock", dir, pid);
	if (n < 0 || (size_t)n >= len)
		return xs_fail(err, -ENAMETOOLONG, "socket path %s/%d.sock longer than %zu bytes",
			       dir, pid, len ? len - 1 : 0);
	/* It must also fit a sockaddr_un, or bind/connect would truncate it. */
	if ((size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return xs_fail(err, -ENAMETOOLONG,
			       "socket path %s is %d bytes, a Unix socket allows at most %zu", buf,
			       n, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

/* ---- hex ---- */

void xs_hex_encode(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* -EINVAL: odd length or a non-hex digit; -ERANGE: more than out_max bytes. */
int xs_hex_decode(const char *hex, uint8_t *out, size_t out_max, size_t *n)
{
	size_t len = strlen(hex);
	if (len % 2)
		return -EINVAL;
	if (len / 2 > out_max)
		return -ERANGE;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}

/* ---- names ---- */

const char *xs_state_name(uint32_t state)
{
	/* Thread-local so concurrent callers (agent threads) don't race. */
	static __thread char buf[24];

	switch (state) {
	case XS_STATE_CHECKED:
		return "CHECKED";
	case XS_STATE_APPLIED:
		return "APPLIED";
	default:
		snprintf(buf, sizeof(buf), "UNKNOWN(%u)", state);
		return buf;
	}
}

const char *xs_action_name(uint32_t cmd)
{
	switch (cmd) {
	case XS_ACTION_UNLOAD:
		return "unload";
	case XS_ACTION_REVERT:
		return "revert";
	case XS_ACTION_APPLY:
		return "apply";
	case XS_ACTION_REPLACE:
		return "replace";
	default:
		return NULL;
	}
}
