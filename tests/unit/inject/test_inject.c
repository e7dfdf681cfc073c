/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/inject/: xs_seccomp_run (what a seccomp filter answers
 * for a system call, as the kernel would: the attach refuses a target
 * whose filter would kill it) and xs_regs_restart (the kernel's restart
 * rule for an interrupted system call).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cmocka.h>

#include "inject/hijack.h"
#include "inject/seccomp.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000u
#endif

static uint32_t run(const struct sock_filter *f, size_t n, int nr, uint32_t arch, uint64_t a2)
{
	struct seccomp_data d = { .nr = nr, .arch = arch };
	d.args[2] = a2;
	return xs_seccomp_run(f, (unsigned)n, &d, sizeof(d));
}

#define ARG2 (offsetof(struct seccomp_data, args[2]))
#define N(f) (sizeof(f) / sizeof((f)[0]))

/* systemd's MemoryDenyWriteExecute, reduced to mmap: W|X together -> EPERM. */
static const struct sock_filter mdwe[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 4),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG2),
	BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static void test_mdwe(void **state)
{
	(void)state;
	assert_int_equal(run(mdwe, N(mdwe), SYS_mmap, AUDIT_ARCH_X86_64, PROT_READ | PROT_EXEC),
			 SECCOMP_RET_ALLOW);
	assert_int_equal(run(mdwe, N(mdwe), SYS_mmap, AUDIT_ARCH_X86_64,
			     PROT_READ | PROT_WRITE | PROT_EXEC), SECCOMP_RET_ERRNO | EPERM);
	assert_int_equal(run(mdwe, N(mdwe), SYS_read, AUDIT_ARCH_X86_64, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(run(mdwe, N(mdwe), SYS_read, AUDIT_ARCH_I386, 0),
			 SECCOMP_RET_KILL_PROCESS);
}

/* Scratch memory, X, TAX/TXA, JGT/JGE/JSET, RET A. */
static const struct sock_filter alu[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_STMT(BPF_ST, 3),                          /* M[3] = nr */
	BPF_STMT(BPF_LDX | BPF_IMM, 2),
	BPF_STMT(BPF_ALU | BPF_MUL | BPF_X, 0),       /* A = nr * 2 */
	BPF_STMT(BPF_MISC | BPF_TAX, 0),              /* X = A */
	BPF_STMT(BPF_LD | BPF_MEM, 3),                /* A = nr */
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 300, 3, 0),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 1, 0), /* odd? */
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_MISC | BPF_TXA, 0),
	BPF_STMT(BPF_RET | BPF_A, 0),                 /* odd: return nr * 2 */
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
};

static void test_alu_jumps(void **state)
{
	(void)state;
	assert_int_equal(run(alu, N(alu), 2, AUDIT_ARCH_X86_64, 0), SECCOMP_RET_ALLOW);
	assert_int_equal(run(alu, N(alu), 3, AUDIT_ARCH_X86_64, 0), 6);
	/* nr >= 300 skips 3 (offsets count from the next instruction): past
	 * the TXA, to RET A with A = nr */
	assert_int_equal(run(alu, N(alu), 319, AUDIT_ARCH_X86_64, 0), 319);
}

/* Programs the kernel would not accept are treated as killing. */
static void test_bad_programs(void **state)
{
	(void)state;
	const struct sock_filter past_end[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), /* beyond seccomp_data */
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	assert_int_equal(run(past_end, N(past_end), 0, AUDIT_ARCH_X86_64, 0),
			 SECCOMP_RET_KILL_PROCESS);
	const struct sock_filter no_ret[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
	};
	assert_int_equal(run(no_ret, N(no_ret), 0, AUDIT_ARCH_X86_64, 0),
			 SECCOMP_RET_KILL_PROCESS);
	const struct sock_filter jump_out[] = {
		BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	assert_int_equal(run(jump_out, N(jump_out), 0, AUDIT_ARCH_X86_64, 0),
			 SECCOMP_RET_KILL_PROCESS);
}

static void test_restart_rule(void **state)
{
	(void)state;
	struct user_regs_struct r = { .orig_rax = 0, .rax = (uint64_t)-512, .rip = 0x1002 };
	assert_true(xs_regs_restart(&r)); /* -ERESTARTSYS: read again */
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rip, 0x1000);
	r = (struct user_regs_struct){ .orig_rax = 35, .rax = (uint64_t)-516, .rip = 0x1002 };
	assert_true(xs_regs_restart(&r)); /* -ERESTART_RESTARTBLOCK: restart_syscall */
	assert_int_equal(r.rax, 219);
	r = (struct user_regs_struct){ .orig_rax = 232, .rax = (uint64_t)-EINTR, .rip = 0x1002 };
	assert_false(xs_regs_restart(&r)); /* a plain EINTR is a result */
	r = (struct user_regs_struct){ .orig_rax = (uint64_t)-1, .rax = (uint64_t)-512 };
	assert_false(xs_regs_restart(&r)); /* not in a system call */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mdwe),
		cmocka_unit_test(test_alu_jumps),
		cmocka_unit_test(test_bad_programs),
		cmocka_unit_test(test_restart_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
