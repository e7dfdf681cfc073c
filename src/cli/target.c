/* SPDX-License-Identifier: MIT */
/*
 * xsplice: reaching one process and acting on it: the actions table,
 * connect (attaching when there is no agent), reading a payload file,
 * upload with its check, and "Performing <verb>: completed".
 *
 * Threading: one ctx (one ctl handle) per caller; no shared state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"

static const struct action actions[] = {
	{ "apply", XS_ACTION_APPLY, XS_STATE_CHECKED, XS_STATE_APPLIED, true },
	{ "revert", XS_ACTION_REVERT, XS_STATE_APPLIED, XS_STATE_CHECKED, true },
	{ "replace", XS_ACTION_REPLACE, XS_STATE_CHECKED, XS_STATE_APPLIED, true },
	{ "unload", XS_ACTION_UNLOAD, XS_STATE_CHECKED, 0, false },
};

const struct action *find_action(const char *verb)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].verb, verb))
			return &actions[i];
	return NULL;
}

void print_attached(FILE *f, int pid, const struct xs_attach_result *r)
{
	fprintf(f, "Attached to %d: agent loaded in %.1f ms, 1 thread (%d, in %s) stopped "
		"%.0f \u00b5s, the others not stopped\n", pid, (double)r->total_ns / 1e6, r->tid,
		r->where, (double)r->pause_ns / 1e3);
}

int connect_target(struct ctx *c)
{
	struct xs_err err = { "" };
	int rc;

	if (c->socket)
		rc = xs_ctl_connect_path(c->socket, &c->ctl, &err);
	else
		rc = xs_ctl_connect_pid(c->pid, &c->ctl, &err);
	if (rc == -ENOENT && !c->socket && !c->no_attach) {
		/* No agent: load one (issue 9), then connect again. */
		struct xs_attach_result res;
		struct xs_err aerr = { "" };
		int arc = xs_attach(c->pid, NULL, 0, &res, &aerr);
		if (arc)
			return report(arc, &aerr, attach_hint(arc), "process %d has no agent and "
				      "cannot be attached (--no-attach to only connect)", c->pid);
		if (!res.already)
			print_attached(stderr, c->pid, &res);
		err.msg[0] = '\0';
		rc = xs_ctl_connect_pid(c->pid, &c->ctl, &err);
	}
	if (rc) {
		if (c->socket)
			return report(rc, &err, hint_for(rc, "connect", &err), "cannot connect to %s",
				      c->socket);
		return report(rc, &err, hint_for(rc, "connect", &err), "cannot reach process %d", c->pid);
	}
	/* Each request may take as long as the action bound to be answered. */
	unsigned io = c->timeout_ms + WAIT_MARGIN_MS;
	if (io < 10000)
		io = 10000;
	xs_ctl_set_io_timeout(c->ctl, io);
	return EXIT_OK;
}

unsigned wait_bound(const struct ctx *c)
{
	uint64_t w = (uint64_t)(c->timeout_ms ? c->timeout_ms : AGENT_DEFAULT_GUESS_MS) +
		     WAIT_MARGIN_MS;
	return w > UINT_MAX ? UINT_MAX : (unsigned)w;
}

/* Read a whole payload file; an exit code on failure (message printed). */
int read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct xs_err err = { "" };
	struct stat st;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		rc = -errno;
		xs_fail(&err, rc, "%s", strerror(-rc));
		return report(rc, &err, NULL, "cannot open %s", path) == EXIT_NOTFOUND
			       ? EXIT_NOTFOUND : EXIT_FAIL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		close(fd);
		xs_fail(&err, rc, "not a regular file");
		report(rc, &err, NULL, "cannot read %s", path);
		return EXIT_FAIL;
	}
	if ((uint64_t)st.st_size > XS_MAX_PAYLOAD) {
		close(fd);
		xs_fail(&err, -EFBIG, "%lld bytes, a payload may have at most %u",
			(long long)st.st_size, XS_MAX_PAYLOAD);
		return report(-EFBIG, &err, NULL, "cannot upload %s", path);
	}
	uint8_t *b = malloc(st.st_size ? (size_t)st.st_size : 1);
	size_t done = 0;
	if (!b) {
		close(fd);
		xs_fail(&err, -ENOMEM, "out of memory");
		return report(-ENOMEM, &err, NULL, "cannot read %s", path);
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, b + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			close(fd);
			free(b);
			xs_fail(&err, rc, "%s", n < 0 ? strerror(-rc) : "file shrank while reading");
			report(rc, &err, NULL, "cannot read %s", path);
			return EXIT_FAIL;
		}
		done += (size_t)n;
	}
	close(fd);
	*buf = b;
	*len = done;
	return EXIT_OK;
}

