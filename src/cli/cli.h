/* SPDX-License-Identifier: MIT */
/*
 * xsplice (the CLI): what its files share. main.c parses the options and
 * holds the command table; report.c turns errors into messages and exit
 * codes; target.c reaches one process (connect, attach, upload, perform);
 * one file per family of commands (payload.c, info.c, agents.c, ...).
 */
#ifndef XS_CLI_CLI_H
#define XS_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl/xsplice-ctl.h"
#include "inject/inject.h"
#include "xsplice/error.h"
#include "xsplice/protocol.h"

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
/* --all: processes handled at once unless --jobs says. */
#define FLEET_DEFAULT_JOBS 8u

struct ctx {
	int pid;
	const char *socket;
	unsigned timeout_ms;
	bool json;
	bool no_attach; /* --no-attach: never load the agent into the target */
	const char *patch_dir; /* --patch-dir DIR, else $XSPLICE_PATCH_DIR or the default */
	const char *name;      /* --name NAME (install) */
	struct xs_ctl *ctl;
	/* host-wide operations (ps.c, fleet.c) */
	bool all;              /* --all: every matching process (ps: every process) */
	bool dry_run;          /* --dry-run: say what --all would do, change nothing */
	unsigned jobs;         /* --jobs N: processes handled at once (0: default) */
	const char *build_id;  /* --build-id HEX */
	const char *object;    /* --object PATH: its build-id */
	int tree;              /* --tree PID: only PID and its descendants */
	const char *comm;      /* --comm NAME: only processes with this command name */
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

/* ---- report.c ---- */
const char *errname(int rc);
int exit_for(int rc);
/* "xsplice: <what>: <reason> (<ERRNO>)" and a hint when one helps. */
int report(int rc, const struct xs_err *err, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Advice for a refused action or request, by errno. */
const char *hint_for(int rc, const char *op, const struct xs_err *err);
int usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *attach_hint(int rc);

/* ---- target.c ---- */
const struct action *find_action(const char *verb);
void print_attached(FILE *f, int pid, const struct xs_attach_result *r);
int connect_target(struct ctx *c);
unsigned wait_bound(const struct ctx *c);
/* Read a whole payload file; an exit code on failure (message printed). */
int read_file(const char *path, uint8_t **buf, size_t *len);
int check_name(const struct command *cmd, const char *name);
/* Start an action and wait for its outcome: 0 or its error, with the reason. */
int run_action(struct ctx *c, const char *name, uint32_t cmd, void (*progress)(void *arg),
	       void *arg, struct xs_err *err);
/* "Performing apply:. completed"; an exit code, the agent's error printed. */
int perform(struct ctx *c, const char *name, const struct action *a);
int upload(struct ctx *c, const struct command *cmd, const char *name, const char *file);
/* hello.livepatch -> hello; the seed names payloads after their file. */
int name_from_file(const char *file, char *name, size_t size);

/* ---- main.c ---- */
int parse_uint(const char *s, unsigned long max, unsigned long *out);

/* ---- payload.c ---- */
/* The JSON members every payload has after its name: state, rc, error, reason. */
void json_status(uint32_t state, int32_t rc, const char *reason);


/* ---- the commands ---- */
int cmd_list(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_get(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_upload(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_action(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_cancel(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_load(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_info(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_build_id(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_processes(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_attach(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_install(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_uninstall(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_ps(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_status(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_mark_bad(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_watch(struct ctx *c, const struct command *cmd, char **argv, int argc);

/* ---- fleet.c ---- */
/* load --all FILE, apply/revert/replace/unload --all NAME (docs/cli.md). */
int fleet_run(struct ctx *c, const struct command *cmd, const char *arg);
/* flags of fleet_load/fleet_act */
#define FLEET_JSON_NESTED 1u /* --json: no newline after the object (inside another) */
#define FLEET_QUIET_EMPTY 2u /* no summary and no note when no process is concerned */
/* load payload NAME (the len bytes at buf) in every process it fits, as
 * load --all; label: printed before each line (watch). An exit code. */
int fleet_load(struct ctx *c, const char *name, const uint8_t *buf, size_t len,
	       const char *label, unsigned flags);
/* A stacked payload's processes: those whose agent holds the payload with
 * build-id id (what it depends on), narrowed by --tree/--comm. */
struct xs_proc;
int fleet_stacked_targets(const struct ctx *c, const uint8_t *id, size_t idn,
			  struct xs_proc **out, size_t *n, struct xs_err *err);
/* apply/revert/replace/unload NAME in every process holding it. */
int fleet_act(struct ctx *c, const char *verb, const char *name, const char *label,
	      unsigned flags);
/* The build-id --build-id or --object asks for into id (*n 0 when neither
 * is given): EXIT_OK, or an exit code with the message printed. */
int wanted_build_id(const struct ctx *c, uint8_t *id, size_t *n);
/* audit.c: INFO's audit records, as JSON members (",\"audit\":[...]") or text. */
void audit_json(const struct xs_info *in);
void audit_text(const struct xs_info *in);
/* sign.c */
int cmd_sign(struct ctx *c, const struct command *cmd, char **argv, int argc);
int cmd_verify(struct ctx *c, const struct command *cmd, char **argv, int argc);

#endif
