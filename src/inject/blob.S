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
 * itself, dlopens the agent from the memfd (the agent's constructor starts
 * the agent), closes the memfd, copies dlerror() on failure, sets DONE.
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
	mov %rdi, %rbx
	call *XSD_SELF(%rbx)
	mov %rax, %rdi
	call *XSD_DETACH(%rbx)
	lea XSD_PATH(%rbx), %rdi
	mov $2, %esi /* RTLD_NOW */
	call *XSD_DLOPEN(%rbx)
	mov %rax, XSD_HANDLE(%rbx)
	mov XSD_MEMFD(%rbx), %edi
	mov $3, %eax /* close */
	syscall
	cmpq $0, XSD_HANDLE(%rbx)
	jne 2f
	call *XSD_DLERROR(%rbx)
	test %rax, %rax
	je 2f
	lea XSD_ERRMSG(%rbx), %rdi
	mov $(XSD_ERRMSG_MAX - 1), %ecx
1:	movb (%rax), %dl
	movb %dl, (%rdi)
	test %dl, %dl
	je 2f
	inc %rax
	inc %rdi
	dec %ecx
	jne 1b
	movb $0, (%rdi)
2:	movl $1, XSD_DONE(%rbx)
	xor %eax, %eax
	pop %rbx
	ret
xs_inject_blob_end:

	.section .note.GNU-stack, "", @progbits
