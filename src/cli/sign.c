/* SPDX-License-Identifier: MIT */
/*
 * xsplice sign / verify: the module-signature trailer (src/common/modsig.c)
 * over a payload, made and checked offline with the system's OpenSSL, in
 * the same format as the kernel's scripts/sign-file, so the agent accepts
 * either (docs/security.md, docs/cli.md). verify checks exactly what the
 * agent checks under enforcement (src/common/sigcheck.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "cli/json.h"
#include "common/modsig.h"
#include "common/sigcheck.h"

/* verify's exit codes, one per cause (docs/cli.md). */
enum {
	EXIT_UNSIGNED = 6,
	EXIT_BADSIG = 7,   /* malformed trailer or CMS message, or tampered */
	EXIT_UNTRUSTED = 8,
	EXIT_REVOKED = 9,
};

static const char *ossl_err(char *buf, size_t n)
{
	unsigned long e = ERR_get_error();
	if (!e)
		return "unknown OpenSSL error";
	ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}

static X509 *load_cert(const char *path, struct xs_err *err)
{
	char eb[256];
	BIO *b = BIO_new_file(path, "rb");
	if (!b) {
		xs_fail(err, -ENOENT, "cannot open the certificate %s: %s", path, strerror(errno));
		return NULL;
	}
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!x) {
		ERR_clear_error();
		(void)BIO_reset(b);
		x = d2i_X509_bio(b, NULL);
	}
	BIO_free(b);
	if (!x)
		xs_fail(err, -EINVAL, "%s is not an X.509 certificate (PEM or DER): %s", path,
			ossl_err(eb, sizeof(eb)));
	return x;
}

static EVP_PKEY *load_key(const char *path, struct xs_err *err)
{
	char eb[256];
	BIO *b = BIO_new_file(path, "rb");
	if (!b) {
		xs_fail(err, -ENOENT, "cannot open the key %s: %s", path, strerror(errno));
		return NULL;
	}
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (!k) {
		ERR_clear_error();
		(void)BIO_reset(b);
		k = d2i_PrivateKey_bio(b, NULL);
	}
	BIO_free(b);
	if (!k)
		xs_fail(err, -EINVAL, "%s is not a private key (PEM or DER): %s", path,
			ossl_err(eb, sizeof(eb)));
	return k;
}

/* The detached CMS signature sign-file makes: no certificates, no signed
 * attributes, the signer named by issuer and serial. */
static int make_sig(const uint8_t *data, size_t len, X509 *cert, EVP_PKEY *key, const EVP_MD *md,
		    uint8_t **sig, size_t *sig_len, struct xs_err *err)
{
	char eb[256];
	int rc = -EINVAL;
	const unsigned flags = CMS_NOCERTS | CMS_PARTIAL | CMS_BINARY | CMS_DETACHED | CMS_STREAM;
	BIO *in = BIO_new_mem_buf(data, (int)len);
	CMS_ContentInfo *cms = in ? CMS_sign(NULL, NULL, NULL, NULL, flags) : NULL;
	if (!cms) {
		xs_fail(err, -ENOMEM, "CMS_sign: %s", ossl_err(eb, sizeof(eb)));
		goto out;
	}
	if (!CMS_add1_signer(cms, cert, key, md,
			     CMS_NOCERTS | CMS_BINARY | CMS_NOSMIMECAP | CMS_NOATTR)) {
		xs_fail(err, -EINVAL, "the key does not sign with this certificate: %s",
			ossl_err(eb, sizeof(eb)));
		goto out;
	}
	if (CMS_final(cms, in, NULL, CMS_NOCERTS | CMS_BINARY) != 1) {
		xs_fail(err, -EINVAL, "CMS_final: %s", ossl_err(eb, sizeof(eb)));
		goto out;
	}
	unsigned char *der = NULL;
	int n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0) {
		xs_fail(err, -EINVAL, "cannot encode the signature: %s", ossl_err(eb, sizeof(eb)));
		goto out;
	}
	*sig = malloc((size_t)n);
	if (*sig) {
		memcpy(*sig, der, (size_t)n);
		*sig_len = (size_t)n;
		rc = 0;
	} else {
		rc = xs_fail(err, -ENOMEM, "out of memory");
	}
	OPENSSL_free(der);
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

