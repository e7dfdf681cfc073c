/* SPDX-License-Identifier: MIT */
/*
 * mdwe_exec PROGRAM [ARGS...]: run PROGRAM under the seccomp filter that
 * systemd installs for MemoryDenyWriteExecute=yes (src/shared/seccomp-util.c,
 * seccomp_memory_deny_write_execute()), then exec it:
 *
 *   mmap         with PROT_WRITE and PROT_EXEC both set  -> EPERM
 *   mprotect     with PROT_EXEC                          -> EPERM
 *   pkey_mprotect with PROT_EXEC                         -> EPERM
 *   shmat        with SHM_EXEC                           -> EPERM
 *
 * x86-64 only (mmap2 does not exist there); system calls of other ABIs
 * (i386/x32 via int 0x80 or the x32 bit) are let through, as the daemons
 * under test are native x86-64 programs (systemd adds the same rules for
 * each architecture it knows).
 *
 * Like systemd, NoNewPrivileges is implied when the filter cannot be
 * installed without it (no CAP_SYS_ADMIN, e.g. after a User= change).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif

#define ARG_LO(n) (offsetof(struct seccomp_data, args[n]))
#define EPERM_RET (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

int main(int argc, char **argv)
{
	struct sock_filter f[] = {
		/*  0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/*  1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 12), /* else 14 */
		/*  2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/*  3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3), /* else 7 */
		/*  4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		/*  5 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
		/*  6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 8, 7), /* 15 : 14 */
		/*  7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 2, 0), /* 10 */
		/*  8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 1, 0), /* 10 */
		/*  9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shmat, 2, 4), /* 12 : 14 */
		/* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 3, 2), /* 15 : 14 */
		/* 12 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SHM_EXEC, 1, 0), /* 15 : 14 */
		/* 14 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 15 */ BPF_STMT(BPF_RET | BPF_K, EPERM_RET),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };

	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		if (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
			fprintf(stderr, "mdwe_exec: seccomp: %s\n", strerror(errno));
			return 126;
		}
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "mdwe_exec: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
