/* SPDX-License-Identifier: MIT */
/*
 * One thread of another process under ptrace (hijack.c): seize and
 * interrupt it, tell where it stopped, save and restore its registers, FPU
 * state and signal mask, run a system call or a piece of code on it, and
 * let it go exactly where it was.
 *
 * Threading: used by one thread of the xsplice command; the caller blocks
 * SIGCHLD around the use (xs_hijack_wait waits for it). One struct
 * xs_hijack per seized thread.
 */
#ifndef XS_INJECT_HIJACK_H
#define XS_INJECT_HIJACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "xsplice/error.h"

enum xs_stop_kind {
	XS_STOP_NONE,
	XS_STOP_EVENT,   /* PTRACE_EVENT_STOP: our interrupt (inside get_signal) */
	XS_STOP_GROUP,   /* PTRACE_EVENT_STOP of a group-stop (SIGSTOP & co.) */
	XS_STOP_SIGNAL,  /* signal-delivery-stop (inside get_signal) */
	XS_STOP_SYSCALL, /* syscall-enter or -exit stop */
};

struct xs_hijack {
	pid_t pid, tid;
	bool seized;
	bool saved;        /* regs, xstate, sigmask below hold the originals */
	bool changed;      /* we changed something that restore must undo */
	enum xs_stop_kind stop;
	int stop_sig;
	struct user_regs_struct regs; /* the original registers */
	uint8_t *xstate;
	size_t xstate_len;
	uint64_t sigmask;
	uint64_t t_interrupt, t_release; /* xs_mono_ns of interrupt and detach */
};

/* Seize tid of pid, interrupt it, wait (at most wait_ms) until it stops.
 * -ESRCH: gone; -EPERM/-EACCES: not allowed (the caller explains why);
 * -EAGAIN: the process group-stopped meanwhile (released, left stopped). */
int xs_hijack_seize(struct xs_hijack *h, pid_t pid, pid_t tid, unsigned wait_ms,
		    struct xs_err *err);

/* Save the registers, FPU/SSE/AVX state and signal mask; block every
 * signal while we use the thread. */
int xs_hijack_save(struct xs_hijack *h, struct xs_err *err);

/* Run system call nr with args on the thread, entering it at the syscall
 * instruction at insn. *ret: the kernel's result (negative errno). */
int xs_hijack_syscall(struct xs_hijack *h, uint64_t insn, long nr, const uint64_t args[6],
		      long *ret, struct xs_err *err);

/* Run code at entry on the thread's own stack (below the 128-byte red
 * zone, 16-byte aligned) until it stops at int3; at most wait_ms. */
int xs_hijack_run(struct xs_hijack *h, uint64_t entry, unsigned wait_ms, struct xs_err *err);

/* Put back everything saved and detach, so the thread continues as if
 * nothing happened (an interrupted system call is restarted by the
 * kernel's own rules). Safe to call in any state; idempotent. */
int xs_hijack_release(struct xs_hijack *h, struct xs_err *err);

/* Where a thread stopped: in a system call (orig_rax >= 0) or not. */
static inline long xs_regs_syscall_nr(const struct user_regs_struct *r)
{
	return (long)r->orig_rax;
}

/* What the kernel does on the way back to user space when no signal
 * handler runs: -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND reissue the
 * call (rax = orig_rax, rip -= 2), -ERESTART_RESTARTBLOCK calls
 * restart_syscall. Returns true and fixes *r if the call is to be
 * reissued (used for reporting and unit tests; release lets the kernel
 * apply the rules itself). */
bool xs_regs_restart(struct user_regs_struct *r);

#endif