int check_name(const struct command *cmd, const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return usage_error(cmd, "%s: the payload name is empty", cmd->name);
	if (n >= XS_NAME_SIZE)
		return usage_error(cmd, "%s: the payload name is %zu bytes, at most %d allowed",
				   cmd->name, n, XS_NAME_SIZE - 1);
	return EXIT_OK;
}

/* One dot per poll, at most one per 100 ms. */
void dot(void *arg)
{
	uint64_t *last = arg;
	uint64_t now = xs_mono_ms();
	if (now - *last >= 100) {
		*last = now;
		putchar('.');
		fflush(stdout);
	}
}

/* Start an action and wait for its outcome: 0 or its error, with the reason. */
int run_action(struct ctx *c, const char *name, uint32_t cmd,
		      void (*progress)(void *arg), void *arg, struct xs_err *err)
{
	/* One round trip: the agent answers when the action has ended. */
	return xs_ctl_act(c->ctl, name, cmd, c->timeout_ms, wait_bound(c), progress, arg, err);
}

/*
 * "Performing apply:. completed". Returns an exit code; on failure the
 * agent's error is printed.
 */
int perform(struct ctx *c, const char *name, const struct action *a)
{
	struct xs_err err = { "" };
	uint64_t last = xs_mono_ms();
	int rc;

	printf("Performing %s:", a->verb);
	if (a->dots)
		putchar('.');
	fflush(stdout);
	rc = run_action(c, name, a->cmd, a->dots ? dot : NULL, &last, &err);
	if (rc) {
		puts(" failed");
		return report(rc, &err, hint_for(rc, a->verb, &err), "%s %s", a->verb, name);
	}
	puts(" completed");
	return EXIT_OK;
}

int upload(struct ctx *c, const struct command *cmd, const char *name, const char *file)
{
	struct xs_err err = { "" };
	uint8_t *buf = NULL;
	size_t len = 0;
	int ex, rc;

	if ((ex = check_name(cmd, name)) || (ex = read_file(file, &buf, &len)))
		return ex;
	if ((ex = connect_target(c))) {
		free(buf);
		return ex;
	}
	printf("Uploading %s (%zu bytes)\n", file, len);
	fflush(stdout);
	rc = xs_ctl_upload(c->ctl, name, buf, len, &err);
	free(buf);
	if (rc)
		return report(rc, &err, hint_for(rc, "upload", &err), "upload of %s as %s failed", file,
			      name);
	/* The agent verified and linked it during UPLOAD: confirm it sits in CHECKED. */
	printf("Performing check:");
	fflush(stdout);
	rc = xs_ctl_wait(c->ctl, name, XS_ACTION_APPLY, wait_bound(c), NULL, NULL, &err);
	if (rc) {
		puts(" failed");
		return report(rc, &err, NULL, "check of %s", name);
	}
	puts(" completed");
	return EXIT_OK;
}

/* hello.livepatch -> hello; the seed names payloads after their file. */
int name_from_file(const char *file, char *name, size_t size)
{
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	const char *dot = strrchr(base, '.');
	size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	if (n == 0 || n >= size)
		return -1;
	memcpy(name, base, n);
	name[n] = '\0';
	return 0;
}
