/* SPDX-License-Identifier: MIT */
/*
 * The module-signature trailer: find it, check every field the kernel's
 * mod_check_sig checks, and hand back where the signed content ends and
 * where the CMS message is. Threading: no state; safe from any thread.
 */
#include "modsig.h"

#include <errno.h>
#include <string.h>

_Static_assert(sizeof(struct xs_module_signature) == 12, "struct module_signature is 12 bytes");

int xs_modsig_split(const uint8_t *img, size_t size, struct xs_modsig *out, struct xs_err *err)
{
	const size_t ml = XS_MODSIG_MAGIC_LEN;
	const size_t hl = sizeof(struct xs_module_signature);
	out->content_len = size;
	out->sig = NULL;
	out->sig_len = 0;
	if (size < ml || memcmp(img + size - ml, XS_MODSIG_MAGIC, ml) != 0) {
		/* "~Module " where the magic should start: a damaged trailer,
		 * not an unsigned file. */
		if (size >= ml && memcmp(img + size - ml, XS_MODSIG_MAGIC, 8) == 0)
			return xs_fail(err, -EBADMSG, "signature trailer: the magic \"~Module "
				       "signature appended~\\n\" is damaged");
		return xs_fail(err, -ENODATA, "the payload is not signed (no \"~Module signature "
			       "appended~\" trailer)");
	}
	if (size < ml + hl)
		return xs_fail(err, -EBADMSG, "signature trailer: truncated: %zu bytes before the "
			       "magic, the module_signature header needs %zu", size - ml, hl);
	struct xs_module_signature ms;
	memcpy(&ms, img + size - ml - hl, hl);
	uint32_t sl = (uint32_t)ms.sig_len[0] << 24 | (uint32_t)ms.sig_len[1] << 16 |
		      (uint32_t)ms.sig_len[2] << 8 | ms.sig_len[3];
	if (ms.id_type != XS_PKEY_ID_PKCS7)
		return xs_fail(err, -EBADMSG, "signature trailer: id_type %u is not PKCS#7 (%u)",
			       ms.id_type, XS_PKEY_ID_PKCS7);
	if (ms.algo || ms.hash || ms.signer_len || ms.key_id_len)
		return xs_fail(err, -EBADMSG, "signature trailer: algo/hash/signer_len/key_id_len "
			       "must be 0 for PKCS#7 (are %u/%u/%u/%u)", ms.algo, ms.hash,
			       ms.signer_len, ms.key_id_len);
	if (sl == 0)
		return xs_fail(err, -EBADMSG, "signature trailer: sig_len is 0");
	size_t avail = size - ml - hl;
	if (sl > avail)
		return xs_fail(err, -EBADMSG, "signature trailer: sig_len %u is larger than the %zu "
			       "bytes before the header", sl, avail);
	out->content_len = avail - sl;
	out->sig = img + out->content_len;
	out->sig_len = sl;
	return 0;
}

size_t xs_modsig_append(uint8_t *buf, size_t len, const uint8_t *sig, size_t sig_len)
{
	struct xs_module_signature ms;
	memset(&ms, 0, sizeof(ms));
	ms.id_type = XS_PKEY_ID_PKCS7;
	ms.sig_len[0] = (uint8_t)(sig_len >> 24);
	ms.sig_len[1] = (uint8_t)(sig_len >> 16);
	ms.sig_len[2] = (uint8_t)(sig_len >> 8);
	ms.sig_len[3] = (uint8_t)sig_len;
	memcpy(buf + len, sig, sig_len);
	len += sig_len;
	memcpy(buf + len, &ms, sizeof(ms));
	len += sizeof(ms);
	memcpy(buf + len, XS_MODSIG_MAGIC, XS_MODSIG_MAGIC_LEN);
	return len + XS_MODSIG_MAGIC_LEN;
}
