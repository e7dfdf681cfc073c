/* SPDX-License-Identifier: MIT */
/* The agent's side of the signature verifier (signature.c, verify.c). */
#ifndef XS_AGENT_SIGNATURE_H
#define XS_AGENT_SIGNATURE_H

#include "common/sigcheck.h"

/* dlopen libxsplice-verify.so beside the agent, once. 0 or -ENOPKG. */
int xs_signature_load(struct xs_err *err);
/* xs_sigcheck in the verifier (loaded if needed): 0, -ENOPKG, or its errors. */
int xs_signature_verify(const struct xs_trust *trust, const uint8_t *content, size_t content_len,
			const uint8_t *sig, size_t sig_len, struct xs_signer *who, struct xs_err *err);

#endif