static int write_atomic(const char *path, const uint8_t *b, size_t n, mode_t mode,
			struct xs_err *err)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.xsplice-sign.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return xs_fail(err, -errno, "cannot create %s: %s", tmp, strerror(errno));
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, b + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return xs_fail(err, -e, "cannot write %s: %s", tmp, strerror(e));
		}
		done += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return xs_fail(err, -e, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

static void sign_usage(FILE *f)
{
	fprintf(f, "Usage: xsplice sign --key KEY --cert CERT [--hash ALGO] [-o OUT] FILE\n\n"
		   "Sign the payload FILE in the Linux module-signature format (as the kernel's\n"
		   "scripts/sign-file does): a detached PKCS#7/CMS signature by KEY (PEM or DER)\n"
		   "for the X.509 certificate CERT (PEM or DER), appended to FILE (or written to\n"
		   "OUT). A signature FILE already has is replaced. ALGO: sha256 (default),\n"
		   "sha384, sha512.\n\n"
		   "Exit codes: 0 signed, 1 failure (bad key or certificate, I/O), 2 usage,\n"
		   "3 a file is missing.\n");
}

int cmd_sign(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' }, { "cert", required_argument, NULL, 'c' },
		{ "hash", required_argument, NULL, 'H' }, { "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	(void)c;
	const char *key = NULL, *certp = NULL, *hash = "sha256", *out = NULL;
	int o;
	optind = 0;
	opterr = 0;
	/* argv[0] is the first word after "sign": getopt skips argv[0]. */
	while ((o = getopt_long(argc + 1, argv - 1, "+k:c:H:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 'k': key = optarg; break;
		case 'c': certp = optarg; break;
		case 'H': hash = optarg; break;
		case 'o': out = optarg; break;
		case 'h': sign_usage(stdout); return EXIT_OK;
		default: return usage_error(cmd, "sign: bad option '%s'", argv[optind - 2]);
		}
	}
	int rest = argc + 1 - optind;
	if (!key || !certp || rest != 1)
		return usage_error(cmd, "sign needs --key KEY --cert CERT and one FILE");
	const char *file = argv[optind - 1];
	const EVP_MD *md = EVP_get_digestbyname(hash);
	if (!md || (strcmp(hash, "sha256") && strcmp(hash, "sha384") && strcmp(hash, "sha512")))
		return usage_error(cmd, "sign: --hash %s: use sha256, sha384 or sha512", hash);

	struct xs_err err = { "" };
	uint8_t *data = NULL, *sig = NULL;
	size_t len = 0, sig_len = 0;
	int ex = read_file(file, &data, &len);
	if (ex)
		return ex;
	struct stat st;
	mode_t mode = stat(file, &st) == 0 ? (st.st_mode & 07777) : 0644;
	struct xs_modsig ms;
	int rc = xs_modsig_split(data, len, &ms, &err);
	if (rc == -EBADMSG) {
		free(data);
		return report(rc, &err, "remove the damaged trailer, or sign the unsigned file",
			      "cannot sign %s", file);
	}
	if (rc == 0)
		fprintf(stderr, "xsplice: %s was signed; replacing its signature\n", file);
	len = ms.content_len;
	X509 *x = load_cert(certp, &err);
	EVP_PKEY *k = x ? load_key(key, &err) : NULL;
	rc = k ? make_sig(data, len, x, k, md, &sig, &sig_len, &err) : (x ? -EINVAL : -ENOENT);
	uint8_t *signed_buf = NULL;
	if (!rc) {
		signed_buf = malloc(len + sig_len + sizeof(struct xs_module_signature) +
				    XS_MODSIG_MAGIC_LEN);
		if (!signed_buf)
			rc = xs_fail(&err, -ENOMEM, "out of memory");
	}
	if (!rc) {
		memcpy(signed_buf, data, len);
		size_t n = xs_modsig_append(signed_buf, len, sig, sig_len);
		rc = write_atomic(out ? out : file, signed_buf, n, mode, &err);
	}
	X509_free(x);
	EVP_PKEY_free(k);
	free(signed_buf);
	free(sig);
	free(data);
	if (rc)
		return report(rc, &err, NULL, "cannot sign %s", file) == EXIT_NOTFOUND ? EXIT_NOTFOUND
		       : EXIT_FAIL;
	printf("signed %s (%s, %zu-byte signature)%s%s\n", file, hash, sig_len, out ? " -> " : "",
	       out ? out : "");
	return EXIT_OK;
}

static void verify_usage(FILE *f)
{
	fprintf(f, "Usage: xsplice verify [--trust DIR] [--json] FILE\n\n"
		   "Check the module signature of the payload FILE offline, as the agent does\n"
		   "under enforcement: against the certificates in DIR (default\n"
		   "$XSPLICE_TRUST_DIR, else /etc/xsplice/trusted-certs) and its 'revoked' list.\n\n"
		   "Exit codes: 0 good signature by a trusted signer, 1 failure (I/O), 2 usage,\n"
		   "3 file missing, 6 unsigned, 7 bad signature (tampered, or a malformed\n"
		   "trailer or signature), 8 untrusted signer, 9 revoked signer.\n");
}

static int verify_exit(int rc)
{
	switch (-rc) {
	case 0: return EXIT_OK;
	case ENODATA: return EXIT_UNSIGNED;
	case EBADMSG:
	case EKEYREJECTED: return EXIT_BADSIG;
	case ENOKEY: return EXIT_UNTRUSTED;
	case EKEYREVOKED: return EXIT_REVOKED;
	default: return EXIT_FAIL;
	}
}

int cmd_verify(struct ctx *c, const struct command *cmd, char **argv, int argc)
{
	static const struct option opts[] = {
		{ "trust", required_argument, NULL, 'T' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
	};
	const char *dir = getenv("XSPLICE_TRUST_DIR");
	if (!dir || !*dir)
		dir = "/etc/xsplice/trusted-certs";
	bool json = c->json;
	int o;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc + 1, argv - 1, "+T:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'T': dir = optarg; break;
		case 'j': json = true; break;
		case 'h': verify_usage(stdout); return EXIT_OK;
		default: return usage_error(cmd, "verify: bad option '%s'", argv[optind - 2]);
		}
	}
	if (argc + 1 - optind != 1)
		return usage_error(cmd, "verify needs one FILE");
	const char *file = argv[optind - 1];
	uint8_t *data = NULL;
	size_t len = 0;
	int ex = read_file(file, &data, &len);
	if (ex)
		return ex;
	struct xs_err err = { "" };
	struct xs_signer who;
	memset(&who, 0, sizeof(who));
	struct xs_modsig ms;
	struct xs_trust t;
	memset(&t, 0, sizeof(t));
	int rc = xs_modsig_split(data, len, &ms, &err);
	if (!rc)
		rc = xs_trust_read(&t, dir, &err);
	if (!rc)
		rc = xs_sigcheck(&t, data, ms.content_len, ms.sig, ms.sig_len, &who, &err);
	xs_trust_free(&t);
	free(data);
	ex = verify_exit(rc);
	static const char *const verdict[] = {
		[EXIT_OK] = "good", [EXIT_FAIL] = "error", [EXIT_UNSIGNED] = "unsigned",
		[EXIT_BADSIG] = "bad", [EXIT_UNTRUSTED] = "untrusted", [EXIT_REVOKED] = "revoked",
	};
	if (json) {
		printf("{\"file\":");
		json_str(stdout, file);
		printf(",\"verdict\":");
		json_str(stdout, verdict[ex]);
		printf(",\"exit\":%d,\"signer\":", ex);
		json_str(stdout, who.subject);
		printf(",\"sha256\":");
		json_str(stdout, who.sha256);
		printf(",\"reason\":");
		json_str(stdout, rc ? err.msg : "");
		printf("}\n");
		return ex;
	}
	if (!rc) {
		printf("%s: good signature by %s (certificate sha256 %s)\n", file, who.subject,
		       who.sha256);
		return EXIT_OK;
	}
	fprintf(stderr, "xsplice: %s: %s signature: %s (%s)\n", file, verdict[ex], err.msg,
		errname(rc));
	return ex;
}
