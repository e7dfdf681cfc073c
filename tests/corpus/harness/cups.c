/* SPDX-License-Identifier: MIT */
/* Harness for libcups (libcups.so.2 of the Debian source tree); modes:
 *   extension-tag  CVE-2025-58364: an IPP response, as a printer would
 *                  send it to a client, read with ippReadIO: its
 *                  "printer-name" has the value tag 0x7f ("extension")
 *                  followed by the 32-bit tag 0x40000000 and an empty value.
 *                  Unpatched, ippReadIO takes the 32-bit tag, the code the
 *                  fix removes, and the attribute arrives with that tag and
 *                  no value: ippGetString gives NULL to a client that looks
 *                  the name up with IPP_TAG_ZERO. Patched, 0x7f is an
 *                  ordinary tag, the next bytes a 16 KiB name length, and
 *                  the message is rejected with the error message the fix
 *                  adds ("Unable to read IPP attribute name."). No crash
 *                  inside libcups itself was found with this or other
 *                  extension-tag messages (see docs/real-world.md).
 * The load threads read a well-formed Get-Printer-Attributes response and
 * check its attributes' values. */
#include <cups/cups.h>
#include <cups/ipp.h>

#include "harness.h"

struct membuf {
	const unsigned char *p;
	size_t len, off;
};

static ssize_t mem_read(void *ctx, ipp_uchar_t *buf, size_t n)
{
	struct membuf *m = ctx;
	size_t left = m->len - m->off;
	if (n > left)
		n = left;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

/* An IPP/2.0 response head: version, status successful-ok, request-id 1,
 * operation attributes with the charset and the natural language. */
#define IPP_HEAD                                                              \
	"\x02\x00" "\x00\x00" "\x00\x00\x00\x01"                              \
	"\x01"                                                                \
	"\x47\x00\x12" "attributes-charset" "\x00\x05" "utf-8"                \
	"\x48\x00\x1b" "attributes-natural-language" "\x00\x05" "en-us"

static ipp_t *parse(const unsigned char *msg, size_t len, ipp_state_t *st)
{
	struct membuf m = { msg, len, 0 };
	ipp_t *ipp = ippNew();
	*st = ippReadIO(&m, mem_read, 1, NULL, ipp);
	return ipp;
}

static void repro(const char *mode)
{
	if (strcmp(mode, "extension-tag")) {
		printf("unknown mode %s\n", mode);
		return;
	}
	static const unsigned char msg[] = IPP_HEAD "\x04"
		"\x7f" "\x40\x00\x00\x00" "\x00\x0c" "printer-name" "\x00\x00"
		"\x03";
	ipp_state_t st;
	ipp_t *ipp = parse(msg, sizeof(msg) - 1, &st);
	if (st == IPP_STATE_ERROR) {
		printf("rejected (%s)\n", cupsLastErrorString() ? cupsLastErrorString() : "no error message");
		ippDelete(ipp);
		return;
	}
	ipp_attribute_t *a = ippFindAttribute(ipp, "printer-name", IPP_TAG_ZERO);
	if (!a)
		printf("parsed, no printer-name\n");
	else
		printf("parsed: printer-name with the 32-bit tag %#x, string %s\n",
		       (unsigned)ippGetValueTag(a), ippGetString(a, 0, NULL) ? "set" : "NULL");
	ippDelete(ipp);
}

static bool load_once(void)
{
	static const unsigned char msg[] =
		IPP_HEAD "\x04"
		"\x21\x00\x0d" "printer-state" "\x00\x04" "\x00\x00\x00\x03"
		"\x42\x00\x0c" "printer-name" "\x00\x04" "lp42"
		"\x41\x00\x0f" "printer-message" "\x00\x05" "ready"
		"\x03";
	ipp_state_t st;
	ipp_t *ipp = parse(msg, sizeof(msg) - 1, &st);
	ipp_attribute_t *s = ippFindAttribute(ipp, "printer-state", IPP_TAG_INTEGER);
	ipp_attribute_t *nm = ippFindAttribute(ipp, "printer-name", IPP_TAG_NAME);
	ipp_attribute_t *m = ippFindAttribute(ipp, "printer-message", IPP_TAG_TEXT);
	bool ok = st == IPP_STATE_DATA && s && ippGetInteger(s, 0) == 3 && nm &&
		  !strcmp(ippGetString(nm, 0, NULL), "lp42") && m &&
		  !strcmp(ippGetString(m, 0, NULL), "ready");
	ippDelete(ipp);
	return ok;
}
