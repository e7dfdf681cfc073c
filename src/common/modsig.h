/* SPDX-License-Identifier: MIT */
/*
 * The Linux module-signature trailer, as the kernel's scripts/sign-file
 * appends it and as xsplice payloads carry it (docs/security.md):
 *
 *   content | PKCS#7/CMS signature (DER, sig_len bytes)
 *           | struct module_signature (12 bytes) | "~Module signature appended~\n"
 *
 * Only the layout is read here: no crypto, no allocation. Shared by the
 * agent (before anything else in a payload is parsed) and the CLI.
 */
#ifndef XS_COMMON_MODSIG_H
#define XS_COMMON_MODSIG_H

#include <stddef.h>
#include <stdint.h>

#include "xsplice/error.h"

#define XS_MODSIG_MAGIC "~Module signature appended~\n"
#define XS_MODSIG_MAGIC_LEN 28
#define XS_PKEY_ID_PKCS7 2

/* As in the kernel's include/linux/module_signature.h. */
struct xs_module_signature {
	uint8_t algo;       /* 0 (in the PKCS#7 message) */
	uint8_t hash;       /* 0 (in the PKCS#7 message) */
	uint8_t id_type;    /* XS_PKEY_ID_PKCS7 */
	uint8_t signer_len; /* 0 */
	uint8_t key_id_len; /* 0 */
	uint8_t pad[3];
	uint8_t sig_len[4]; /* big-endian */
};

struct xs_modsig {
	size_t content_len;  /* the signed bytes: image[0, content_len) */
	const uint8_t *sig;  /* the DER CMS message */
	size_t sig_len;
};

/*
 * Split a file into content and signature.
 * 0: signed (out filled); -ENODATA: no trailer (unsigned; out->content_len
 * = size); -EBADMSG: a trailer that is malformed (cut short, wrong magic,
 * sig_len past the start of the file, unknown id_type, non-zero fields),
 * with a reason naming the field.
 */
int xs_modsig_split(const uint8_t *img, size_t size, struct xs_modsig *out, struct xs_err *err);

/* Append a trailer for sig to buf (which has room for sig_len + 40 bytes
 * after len): returns the new length. */
size_t xs_modsig_append(uint8_t *buf, size_t len, const uint8_t *sig, size_t sig_len);

#endif
