/* SPDX-License-Identifier: MIT */
/*
 * --all: load FILE, or apply/revert/replace/unload NAME, in every process
 * it concerns (docs/cli.md "Every process on the host", docs/decisions.md
 * "issue 9: fleet").
 *
 *   load --all FILE   the processes that map the object with the build-id
 *                     in FILE's .livepatch.depends (and, for a stacked
 *                     payload, those whose agent holds the payload with
 *                     that build-id), attaching the agent where there is
 *                     none;
 *   ACTION --all NAME the processes whose agent holds a payload NAME.
 *
 * Workers: the parent scans /proc, then forks --jobs worker processes and
 * hands them one process at a time over a SOCK_SEQPACKET pair; each worker
 * connects (or attaches), acts, and sends back one result. Processes, not
 * threads: xs_attach ptraces with SIGCHLD blocked in the calling thread,
 * and a ptrace tracee belongs to one thread's waits; a worker per job keeps
 * each attach alone in its process, and a worker that crashes costs one
 * result ("failed: worker died"), not the run.
 *
 * Threading: the parent is single-threaded; each worker is too.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/depends.h"
#include "cli/json.h"
#include "cli/procscan.h"
#include "common/clock.h"
#include "common/elfnote.h"
#include "common/hex.h"
#include "common/socket_path.h"


#define MAX_JOBS 64

enum result { R_PATCHED, R_ALREADY, R_SKIPPED, R_FAILED, R_GONE, R_ABSENT, R_NRESULTS };

/* The JSON words: "patched" is "this process was changed" for every verb. */
static const char *const result_json[] = { "patched", "already", "skipped", "failed", "gone",
					   "absent" };

struct job {
	const char *verb;          /* load, apply, revert, replace, unload */
	const struct action *act;  /* the action (apply for load) */
	char name[XS_NAME_SIZE];
	const uint8_t *payload;    /* load: the file's bytes */
	size_t payload_len;
	bool dry_run, no_attach;
	unsigned timeout_ms;
	const char *label;         /* watch: the payload's name before each line */
	char own_id[2 * XS_BUILD_ID_MAX + 1]; /* load: the payload's build-id (hex) */
};

struct target {
	struct xs_proc p;
	enum result result;
	bool attached;
	uint64_t ns;
	char reason[XS_REASON_SIZE];
};

/* What a worker sends back for one process. */
struct wmsg {
	uint32_t idx;
	int32_t result;
	int32_t attached;
	uint32_t pad;
	uint64_t ns;
	char reason[XS_REASON_SIZE];
};

/* The text word for a change, by verb: the JSON says "patched" for all. */
static const char *changed_word(const char *verb)
{
	if (!strcmp(verb, "revert"))
		return "reverted";
	if (!strcmp(verb, "unload"))
		return "unloaded";
	return "patched";
}

/* ---- one process (in a worker) ---- */

/* The action, answered when it has ended (the wait flag; an agent from
 * before it is polled by the ctl library). */
static int act(struct xs_ctl *ctl, const struct job *j, const char *name, uint32_t cmd,
	       struct xs_err *err)
{
	uint64_t w = (uint64_t)(j->timeout_ms ? j->timeout_ms : AGENT_DEFAULT_GUESS_MS) +
		     WAIT_MARGIN_MS;
	return xs_ctl_act(ctl, name, cmd, j->timeout_ms, w > UINT32_MAX ? UINT32_MAX : (unsigned)w,
			  NULL, NULL, err);
}

