/* SPDX-License-Identifier: MIT */
/*
 * Verify a module-signature CMS message (docs/security.md, "Signatures").
 * What OpenSSL allocates is freed by OpenSSL.
 *
 * Threading: no shared state; the agent calls it on its control thread.
 */
#include "sigcheck.h"

#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/hex.h"

/* The last OpenSSL error as text, for a reason. */
static const char *ossl_reason(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();
	if (!e)
		return "no OpenSSL error recorded";
	ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}

/* Every certificate in one file: PEM (one or more) or DER. Pushed on sk. */
static size_t parse_certs(const struct xs_cert_blob *b,
			  OPENSSL_STACK *sk)
{
	size_t n = 0;
	if (b->len > (size_t)INT32_MAX)
		return 0;
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
	if (bio) {
		X509 *x;
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
			if (OPENSSL_sk_push(sk, x) <= 0) {
				X509_free(x);
				break;
			}
			n++;
		}
		BIO_free(bio);
	}
	ERR_clear_error(); /* the end of the PEM file is an "error" */
	if (!n) {
		const unsigned char *p = b->data;
		X509 *x = d2i_X509(NULL, &p, (long)b->len);
		if (x && OPENSSL_sk_push(sk, x) > 0)
			n++;
		else if (x)
			X509_free(x);
		ERR_clear_error();
	}
	return n;
}

static void free_certs(OPENSSL_STACK *sk)
{
	int n = OPENSSL_sk_num(sk);
	for (int i = 0; i < n; i++)
		X509_free(OPENSSL_sk_value(sk, i));
	OPENSSL_sk_free(sk);
}

static bool is_revoked(const struct xs_trust *t, const uint8_t fp[32])
{
	for (size_t i = 0; i < t->nrevoked; i++)
		if (memcmp(t->revoked[i], fp, 32) == 0)
			return true;
	return false;
}

int xs_sigcheck(const struct xs_trust *trust, const uint8_t *content,
		size_t content_len, const uint8_t *sig, size_t sig_len, struct xs_signer *who,
		struct xs_err *err)
{
	char ebuf[256];
	int rc;
	memset(who, 0, sizeof(*who));
	if (sig_len > (size_t)INT32_MAX || content_len > (size_t)INT32_MAX)
		return xs_fail(err, -EBADMSG, "signature: too large");
	ERR_clear_error();
	const unsigned char *p = sig;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len);
	if (!cms)
		return xs_fail(err, -EBADMSG, "signature: not a DER CMS message: %s",
			       ossl_reason(ebuf, sizeof(ebuf)));
	if ((size_t)(p - sig) != sig_len) {
		CMS_ContentInfo_free(cms);
		return xs_fail(err, -EBADMSG, "signature: %zu bytes after the CMS message",
			       sig_len - (size_t)(p - sig));
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		CMS_ContentInfo_free(cms);
		return xs_fail(err, -EBADMSG, "signature: the CMS message is not SignedData");
	}
	OPENSSL_STACK *all = OPENSSL_sk_new_null();
	OPENSSL_STACK *use = OPENSSL_sk_new_null();
	BIO *data = BIO_new_mem_buf(content, (int)content_len);
	if (!all || !use || !data) {
		rc = xs_fail(err, -ENOMEM, "signature: out of memory");
		goto out;
	}
	size_t ncert = 0;
	for (size_t i = 0; i < trust->ncerts; i++)
		ncert += parse_certs(&trust->certs[i], all);
	const OPENSSL_STACK *sis = (const OPENSSL_STACK *)CMS_get0_SignerInfos(cms);
	int nsi = sis ? OPENSSL_sk_num(sis) : 0;
	if (nsi <= 0) {
		rc = xs_fail(err, -EBADMSG, "signature: the CMS message has no signer");
		goto out;
	}
	/* Every signer must be one of ours, and none revoked. */
	for (int i = 0; i < nsi; i++) {
		CMS_SignerInfo *si = OPENSSL_sk_value(sis, i);
		X509 *match = NULL;
		for (int j = 0; j < OPENSSL_sk_num(all) && !match; j++) {
			X509 *x = OPENSSL_sk_value(all, j);
			if (CMS_SignerInfo_cert_cmp(si, x) == 0)
				match = x;
		}
		if (!match) {
			rc = xs_fail(err, -ENOKEY, "signature: untrusted signer: no certificate in %s "
				     "(%zu certificate%s) matches the signer", trust->dir, ncert,
				     ncert == 1 ? "" : "s");
			goto out;
		}
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		if (!X509_digest(match, EVP_sha256(), md, &mdlen) || mdlen != 32) {
			rc = xs_fail(err, -ENOMEM, "signature: cannot hash the signer's certificate");
			goto out;
		}
		char subj[256] = "?";
		char *s = X509_NAME_oneline(X509_get_subject_name(match), NULL, 0);
		if (s) {
			snprintf(subj, sizeof(subj), "%s", s);
			OPENSSL_free(s);
		}
		if (i == 0) {
			snprintf(who->subject, sizeof(who->subject), "%s", subj);
			xs_hex_encode(md, 32, who->sha256);
		}
		if (is_revoked(trust, md)) {
			char fp[65];
			xs_hex_encode(md, 32, fp);
			rc = xs_fail(err, -EKEYREVOKED, "signature: the signer's certificate (%s, "
				     "sha256 %s) is revoked (listed in %s/revoked)", subj, fp,
				     trust->dir);
			goto out;
		}
		if (OPENSSL_sk_push(use, match) <= 0) {
			rc = xs_fail(err, -ENOMEM, "signature: out of memory");
			goto out;
		}
	}
	/* Only our certificates (NOINTERN: never one the message carries), used
	 * as given (NO_SIGNER_CERT_VERIFY: the trust is the directory, not a
	 * chain), over the content as bytes (BINARY). */
	ERR_clear_error();
	if (CMS_verify(cms, (STACK_OF(X509) *)use, NULL, data, NULL,
			  CMS_BINARY | CMS_DETACHED | CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		rc = xs_fail(err, -EKEYREJECTED, "signature: bad signature by %s: the payload does not "
			     "match it (%s)", who->subject, ossl_reason(ebuf, sizeof(ebuf)));
		goto out;
	}
	rc = 0;
out:
	if (data)
		BIO_free(data);
	if (use)
		OPENSSL_sk_free(use); /* borrowed from all */
	if (all)
		free_certs(all);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	if (rc)
		memset(who, 0, sizeof(*who));
	return rc;
}
