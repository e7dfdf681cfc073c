/* SPDX-License-Identifier: MIT */
/*
 * The socket directory and path of an agent (docs/protocol.md, "Socket
 * location and permissions").
 *
 * Threading: reads the environment (getenv) and the euid, writes only the
 * caller's buffer; safe from any thread as long as nobody changes the
 * environment at the same time.
 */
#include "common/socket_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <unistd.h>

int xs_socket_dir(char *buf, size_t len, struct xs_err *err)
{
	const char *env = getenv("XSPLICE_SOCKET_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/xsplice");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
		n = snprintf(buf, len, "%s/xsplice", env);
	else
		n = snprintf(buf, len, "/tmp/xsplice-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return xs_fail(err, -ENAMETOOLONG, "socket directory name longer than %zu bytes",
			       len ? len - 1 : 0);
	return 0;
}

int xs_socket_path_for(const char *dir, int pid, char *buf, size_t len, struct xs_err *err)
{
	int n = snprintf(buf, len, "%s/%d.sock", dir, pid);
	if (n < 0 || (size_t)n >= len)
		return xs_fail(err, -ENAMETOOLONG, "socket path %s/%d.sock longer than %zu bytes",
			       dir, pid, len ? len - 1 : 0);
	/* It must also fit a sockaddr_un, or bind/connect would truncate it. */
	if ((size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return xs_fail(err, -ENAMETOOLONG,
			       "socket path %s is %d bytes, a Unix socket allows at most %zu", buf,
			       n, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

int xs_socket_abstract_name(int pid, int n, char *buf, size_t len)
{
	return n ? snprintf(buf, len, "@xsplice-%d.%d", pid, n) : snprintf(buf, len, "@xsplice-%d", pid);
}
