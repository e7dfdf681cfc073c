/* SPDX-License-Identifier: MIT */
/*
 * Run-time attach (DESIGN.md §8, docs/decisions.md "Attach"): load
 * libxsplice.so into a running process that was started without it, and
 * wait until its agent answers on its control socket.
 *
 * Threading: call from one thread of a single-threaded-enough program (the
 * xsplice command): it blocks SIGCHLD in the calling thread while it
 * ptraces, and restores the mask before returning. It never leaves the
 * target stopped or traced.
 */
#ifndef XS_INJECT_INJECT_H
#define XS_INJECT_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

struct xs_attach_result {
	bool already;       /* an agent already answered: nothing was done */
	int tid;            /* the thread that was hijacked */
	unsigned probes;    /* threads stopped and let go because not at a safe point */
	uint64_t pause_ns;  /* how long the hijacked thread was stopped */
	uint64_t probe_ns;  /* the stops of the probes, summed */
	uint64_t total_ns;  /* from the start to the agent answering */
	uint64_t scratch;   /* the two pages left in the target (see decisions) */
	char where[32];     /* what the hijacked thread was doing: "read", "user code" */
};

/*
 * Load the agent at agent_path (NULL: xs_attach_agent_path) into process
 * pid; timeout_ms bounds the whole attach (0: 10 s). Returns 0 (with
 * res->already when an agent was there), or -errno with a reason that names
 * the cause: -ESRCH (no such process, exited during the attach), -EPERM or
 * -EACCES (Yama's ptrace_scope named, another user's, not dumpable, already
 * traced, a seccomp filter that cannot be read without CAP_SYS_ADMIN),
 * -ENOTSUP (a seccomp filter that would kill it, strict seccomp, pid 1),
 * -EINVAL (a kernel thread, the calling process itself), -EAGAIN (stopped by a signal: left stopped), -ENOEXEC (not
 * x86-64, statically linked, dlopen of the agent failed), -ENOTSUP (glibc
 * before 2.34), -EBUSY (no thread reached a safe point in time),
 * -ETIMEDOUT (the agent did not answer), -EEXIST (the agent is mapped but
 * does not answer).
 */
int xs_attach(int pid, const char *agent_path, unsigned timeout_ms,
	      struct xs_attach_result *res, struct xs_err *err);

/* The agent this command would load: $XSPLICE_AGENT, else libxsplice.so
 * next to the command's build or install tree. */
int xs_attach_agent_path(char *buf, size_t len, struct xs_err *err);

#endif
