/* SPDX-License-Identifier: MIT */
/*
 * mdwe_exec PROGRAM ARGS...: run PROGRAM under the seccomp filter that
 * systemd installs for MemoryDenyWriteExecute=yes, then exec it:
 *   - mmap with PROT_WRITE and PROT_EXEC together      -> EPERM
 *   - mprotect / pkey_mprotect adding PROT_EXEC        -> EPERM
 *   - shmat with SHM_EXEC                              -> EPERM
 * Written by hand with <linux/filter.h> (no libseccomp). If XS_MDWE_PRELOAD
 * is set, it becomes PROGRAM's LD_PRELOAD (so the launcher itself runs
 * without the agent).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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
#define DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
		return 2;
	}
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		/* 2 */ ALLOW,
		/* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 4, 0),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 8, 0),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pkey_mprotect, 7, 0),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_shmat, 9, 0),
		/* 8 */ ALLOW,
		/* mmap: prot & (W|X) == W|X -> deny */
		/* 9 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		/* 10 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
		/* 12 */ DENY,
		/* 13 */ ALLOW,
		/* mprotect, pkey_mprotect: prot & X -> deny */
		/* 14 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		/* 15 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		/* 16 */ DENY,
		/* 17 */ ALLOW,
		/* shmat: shmflg & SHM_EXEC -> deny */
		/* 18 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		/* 19 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SHM_EXEC, 0, 1),
		/* 20 */ DENY,
		/* 21 */ ALLOW,
	};
	struct sock_fprog prog = { (unsigned short)(sizeof(f) / sizeof(f[0])), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("mdwe_exec: PR_SET_NO_NEW_PRIVS");
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) {
		perror("mdwe_exec: PR_SET_SECCOMP");
		return 1;
	}
	/* Self-check: the filter is in force. */
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m, 4096, PROT_READ | PROT_EXEC) == 0 || errno != EPERM) {
		fprintf(stderr, "mdwe_exec: the filter does not refuse mprotect(PROT_EXEC)\n");
		return 1;
	}
	munmap(m, 4096);
	const char *pre = getenv("XS_MDWE_PRELOAD");
	if (pre && *pre)
		setenv("LD_PRELOAD", pre, 1);
	unsetenv("XS_MDWE_PRELOAD");
	execv(argv[1], argv + 1);
	fprintf(stderr, "mdwe_exec: cannot exec %s: %s\n", argv[1], strerror(errno));
	return 127;
}
