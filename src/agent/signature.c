/* SPDX-License-Identifier: MIT */
/*
 * Loading the signature verifier (libxsplice-verify.so, verify.c), once,
 * and calling it. Under enforcement trust.c loads it at start, before the
 * program can chroot, drop privileges or install a seccomp filter;
 * otherwise on the first signed payload. RTLD_LOCAL: nothing of it joins
 * the program's global scope.
 *
 * Where: beside the agent (the directory it was loaded from); else the
 * installed library directory; else the build tree's agent directory (an
 * agent attached at run time is loaded from a memfd, which has no
 * directory). Since the verifier runs as code in the program, a candidate
 * is used only if it and its directory are owned by root or the
 * program's user and writable by nobody else, and it is loaded through
 * the descriptor that was checked, so it cannot be swapped in between.
 *
 * Threading: start-up (constructor) and then the control thread only.
 */
#include "signature.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VERIFY_SO "libxsplice-verify.so"

typedef int (*verify_fn)(const struct xs_trust *, const uint8_t *, size_t, const uint8_t *,
			 size_t, struct xs_signer *, struct xs_err *);

static verify_fn g_verify;

static bool owned_safely(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & 022);
}

/* dlopen dir/libxsplice-verify.so if it passes the checks: the handle, or
 * NULL with why set. */
static void *try_dir(const char *dir, char *why, size_t whylen)
{
	char path[4096];
	struct stat st;
	if (snprintf(path, sizeof(path), "%s/" VERIFY_SO, dir) >= (int)sizeof(path))
		return NULL;
	if (stat(dir, &st) != 0) {
		snprintf(why, whylen, "%.300s: %s", dir, strerror(errno));
		return NULL;
	}
	if (!owned_safely(&st)) {
		snprintf(why, whylen, "%.300s is writable by others or not root's or ours", dir);
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "%.300s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !owned_safely(&st)) {
		snprintf(why, whylen, "%.300s is not a regular file of root's or ours that only "
			 "its owner can write", path);
		close(fd);
		return NULL;
	}
	char fdpath[64];
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	void *h = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(why, whylen, "%.300s: %.200s", path, e ? e : "dlopen failed");
	}
	close(fd); /* the mapping stays */
	return h;
}

int xs_signature_load(struct xs_err *err)
{
	if (g_verify)
		return 0;
	char dirs[3][2048];
	unsigned n = 0;
	Dl_info di;
	if (dladdr((void *)xs_signature_load, &di) && di.dli_fname && di.dli_fname[0] == '/' &&
	    strncmp(di.dli_fname, "/proc/", 6) != 0) {
		const char *slash = strrchr(di.dli_fname, '/');
		snprintf(dirs[n++], sizeof(dirs[0]), "%.*s", (int)(slash - di.dli_fname),
			 di.dli_fname);
	}
#ifdef XSPLICE_LIBDIR
	snprintf(dirs[n++], sizeof(dirs[0]), "%s", XSPLICE_LIBDIR);
#endif
#ifdef XSPLICE_BUILD_AGENT_DIR
	snprintf(dirs[n++], sizeof(dirs[0]), "%s", XSPLICE_BUILD_AGENT_DIR);
#endif
	char why[3][600] = { "", "", "" };
	void *h = NULL;
	for (unsigned i = 0; i < n && !h; i++)
		h = try_dir(dirs[i], why[i], sizeof(why[i]));
	if (!h)
		return xs_fail(err, -ENOPKG, "signature verifier " VERIFY_SO " not loaded: %s%s%s%s%s",
			       why[0], n > 1 ? "; " : "", n > 1 ? why[1] : "", n > 2 ? "; " : "",
			       n > 2 ? why[2] : "");
	verify_fn f = (verify_fn)dlsym(h, "xsplice_verify_v1");
	if (!f) {
		dlclose(h);
		return xs_fail(err, -ENOPKG, "signature verifier " VERIFY_SO " has no "
			       "xsplice_verify_v1");
	}
	g_verify = f;
	return 0;
}

int xs_signature_verify(const struct xs_trust *trust, const uint8_t *content, size_t content_len,
			const uint8_t *sig, size_t sig_len, struct xs_signer *who, struct xs_err *err)
{
	int rc = xs_signature_load(err);
	if (rc)
		return rc;
	return g_verify(trust, content, content_len, sig, sig_len, who, err);
}
