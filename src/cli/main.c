/* SPDX-License-Identifier: MIT */
/*
 * xsplice: the command-line tool (the seed's xen-livepatch) that drives the
 * agent inside a running process through libxsplice-ctl: option parsing,
 * the command table, the seed's output, exit codes (docs/cli.md).
 *
 * Threading: a single-threaded program with one connection (one ctl
 * handle) per run, opened after the arguments are checked and closed on
 * exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/buildid.h"
#include "cli/json.h"
#include "common/clock.h"
#include "common/hex.h"
#include "ctl/xsplice-ctl.h"
#include "inject/inject.h"
#include "xsplice/protocol.h"

#ifndef XSPLICE_VERSION
#define XSPLICE_VERSION "unknown"
#endif

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,     /* I/O, connection lost, anything else */
	EXIT_USAGE = 2,
	EXIT_NOTFOUND = 3, /* no such process, agent, payload or file */
	EXIT_REFUSED = 4,  /* the agent said no */
	EXIT_TIMEOUT = 5,  /* -ETIMEDOUT, or threads not stopped in time (-EBUSY) */
};

/* Client-side slack on top of the action's own time bound. */
#define WAIT_MARGIN_MS 10000u
/* What we assume the agent's default bound is at most, when not told. */
#define AGENT_DEFAULT_GUESS_MS 30000u

struct ctx {
	int pid;
	const char *socket;
	unsigned timeout_ms;
	bool json;
	bool no_attach; /* --no-attach: never load the agent into the target */
	struct xs_ctl *ctl;
};

struct command {
	const char *name;
	const char *args;
	const char *summary;
	const char *help;
	int min_args, max_args;
	bool needs_target; /* -p or --socket */
	int (*fn)(struct ctx *c, const struct command *cmd, char **argv, int argc);
};

static const struct command commands[];
static int parse_uint(const char *s, unsigned long max, unsigned long *out);
static int cmd_cancel(struct ctx *c, const struct command *cmd, char **argv, int argc);

/*
 * The actions, as Xen's xen-livepatch action_options[]: the command (also
 * the word of "Performing <verb>:"), the ACTION code, the state the payload
 * must be in and the state it ends in (the agent enforces the transition;
 * the table says what it is), and whether progress dots are printed.
 */
struct action {
	const char *verb;
	uint32_t cmd;      /* XS_ACTION_* */
	uint32_t allow;    /* XS_STATE_* the payload must be in */
	uint32_t expected; /* XS_STATE_* after success; 0: the payload is gone */
	bool dots;         /* "Performing apply:." and a dot per poll */
};

static const struct action actions[] = {
	{ "apply", XS_ACTION_APPLY, XS_STATE_CHECKED, XS_STATE_APPLIED, true },
	{ "revert", XS_ACTION_REVERT, XS_STATE_APPLIED, XS_STATE_CHECKED, true },
	{ "replace", XS_ACTION_REPLACE, XS_STATE_CHECKED, XS_STATE_APPLIED, true },
	{ "unload", XS_ACTION_UNLOAD, XS_STATE_CHECKED, 0, false },
};

static const struct action *find_action(const char *verb)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].verb, verb))
			return &actions[i];
	return NULL;
}

/* ---- errors ---- */

static const char *errname(int rc)
{
	const char *n = xs_errno_name(rc);
	if (strcmp(n, "E?") == 0) {
		const char *g = strerrorname_np(rc < 0 ? -rc : rc);
		if (g)
			return g;
	}
	return n;
}

static int exit_for(int rc)
{
	switch (rc < 0 ? -rc : rc) {
	case 0:
		return EXIT_OK;
	case ENOENT:
	case ESRCH:
		return EXIT_NOTFOUND;
	case ETIMEDOUT:
	case EBUSY:
		return EXIT_TIMEOUT;
	/* the transport, not the agent's judgement */
	case EIO:
	case ECONNRESET:
	case ECONNREFUSED:
	case EPIPE:
	case ENOTCONN:
	case EPROTO:
	case EMSGSIZE:
	case ENOMEM:
	case EINTR:
	case EBADF:
	case EAGAIN:
	case EISDIR:
		return EXIT_FAIL;
	default:
		return EXIT_REFUSED;
	}
}