static enum result say(struct target *t, enum result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum result say(struct target *t, enum result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
	return t->result = r;
}

/* A failure, unless the process is gone (then that is the result). */
static enum result failed(struct target *t, int rc, const struct xs_err *err, const char *what)
{
	if (!xs_proc_alive(&t->p))
		return say(t, R_GONE, "the process exited");
	return say(t, R_FAILED, "%s%s%s (%s)", what, what[0] ? ": " : "",
		   err->msg[0] ? err->msg : strerror(-rc), errname(rc));
}

/* Apply what was just uploaded; a failed apply unloads it again, as the
 * one-process load does (nothing left behind). */
static enum result apply_uploaded(struct xs_ctl *ctl, const struct job *j, struct target *t)
{
	struct xs_err err = { "" };
	int rc = act(ctl, j, j->name, XS_ACTION_APPLY, &err);
	if (!rc)
		return say(t, R_PATCHED, "%s", "");
	struct xs_err uerr = { "" };
	enum result r = failed(t, rc, &err, "apply");
	if (r == R_FAILED && act(ctl, j, j->name, XS_ACTION_UNLOAD, &uerr))
		snprintf(t->reason + strlen(t->reason), sizeof(t->reason) - strlen(t->reason),
			 "; could not unload it again: %s", uerr.msg);
	return r;
}

static enum result do_one(const struct job *j, struct target *t)
{
	struct xs_err err = { "" };
	struct xs_ctl *ctl = NULL;
	int pid = t->p.pid;
	/* No agent mapped: straight to the attach (which says "already" if
	 * one answers after all), not a scan of net/unix that finds nothing. */
	int rc = xs_proc_connect(&t->p, t->p.agent, &ctl, &err);

	if (rc == -ENOENT && !strcmp(j->verb, "load")) {
		if (j->no_attach)
			return say(t, R_SKIPPED, "no agent (--no-attach)");
		if (j->dry_run)
			return say(t, R_PATCHED, "attach the agent, upload %s and apply it",
				   j->name);
		struct xs_attach_result ar;
		err.msg[0] = '\0';
		rc = xs_attach(pid, NULL, j->timeout_ms, &ar, &err);
		if (rc)
			return failed(t, rc, &err, "attach");
		t->attached = !ar.already;
		/* The new agent's socket is most likely in our socket directory
		 * (same environment); else let the library find it. */
		char dir[XS_PATH_SIZE], path[XS_PATH_SIZE];
		rc = -ENOENT;
		if (!xs_socket_dir(dir, sizeof(dir), &err) &&
		    !xs_socket_path_for(dir, pid, path, sizeof(path), &err))
			rc = xs_ctl_connect_pid_at(pid, path, &ctl, &err);
		if (rc) {
			err.msg[0] = '\0';
			rc = xs_ctl_connect_pid(pid, &ctl, &err);
		}
	} else if (rc == -ENOENT) {
		return say(t, R_ABSENT, "no agent");
	}
	if (rc)
		return failed(t, rc, &err, "connect");
	unsigned io = j->timeout_ms + WAIT_MARGIN_MS;
	xs_ctl_set_io_timeout(ctl, io < 10000 ? 10000 : io);

	struct xs_list_entry *e = NULL;
	size_t n = 0;
	enum result r;
	if (!strcmp(j->verb, "load") && !j->dry_run) {
		/* The usual case first: not loaded there yet. UPLOAD answers
		 * after the agent verified and linked it (CHECKED), so no LIST
		 * before and no GET after: two round trips fewer per process.
		 * EEXIST (that name or build-id is loaded): see below. */
		rc = xs_ctl_upload(ctl, j->name, j->payload, j->payload_len, &err);
		if (rc != -EEXIST) {
			r = rc ? failed(t, rc, &err, "upload") : apply_uploaded(ctl, j, t);
			goto out;
		}
		err.msg[0] = '\0';
	}
	rc = xs_ctl_list_all(ctl, &e, &n, &err);
	if (rc) {
		r = failed(t, rc, &err, "list");
		goto out;
	}
	const struct xs_list_entry *mine = NULL;
	size_t applied_others = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].name, j->name))
			mine = &e[i];
		else if (e[i].state == XS_STATE_APPLIED)
			applied_others++;
	}
	const char *verb = j->verb;
	uint32_t cmd = j->act->cmd;
	if (!strcmp(verb, "load")) {
		if (mine && j->own_id[0]) {
			/* Same name, same payload? (a reinstalled NAME is another one) */
			struct xs_info *in = NULL;
			rc = xs_ctl_info(ctl, &in, &err);
			if (rc) {
				r = failed(t, rc, &err, "info");
				goto out;
			}
			const char *other = NULL;
			for (uint32_t i = 0; i < in->npayloads; i++)
				if (!strcmp(in->payloads[i].name, j->name) &&
				    strcmp(in->payloads[i].build_id, j->own_id))
					other = in->payloads[i].build_id;
			if (other) {
				r = say(t, R_FAILED, "another payload named %s (build-id %s) is "
					"loaded, not this one (%s): revert and unload it first", j->name,
					other, j->own_id);
				xs_info_free(in);
				goto out;
			}
			xs_info_free(in);
		}
		if (mine && mine->state == XS_STATE_APPLIED) {
			r = say(t, R_ALREADY, "%s is applied", j->name);
			goto out;
		}
		if (!mine) {
			if (j->dry_run) {
				r = say(t, R_PATCHED, "upload %s and apply it", j->name);
				goto out;
			}
			rc = xs_ctl_upload(ctl, j->name, j->payload, j->payload_len, &err);
			r = rc ? failed(t, rc, &err, "upload") : apply_uploaded(ctl, j, t);
			goto out;
		}
		/* loaded but not applied (a failed earlier run): apply it */
	} else if (!mine) {
		r = say(t, R_ABSENT, "no payload %s", j->name);
		goto out;
	} else if ((!strcmp(verb, "apply") && mine->state == XS_STATE_APPLIED) ||
		   (!strcmp(verb, "revert") && mine->state == XS_STATE_CHECKED) ||
		   (!strcmp(verb, "replace") && mine->state == XS_STATE_APPLIED &&
		    !applied_others)) {
		r = say(t, R_ALREADY, "%s is %s", j->name, xs_state_name(mine->state));
		goto out;
	} else if (!strcmp(verb, "unload") && mine->state == XS_STATE_APPLIED) {
		r = say(t, R_FAILED, "%s is APPLIED: revert it first (revert --all %s)", j->name,
			j->name);
		goto out;
	}
	if (j->dry_run) {
		r = say(t, R_PATCHED, "%s %s", !strcmp(verb, "load") ? "apply" : verb,
			j->name);
		goto out;
	}
	rc = act(ctl, j, j->name, cmd, &err);
	r = rc ? failed(t, rc, &err, !strcmp(verb, "load") ? "apply" : verb)
	       : say(t, R_PATCHED, "%s", "");
