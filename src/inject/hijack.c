/* SPDX-License-Identifier: MIT */
/*
 * Hijack one thread of another process with ptrace (hijack.h): PTRACE_SEIZE
 * and PTRACE_INTERRUPT (no SIGSTOP, so the shell's job control never sees
 * us), remote system calls through PTRACE_SYSCALL, a remote piece of code
 * ending in int3, and the release that puts everything back.
 *
 * The restart rule (docs/decisions.md, "Attach"): the original registers
 * are only ever put back while the thread is stopped inside get_signal()
 * (our interrupt's PTRACE_EVENT_STOP or the int3's signal-delivery-stop).
 * When it resumes from there the kernel itself applies its restart rules
 * to them (arch_do_signal_or_restart: -ERESTART* with orig_rax >= 0), and
 * any signal that arrived meanwhile is delivered with the same rules as if
 * we had never been there. A release from a syscall stop first moves the
 * thread into get_signal (PTRACE_INTERRUPT + PTRACE_CONT).
 *
 * Threading: one caller thread, SIGCHLD blocked by the caller (we wait for
 * it with sigtimedwait). No global state.
 */
#include "hijack.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "common/clock.h"

#define XSTATE_MAX (64 * 1024)

#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516
#define NR_RESTART_SYSCALL 219

bool xs_regs_restart(struct user_regs_struct *r)
{
	if ((long)r->orig_rax < 0)
		return false;
	switch ((long)r->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		r->rax = r->orig_rax;
		r->rip -= 2;
		return true;
	case -ERESTART_RESTARTBLOCK:
		r->rax = NR_RESTART_SYSCALL;
		r->rip -= 2;
		return true;
	default:
		return false;
	}
}

static int gone(struct xs_hijack *h, struct xs_err *err)
{
	h->seized = false;
	return xs_fail(err, -ESRCH, "process %d exited during the attach", (int)h->pid);
}

/* Wait for the next stop of h->tid, at most ms. */
static int wait_stop(struct xs_hijack *h, unsigned ms, struct xs_err *err)
{
	uint64_t deadline = xs_mono_ns() + (uint64_t)ms * 1000000u;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		int st;
		pid_t w = waitpid(h->tid, &st, __WALL | WNOHANG);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return gone(h, err);
			return xs_fail(err, -errno, "waitpid on thread %d: %s", (int)h->tid,
				       strerror(errno));
		}
		if (w == h->tid) {
			if (WIFEXITED(st) || WIFSIGNALED(st))
				return gone(h, err);
			if (!WIFSTOPPED(st))
				continue;
			int sig = WSTOPSIG(st), ev = st >> 16;
			h->stop_sig = sig;
			if (ev == PTRACE_EVENT_STOP)
				h->stop = (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN ||
					   sig == SIGTTOU) ? XS_STOP_GROUP : XS_STOP_EVENT;
			else if (sig == (SIGTRAP | 0x80))
				h->stop = XS_STOP_SYSCALL;
			else if (ev)
				h->stop = XS_STOP_EVENT;
			else
				h->stop = XS_STOP_SIGNAL;
			return 0;
		}
		uint64_t now = xs_mono_ns();
		if (now >= deadline)
			return xs_fail(err, -ETIMEDOUT, "thread %d of process %d did not stop "
				       "within %u ms", (int)h->tid, (int)h->pid, ms);
		uint64_t left = deadline - now;
		struct timespec ts = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
		if (sigtimedwait(&chld, NULL, &ts) < 0 && errno != EAGAIN && errno != EINTR)
			return xs_fail(err, -errno, "sigtimedwait: %s", strerror(errno));
	}
}

static int pt_fail(struct xs_hijack *h, const char *what, struct xs_err *err)
{
	int e = errno;
	if (e == ESRCH && kill(h->tid, 0) < 0)
		return gone(h, err);
	return xs_fail(err, -e, "%s on thread %d of process %d: %s", what, (int)h->tid,
		       (int)h->pid, strerror(e));
}