/* "xsplice: <what>: <reason> (<ERRNO>)" and a hint when one helps. */
static int report(int rc, const struct xs_err *err, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int report(int rc, const struct xs_err *err, const char *hint, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("xsplice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (%s)\n", err && err->msg[0] ? err->msg : strerror(-rc),
		errname(rc));
	if (hint)
		fprintf(stderr, "xsplice: hint: %s\n", hint);
	return exit_for(rc);
}

/* Advice for a refused action or request, by errno. */
static const char *hint_for(int rc, const char *op)
{
	switch (-rc) {
	case EBUSY:
		return "a thread stayed inside a function being patched (or did not stop); "
		       "try again, or give more time with --timeout MS";
	case EPERM:
	case EACCES:
		return "run as root or as the user that owns the process";
	case EINVAL:
		if (op && find_action(op))
			return "apply and replace need a CHECKED payload, revert an APPLIED one, "
			       "unload a CHECKED one (revert it first)";
		return NULL;
	case ENOENT:
		if (op && strcmp(op, "connect") != 0)
			return "'xsplice -p PID list' shows the payloads loaded";
		return NULL;
	case EEXIST:
		return "a payload with this name or build-id is already loaded: unload it "
		       "first, or upload under another name";
	default:
		return NULL;
	}
}

static int usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("xsplice: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "usage: xsplice [-p PID | --socket PATH] %s%s%s\n"
			"Try 'xsplice help %s'.\n", cmd->name, cmd->args[0] ? " " : "",
			cmd->args, cmd->name);
	else
		fputs("Try 'xsplice --help'.\n", stderr);
	return EXIT_USAGE;
}

/* ---- help ---- */

static const char exit_codes_help[] =
	"Exit codes:\n"
	"  0  success\n"
	"  1  other failure (I/O, connection lost, malformed reply)\n"
	"  2  usage error\n"
	"  3  not found: no such process, no agent in it, no such payload, file missing\n"
	"  4  refused by the agent: invalid transition, bad payload, build-id mismatch,\n"
	"     permission\n"
	"  5  timed out: the action's time bound passed, or the target's threads could\n"
	"     not be stopped outside the patched functions in time (EBUSY)\n";

static void global_help(FILE *f)
{
	fprintf(f,
		"Usage: xsplice [-p PID | --socket PATH] [--timeout MS] [--json] <command> [args]\n"
		"\n"
		"Live-patch a running process through its xsplice agent (libxsplice.so).\n"
		"\n"
		"Options:\n"
		"  -p, --pid PID      the target process\n"
		"  -s, --socket PATH  the agent's control socket instead of a PID\n"
		"  -t, --timeout MS   time bound of an action inside the agent (0 = the\n"
		"                     agent's default); the client waits that long plus %u ms\n"
		"  -j, --json         machine-readable output for list, get, info and attach\n"
		"      --no-attach    with -p: if the process has no agent, fail (exit 3)\n"
		"                     instead of loading the agent into it (see 'attach')\n"
		"  -h, --help         this help; 'xsplice help COMMAND' for one command\n"
		"  -V, --version      print the version\n"
		"\n"
		"Commands:\n", WAIT_MARGIN_MS);
	for (const struct command *c = commands; c->name; c++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", c->name, c->args);
		fprintf(f, "  %-24s %s\n", left, c->summary);
	}
	fprintf(f, "\n%s", exit_codes_help);
}

static void command_help(const struct command *c)
{
	printf("Usage: xsplice [-p PID | --socket PATH] [--timeout MS]%s %s%s%s\n\n%s\n\n%s",
	       (!strcmp(c->name, "list") || !strcmp(c->name, "get") || !strcmp(c->name, "info") ||
		!strcmp(c->name, "attach"))
		       ? " [--json]" : "",
	       c->name, c->args[0] ? " " : "", c->args, c->help, exit_codes_help);
}

/* ---- helpers ---- */

/* ---- attach ---- */

static const char *attach_hint(int rc)
{
	switch (-rc) {
	case EPERM:
	case EACCES:
		return "run as root, or start the program with LD_PRELOAD=libxsplice.so";
	case EBUSY:
		return "try again; a debugger or another tracer may hold the process";
	default:
		return NULL;
	}
}