out:
	free(e);
	xs_ctl_close(ctl);
	return r;
}

/* ---- the workers ---- */

static void worker_main(int sock, const struct job *j, struct target *targets)
{
	uint32_t idx;
	/* A worker may be inside an attach (the target stopped, its registers
	 * borrowed): a Ctrl-C or a service stop waits for it to finish; the
	 * parent then closes the socket and the worker ends. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		ssize_t k = recv(sock, &idx, sizeof(idx), 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k != (ssize_t)sizeof(idx))
			break;
		struct target *t = &targets[idx];
		uint64_t t0 = xs_mono_ns();
		do_one(j, t);
		struct wmsg m = { .idx = idx, .result = (int32_t)t->result,
				  .attached = t->attached, .ns = xs_mono_ns() - t0 };
		snprintf(m.reason, sizeof(m.reason), "%s", t->reason);
		if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
			break;
	}
	_exit(0);
}

struct worker {
	pid_t pid;
	int sock;
	long busy; /* the target index it works on, -1 idle */
};

/* Print one result line (text mode), as the results come in. */
static void line(const struct job *j, const struct target *t)
{
	if (t->result == R_ABSENT)
		return;
	if (j->label)
		printf("%s: ", j->label);
	printf("%d %s ", t->p.pid, t->p.comm);
	if (j->dry_run && t->result == R_PATCHED)
		printf("would be %s: %s\n", changed_word(j->verb), t->reason);
	else if (t->result == R_PATCHED)
		printf("%s%s\n", changed_word(j->verb), t->attached ? " (agent attached)" : "");
	else if (t->result == R_SKIPPED || t->result == R_FAILED)
		printf("%s: %s\n", result_json[t->result], t->reason);
	else
		printf("%s\n", result_json[t->result]);
	fflush(stdout);
}

