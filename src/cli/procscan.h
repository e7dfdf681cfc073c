/* SPDX-License-Identifier: MIT */
/*
 * The processes of the host as `xsplice ps` and `--all` see them: which
 * ones map an object with a given build-id (read through
 * /proc/PID/map_files, so across mount namespaces and for deleted files),
 * which ones run an agent, and for those that cannot be patched, why.
 */
#ifndef XS_CLI_PROCSCAN_H
#define XS_CLI_PROCSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xsplice/error.h"
#include "xsplice/protocol.h"

struct xs_proc {
	int pid;
	int ppid;
	char comm[17];
	char state;             /* /proc/PID/stat's state letter */
	unsigned long long start; /* start time (clock ticks since boot): tells a reused pid */
	uid_t uid;
	unsigned flags;          /* /proc/PID/stat's flags (PF_*) */
	bool kthread;
	bool agent;             /* libxsplice.so (or the attach memfd) is mapped */
	bool match;             /* maps an object with the build-id asked for */
	char object[256];       /* that object's path as the maps show it */
	char reason[160];       /* why it cannot be patched; "" when it can */
	char sock[108];         /* its agent's socket if known (xs_proc_agent_sockets) */
};

struct xs_scan_opts {
	const uint8_t *build_id; /* NULL: no build-id filter */
	size_t build_id_len;
	int tree;                /* > 0: only this process and its descendants */
	const char *comm;        /* only processes with this command name */
	bool agents_only;        /* without build_id: only processes with an agent */
};

/*
 * Every process of the host (but this one) that passes the filters, sorted
 * by pid, each classified (reason). With a build-id only the processes
 * that map it; without one, every process, or with agents_only those with
 * an agent. *out is malloc'ed (free it). Processes that exit during the
 * scan are left out.
 */
int xs_proc_scan(const struct xs_scan_opts *o, struct xs_proc **out, size_t *n,
		 struct xs_err *err);

/*
 * The agent sockets of this network namespace, read once from
 * /proc/self/net/unix: for each listening stream socket named after a pid
 * ("<dir>/<pid>.sock" or "@xsplice-<pid>"), the path into sock[] of the
 * process with that pid among v[0..n) (sorted by pid). Connecting there
 * saves each connection a scan of net/unix (O(sockets) each, O(n^2) for a
 * fleet); the connect still checks the peer is that pid.
 */
void xs_proc_agent_sockets(struct xs_proc *v, size_t n);

/*
 * Connect to p's agent: at its known socket (xs_proc_agent_sockets) first,
 * then, when scan is true, wherever libxsplice-ctl finds it. -ENOENT when
 * neither answers.
 */
struct xs_ctl;
int xs_proc_connect(const struct xs_proc *p, bool scan, struct xs_ctl **ctl,
		    struct xs_err *err);

/* The process scanned as p still runs: same pid, same start time, not a
 * zombie. False when it exited (or its pid was reused). */
bool xs_proc_alive(const struct xs_proc *p);

#endif