static void print_attached(FILE *f, int pid, const struct xs_attach_result *r)
{
	fprintf(f, "Attached to %d: agent loaded in %.1f ms, 1 thread (%d, in %s) stopped "
		"%.0f \u00b5s, the others not stopped\n", pid, (double)r->total_ns / 1e6, r->tid,
		r->where, (double)r->pause_ns / 1e3);
}

static int connect_target(struct ctx *c)
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
			return report(rc, &err, hint_for(rc, "connect"), "cannot connect to %s",
				      c->socket);
		return report(rc, &err, hint_for(rc, "connect"), "cannot reach process %d", c->pid);
	}
	/* Each request may take as long as the action bound to be answered. */
	unsigned io = c->timeout_ms + WAIT_MARGIN_MS;
	if (io < 10000)
		io = 10000;
	xs_ctl_set_io_timeout(c->ctl, io);
	return EXIT_OK;
}

static unsigned wait_bound(const struct ctx *c)
{
	uint64_t w = (uint64_t)(c->timeout_ms ? c->timeout_ms : AGENT_DEFAULT_GUESS_MS) +
		     WAIT_MARGIN_MS;
	return w > UINT_MAX ? UINT_MAX : (unsigned)w;
}

/* Read a whole payload file; an exit code on failure (message printed). */
static int read_file(const char *path, uint8_t **buf, size_t *len)
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

static int check_name(const struct command *cmd, const char *name)
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
static void dot(void *arg)
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
static int run_action(struct ctx *c, const char *name, uint32_t cmd,
		      void (*progress)(void *arg), void *arg, struct xs_err *err)
{
	int rc = xs_ctl_action(c->ctl, name, cmd, c->timeout_ms, err);
	if (!rc)
		rc = xs_ctl_wait(c->ctl, name, cmd, wait_bound(c), progress, arg, err);
	return rc;
}

/*
 * "Performing apply:. completed". Returns an exit code; on failure the
 * agent's error is printed.
 */
static int perform(struct ctx *c, const char *name, const struct action *a)
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
		return report(rc, &err, hint_for(rc, a->verb), "%s %s", a->verb, name);
	}
	puts(" completed");
	return EXIT_OK;
}

static int upload(struct ctx *c, const struct command *cmd, const char *name, const char *file)
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
		return report(rc, &err, hint_for(rc, "upload"), "upload of %s as %s failed", file,
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

/* ---- commands ---- */

/* The JSON members every payload has after its name: state, rc, error, reason. */
static void json_status(uint32_t state, int32_t rc, const char *reason)
{
	printf(",\"state\":\"%s\",\"rc\":%d,\"error\":\"%s\",\"reason\":",
	       xs_state_name(state), rc, rc ? errname(rc) : "");
	json_str(stdout, reason);
}

/* The INFO record of payload name; NULL if none (or no INFO). */
static const struct xs_info_payload *info_payload(const struct xs_info *in, const char *name)
{
	for (uint32_t i = 0; in && i < in->npayloads; i++)
		if (strcmp(in->payloads[i].name, name) == 0)
			return &in->payloads[i];
	return NULL;
}

static int cmd_list(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	struct xs_list_entry *e;
	size_t n;
	int rc;

	(void)cmd, (void)argv, (void)argc;
	rc = xs_ctl_list_all(c->ctl, &e, &n, &err);
	if (rc)
		return report(rc, &err, NULL, "list");
	/* LIST has no reasons; fetch them for entries that failed. */
	char (*reasons)[XS_REASON_SIZE] = calloc(n ? n : 1, XS_REASON_SIZE);
	if (!reasons) {
		free(e);
		xs_fail(&err, -ENOMEM, "out of memory");
		return report(-ENOMEM, &err, NULL, "list");
	}
	for (size_t i = 0; i < n; i++) {
		struct xs_err ignored;
		if (e[i].rc && e[i].rc != -EAGAIN)
			xs_ctl_get(c->ctl, e[i].name, NULL, NULL, reasons[i], &ignored);
	}
	/* LIST has no metadata either: INFO has it (best effort, by name). */
	struct xs_info *in = NULL;
	struct xs_err ignored;
	if (n && xs_ctl_info(c->ctl, &in, &ignored))
		in = NULL;
	if (c->json) {
		printf("{\"payloads\":[");
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, e[i].name);
			json_status(e[i].state, e[i].rc, reasons[i]);
			const struct xs_info_payload *ip = info_payload(in, e[i].name);
			printf(",\"description\":");
			json_str(stdout, ip ? ip->description : "");
			printf(",\"version\":");
			json_str(stdout, ip ? ip->version : "");
			putchar('}');
		}
		printf("]}\n");
	} else {
		printf(" ID                                     | status\n"
		       "----------------------------------------+------------\n");
		for (size_t i = 0; i < n; i++) {
			printf("%-40s| %s", e[i].name, xs_state_name(e[i].state));
			if (e[i].rc)
				printf(" (%d, %s%s%s)", e[i].rc, errname(e[i].rc),
				       reasons[i][0] ? ": " : "", reasons[i]);
			const struct xs_info_payload *ip = info_payload(in, e[i].name);
			if (ip && ip->version[0])
				printf(" [%s]", ip->version);
			if (ip && ip->description[0])
				printf(" %s", ip->description);
			putchar('\n');
		}
	}
	if (in)
		xs_info_free(in);
	free(reasons);
	free(e);
	return EXIT_OK;
}

