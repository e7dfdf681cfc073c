/* SPDX-License-Identifier: MIT */
/*
 * xs_seccomp_check (seccomp.h): a classic BPF interpreter restricted to
 * what the kernel's seccomp checker accepts (loads from seccomp_data,
 * scratch memory, ALU, jumps, RET), and the list of system calls, with the
 * arguments that filters look at (mmap's and mprotect's protection bits),
 * that the attach and the agent make.
 *
 * Threading: no state.
 */
#include "seccomp.h"

#include <errno.h>
#include <stdbool.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000u
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000u
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000u
#endif
#define RET_ACTION_FULL 0xffff0000u

#define FILTERS_MAX 64

uint32_t xs_seccomp_run(const struct sock_filter *prog, unsigned len, const void *data,
			unsigned data_len)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = { 0 };
	for (unsigned pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? X : k;
		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			switch (BPF_MODE(f->code)) {
			case BPF_ABS:
				if (BPF_SIZE(f->code) != BPF_W || k > data_len - 4 || (k & 3))
					return SECCOMP_RET_KILL_PROCESS;
				memcpy(&v, (const char *)data + k, 4);
				break;
			case BPF_LEN:
				v = data_len;
				break;
			case BPF_IMM:
				v = k;
				break;
			case BPF_MEM:
				if (k >= BPF_MEMWORDS)
					return SECCOMP_RET_KILL_PROCESS;
				v = M[k];
				break;
			default:
				return SECCOMP_RET_KILL_PROCESS;
			}
			if (BPF_CLASS(f->code) == BPF_LD)
				A = v;
			else
				X = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return SECCOMP_RET_KILL_PROCESS;
			M[k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: A += src; break;
			case BPF_SUB: A -= src; break;
			case BPF_MUL: A *= src; break;
			case BPF_DIV: if (!src) return 0; A /= src; break; /* the kernel returns 0 */
			case BPF_MOD: if (!src) return 0; A %= src; break;
			case BPF_OR: A |= src; break;
			case BPF_AND: A &= src; break;
			case BPF_XOR: A ^= src; break;
			case BPF_LSH: A = src < 32 ? A << src : 0; break;
			case BPF_RSH: A = src < 32 ? A >> src : 0; break;
			case BPF_NEG: A = -A; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			break;
		case BPF_JMP: {
			bool t;
			switch (BPF_OP(f->code)) {
			case BPF_JA:
				pc += k;
				continue;
			case BPF_JEQ: t = A == src; break;
			case BPF_JGT: t = A > src; break;
			case BPF_JGE: t = A >= src; break;
			case BPF_JSET: t = (A & src) != 0; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			pc += t ? f->jt : f->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? A : k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		default:
			return SECCOMP_RET_KILL_PROCESS;
		}
	}
	return SECCOMP_RET_KILL_PROCESS; /* fell off the end: the kernel rejects such programs */
}

/* The kernel's order: the lowest action (as a signed number) wins. */
static bool stricter(uint32_t a, uint32_t b)
{
	return (int32_t)(a & RET_ACTION_FULL) < (int32_t)(b & RET_ACTION_FULL);
}

static const char *action_name(uint32_t a)
{
	switch (a & RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: return "kill the process";
	case SECCOMP_RET_KILL_THREAD: return "kill the thread";
	case SECCOMP_RET_TRAP: return "raise SIGSYS";
	case SECCOMP_RET_USER_NOTIF: return "wait for a user-space supervisor";
	default: return "?";
	}
}

static bool harmless(uint32_t a)
{
	switch (a & RET_ACTION_FULL) {
	case SECCOMP_RET_ALLOW: case SECCOMP_RET_LOG: case SECCOMP_RET_ERRNO:
	case SECCOMP_RET_TRACE:
		return true;
	default:
		return false;
	}
}

/*
 * The system calls: the injection's (mmap, mprotect, prctl, memfd_create,
 * close, munmap), pthread_create's and the new thread's, dlopen's, and
 * the agent's (measured with strace on a demo target through start, load,
 * apply, revert, unload, list, plus the calls of its error paths).
 */
static const struct { long nr; const char *name; int prot_arg; } calls[] = {
	{ SYS_read, "read", -1 }, { SYS_write, "write", -1 }, { SYS_close, "close", -1 },
	{ SYS_fstat, "fstat", -1 }, { SYS_poll, "poll", -1 }, { SYS_lseek, "lseek", -1 },
	{ SYS_mmap, "mmap", 2 }, { SYS_mprotect, "mprotect", 2 }, { SYS_munmap, "munmap", -1 },
	{ SYS_brk, "brk", -1 }, { SYS_rt_sigaction, "rt_sigaction", -1 },
	{ SYS_rt_sigprocmask, "rt_sigprocmask", -1 }, { SYS_rt_sigreturn, "rt_sigreturn", -1 },
	{ SYS_pread64, "pread64", -1 }, { SYS_pwrite64, "pwrite64", -1 },
	{ SYS_access, "access", -1 }, { SYS_pipe2, "pipe2", -1 }, { SYS_madvise, "madvise", -1 },
	{ SYS_mincore, "mincore", -1 }, { SYS_getpid, "getpid", -1 },
	{ SYS_socket, "socket", -1 }, { SYS_accept, "accept", -1 },
	{ SYS_accept4, "accept4", -1 }, { SYS_sendto, "sendto", -1 },
	{ SYS_recvfrom, "recvfrom", -1 }, { SYS_sendmsg, "sendmsg", -1 },
	{ SYS_recvmsg, "recvmsg", -1 }, { SYS_bind, "bind", -1 }, { SYS_listen, "listen", -1 },
	{ SYS_getsockopt, "getsockopt", -1 }, { SYS_setsockopt, "setsockopt", -1 },
	{ SYS_clone, "clone", -1 }, { SYS_clone3, "clone3", -1 }, { SYS_exit, "exit", -1 },
	{ SYS_fcntl, "fcntl", -1 }, { SYS_getdents64, "getdents64", -1 },
	{ SYS_readlink, "readlink", -1 }, { SYS_readlinkat, "readlinkat", -1 },
	{ SYS_unlink, "unlink", -1 }, { SYS_mkdirat, "mkdirat", -1 },
	{ SYS_fchmodat, "fchmodat", -1 }, { SYS_getuid, "getuid", -1 },
	{ SYS_geteuid, "geteuid", -1 }, { SYS_prctl, "prctl", -1 }, { SYS_gettid, "gettid", -1 },
	{ SYS_futex, "futex", -1 }, { SYS_clock_gettime, "clock_gettime", -1 },
	{ SYS_clock_nanosleep, "clock_nanosleep", -1 }, { SYS_nanosleep, "nanosleep", -1 },
	{ SYS_tgkill, "tgkill", -1 }, { SYS_rt_tgsigqueueinfo, "rt_tgsigqueueinfo", -1 },
	{ SYS_openat, "openat", -1 }, { SYS_newfstatat, "newfstatat", -1 },
	{ SYS_set_robust_list, "set_robust_list", -1 }, { SYS_rseq, "rseq", -1 },
	{ SYS_prlimit64, "prlimit64", -1 }, { SYS_getrandom, "getrandom", -1 },
	{ SYS_memfd_create, "memfd_create", -1 }, { SYS_process_vm_readv, "process_vm_readv", -1 },
	{ SYS_sched_yield, "sched_yield", -1 }, { SYS_statx, "statx", -1 },
};

static const uint64_t prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
				  PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC };

