/* SPDX-License-Identifier: MIT */
/*
 * Loading the signature verifier (libxsplice-verify.so, verify.c) from
 * the directory the agent itself was loaded from, once, and calling it.
 * Under enforcement trust.c loads it at start, before the program can
 * chroot, drop privileges or install a seccomp filter; otherwise on the
 * first signed payload. RTLD_LOCAL: nothing of it joins the program's
 * global scope.
 *
 * Threading: start-up (constructor) and then the control thread only.
 */
#include "signature.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef int (*verify_fn)(const struct xs_trust *, const uint8_t *, size_t, const uint8_t *,
			 size_t, struct xs_signer *, struct xs_err *);

static verify_fn g_verify;

int xs_signature_load(struct xs_err *err)
{
	if (g_verify)
		return 0;
	Dl_info di;
	char path[4096];
	if (!dladdr((void *)xs_signature_load, &di) || !di.dli_fname)
		return xs_fail(err, -ENOPKG, "signature verifier: cannot find the agent's own path");
	const char *slash = strrchr(di.dli_fname, '/');
	int dirlen = slash ? (int)(slash - di.dli_fname) : 1;
	snprintf(path, sizeof(path), "%.*s/libxsplice-verify.so", dirlen,
		 slash ? di.dli_fname : ".");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		return xs_fail(err, -ENOPKG, "signature verifier not loaded: %.400s", e ? e : path);
	}
	verify_fn f = (verify_fn)dlsym(h, "xsplice_verify_v1");
	if (!f) {
		dlclose(h);
		return xs_fail(err, -ENOPKG, "signature verifier %.400s has no xsplice_verify_v1",
			       path);
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