static int cmd_get(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	char reason[XS_REASON_SIZE] = "";
	uint32_t state;
	int32_t arc;
	int rc;

	(void)cmd, (void)argc;
	rc = xs_ctl_get(c->ctl, argv[0], &state, &arc, reason, &err);
	if (rc)
		return report(rc, &err, hint_for(rc, "get"), "get %s", argv[0]);
	if (c->json) {
		printf("{\"name\":");
		json_str(stdout, argv[0]);
		json_status(state, arc, reason);
		printf("}\n");
		return EXIT_OK;
	}
	printf("name:   %s\nstate:  %s\n", argv[0], xs_state_name(state));
	if (arc == -EAGAIN)
		printf("rc:     %d (EAGAIN: an action is in progress)\n", arc);
	else if (arc)
		printf("rc:     %d (%s)\nreason: %s\n", arc, errname(arc), reason);
	else
		printf("rc:     0\n");
	return EXIT_OK;
}

static int cmd_upload(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	(void)argc;
	return upload(c, cmd, argv[0], argv[1]);
}

/* apply, revert, replace, unload: the command's row in actions[]. */
static int cmd_action(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	const struct action *a = find_action(cmd->name);
	int ex;

	(void)argc;
	if ((ex = check_name(cmd, argv[0])) || (ex = connect_target(c)))
		return ex;
	return perform(c, argv[0], a);
}

/* cancel NAME: ask, then wait until the action has ended. Exit 0 when
 * it was cancelled or had already ended. */
static int cmd_cancel(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	int ex, rc;

	(void)argc;
	if ((ex = check_name(cmd, argv[0])) || (ex = connect_target(c)))
		return ex;
	printf("Performing cancel:");
	fflush(stdout);
	rc = xs_ctl_action(c->ctl, argv[0], XS_ACTION_CANCEL, 0, &err);
	if (rc) {
		puts(" failed");
		return report(rc, &err, NULL, "cancel %s", argv[0]);
	}
	rc = xs_ctl_wait(c->ctl, argv[0], XS_ACTION_CANCEL, wait_bound(c), NULL, NULL, &err);
	if (rc == -ECANCELED || rc == 0) {
		puts(rc ? " completed (the action was cancelled; nothing changed)"
			: " completed (the action had already finished)");
		return EXIT_OK;
	}
	puts(" failed");
	return report(rc, &err, NULL, "cancel %s", argv[0]);
}

/* hello.livepatch -> hello; the seed names payloads after their file. */
static int name_from_file(const char *file, char *name, size_t size)
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

static int cmd_load(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	char name[XS_NAME_SIZE];
	int ex;

	(void)argc;
	if (name_from_file(argv[0], name, sizeof(name)))
		return usage_error(cmd, "load: cannot make a payload name (1..%d bytes) from '%s'; "
				   "use 'upload NAME FILE' and 'apply NAME'", XS_NAME_SIZE - 1,
				   argv[0]);
	if ((ex = upload(c, cmd, name, argv[0])))
		return ex;
	ex = perform(c, name, find_action("apply"));
	if (ex) {
		/* Leave nothing behind: the apply error is what the user needs. */
		struct xs_err err = { "" };
		int urc = run_action(c, name, XS_ACTION_UNLOAD, NULL, NULL, &err);
		if (urc)
			report(urc, &err, NULL, "could not unload %s again after the failed apply",
			       name);
		else
			fprintf(stderr, "xsplice: %s was unloaded again\n", name);
	}
	return ex;
}

