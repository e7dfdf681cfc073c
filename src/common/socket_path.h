/* SPDX-License-Identifier: MIT */
/*
 * Where agent sockets live (docs/protocol.md, "Socket location and
 * permissions"). Shared by the agent, which binds there, and libxsplice-ctl,
 * which falls back to it when /proc does not name the socket. Not installed:
 * not part of the protocol.
 */
#ifndef XS_COMMON_SOCKET_PATH_H
#define XS_COMMON_SOCKET_PATH_H

#include <stddef.h>

#include "xsplice/error.h"

/* Where agents put sockets: $XSPLICE_SOCKET_DIR, else /run/xsplice for root,
 * else $XDG_RUNTIME_DIR/xsplice, else /tmp/xsplice-<uid>. */
int xs_socket_dir(char *buf, size_t len, struct xs_err *err);
/* <dir>/<pid>.sock; -ENAMETOOLONG if it does not fit buf or a sockaddr_un. */
int xs_socket_path_for(const char *dir, int pid, char *buf, size_t len, struct xs_err *err);

/* The abstract socket an agent listens on when it cannot use the
 * directory: "@xsplice-<pid>", or "@xsplice-<pid>.<n>" for n > 0 (the
 * '@' stands for the leading NUL of the address, as /proc/net/unix shows
 * it). Returns the length written. */
int xs_socket_abstract_name(int pid, int n, char *buf, size_t len);

#endif