int xs_hijack_seize(struct xs_hijack *h, pid_t pid, pid_t tid, unsigned wait_ms,
		    struct xs_err *err)
{
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->tid = tid;
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0) {
		int e = errno;
		if (e == ESRCH)
			return xs_fail(err, -ESRCH, "process %d exited during the attach", (int)pid);
		return xs_fail(err, -e, "PTRACE_SEIZE of thread %d: %s", (int)tid, strerror(e));
	}
	h->seized = true;
	h->t_interrupt = xs_mono_ns();
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return pt_fail(h, "PTRACE_INTERRUPT", err);
	for (;;) {
		int rc = wait_stop(h, wait_ms, err);
		if (rc)
			return rc;
		if (h->stop == XS_STOP_EVENT) {
			/* epoll_wait, sigtimedwait, semop and a few others return
			 * -EINTR when their thread is stopped, even without a signal
			 * handler (signal(7)): our interrupt would be seen by the
			 * program. Make it the restart code that means "restart
			 * unless a handler runs": that is what the kernel does for
			 * every other blocking call (a handler still gets EINTR). */
			struct user_regs_struct r;
			if (ptrace(PTRACE_GETREGS, tid, NULL, &r) == 0 && (long)r.orig_rax >= 0 &&
			    (long)r.rax == -EINTR) {
				r.rax = (uint64_t)-ERESTARTNOHAND;
				if (ptrace(PTRACE_SETREGS, tid, NULL, &r) < 0)
					return pt_fail(h, "PTRACE_SETREGS", err);
			}
			return 0;
		}
		if (h->stop == XS_STOP_GROUP) {
			xs_hijack_release(h, NULL);
			return xs_fail(err, -EAGAIN, "process %d was stopped (signal %d) during "
				       "the attach; left stopped", (int)pid, h->stop_sig);
		}
		/* A signal on its way to the thread: deliver it, then our
		 * interrupt (still pending) stops it. */
		if (ptrace(PTRACE_CONT, tid, NULL,
			   (void *)(long)(h->stop == XS_STOP_SIGNAL ? h->stop_sig : 0)) < 0)
			return pt_fail(h, "PTRACE_CONT", err);
	}
}

int xs_hijack_save(struct xs_hijack *h, struct xs_err *err)
{
	if (ptrace(PTRACE_GETREGS, h->tid, NULL, &h->regs) < 0)
		return pt_fail(h, "PTRACE_GETREGS", err);
	h->xstate = malloc(XSTATE_MAX);
	if (!h->xstate)
		return xs_fail(err, -ENOMEM, "out of memory");
	struct iovec iov = { h->xstate, XSTATE_MAX };
	if (ptrace(PTRACE_GETREGSET, h->tid, (void *)(long)NT_X86_XSTATE, &iov) < 0)
		return pt_fail(h, "PTRACE_GETREGSET NT_X86_XSTATE", err);
	h->xstate_len = iov.iov_len;
	if (ptrace(PTRACE_GETSIGMASK, h->tid, (void *)sizeof(h->sigmask), &h->sigmask) < 0)
		return pt_fail(h, "PTRACE_GETSIGMASK", err);
	h->saved = true;
	/* Nothing of the program's may run on the thread while it is ours. */
	uint64_t all = ~0ull;
	if (ptrace(PTRACE_SETSIGMASK, h->tid, (void *)sizeof(all), &all) < 0)
		return pt_fail(h, "PTRACE_SETSIGMASK", err);
	return 0;
}

static int set_regs(struct xs_hijack *h, const struct user_regs_struct *r, struct xs_err *err)
{
	h->changed = true;
	if (ptrace(PTRACE_SETREGS, h->tid, NULL, r) < 0)
		return pt_fail(h, "PTRACE_SETREGS", err);
	return 0;
}

