/* SPDX-License-Identifier: MIT */
/*
 * xsplice watch: the service that applies payloads installed in the patch
 * directory to the processes already running (docs/user-guide.md, "Patch
 * every process on the host"; contrib/systemd/xsplice-watch.service).
 * Processes started afterwards get them from their agent at start; watch
 * covers the ones that were running when a payload was installed,
 * attaching the agent where needed, exactly as `load --all`.
 *
 *   at start   every installed payload not marked bad (a catch-up pass)
 *   inotify    DIR/NAME.livepatch renamed in (xsplice install) or written
 *              and closed (cp): that payload; DIR/NAME.bad: logged only
 *              (mark-bad removes it from the processes itself)
 *   SIGHUP     the catch-up pass again
 *   SIGTERM, SIGINT   stop after the payload being applied (never half-way
 *              through a process: the fleet workers ignore them), exit 0
 *
 * One line per action on stdout (the journal under systemd), flushed.
 *
 * Threading: single-threaded; signals are blocked and taken only in
 * ppoll, so a handler never runs inside the fleet code.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/installed.h"
#include "common/patchdir.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logf_(const char *fmt, ...)
{
	va_list ap;
	fputs("watch: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* Apply one installed payload everywhere it fits. */
static void apply_installed(struct ctx *c, const char *dir, const char *name)
{
	struct xs_err err = { "" };
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = xs_patchdir_path(dir, name, XS_PATCHDIR_SUFFIX, path, sizeof(path), &err)) ||
	    (rc = installed_read(path, &buf, &len, &err))) {
		logf_("%s: not applied: %s (%s)", name, err.msg, errname(rc));
		return;
	}
	char bad[4096];
	struct stat st;
	if (!xs_patchdir_path(dir, name, XS_PATCHDIR_BAD, bad, sizeof(bad), NULL) &&
	    stat(bad, &st) == 0) {
		logf_("%s: marked bad: not applied", name);
		free(buf);
		return;
	}
	logf_("%s: applying %s", name, path);
	char label[XS_NAME_SIZE + 16];
	snprintf(label, sizeof(label), "watch: %s", name);
	fleet_load(c, name, buf, len, label, 0);
	free(buf);
}

static void catch_up(struct ctx *c, const char *dir)
{
	struct xs_err err = { "" };
	struct installed *v;
	size_t n;
	int rc = installed_list(dir, &v, &n, &err);
	if (rc) {
		logf_("cannot list %s: %s (%s)", dir, err.msg, errname(rc));
		return;
	}
	logf_("%zu payload%s installed in %s", n, n == 1 ? "" : "s", dir);
	for (size_t i = 0; i < n && !got_signal; i++) {
		if (v[i].bad)
			logf_("%s: marked bad: not applied", v[i].name);
		else
			apply_installed(c, dir, v[i].name);
	}
	free(v);
}

/* NAME of "NAME<suffix>" if ev names such a file with a valid NAME. */
static bool name_of(const char *file, const char *suffix, char *name, size_t len)
{
	size_t fl = strlen(file), sl = strlen(suffix);
	if (fl <= sl || strcmp(file + fl - sl, suffix) || fl - sl >= len)
		return false;
	memcpy(name, file, fl - sl);
	name[fl - sl] = '\0';
	return xs_patchdir_check_name(name, NULL) == 0;
}

int cmd_watch(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	char dir[4096];
	int rc;

	(void)cmd, (void)argv, (void)argc;
	if ((rc = installed_dir(c, dir, sizeof(dir), &err)))
		return report(rc, &err, NULL, "watch");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		xs_fail(&err, rc, "%s", strerror(-rc));
		return report(rc, &err, NULL, "watch: cannot create the patch directory %s", dir);
	}
	if ((rc = xs_patchdir_trusted(dir, &err)))
		return report(rc, &err, NULL, "watch: the patch directory %s cannot be trusted",
			      dir);
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0 || inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF |
						 IN_MOVE_SELF) < 0) {
		rc = -errno;
		xs_fail(&err, rc, "inotify: %s", strerror(-rc));
		if (in >= 0)
			close(in);
		return report(rc, &err, NULL, "watch %s", dir);
	}

	/* Signals only inside ppoll: the fleet code runs with them blocked. */
	sigset_t block, wait_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGHUP);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	logf_("watching %s (pid %d)", dir, (int)getpid());
	catch_up(c, dir);
	int ex = EXIT_OK;
	for (;;) {
		if (got_signal == SIGHUP) {
			got_signal = 0;
			logf_("SIGHUP: applying every installed payload again");
			catch_up(c, dir);
			continue;
		}
		if (got_signal) {
			logf_("stopping (%s)", got_signal == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
		struct pollfd pf = { .fd = in, .events = POLLIN };
		int k = ppoll(&pf, 1, NULL, &wait_mask);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			logf_("poll: %s", strerror(errno));
			ex = EXIT_FAIL;
			break;
		}
		/* Read every pending event, then act once per name. */
		char names[64][XS_NAME_SIZE];
		size_t nn = 0;
		bool gone = false, overflow = false;
		for (;;) {
			char evbuf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t len = read(in, evbuf, sizeof(evbuf));
			if (len <= 0)
				break;
			for (char *p = evbuf; p < evbuf + len;) {
				struct inotify_event *ev = (struct inotify_event *)p;
				p += sizeof(*ev) + ev->len;
				char name[XS_NAME_SIZE];
				if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
					gone = true;
				if (ev->mask & IN_Q_OVERFLOW)
					overflow = true; /* events were lost */
				if (!ev->len)
					continue;
				if (name_of(ev->name, XS_PATCHDIR_BAD, name, sizeof(name))) {
					logf_("%s: marked bad (not applied from now on)", name);
					continue;
				}
				if (!name_of(ev->name, XS_PATCHDIR_SUFFIX, name, sizeof(name)))
					continue;
				bool dup = false;
				for (size_t i = 0; i < nn && !dup; i++)
					dup = !strcmp(names[i], name);
				if (!dup && nn < 64)
					snprintf(names[nn++], XS_NAME_SIZE, "%s", name);
				else if (!dup)
					overflow = true;
			}
		}
		if (overflow) {
			/* More payloads at once than we keep names of: all of them. */
			logf_("more payloads installed at once than followed one by one: "
			      "applying every one");
			catch_up(c, dir);
		} else {
			for (size_t i = 0; i < nn && !got_signal; i++) {
				logf_("%s: installed", names[i]);
				apply_installed(c, dir, names[i]);
			}
		}
		if (gone) {
			logf_("the patch directory %s was removed or moved: stopping", dir);
			ex = EXIT_FAIL;
			break;
		}
	}
	close(in);
	return ex;
}
