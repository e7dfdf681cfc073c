/* SPDX-License-Identifier: MIT */
/*
 * libxsplice-ctl: talk to the agent inside a process (the libxc
 * xc_livepatch_* of xsplice). Every call returns 0 or a negative errno and
 * fills err with the reason (the agent's own reason when it refused).
 *
 * A handle is one connection with no lock: use it from one thread at a
 * time (or guard it with a lock of your own). Separate handles may be used
 * from separate threads at once.
 */
#ifndef XSPLICE_CTL_H
#define XSPLICE_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"
#include "xsplice/protocol.h"

struct xs_ctl;

/*
 * Find the agent socket of process pid (the listening Unix socket among its
 * file descriptors, else <socket dir>/<pid>.sock) and connect. A socket
 * file whose process is gone is removed and reported as -ESRCH.
 * -ENOENT: the process runs no agent (reason says how to start one).
 */
int xs_ctl_connect_pid(int pid, struct xs_ctl **out, struct xs_err *err);
/*
 * Every agent socket in dir (NULL: the default socket directory): calls
 * found(pid, path) for each socket of a live process, and removes the
 * sockets of processes that died (connect refused and kill(pid, 0) says
 * ESRCH; never one that answers), counting them in *removed.
 */
int xs_ctl_scan(const char *dir, void (*found)(int pid, const char *path, void *arg), void *arg,
		unsigned *removed, struct xs_err *err);
/* Remove path if nobody listens there and process pid is gone: 0 when
 * removed, else -EADDRINUSE (it answers), -EBUSY (pid alive), -errno. */
int xs_ctl_remove_if_stale(const char *path, int pid);
/* Both connects check the agent's SO_PEERCRED: pid must be the one asked
 * for, uid root or the target's. */
int xs_ctl_connect_path(const char *path, struct xs_ctl **out, struct xs_err *err);
/* Connect to process pid's agent at a socket path already known (e.g. from
 * one read of /proc/net/unix for many processes), with the same peer check
 * as xs_ctl_connect_pid: the socket must be served by pid. */
int xs_ctl_connect_pid_at(int pid, const char *path, struct xs_ctl **out, struct xs_err *err);
void xs_ctl_close(struct xs_ctl *ctl);
/* Per-request I/O bound (ms), default 10000. */
void xs_ctl_set_io_timeout(struct xs_ctl *ctl, unsigned ms);

int xs_ctl_upload(struct xs_ctl *ctl, const char *name, const void *elf, size_t size,
		  struct xs_err *err);
/* state, rc, and the reason for a non-zero rc (XS_REASON_SIZE bytes). */
int xs_ctl_get(struct xs_ctl *ctl, const char *name, uint32_t *state, int32_t *rc,
	       char *rc_reason, struct xs_err *err);
/* One LIST page: up to nr entries from idx; *version in/out, *left out. */
int xs_ctl_list(struct xs_ctl *ctl, uint32_t *version, uint32_t idx, uint32_t nr,
		struct xs_list_entry *entries, uint32_t *count, uint32_t *left, struct xs_err *err);
/* Every entry, restarting when the version stamp changes between pages. */
int xs_ctl_list_all(struct xs_ctl *ctl, struct xs_list_entry **entries, size_t *count,
		    struct xs_err *err);
int xs_ctl_action(struct xs_ctl *ctl, const char *name, uint32_t cmd, uint32_t timeout_ms,
		  struct xs_err *err);
/*
 * Poll GET until the action finishes (rc != -EAGAIN) or wait_ms passes
 * (-ETIMEDOUT). progress(arg) is called once per poll. Returns the
 * action's rc (with its reason in err). For UNLOAD, "name not found" is
 * success.
 */
int xs_ctl_wait(struct xs_ctl *ctl, const char *name, uint32_t cmd, unsigned wait_ms,
		void (*progress)(void *arg), void *arg, struct xs_err *err);
/*
 * ACTION and its outcome in one round trip (XS_ACTION_F_WAIT: the agent
 * answers when the action has ended; docs/protocol.md). With an agent
 * that predates the flag, or for UNLOAD, the same as xs_ctl_action +
 * xs_ctl_wait (progress is called only while polling). Returns the
 * action's rc, its reason in err; -ETIMEDOUT after wait_ms.
 */
int xs_ctl_act(struct xs_ctl *ctl, const char *name, uint32_t cmd, uint32_t timeout_ms,
	       unsigned wait_ms, void (*progress)(void *arg), void *arg, struct xs_err *err);
int xs_ctl_info(struct xs_ctl *ctl, struct xs_info **info, struct xs_err *err);
void xs_info_free(struct xs_info *info);

#endif
