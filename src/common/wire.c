/* SPDX-License-Identifier: MIT */
/*
 * Frame I/O on the control socket, shared by the agent and the clients:
 * write a whole buffer, read one frame (header via frame.c, then the body).
 * Knows nothing of message bodies (protocol.c) or of the header layout
 * (frame.c).
 *
 * End-of-stream conventions (documented in docs/protocol.md):
 *   - the peer closes before the first byte of a frame: -ENOTCONN
 *     (a clean close between requests; the agent just drops the client);
 *   - the peer closes in the middle of a frame: -ECONNRESET;
 *   - the time bound passes: -ETIMEDOUT.
 * Writes use MSG_NOSIGNAL: a client that goes away must never kill the
 * target process (or the CLI) with SIGPIPE.
 *
 * Threading: no state of its own. Calls on different fds may run in
 * parallel; two threads must not read (or write) the same fd at once, or
 * their frames interleave: the caller owns that serialisation (the agent
 * does all its socket I/O on its control thread; a ctl handle is used by
 * one thread at a time).
 */
#include "xsplice/protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/frame.h"

/* Wait for `events` until deadline (0 = none). 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		int ms = -1;
		if (deadline) {
			uint64_t now = xs_mono_ms();
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

int xs_read_frame(int fd, struct xs_frame_header *h, uint8_t **body, int expect_reply,
		  unsigned timeout_ms, struct xs_err *err)
{
	uint8_t raw[XS_FRAME_HEADER_SIZE];
	uint64_t deadline = timeout_ms ? xs_mono_ms() + timeout_ms : 0;
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
