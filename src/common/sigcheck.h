/* SPDX-License-Identifier: MIT */
/*
 * Checking a module-signature CMS message against a set of trusted
 * certificates and a denylist (docs/security.md, "Signatures"). Linked
 * with a libcrypto: the system's in the CLI, a private static one in the
 * agent's verifier library (src/agent/verify.c); never compiled into the
 * agent itself. The trust directory reader uses plain libc only.
 */
#ifndef XS_COMMON_SIGCHECK_H
#define XS_COMMON_SIGCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"


/* A certificate file's bytes (PEM, possibly several certificates, or DER). */
struct xs_cert_blob {
	char name[256];   /* file name, for messages */
	uint8_t *data;
	size_t len;
};

struct xs_trust {
	struct xs_cert_blob *certs;
	size_t ncerts;
	/* SHA-256 fingerprints of revoked certificates (the "revoked" file). */
	uint8_t (*revoked)[32];
	size_t nrevoked;
	char dir[512];
};

/* What a good signature was made by. */
struct xs_signer {
	char subject[256]; /* X.509 subject, one line */
	char sha256[65];   /* hex fingerprint of its certificate */
};

/*
 * Verify the detached CMS message sig over content with the certificates
 * of trust. 0 with *who filled, or:
 *   -EBADMSG      the signature is not a DER CMS SignedData message
 *   -ENOKEY       no trusted certificate matches a signer (untrusted signer)
 *   -EKEYREVOKED  the signer's certificate is listed in the denylist
 *   -EKEYREJECTED the signature does not match the content (tampered)
 * each with a reason.
 */
int xs_sigcheck(const struct xs_trust *trust, const uint8_t *content,
		size_t content_len, const uint8_t *sig, size_t sig_len, struct xs_signer *who,
		struct xs_err *err);

/*
 * Read a trust directory: every regular file not starting with '.' except
 * "revoked" is a certificate file (PEM or DER); "revoked" lists SHA-256
 * fingerprints, one per line (hex, colons allowed, '#' comments). A missing
 * directory is an empty trust (every signer untrusted). Uses plain libc
 * only, so the agent can do it at start. 0 or -errno (a malformed
 * "revoked" line is -EINVAL naming the line).
 */
int xs_trust_read(struct xs_trust *t, const char *dir, struct xs_err *err);
void xs_trust_free(struct xs_trust *t);

#endif
