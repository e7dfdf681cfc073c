/* SPDX-License-Identifier: MIT */
/*
 * Would the seccomp filters of a thread let the attach, the loader thread
 * and the agent make their system calls (seccomp.c)? The filters are read
 * with PTRACE_SECCOMP_GET_FILTER (needs CAP_SYS_ADMIN and the thread in a
 * ptrace stop of ours) and run here, on the list of calls the attach makes
 * and the agent makes later (docs/decisions.md, "Attach: seccomp").
 *
 * Threading: no state; the caller's thread must be the tracer of tid.
 */
#ifndef XS_INJECT_SECCOMP_H
#define XS_INJECT_SECCOMP_H

#include <stdint.h>
#include <sys/types.h>

#include "xsplice/error.h"

/*
 * 0 if every filter of tid (ptrace-stopped by us) answers ALLOW, LOG,
 * ERRNO or TRACE for every call on the list; ERRNO only makes the step
 * fail with its errno, the process lives. -ENOTSUP, naming the system
 * call and the action, if one would kill the thread or the process, raise
 * SIGSYS or wait for a supervisor (USER_NOTIF); -EPERM if the filters
 * cannot be read (no CAP_SYS_ADMIN): we may not guess. insn: the address
 * of the syscall instruction the attach uses (the filters see it).
 */
int xs_seccomp_check(pid_t tid, uint64_t insn, struct xs_err *err);

/* Exposed for the unit test: run one classic BPF seccomp program on a
 * seccomp_data (struct seccomp_data's layout); returns the action word,
 * or SECCOMP_RET_KILL_PROCESS for a program it cannot run. */
struct sock_filter;
uint32_t xs_seccomp_run(const struct sock_filter *prog, unsigned len, const void *data,
			unsigned data_len);

#endif