static void info_json(const struct xs_info *in)
{
	printf("{\"pid\":%" PRIu32 ",\"agent_version\":", in->pid);
	json_str(stdout, in->agent_version);
	printf(",\"park_signal\":%" PRIu32 ",\"last_action\":{\"pause_ns\":%" PRIu64
	       ",\"park_ns\":%" PRIu64 ",\"action_ns\":%" PRIu64 ",\"threads\":%" PRIu32
	       ",\"attempts\":%" PRIu32 "}", in->park_signal, in->last_pause_ns, in->last_park_ns,
	       in->last_action_ns, in->last_threads, in->last_attempts);
	printf(",\"objects\":[");
	for (uint32_t i = 0; i < in->nobjects; i++) {
		const struct xs_info_object *o = &in->objects[i];
		printf("%s{\"path\":", i ? "," : "");
		json_str(stdout, o->path);
		printf(",\"build_id\":");
		json_str(stdout, o->build_id);
		printf(",\"base\":\"0x%" PRIx64 "\"}", o->base);
	}
	printf("],\"payloads\":[");
	for (uint32_t i = 0; i < in->npayloads; i++) {
		const struct xs_info_payload *p = &in->payloads[i];
		printf("%s{\"name\":", i ? "," : "");
		json_str(stdout, p->name);
		json_status(p->state, p->rc, p->reason);
		printf(",\"build_id\":");
		json_str(stdout, p->build_id);
		printf(",\"depends\":");
		json_str(stdout, p->depends);
		printf(",\"target\":");
		json_str(stdout, p->target);
		printf(",\"description\":");
		json_str(stdout, p->description);
		printf(",\"version\":");
		json_str(stdout, p->version);
		printf(",\"load_addr\":\"0x%" PRIx64 "\",\"load_size\":%" PRIu64 ",\"funcs\":[",
		       p->load_addr, p->load_size);
		for (uint32_t j = 0; j < p->nfuncs; j++) {
			const struct xs_info_func *f = &p->funcs[j];
			printf("%s{\"name\":", j ? "," : "");
			json_str(stdout, f->name);
			printf(",\"old_addr\":\"0x%" PRIx64 "\",\"old_size\":%" PRIu32
			       ",\"new_addr\":\"0x%" PRIx64 "\",\"new_size\":%" PRIu32
			       ",\"applied\":%s,\"no_stack_check\":%s}",
			       f->old_addr, f->old_size, f->new_addr, f->new_size,
			       f->flags & XS_FUNC_APPLIED ? "true" : "false",
			       f->flags & XS_FUNC_NO_STACK_CHECK ? "true" : "false");
		}
		printf("]}");
	}
	printf("]}\n");
}

