/* SPDX-License-Identifier: MIT */
/*
 * xsplice: the command-line tool (the seed's xen-livepatch) that drives the
 * agent inside a running process through libxsplice-ctl: option parsing,
 * the command table and the help (docs/cli.md). The commands live in their
 * own files (cli/cli.h lists them).
 *
 * Threading: a single-threaded program with one connection (one ctl
 * handle) per run, opened after the arguments are checked and closed on
 * exit.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/latency.h"

#ifndef XSPLICE_VERSION
#define XSPLICE_VERSION "unknown"
#endif

static const struct command commands[];

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
		"  -j, --json         machine-readable output for list, get, info, attach, ps\n"
		"                     and --all\n"
		"      --no-attach    with -p: if the process has no agent, fail (exit 3)\n"
		"                     instead of loading the agent into it (see 'attach');\n"
		"                     with --all: skip the processes without an agent\n"
		"\n"
		"Every process on the host (load --all FILE; apply, revert, replace,\n"
		"unload --all NAME; ps):\n"
		"  -a, --all          load: every process that maps the object FILE depends\n"
		"                     on, attaching the agent where needed; an action: every\n"
		"                     process whose agent holds NAME; ps: every process\n"
		"      --dry-run      with --all: say what would be done, change nothing\n"
		"      --jobs N       with --all: processes handled at once (default %u)\n"
		"      --tree PID     only PID and its descendants\n"
		"      --comm NAME    only the processes whose command name is NAME\n"
		"      --build-id ID, --object PATH\n"
		"                     ps: the processes that map an object with this build-id\n"
		"      --patch-dir DIR\n"
		"                     the patch directory (install, uninstall, status,\n"
		"                     mark-bad, watch; default\n"
		"                     $XSPLICE_PATCH_DIR, else /var/lib/xsplice)\n"
		"      --name NAME    install: the payload's name (default: the file's)\n"
		"  -h, --help         this help; 'xsplice help COMMAND' for one command\n"
		"  -V, --version      print the version\n"
		"\n"
		"Commands:\n", WAIT_MARGIN_MS, FLEET_DEFAULT_JOBS);
	for (const struct command *c = commands; c->name; c++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", c->name, c->args);
		fprintf(f, "  %-24s %s\n", left, c->summary);
	}
	fprintf(f, "\n%s", exit_codes_help);
}

static const char fleet_help[] =
	"With --all (instead of -p): every process it concerns, several at a time\n"
	"(--jobs N): load FILE in every process that maps the object FILE depends on,\n"
	"attaching the agent where there is none; an action on every process whose\n"
	"agent holds NAME. One line per process: PID COMMAND and patched (reverted,\n"
	"unloaded), already, skipped: REASON, failed: REASON or gone; then\n"
	"'N patched, N already, N skipped, N failed'. Exit 0 only if none failed.\n"
	"--dry-run changes nothing; --tree PID and --comm NAME narrow the processes.\n";

static void command_help(const struct command *c)
{
	bool fleet = !strcmp(c->name, "load") || find_action(c->name);
	bool host = !strcmp(c->name, "ps") || !strcmp(c->name, "status") ||
		    !strcmp(c->name, "mark-bad") || !strcmp(c->name, "watch");
	if (host) {
		printf("Usage: xsplice %s%s%s%s [--tree PID] [--comm NAME]%s%s\n", c->name,
		       c->args[0] ? " " : "", c->args,
		       !strcmp(c->name, "ps") ? " [--build-id ID | --object PATH | --all]" : "",
		       strcmp(c->name, "ps") ? " [--patch-dir DIR]" : "",
		       strcmp(c->name, "watch") ? " [--json]" : " [--jobs N] [--no-attach]");
		printf("\n%s\n\n%s", c->help, exit_codes_help);
		return;
	}
	printf("Usage: xsplice [-p PID | --socket PATH] [--timeout MS]%s %s%s%s\n",
	       (!strcmp(c->name, "list") || !strcmp(c->name, "get") || !strcmp(c->name, "info") ||
		!strcmp(c->name, "attach") || !strcmp(c->name, "install") ||
		!strcmp(c->name, "uninstall"))
		       ? " [--json]" : "",
	       c->name, c->args[0] ? " " : "", c->args);
	if (fleet)
		printf("       xsplice --all [--dry-run] [--jobs N] [--tree PID] [--comm NAME] "
		       "[--json] %s %s\n", c->name, c->args);
	printf("\n%s\n\n%s%s", c->help, fleet ? fleet_help : "", fleet ? "\n" : "");
	printf("%s", exit_codes_help);
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
	{ "sign", "--key KEY --cert CERT [--hash ALGO] [-o OUT] FILE", "sign a payload",
	  "Sign FILE in the Linux module-signature format (as the kernel's sign-file):\n"
	  "a detached CMS signature by KEY for the certificate CERT, appended to FILE.",
	  1, 9, false, cmd_sign },
	{ "verify", "[--trust DIR] [--json] FILE", "check a payload's signature offline",
	  "Check FILE's module signature as the agent does under enforcement, against the\n"
	  "certificates in DIR and its 'revoked' list. Exit 6 unsigned, 7 bad, 8 untrusted,\n"
	  "9 revoked.", 1, 4, false, cmd_verify },
	{ "install", "FILE [--name NAME]", "install a payload in the patch directory", "Install the payload "
	  "FILE in the patch directory as NAME.livepatch (NAME: --name,\nelse the file's base "
	  "name without its extension), atomically. Processes\nstarted afterwards with the agent "
	  "preloaded get it before main; running ones\nget it with 'xsplice load --all' or "
	  "'xsplice watch'. A file that is not a\npayload is refused (exit 4).", 1, 1, false,
	  cmd_install },
	{ "uninstall", "NAME", "remove a payload from the patch directory", "Remove NAME.livepatch "
	  "(and its bad mark) from the patch directory: new processes\nno longer get it. "
	  "Processes that applied it keep it until reverted.", 1, 1, false, cmd_uninstall },
	{ "ps", "", "list the processes with an agent, or that map an object",
	  "List the processes with an agent, with their payloads and states.\n"
	  "  --build-id ID, --object PATH  instead: every process that maps an object with\n"
	  "                that build-id (read through /proc/PID/map_files), agent or not\n"
	  "  --all         every process of the host\n"
	  "  --tree PID    only PID and its descendants; --comm NAME: only that command\n"
	  "A process that cannot be patched says why: a kernel thread, a zombie, stopped,\n"
	  "traced, statically linked, not x86-64, another user's (when not root).", 0, 0,
	  false, cmd_ps },
	{ "status", "", "what is installed, and what is applied where", "Show the payloads "
	  "installed in the patch directory (--patch-dir DIR, else\n$XSPLICE_PATCH_DIR, else "
	  "/var/lib/xsplice), whether each is marked bad, and\nfor every running process it "
	  "concerns (that maps the object it depends on)\nwhether it is applied there, or why "
	  "not: no agent, not loaded, loaded but\nnot applied with the last error, marked bad, "
	  "cannot be patched.\n--tree PID and --comm NAME narrow the processes.", 0, 0, false,
	  cmd_status },
	{ "mark-bad", "NAME [REASON]", "never apply NAME again, and remove it everywhere",
	  "Mark payload NAME bad in the patch directory (NAME.bad, with REASON), so\nno process "
	  "applies it again (neither at start nor through watch), then\nrevert it and unload it "
	  "in every running process that holds it (as\n'revert --all NAME' and 'unload --all "
	  "NAME'). Exit 0 only if nothing failed.\n--tree PID and --comm NAME narrow the "
	  "processes.", 1, 2, false, cmd_mark_bad },
	{ "watch", "", "service: apply newly installed payloads to running processes",
	  "Run until SIGTERM: apply every payload installed in the patch directory\n"
	  "(and not marked bad) to every running process it fits, as 'load --all'\n"
	  "(attaching the agent where needed, unless --no-attach), then again each\n"
	  "time a payload is installed (inotify). One line per action on stdout.\n"
	  "SIGHUP: the whole pass again. contrib/systemd/xsplice-watch.service runs it.\n"
	  "--tree PID, --comm NAME narrow the processes; --jobs N as for --all.", 0, 0, false,
	  cmd_watch },
	{ NULL, NULL, NULL, NULL, 0, 0, false, NULL },
};

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* Commands with options of their own after their name (sign.c): the
 * global options end at the command word, and fn gets every word after it. */
