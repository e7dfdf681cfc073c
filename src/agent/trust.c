/* SPDX-License-Identifier: MIT */
/*
 * Trust configuration and the signature gate of UPLOAD (docs/security.md,
 * "Trust and enforcement"). The configuration is read once, at start, from
 * places a client cannot reach: the target's environment and /etc. No
 * request changes it. Under enforcement a payload is refused, with a
 * reason per cause, before its ELF is looked at.
 *
 * Threading: xs_trust_init runs in the constructor, before the control
 * thread exists; xs_trust_check on the control thread. Fork children
 * inherit the configuration as it is.
 */
#include "trust.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/modsig.h"
#include "signature.h"

#define XS_ENFORCE_FILE "/etc/xsplice/enforce"
#define XS_TRUST_DIR_DEFAULT "/etc/xsplice/trusted-certs"

static bool g_enforce;
static struct xs_trust g_trust;
static char g_dir[512] = XS_TRUST_DIR_DEFAULT;
static int g_init_rc;                 /* a start-up failure, refused with under enforcement */
static char g_init_why[XS_REASON_SIZE];

int xs_trust_init(struct xs_err *why)
{
	const char *e = getenv("XSPLICE_ENFORCE");
	g_enforce = access(XS_ENFORCE_FILE, F_OK) == 0 || (e && strcmp(e, "1") == 0);
	const char *d = getenv("XSPLICE_TRUST_DIR");
	if (d && *d)
		snprintf(g_dir, sizeof(g_dir), "%s", d);
	struct xs_err err = { "" };
	int rc = xs_trust_read(&g_trust, g_dir, &err);
	if (!rc && g_enforce)
		rc = xs_signature_load(&err);
	if (rc) {
		g_init_rc = rc;
		snprintf(g_init_why, sizeof(g_init_why), "%s", err.msg);
		return xs_fail(why, rc, "%s", err.msg);
	}
	return 0;
}

bool xs_trust_enforcing(void)
{
	return g_enforce;
}

const char *xs_trust_dir(void)
{
	return g_dir;
}

int xs_trust_check(const uint8_t *image, size_t size, size_t *content_len, char *signer,
		   size_t signer_size, struct xs_err *err)
{
	struct xs_modsig ms;
	*content_len = size;
	int rc = xs_modsig_split(image, size, &ms, err);
	if (rc == -ENODATA && !g_enforce) {
		snprintf(signer, signer_size, "unsigned");
		return 0;
	}
	if (rc)
		return xs_fail_prefix(err, rc, "refused%s", g_enforce ? " by signature enforcement" : "");
	*content_len = ms.content_len;
	if (g_enforce && g_init_rc)
		return xs_fail(err, g_init_rc, "refused by signature enforcement: %s", g_init_why);
	struct xs_signer who;
	rc = xs_signature_verify(&g_trust, image, ms.content_len, ms.sig, ms.sig_len, &who, err);
	if (rc && g_enforce)
		return xs_fail_prefix(err, rc, "refused by signature enforcement");
	if (rc)
		snprintf(signer, signer_size, "unverified: %s", err->msg);
	else
		snprintf(signer, signer_size, "%s", who.subject);
	return 0;
}
