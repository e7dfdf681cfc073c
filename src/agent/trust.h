/* SPDX-License-Identifier: MIT */
/*
 * Trust and enforcement (docs/security.md): what the agent decides about
 * a payload's signature before anything else in the payload is read.
 */
#ifndef XS_AGENT_TRUST_H
#define XS_AGENT_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

#define XS_SIGNER_SIZE 256

/* At start (the constructor): enforcement from /etc/xsplice/enforce or
 * XSPLICE_ENFORCE=1, the trust directory (/etc/xsplice/trusted-certs or
 * $XSPLICE_TRUST_DIR) read, and under enforcement the verifier loaded.
 * Nothing later changes any of it. A failure (unreadable directory, no
 * verifier) is returned, and under enforcement every upload is refused
 * with it. */
int xs_trust_init(struct xs_err *why);
bool xs_trust_enforcing(void);
const char *xs_trust_dir(void);

/*
 * The upload gate. Splits the signature trailer off image; *content_len
 * is what the loader may parse. signer: the certificate subject of a good
 * signature, "unsigned", or "unverified: why" (only without enforcement).
 * Under enforcement: -ENODATA unsigned, -EBADMSG malformed trailer or CMS,
 * -ENOKEY untrusted signer, -EKEYREVOKED revoked, -EKEYREJECTED bad
 * signature, -ENOPKG no verifier; each reason starts "refused by
 * signature enforcement". Without: only a malformed trailer (-EBADMSG)
 * is refused.
 */
int xs_trust_check(const uint8_t *image, size_t size, size_t *content_len, char *signer,
		   size_t signer_size, struct xs_err *err);

#endif
