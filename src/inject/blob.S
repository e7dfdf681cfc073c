/* SPDX-License-Identifier: MIT */
/*
 * The code the attach places in the target's code page (blob.h has the
 * layout). It is data to the xsplice command: copied into the target, never
 * run in the command itself.
 *
 * Threading: "stub" runs on the hijacked thread, entered with rsp 16-byte
 * aligned below the red zone, all signals blocked; it saves errno, starts
 * the loader thread with pthread_create, restores errno and stops at int3
 * for the tracer. "loader" is the new thread's start routine: it detaches
 * itself, names the pages, makes one memfd per entry of XSD_LIBS, says
 * READY and waits (napping) for the command to fill them and say GO (or
 * to give up: then, or after XSD_NAPS_MAX naps, it closes them and ends),
 * dlopens each entry of XSD_LIBS from its memfd in order (the
 * agent's dependencies, then the agent: its constructor starts the agent),
 * stops at the first failure (copying dlerror()), closes every memfd, sets
 * DONE.
 */
#include "blob.h"

#define D(off) (xs_inject_blob_start + XS_BLOB_PAGE + (off))(%rip)

	.section .rodata.xs_inject_blob, "a"
	.p2align 12
	.globl xs_inject_blob_start
	.globl xs_inject_blob_end
xs_inject_blob_start:
stub:
	push %rbx
	push %r12
	call *D(XSD_ERRNO)
	mov %rax, %r12
	mov (%rax), %ebx
	lea D(XSD_THREAD), %rdi
	xor %esi, %esi
	lea loader(%rip), %rdx
	lea D(0), %rcx
	call *D(XSD_CREATE)
	mov %eax, D(XSD_CREATE_RC)
	mov %ebx, (%r12)
	int3
	.org xs_inject_blob_start + XS_BLOB_LOADER, 0xcc
loader:
	push %rbx
	push %r12
	push %r13
	mov %rdi, %rbx
	call *XSD_SELF(%rbx)
	mov %rax, %rdi
	call *XSD_DETACH(%rbx)
	/* Name the two pages (Linux 5.17+ with CONFIG_ANON_VMA_NAME; else it
	 * fails, harmlessly): prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ...) */
	mov $157, %eax
	mov $0x53564d41, %edi
	xor %esi, %esi
	lea -XS_BLOB_PAGE(%rbx), %rdx
	mov $XS_BLOB_SIZE, %r10d
	lea XSD_NAME(%rbx), %r8
	syscall
	/* One memfd per object; the command fills them while we wait. */
	xor %r12d, %r12d
	lea XSD_LIBS(%rbx), %r13
7:	cmp XSD_NLIB(%rbx), %r12d
	jge 8f
	lea XSD_LIB_NAME(%r13), %rdi
	mov $1, %esi /* MFD_CLOEXEC */
	mov $319, %eax /* memfd_create */
	syscall
	mov %eax, XSD_LIB_FD(%r13)
	inc %r12d
	add $XSD_LIB_SIZE, %r13
	jmp 7b
8:	movl $1, XSD_READY(%rbx)
	xor %r12d, %r12d
9:	mov XSD_GO(%rbx), %eax
	cmp $1, %eax
	je 10f
	test %eax, %eax
	jne 11f
	cmp XSD_NAPS_MAX(%rbx), %r12d
	jge 11f
	lea XSD_NAP(%rbx), %rdi
	xor %esi, %esi
	mov $35, %eax /* nanosleep */
	syscall
	inc %r12d
	jmp 9b
11:	movl $-2, XSD_FAILED(%rbx)
	jmp 4f
10:
	xor %r12d, %r12d          /* entry index */
	lea XSD_LIBS(%rbx), %r13  /* entry */
1:	cmp XSD_NLIB(%rbx), %r12d
	jge 4f
	lea XSD_LIB_PATH(%r13), %rdi
	mov $2, %esi /* RTLD_NOW */
	call *XSD_DLOPEN(%rbx)
	mov %rax, XSD_HANDLE(%rbx)
	test %rax, %rax
	je 2f
	inc %r12d
	add $XSD_LIB_SIZE, %r13
	jmp 1b
2:	mov %r12d, XSD_FAILED(%rbx)
	call *XSD_DLERROR(%rbx)
	test %rax, %rax
	je 4f
	lea XSD_ERRMSG(%rbx), %rdi
	mov $(XSD_ERRMSG_MAX - 1), %ecx
3:	movb (%rax), %dl
	movb %dl, (%rdi)
	test %dl, %dl
	je 4f
	inc %rax
	inc %rdi
	dec %ecx
	jne 3b
	movb $0, (%rdi)
4:	/* close every memfd: the mappings keep the files */
	xor %r12d, %r12d
	lea XSD_LIBS(%rbx), %r13
5:	cmp XSD_NLIB(%rbx), %r12d
	jge 6f
	mov XSD_LIB_FD(%r13), %edi
	mov $3, %eax /* close */
	syscall
	inc %r12d
	add $XSD_LIB_SIZE, %r13
	jmp 5b
6:	movl $1, XSD_DONE(%rbx)
	xor %eax, %eax
	pop %r13
	pop %r12
	pop %rbx
	ret
xs_inject_blob_end:

	.section .note.GNU-stack, "", @progbits
