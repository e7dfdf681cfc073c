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
 * itself, dlopens each entry of XSD_LIBS from its memfd in order (the
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