static void info_text(const struct xs_info *in)
{
	printf("process %" PRIu32 ", agent %s, park signal %" PRIu32 "\n", in->pid,
	       in->agent_version[0] ? in->agent_version : "?", in->park_signal);
	if (in->last_threads)
		printf("last action: %" PRIu32 " threads parked, pause %.1f us (parking %.1f us), "
		       "%" PRIu32 " attempt(s), %.2f ms in all\n", in->last_threads,
		       in->last_pause_ns / 1e3, in->last_park_ns / 1e3, in->last_attempts,
		       in->last_action_ns / 1e6);
	printf("objects (%" PRIu32 "):\n", in->nobjects);
	for (uint32_t i = 0; i < in->nobjects; i++) {
		const struct xs_info_object *o = &in->objects[i];
		printf("  base 0x%016" PRIx64 "  build-id %-40s  %s\n", o->base,
		       o->build_id[0] ? o->build_id : "(none)", o->path[0] ? o->path : "(unnamed)");
	}
	printf("payloads (%" PRIu32 "):\n", in->npayloads);
	for (uint32_t i = 0; i < in->npayloads; i++) {
		const struct xs_info_payload *p = &in->payloads[i];
		printf("  %s: %s", p->name, xs_state_name(p->state));
		if (p->rc)
			printf(", rc %d (%s)%s%s", p->rc, errname(p->rc), p->reason[0] ? ": " : "",
			       p->reason);
		printf("\n    build-id: %s\n    depends:  %s\n    target:   %s\n",
		       p->build_id[0] ? p->build_id : "(none)", p->depends[0] ? p->depends : "(none)",
		       p->target[0] ? p->target : "(none)");
		if (p->description[0])
			printf("    description: %s\n", p->description);
		if (p->version[0])
			printf("    version:  %s\n", p->version);
		printf("    loaded at 0x%" PRIx64 " (%" PRIu64 " bytes), %" PRIu32 " function%s:\n",
		       p->load_addr, p->load_size, p->nfuncs, p->nfuncs == 1 ? "" : "s");
		for (uint32_t j = 0; j < p->nfuncs; j++) {
			const struct xs_info_func *f = &p->funcs[j];
			printf("      %s: old 0x%" PRIx64 " (%" PRIu32 " bytes) -> ", f->name[0] ? f->name : "?",
			       f->old_addr, f->old_size);
			if (f->new_addr)
				printf("new 0x%" PRIx64 " (%" PRIu32 " bytes)", f->new_addr, f->new_size);
			else
				printf("NOP (%" PRIu32 " bytes)", f->new_size);
			printf("%s%s\n", f->flags & XS_FUNC_APPLIED ? " [applied]" : "",
			       f->flags & XS_FUNC_NO_STACK_CHECK ? " [no stack check]" : "");
		}
	}
}

static int cmd_info(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	struct xs_info *in;
	int rc;

	(void)cmd, (void)argv, (void)argc;
	rc = xs_ctl_info(c->ctl, &in, &err);
	if (rc)
		return report(rc, &err, NULL, "info");
	if (c->json)
		info_json(in);
	else
		info_text(in);
	xs_info_free(in);
	return EXIT_OK;
}

static int cmd_build_id(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	struct xs_err err = { "" };
	int rc;

	if (argc == 1) {
		uint8_t id[XS_BUILD_ID_MAX];
		char hex[2 * XS_BUILD_ID_MAX + 1];
		size_t n;
		rc = xs_file_build_id(argv[0], id, sizeof(id), &n, &err);
		/* A local file: missing is "not found", anything else a failure. */
		if (rc)
			return report(rc, &err, NULL, "build-id") == EXIT_NOTFOUND ? EXIT_NOTFOUND
										   : EXIT_FAIL;
		xs_hex_encode(id, n, hex);
		puts(hex);
		return EXIT_OK;
	}
	if (!c->pid && !c->socket)
		return usage_error(cmd, "build-id: give a FILE, or a process with -p PID");
	int ex = connect_target(c);
	if (ex)
		return ex;
	struct xs_info *in;
	rc = xs_ctl_info(c->ctl, &in, &err);
	if (rc)
		return report(rc, &err, NULL, "info");
	/* The main executable: the object /proc/PID/exe names, else the first. */
	const struct xs_info_object *main_obj = in->nobjects ? &in->objects[0] : NULL;
	char exe[PATH_MAX], link[64];
	snprintf(link, sizeof(link), "/proc/%" PRIu32 "/exe", in->pid);
	ssize_t k = readlink(link, exe, sizeof(exe) - 1);
	if (k > 0) {
		exe[k] = '\0';
		for (uint32_t i = 0; i < in->nobjects; i++)
			if (!strcmp(in->objects[i].path, exe))
				main_obj = &in->objects[i];
	}
	if (!main_obj || !main_obj->build_id[0]) {
		xs_info_free(in);
		xs_fail(&err, -ENODATA, "the process's executable has no build-id");
		return report(-ENODATA, &err, NULL, "build-id");
	}
	puts(main_obj->build_id);
	xs_info_free(in);
	return EXIT_OK;
}

/* ---- processes: the agents in the socket directory ---- */

struct procs {
	bool json;
	unsigned n;
};

static void print_process(int pid, const char *path, void *arg)
{
	struct procs *p = arg;
	if (p->json)
		printf("%s{\"pid\": %d, \"socket\": \"%s\"}", p->n ? ", " : "", pid, path);
	else
		printf("%d\t%s\n", pid, path);
	p->n++;
}

