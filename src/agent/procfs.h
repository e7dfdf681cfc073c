/* SPDX-License-Identifier: MIT */
/*
 * What /proc says about this process's threads and mappings, read with raw
 * system calls and our own parsers only: the rendezvous calls these while
 * other threads are parked (one may hold a libc lock; a payload may be
 * rewriting libc). No allocation, no libc, no locks. Single caller at a
 * time: the maps snapshot is one static buffer owned by the action thread.
 */
#ifndef XS_AGENT_PROCFS_H
#define XS_AGENT_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Open /proc for later (at start, before the program may chroot). */
void xs_procfs_init(void);
/* Open a file below /proc (rel: "thread-self/maps"): fd or -errno. Raw
 * system calls; O_CLOEXEC is added. */
int xs_procfs_open(const char *rel, int flags);
/* readlink of a link below /proc: length (not NUL-terminated) or -errno. */
long xs_procfs_readlink(const char *rel, char *buf, size_t len);

/* Thread ids of this process except `self` into tids. Returns the count,
 * -E2BIG if more than cap, or -errno. */
int xs_procfs_list_tasks(pid_t self, pid_t *tids, uint32_t cap);

/* Does thread tid block signal signo (SigBlk of its status)? */
bool xs_procfs_task_blocks(pid_t tid, int signo);

/* Is signo pending for thread tid itself (SigPnd of its status)? */
bool xs_procfs_task_pending(pid_t tid, int signo);

/* Its scheduler state letter ('R', 'S', 'D', 'T', 'Z', ...), 0 if gone. */
char xs_procfs_task_state(pid_t tid);

/* SP and PC of a thread asleep in a system call; false if it is running
 * or not inside a call. */
bool xs_procfs_task_syscall_regs(pid_t tid, uintptr_t *sp, uintptr_t *pc);

/* The thread's name (comm), "" if it is gone. */
void xs_procfs_task_name(pid_t tid, char *buf, size_t len);

/* Read the mappings once (they do not change while everyone is parked).
 * Returns 0, or -E2BIG when they did not fit (the snapshot is then
 * incomplete and must not be trusted), or -errno. */
int xs_procfs_maps_snapshot(void);
/* The end of the snapshot's mapping that holds addr, 0 if none. */
uintptr_t xs_procfs_mapping_end(uintptr_t addr);

#endif
