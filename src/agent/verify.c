/* SPDX-License-Identifier: MIT */
/*
 * libxsplice-verify.so: the agent's signature verifier, a library of its
 * own that the agent dlopens only when a signature must be checked
 * (signature.c). It carries a private, statically linked libcrypto: every
 * symbol but xsplice_verify_v1 is hidden and every internal reference is
 * bound at link time (-Bsymbolic, --exclude-libs), so the program's own
 * OpenSSL (any version, loaded before or after) never binds to this one
 * and this one never binds to it. Why not dlmopen(LM_ID_NEWLM) of the
 * system libcrypto: see docs/security.md, "Keeping out of the program's
 * OpenSSL".
 *
 * Threading: called on the agent's control thread; OpenSSL initialises
 * once, without reading openssl.cnf (which could load engines or
 * providers built against the system libcrypto) and without an atexit
 * handler in the program.
 */
#include <errno.h>
#include <pthread.h>

#include <openssl/crypto.h>

#include "common/sigcheck.h"

int xsplice_verify_v1(const struct xs_trust *trust, const uint8_t *content, size_t content_len,
		      const uint8_t *sig, size_t sig_len, struct xs_signer *who, struct xs_err *err)
	__attribute__((visibility("default")));

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_init_ok;

static void init_once(void)
{
	g_init_ok = OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL);
}

int xsplice_verify_v1(const struct xs_trust *trust, const uint8_t *content, size_t content_len,
		      const uint8_t *sig, size_t sig_len, struct xs_signer *who, struct xs_err *err)
{
	pthread_once(&g_once, init_once);
	if (!g_init_ok)
		return xs_fail(err, -ENOPKG, "the signature verifier's OpenSSL did not initialise");
	return xs_sigcheck(trust, content, content_len, sig, sig_len, who, err);
}