static int cmd_processes(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	(void)cmd;
	(void)argv;
	(void)argc;
	struct xs_err err = { "" };
	struct procs p = { c->json, 0 };
	unsigned removed = 0;
	if (c->json)
		printf("{\"processes\": [");
	int rc = xs_ctl_scan(NULL, print_process, &p, &removed, &err);
	if (c->json)
		printf("], \"stale_removed\": %u}\n", removed);
	else if (removed)
		fprintf(stderr, "xsplice: removed %u stale socket%s of processes that died\n",
			removed, removed == 1 ? "" : "s");
	if (rc)
		return report(rc, &err, NULL, "cannot list the agents");
	return EXIT_OK;
}

static int cmd_attach(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	unsigned long v;
	int pid = c->pid;
	if (argc == 1) {
		if (parse_uint(argv[0], INT_MAX, &v) || v == 0)
			return usage_error(cmd, "attach: '%s' is not a process id", argv[0]);
		if (pid && pid != (int)v)
			return usage_error(cmd, "attach: -p %d and PID %lu differ", pid, v);
		pid = (int)v;
	}
	if (!pid)
		return usage_error(cmd, "attach needs a PID");
	if (c->socket)
		return usage_error(cmd, "attach takes a PID, not --socket");
	struct xs_attach_result r;
	struct xs_err err = { "" };
	int rc = xs_attach(pid, NULL, c->timeout_ms, &r, &err);
	if (rc)
		return report(rc, &err, attach_hint(rc), "cannot attach to process %d", pid);
	if (c->json) {
		printf("{\"pid\": %d, \"already\": %s, \"thread\": %d, \"where\": \"%s\", "
		       "\"pause_us\": %.1f, \"probes\": %u, \"probe_us\": %.1f, "
		       "\"total_ms\": %.3f}\n", pid, r.already ? "true" : "false", r.tid,
		       r.where, (double)r.pause_ns / 1e3, r.probes, (double)r.probe_ns / 1e3,
		       (double)r.total_ns / 1e6);
	} else if (r.already) {
		printf("Process %d already has an agent: nothing to do\n", pid);
	} else {
		print_attached(stdout, pid, &r);
	}
	return EXIT_OK;
}

