/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces between the agent's start-up (agent.c), its control
 * thread (control.c) and its control socket (socket.c). See
 * docs/decisions.md, "Process life cycle" and "Agent threads".
 */
#ifndef XS_AGENT_AGENT_H
#define XS_AGENT_AGENT_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "xsplice/error.h"

/* The listening socket and what identifies it: an fd number alone does
 * not, because the program may close it and reuse the number. */
struct xs_sock {
	int fd;           /* -1: none */
	dev_t dev;
	ino_t ino;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "@name": abstract */
	bool abstract;    /* bound to "\0xsplice-PID": the directory was not usable */
};

/* Create the socket directory (no symlinks followed), bind and listen at
 * <dir>/<pid>.sock (or a distinct name when a live socket holds that one). */
int xs_sock_open(struct xs_sock *s, struct xs_err *err);
/* Is s->fd still the socket we created (not closed, not reused)? */
bool xs_sock_is_ours(const struct xs_sock *s);
/* Is fd the socket (dev, ino)? */
bool xs_fd_is(int fd, dev_t dev, ino_t ino);
/* Close s->fd if it is still ours, remove its path unless a live socket
 * answers there, forget both. */
void xs_sock_close(struct xs_sock *s, bool unlink_path);

/* One line to stderr, never stdout: start-up and restart problems. */
void xs_agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Start the control thread. in_child: a fork child; the thread then also
 * starts a new action thread and creates the child's socket itself. */
int xs_control_start(bool in_child, struct xs_err *err);
/* fork handlers: prepare takes every agent lock (control, then table),
 * parent releases them, child also forgets the parent's fds. */
void xs_control_fork_prepare(void);
void xs_control_fork_parent(void);
void xs_control_fork_child(void);
/* At exit: remove our socket path (only in the process that created it). */
void xs_control_exit(void);
/* An action has ended (its outcome is recorded): wake the control thread
 * if a client waits for it (XS_ACTION_F_WAIT). Any thread, not in a stop. */
void xs_control_action_ended(void);

#endif