static bool own_options(const struct command *c)
{
	return c->fn == cmd_sign || c->fn == cmd_verify;
}

/* Where the global options end: after the command word of a command with
 * options of its own, else at argc. */
static int own_options_end(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return argc;
		if (a[0] == '-') {
			if (!strcmp(a, "-p") || !strcmp(a, "-s") || !strcmp(a, "-t") ||
			    !strcmp(a, "--pid") || !strcmp(a, "--socket") || !strcmp(a, "--timeout"))
				i++;
			continue;
		}
		/* The first word naming a command is the command (any other is an
		 * option's value). */
		const struct command *c = find_command(a);
		if (c)
			return own_options(c) ? i + 1 : argc;
	}
	return argc;
}

int parse_uint(const char *s, unsigned long max, unsigned long *out)
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
		{ "all", no_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "build-id", required_argument, NULL, 'B' },
		{ "object", required_argument, NULL, 'O' },
		{ "tree", required_argument, NULL, 'T' },
		{ "comm", required_argument, NULL, 'C' },
		{ "patch-dir", required_argument, NULL, 'D' },
		{ "name", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { 0 };
	bool help = false;
	unsigned long v;
	int opt;

	/* Each reply wakes us: run soon after, not after the target's busy
	 * threads have had their slices (docs/performance.md). */
	xs_thread_prefer_latency();

	opterr = 0; /* our own messages, with the exit code 2 */
	int gargc = own_options_end(argc, argv);
	while ((opt = getopt_long(gargc, argv, ":p:s:t:jhVa", longopts, NULL)) != -1) {
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
		case 'a':
			c.all = true;
			break;
		case 'n':
			c.dry_run = true;
			break;
		case 'J':
			if (parse_uint(optarg, 64, &v) || v == 0)
				return usage_error(NULL, "--jobs: '%s' is not a number from 1 to 64",
						   optarg);
			c.jobs = (unsigned)v;
			break;
		case 'B':
			c.build_id = optarg;
			break;
		case 'O':
			c.object = optarg;
			break;
		case 'T':
			if (parse_uint(optarg, INT_MAX, &v) || v == 0)
				return usage_error(NULL, "--tree: '%s' is not a process id", optarg);
			c.tree = (int)v;
			break;
		case 'C':
			c.comm = optarg;
			break;
		case 'D':
			c.patch_dir = optarg;
			break;
		case 'N':
			c.name = optarg;
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
	if (own_options(cmd)) {
		for (int i = 0; i < nargs; i++)
			if (!strcmp(args[i], "--help") || !strcmp(args[i], "-h")) {
				command_help(cmd);
				return EXIT_OK;
			}
		if (nargs < cmd->min_args)
			return usage_error(cmd, "%s: missing arguments", cmd->name);
		return cmd->fn(&c, cmd, args, nargs);
	}
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error(cmd, "%s: %s", cmd->name,
				   nargs < cmd->min_args ? "missing arguments" : "too many arguments");
	if (c.pid && c.socket)
		return usage_error(cmd, "give either -p PID or --socket PATH, not both");
	bool fleet_cmd = cmd->fn == cmd_load || cmd->fn == cmd_action;
	if (c.all && !fleet_cmd && cmd->fn != cmd_ps)
		return usage_error(cmd, "%s does not take --all", cmd->name);
	if (c.dry_run && !(c.all && fleet_cmd))
		return usage_error(cmd, "--dry-run goes with --all (load, apply, revert, replace, "
				   "unload)");
	bool host_cmd = cmd->fn == cmd_ps || cmd->fn == cmd_status || cmd->fn == cmd_mark_bad ||
			cmd->fn == cmd_watch;
	if (c.jobs && !(c.all && fleet_cmd) && cmd->fn != cmd_mark_bad && cmd->fn != cmd_watch)
		return usage_error(cmd, "--jobs goes with --all, mark-bad and watch");
	if ((c.tree || c.comm) && !c.all && !host_cmd)
		return usage_error(cmd, "--tree and --comm narrow --all, ps, status, mark-bad and "
				   "watch");
	if ((c.build_id || c.object) && cmd->fn != cmd_ps)
		return usage_error(cmd, "--build-id and --object go with ps");
	if (c.all && fleet_cmd)
		return fleet_run(&c, cmd, args[0]);
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