/*
 * Run every target in todo[] through nj workers. Results land in targets[]
 * (each worker fills its copy; the parent copies what the worker sends).
 */
static void run_pool(const struct job *j, struct target *targets, const size_t *todo,
		     size_t ntodo, unsigned nj, bool text)
{
	struct worker w[MAX_JOBS];
	struct pollfd pf[MAX_JOBS];
	size_t next = 0, done = 0;
	unsigned nw = 0;

	if (nj > ntodo)
		nj = (unsigned)ntodo;
	fflush(stdout);
	fflush(stderr);
	for (unsigned i = 0; i < nj; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			break;
		pid_t pid = fork();
		if (pid < 0) {
			close(sv[0]);
			close(sv[1]);
			break;
		}
		if (pid == 0) {
			close(sv[0]);
			for (unsigned k = 0; k < nw; k++)
				close(w[k].sock);
			worker_main(sv[1], j, targets);
		}
		close(sv[1]);
		w[nw++] = (struct worker){ pid, sv[0], -1 };
	}
	if (nw == 0) {
		/* No worker could start: do them here, one after the other. */
		for (size_t i = 0; i < ntodo; i++) {
			struct target *t = &targets[todo[i]];
			uint64_t t0 = xs_mono_ns();
			do_one(j, t);
			t->ns = xs_mono_ns() - t0;
			if (text)
				line(j, t);
		}
		return;
	}
	for (unsigned i = 0; i < nw && next < ntodo; i++) {
		uint32_t idx = (uint32_t)todo[next];
		if (send(w[i].sock, &idx, sizeof(idx), MSG_NOSIGNAL) == (ssize_t)sizeof(idx)) {
			w[i].busy = (long)idx;
			next++;
		}
	}
	unsigned alive = nw;
	while (done < ntodo && alive) {
		for (unsigned i = 0; i < nw; i++)
			pf[i] = (struct pollfd){ .fd = w[i].sock >= 0 ? w[i].sock : -1,
						 .events = POLLIN };
		if (poll(pf, nw, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned i = 0; i < nw; i++) {
			if (w[i].sock < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			struct wmsg m;
			ssize_t k = recv(w[i].sock, &m, sizeof(m), 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k != (ssize_t)sizeof(m) || m.idx != (uint32_t)w[i].busy) {
				/* The worker died: its target failed, the others go on. */
				if (w[i].busy >= 0) {
					struct target *t = &targets[w[i].busy];
					int st = 0;
					waitpid(w[i].pid, &st, 0);
					w[i].pid = -1;
					say(t, R_FAILED, "the worker process died (%s %d)",
					    WIFSIGNALED(st) ? "signal" : "exit",
					    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
					done++;
					if (text)
						line(j, t);
				}
				close(w[i].sock);
				w[i].sock = -1;
				alive--;
				continue;
			}
			struct target *t = &targets[m.idx];
			t->result = (enum result)m.result;
			t->attached = m.attached;
			t->ns = m.ns;
			snprintf(t->reason, sizeof(t->reason), "%s", m.reason);
			done++;
			if (text)
				line(j, t);
			w[i].busy = -1;
			if (next < ntodo) {
				uint32_t idx = (uint32_t)todo[next];
				if (send(w[i].sock, &idx, sizeof(idx), MSG_NOSIGNAL) ==
				    (ssize_t)sizeof(idx)) {
					w[i].busy = (long)idx;
					next++;
				}
			}
		}
	}
	/* Targets never handed out (every worker died) failed. */
	for (; next < ntodo; next++) {
		struct target *t = &targets[todo[next]];
		say(t, R_FAILED, "no worker process left to handle it");
		if (text)
			line(j, t);
	}
	for (unsigned i = 0; i < nw; i++) {
		if (w[i].sock >= 0)
			close(w[i].sock);
		if (w[i].pid > 0)
			waitpid(w[i].pid, NULL, 0);
	}
}

/* ---- the targets ---- */

/*
 * A narrowed run (--tree, --comm) names the processes the operator means:
 * those of them with an agent that do not map the object are listed as
 * skipped, with the reason, instead of silently left out. Unnarrowed, a
 * host's every other process would be listed.
 */
static int add_unmapped(const struct ctx *c, const uint8_t *id, size_t idn,
			struct xs_proc **procs, size_t *nprocs, struct xs_err *err)
{
	struct xs_scan_opts o = { .tree = c->tree, .comm = c->comm, .agents_only = true };
	struct xs_proc *v = NULL;
	size_t n = 0;
	int rc = xs_proc_scan(&o, &v, &n, err);
	if (rc)
		return rc;
	struct xs_proc *all = n ? realloc(*procs, (*nprocs + n) * sizeof(*all)) : *procs;
	if (!all) {
		free(v);
		return xs_fail(err, -ENOMEM, "out of memory");
	}
	*procs = all;
	char hex[2 * XS_BUILD_ID_MAX + 1] = "";
	xs_hex_encode(id, idn, hex);
	size_t had = *nprocs;
	for (size_t i = 0; i < n; i++) {
		bool listed = false;
		for (size_t k = 0; k < had && !listed; k++)
			listed = all[k].pid == v[i].pid;
		if (listed)
			continue;
		all[*nprocs] = v[i];
		snprintf(all[*nprocs].reason, sizeof(all[*nprocs].reason),
			 "does not map the object the payload is for (build-id %.16s...)", hex);
		(*nprocs)++;
	}
	free(v);
	return 0;
}

/*
 * A stacked payload depends on another payload's build-id: the processes
 * whose agent holds that payload. Asked only when no process maps an
 * object with the build-id (the usual payload sits on an object).
 */
int fleet_stacked_targets(const struct ctx *c, const uint8_t *id, size_t idn,
			   struct xs_proc **out, size_t *n, struct xs_err *err)
{
	struct xs_scan_opts o = { .tree = c->tree, .comm = c->comm, .agents_only = true };
	struct xs_proc *v;
	size_t nv, k = 0;
	char hex[2 * XS_BUILD_ID_MAX + 1];
	int rc = xs_proc_scan(&o, &v, &nv, err);
	if (rc)
		return rc;
	xs_hex_encode(id, idn, hex);
	for (size_t i = 0; i < nv; i++) {
		struct xs_ctl *ctl;
		struct xs_info *in = NULL;
		struct xs_err e;
		bool keep = false;
		if (v[i].reason[0] || xs_ctl_connect_pid(v[i].pid, &ctl, &e))
			continue;
		xs_ctl_set_io_timeout(ctl, 5000);
		if (!xs_ctl_info(ctl, &in, &e)) {
			for (uint32_t p = 0; p < in->npayloads && !keep; p++)
				keep = !strcmp(in->payloads[p].build_id, hex);
			xs_info_free(in);
		}
		xs_ctl_close(ctl);
		if (keep) {
			v[k] = v[i];
			snprintf(v[k].object, sizeof(v[k].object), "payload %s", hex);
			v[k].match = true;
			k++;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct target *x = a, *y = b;
	return (x->p.pid > y->p.pid) - (x->p.pid < y->p.pid);
}

static void print_json(const struct job *j, const struct target *t, size_t n,
		       const unsigned *count, double ms, unsigned jobs)
{
	printf("{\"command\":\"%s\",\"payload\":", j->verb);
	json_str(stdout, j->name);
	printf(",\"dry_run\":%s,\"results\":[", j->dry_run ? "true" : "false");
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (t[i].result == R_ABSENT)
			continue;
		printf("%s{\"pid\":%d,\"comm\":", first ? "" : ",", t[i].p.pid);
		json_str(stdout, t[i].p.comm);
		printf(",\"result\":\"%s\",\"reason\":", result_json[t[i].result]);
		json_str(stdout, t[i].reason);
		printf(",\"changed\":%s,\"attached\":%s,\"ms\":%.3f}",
		       t[i].result == R_PATCHED && !j->dry_run ? "true" : "false",
		       t[i].attached ? "true" : "false", (double)t[i].ns / 1e6);
		first = false;
	}
	printf("],\"summary\":{\"patched\":%u,\"already\":%u,\"skipped\":%u,\"failed\":%u,"
	       "\"gone\":%u},\"elapsed_ms\":%.3f,\"jobs\":%u}", count[R_PATCHED],
	       count[R_ALREADY], count[R_SKIPPED], count[R_FAILED], count[R_GONE], ms, jobs);
}

/*
 * The run itself, for a job whose name (and for load, payload bytes) is
 * set: find the processes, hand them to the workers, print the lines and
 * the summary (or the JSON). An exit code: 0 only if nothing failed.
 */
static int fleet_core(struct ctx *c, struct job *j, unsigned flags)
{
	struct xs_err err = { "" };
	uint8_t id[XS_BUILD_ID_MAX];
	size_t idn = 0;
	struct xs_proc *procs = NULL;
	size_t nprocs = 0;
	int rc;
	uint64_t t0 = xs_mono_ns();
	bool load = !strcmp(j->verb, "load");
	bool text = !c->json;
	const char *label = j->label;

	j->act = find_action(load ? "apply" : j->verb);
	if (load) {
		rc = xs_payload_depends(j->payload, j->payload_len, id, sizeof(id), &idn, &err);
		if (rc) {
			report(rc, &err, NULL, "%s%scannot read what payload %s depends on",
			       label ? label : "", label ? ": " : "", j->name);
			return EXIT_FAIL;
		}
		struct xs_scan_opts o = { .build_id = id, .build_id_len = idn, .tree = c->tree,
					  .comm = c->comm };
		rc = xs_proc_scan(&o, &procs, &nprocs, &err);
		if (!rc && nprocs == 0) {
			free(procs);
			rc = fleet_stacked_targets(c, id, idn, &procs, &nprocs, &err);
		} else if (!rc && (c->tree > 0 || c->comm)) {
			rc = add_unmapped(c, id, idn, &procs, &nprocs, &err);
		}
	} else {
		struct xs_scan_opts o = { .tree = c->tree, .comm = c->comm, .agents_only = true };
		rc = xs_proc_scan(&o, &procs, &nprocs, &err);
	}
	if (rc)
		return report(rc, &err, NULL, "cannot list the processes");
	xs_proc_agent_sockets(procs, nprocs);

	struct target *t = calloc(nprocs ? nprocs : 1, sizeof(*t));
	size_t *todo = calloc(nprocs ? nprocs : 1, sizeof(*todo));
	size_t ntodo = 0;
	if (!t || !todo) {
		free(t);
		free(todo);
		free(procs);
		xs_fail(&err, -ENOMEM, "out of memory");
		return report(-ENOMEM, &err, NULL, "%s --all", j->verb);
	}
	for (size_t i = 0; i < nprocs; i++) {
		t[i].p = procs[i];
		if (procs[i].reason[0]) {
			say(&t[i], R_SKIPPED, "%s", procs[i].reason);
			if (text)
				line(j, &t[i]);
		} else {
			todo[ntodo++] = i;
		}
	}
	free(procs);
	if (nprocs == 0 && text && !(flags & FLEET_QUIET_EMPTY)) {
		char hex[2 * XS_BUILD_ID_MAX + 1] = "";
		xs_hex_encode(id, idn, hex);
		if (load)
			fprintf(stderr, "xsplice: %s%sno process maps an object with build-id %s (what "
				"%s depends on)\n", label ? label : "", label ? ": " : "", hex, j->name);
		else
			fprintf(stderr, "xsplice: %s%sno process has an agent\n", label ? label : "",
				label ? ": " : "");
	}
	unsigned jobs = c->jobs ? c->jobs : FLEET_DEFAULT_JOBS;
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	signal(SIGPIPE, SIG_IGN);
	run_pool(j, t, todo, ntodo, jobs, text);
	free(todo);

	unsigned count[R_NRESULTS] = { 0 };
	size_t listed = 0;
	for (size_t i = 0; i < nprocs; i++) {
		count[t[i].result]++;
		listed += t[i].result != R_ABSENT;
	}
	double ms = (double)(xs_mono_ns() - t0) / 1e6;
	qsort(t, nprocs, sizeof(*t), by_pid);
	if (c->json) {
		print_json(j, t, nprocs, count, ms, jobs);
		if (!(flags & FLEET_JSON_NESTED))
			putchar('\n');
	} else if (!(listed == 0 && (flags & FLEET_QUIET_EMPTY))) {
		if (label)
			printf("%s: ", label);
		printf("%s%u %s, %u already, %u skipped, %u failed", j->dry_run ? "dry run: " : "",
		       count[R_PATCHED], j->dry_run ? "would change" : changed_word(j->verb),
		       count[R_ALREADY], count[R_SKIPPED], count[R_FAILED]);
		if (count[R_GONE])
			printf(", %u gone", count[R_GONE]);
		printf("\n");
		if (!listed && nprocs && !(flags & FLEET_QUIET_EMPTY))
			fprintf(stderr, "xsplice: %s%sno process holds a payload %s\n",
				label ? label : "", label ? ": " : "", j->name);
		if (listed && !label)
			printf("%zu process%s in %.1f ms: %.3f ms per process (%u job%s)\n", listed,
			       listed == 1 ? "" : "es", ms, ms / (double)listed, jobs,
			       jobs == 1 ? "" : "s");
	}
	fflush(stdout);
	free(t);
	return count[R_FAILED] ? EXIT_FAIL : EXIT_OK;
}

int fleet_load(struct ctx *c, const char *name, const uint8_t *buf, size_t len,
	       const char *label, unsigned flags)
{
	struct job j = { .verb = "load", .dry_run = c->dry_run, .no_attach = c->no_attach,
			 .timeout_ms = c->timeout_ms, .payload = buf, .payload_len = len,
			 .label = label };
	snprintf(j.name, sizeof(j.name), "%s", name);
	uint8_t id[XS_BUILD_ID_MAX];
	size_t n = 0;
	struct xs_err err;
	if (!xs_mem_build_id(buf, len, id, sizeof(id), &n, &err))
		xs_hex_encode(id, n, j.own_id);
	return fleet_core(c, &j, flags);
}

int fleet_act(struct ctx *c, const char *verb, const char *name, const char *label,
	      unsigned flags)
{
	struct job j = { .verb = verb, .dry_run = c->dry_run, .no_attach = c->no_attach,
			 .timeout_ms = c->timeout_ms, .label = label };
	snprintf(j.name, sizeof(j.name), "%s", name);
	return fleet_core(c, &j, flags);
}

int fleet_run(struct ctx *c, const struct command *cmd, const char *arg)
{
	char name[XS_NAME_SIZE];
	uint8_t *buf = NULL;
	size_t len = 0;
	int ex;

	if (c->pid || c->socket)
		return usage_error(cmd, "--all acts on every matching process: no -p or --socket");
	if (c->build_id || c->object)
		return usage_error(cmd, "--all finds the processes itself: no --build-id or "
				   "--object (use --tree or --comm to narrow it)");
	if (strcmp(cmd->name, "load")) {
		if ((ex = check_name(cmd, arg)))
			return ex;
		return fleet_act(c, cmd->name, arg, NULL, 0);
	}
	if (name_from_file(arg, name, sizeof(name)))
		return usage_error(cmd, "load: cannot make a payload name (1..%d bytes) from '%s'",
				   XS_NAME_SIZE - 1, arg);
	if ((ex = read_file(arg, &buf, &len)))
		return ex;
	ex = fleet_load(c, name, buf, len, NULL, 0);
	free(buf);
	return ex;
}