static const struct command commands[] = {
	{ "list", "", "list the payloads with their state", "List the payloads loaded in the "
	  "process: name, state (CHECKED or APPLIED), and the last action's error with its "
	  "reason.", 0, 0, true, cmd_list },
	{ "get", "NAME", "show one payload's state and last result", "Show the state of payload "
	  "NAME and the result of its last action (rc, with the agent's reason).", 1, 1, true,
	  cmd_get },
	{ "upload", "NAME FILE", "upload FILE as payload NAME (state CHECKED)", "Upload the "
	  "payload FILE under the name NAME. The agent verifies and links it; it is then\n"
	  "CHECKED, not applied.", 2, 2, true, cmd_upload },
	{ "apply", "NAME", "apply a CHECKED payload", "Apply payload NAME (CHECKED -> APPLIED).",
	  1, 1, true, cmd_action },
	{ "revert", "NAME", "revert an APPLIED payload", "Revert payload NAME (APPLIED -> "
	  "CHECKED).", 1, 1, true, cmd_action },
	{ "replace", "NAME", "revert all applied payloads and apply NAME", "Revert every "
	  "applied payload and apply NAME, all at once (CHECKED -> APPLIED).", 1, 1, true,
	  cmd_action },
	{ "unload", "NAME", "unload a CHECKED payload", "Unload payload NAME and free it (it "
	  "must be CHECKED: revert it first).", 1, 1, true, cmd_action },
	{ "cancel", "NAME", "cancel the action running on NAME", "Stop the apply, revert or "
	  "replace running on payload NAME from retrying\n(threads in the way): it ends with "
	  "ECANCELED and nothing changed.", 1, 1, true, cmd_cancel },
	{ "load", "FILE", "upload FILE and apply it", "Upload FILE and apply it. The payload's "
	  "name is the file's base name without its\nextension (hello.livepatch -> hello). "
	  "If the apply fails the payload is unloaded\nagain and the apply error reported.",
	  1, 1, true, cmd_load },
	{ "info", "", "show objects, payloads and their functions", "Show the process's loaded "
	  "objects (path, build-id, base) and every payload: state,\nlast result, build-id, "
	  "what it depends on, what it patches, and its functions\nwith old and new addresses, "
	  "sizes and flags.", 0, 0, true, cmd_info },
	{ "build-id", "[FILE]", "print a build-id", "Print the GNU build-id of FILE in hex, as "
	  "'readelf -n' shows it. Without FILE,\nprint the build-id of the executable of the "
	  "process given with -p.", 0, 1, false, cmd_build_id },
	{ "attach", "[PID]", "load the agent into a process started without it", "Load "
	  "libxsplice.so into the running process PID (or -p PID) that was started\n"
	  "without it: one thread is stopped with ptrace at a safe point for about a\n"
	  "millisecond, starts a thread that loads the agent from a memfd, and goes on\n"
	  "where it was (an interrupted system call is restarted). Prints how long the\n"
	  "thread was stopped. A process that has an agent already is left alone (exit 0).\n"
	  "Every command given -p PID does this by itself when the process has no agent,\n"
	  "unless --no-attach is given. $XSPLICE_AGENT overrides the agent's path.", 0, 1,
	  false, cmd_attach },
	{ "processes", "", "list the processes whose agent has a socket here", "List the "
	  "processes with an agent socket in the socket directory (pid and\nsocket path), "
	  "removing the sockets of processes that died.", 0, 0, false, cmd_processes },
	{ NULL, NULL, NULL, NULL, 0, 0, false, NULL },
};

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "no-attach", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { 0 };
	bool help = false;
	unsigned long v;
	int opt;

	opterr = 0; /* our own messages, with the exit code 2 */
	while ((opt = getopt_long(argc, argv, ":p:s:t:jhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_uint(optarg, INT_MAX, &v) || v == 0)
				return usage_error(NULL, "-p: '%s' is not a process id", optarg);
			c.pid = (int)v;
			break;
		case 's':
			c.socket = optarg;
			break;
		case 't':
			if (parse_uint(optarg, UINT32_MAX - WAIT_MARGIN_MS - AGENT_DEFAULT_GUESS_MS,
				       &v))
				return usage_error(NULL, "--timeout: '%s' is not a number of "
						   "milliseconds", optarg);
			c.timeout_ms = (unsigned)v;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			help = true;
			break;
		case 'A':
			c.no_attach = true;
			break;
		case 'V':
			printf("xsplice %s\n", XSPLICE_VERSION);
			return EXIT_OK;
		case ':':
			return usage_error(NULL, "option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
		}
	}
	char **args = argv + optind;
	int nargs = argc - optind;

	if (nargs > 0 && !strcmp(args[0], "help")) {
		if (nargs == 1) {
			global_help(stdout);
			return EXIT_OK;
		}
		const struct command *cmd = find_command(args[1]);
		if (!cmd)
			return usage_error(NULL, "help: unknown command '%s'", args[1]);
		command_help(cmd);
		return EXIT_OK;
	}
	if (nargs == 0) {
		if (help) {
			global_help(stdout);
			return EXIT_OK;
		}
		return usage_error(NULL, "no command given");
	}
	const struct command *cmd = find_command(args[0]);
	if (!cmd)
		return usage_error(NULL, "unknown command '%s'", args[0]);
	if (help) {
		command_help(cmd);
		return EXIT_OK;
	}
	nargs--, args++;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error(cmd, "%s: %s", cmd->name,
				   nargs < cmd->min_args ? "missing arguments" : "too many arguments");
	if (c.pid && c.socket)
		return usage_error(cmd, "give either -p PID or --socket PATH, not both");
	if (cmd->needs_target) {
		if (!c.pid && !c.socket)
			return usage_error(cmd, "%s needs a target: -p PID or --socket PATH",
					   cmd->name);
		/* Commands that take a file or name connect after checking them. */
		if (cmd->fn == cmd_list || cmd->fn == cmd_get || cmd->fn == cmd_info) {
			if (cmd->fn == cmd_get && check_name(cmd, args[0]))
				return EXIT_USAGE;
			int ex = connect_target(&c);
			if (ex)
				return ex;
		}
	}
	int ex = cmd->fn(&c, cmd, args, nargs);
	xs_ctl_close(c.ctl);
	return ex;
}