int xs_seccomp_check(pid_t tid, uint64_t insn, struct xs_err *err)
{
	struct sock_filter *progs[FILTERS_MAX];
	unsigned lens[FILTERS_MAX];
	int nf = 0, rc = 0;
	for (; nf < FILTERS_MAX; nf++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)nf, NULL);
		if (n < 0 && errno == ENOENT)
			break;
		if (n <= 0 || n > BPF_MAXINSNS) {
			int e = n < 0 ? errno : EINVAL;
			rc = xs_fail(err, -EPERM, "thread %d runs under a seccomp filter that cannot "
				     "be read (%s%s): refused, a filter that kills on a system call "
				     "the attach makes would kill the process; start the program "
				     "with LD_PRELOAD=libxsplice.so instead", (int)tid, strerror(e),
				     e == EACCES || e == EPERM ? ": reading it needs CAP_SYS_ADMIN"
				     : e == EMEDIUMTYPE ? ": an eBPF filter" : "");
			goto out;
		}
		progs[nf] = calloc((size_t)n, sizeof(struct sock_filter));
		if (!progs[nf]) {
			rc = xs_fail(err, -ENOMEM, "out of memory");
			goto out;
		}
		lens[nf] = (unsigned)n;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)nf, progs[nf]) != n) {
			nf++;
			rc = xs_fail(err, -EPERM, "cannot read the seccomp filter of thread %d: %s",
				     (int)tid, strerror(errno));
			goto out;
		}
	}
	if (nf == FILTERS_MAX) {
		rc = xs_fail(err, -ENOTSUP, "thread %d has more than %d seccomp filters", (int)tid,
			     FILTERS_MAX);
		goto out;
	}
	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		size_t variants = calls[c].prot_arg >= 0 ? sizeof(prots) / sizeof(prots[0]) : 1;
		for (size_t v = 0; v < variants; v++) {
			struct seccomp_data sd = { .nr = (int)calls[c].nr, .arch = AUDIT_ARCH_X86_64,
						   .instruction_pointer = insn };
			if (calls[c].prot_arg >= 0) {
				sd.args[calls[c].prot_arg] = prots[v];
				if (calls[c].nr == SYS_mmap)
					sd.args[3] = MAP_PRIVATE | (v % 2 ? MAP_ANONYMOUS : 0);
			}
			uint32_t worst = SECCOMP_RET_ALLOW;
			for (int f = 0; f < nf; f++) {
				uint32_t a = xs_seccomp_run(progs[f], lens[f], &sd, sizeof(sd));
				if (stricter(a, worst))
					worst = a;
			}
			if (!harmless(worst)) {
				rc = xs_fail(err, -ENOTSUP, "thread %d runs under a seccomp filter that "
					     "would %s at %s, which the attach or the agent makes: "
					     "refused, the process is left as it was", (int)tid,
					     action_name(worst), calls[c].name);
				goto out;
			}
		}
	}
out:
	for (int f = 0; f < nf; f++)
		free(progs[f]);
	return rc;
}