int xs_hijack_syscall(struct xs_hijack *h, uint64_t insn, long nr, const uint64_t args[6],
		      long *ret, struct xs_err *err)
{
	struct user_regs_struct r = h->regs;
	r.rip = insn;
	r.rax = (uint64_t)nr;
	r.orig_rax = (uint64_t)-1;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	int rc = set_regs(h, &r, err);
	for (int step = 0; !rc && step < 2; step++) {
		if (ptrace(PTRACE_SYSCALL, h->tid, NULL, NULL) < 0)
			return pt_fail(h, "PTRACE_SYSCALL", err);
		if ((rc = wait_stop(h, 2000, err)))
			return rc;
		if (h->stop != XS_STOP_SYSCALL)
			return xs_fail(err, -EPROTO, "thread %d stopped unexpectedly (signal %d) "
				       "during system call %ld", (int)h->tid, h->stop_sig, nr);
	}
	if (rc)
		return rc;
	if (ptrace(PTRACE_GETREGS, h->tid, NULL, &r) < 0)
		return pt_fail(h, "PTRACE_GETREGS", err);
	*ret = (long)r.rax;
	return 0;
}

int xs_hijack_run(struct xs_hijack *h, uint64_t entry, unsigned wait_ms, struct xs_err *err)
{
	struct user_regs_struct r = h->regs;
	r.rip = entry;
	r.rsp = (h->regs.rsp - 128 - 256) & ~(uint64_t)15;
	r.orig_rax = (uint64_t)-1;
	r.eflags &= ~(uint64_t)(0x400 | 0x100); /* DF, TF */
	int rc = set_regs(h, &r, err);
	if (rc)
		return rc;
	if (ptrace(PTRACE_CONT, h->tid, NULL, NULL) < 0)
		return pt_fail(h, "PTRACE_CONT", err);
	if ((rc = wait_stop(h, wait_ms, err))) {
		if (rc == -ETIMEDOUT)
			h->saved = false; /* running our code: its state is not ours to reset */
		return rc;
	}
	if (h->stop != XS_STOP_SIGNAL || h->stop_sig != SIGTRAP)
		return xs_fail(err, -EPROTO, "the injected code on thread %d stopped with signal "
			       "%d instead of reaching its int3", (int)h->tid, h->stop_sig);
	return 0;
}

int xs_hijack_release(struct xs_hijack *h, struct xs_err *err)
{
	int rc = 0;
	if (!h->seized)
		goto out;
	if (h->saved && h->changed) {
		if (h->stop == XS_STOP_SYSCALL) {
			/* Move into get_signal() first: the kernel restarts the
			 * original call from there by its own rules. */
			if (ptrace(PTRACE_SETREGS, h->tid, NULL, &h->regs) < 0 ||
			    ptrace(PTRACE_INTERRUPT, h->tid, NULL, NULL) < 0 ||
			    ptrace(PTRACE_CONT, h->tid, NULL, NULL) < 0) {
				rc = pt_fail(h, "moving the thread back", err);
				goto detach;
			}
			if ((rc = wait_stop(h, 1000, err)))
				goto detach;
		}
		struct iovec iov = { h->xstate, h->xstate_len };
		if (ptrace(PTRACE_SETREGS, h->tid, NULL, &h->regs) < 0 ||
		    ptrace(PTRACE_SETREGSET, h->tid, (void *)(long)NT_X86_XSTATE, &iov) < 0)
			rc = pt_fail(h, "restoring the registers", err);
	}
	if (h->saved &&
	    ptrace(PTRACE_SETSIGMASK, h->tid, (void *)sizeof(h->sigmask), &h->sigmask) < 0 && !rc)
		rc = pt_fail(h, "restoring the signal mask", err);
detach:
	if (h->seized && ptrace(PTRACE_DETACH, h->tid, NULL, NULL) < 0 && !rc && errno != ESRCH)
		rc = pt_fail(h, "PTRACE_DETACH", err);
	h->seized = false;
	h->t_release = xs_mono_ns();
out:
	free(h->xstate);
	h->xstate = NULL;
	h->saved = false;
	return rc;
}
