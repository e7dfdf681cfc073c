/* SPDX-License-Identifier: MIT */
/* Harness for expat (libexpat.so.1 of the Debian tree's build/ flavour),
 * through its public API; modes:
 *   parse-buffer-negative  CVE-2024-45490: XML_ParseBuffer with a negative
 *                 length moves the buffer's end before its start and parses
 *                 on (unpatched: an ordinary parse error, the byte index
 *                 pushed before the document); patched: refused as
 *                 XML_ERROR_INVALID_ARGUMENT.
 *   stop-unstarted  CVE-2024-50602: XML_StopParser on a parser that never
 *                 started marks it suspended, and XML_ResumeParser then runs
 *                 the processor on no input (unpatched: stop accepted, resume
 *                 crashes or misparses); patched: refused, "parser not
 *                 started".
 * The load threads parse a small document with element and character data
 * handlers and check the element count and the text. */
#include <expat.h>

#include "harness.h"

static const char *err_name(XML_Parser p)
{
	const XML_LChar *s = XML_ErrorString(XML_GetErrorCode(p));
	return s ? s : "(no message)";
}

static void repro(const char *mode)
{
	XML_Parser p = XML_ParserCreate(NULL);
	if (!p) {
		printf("no parser\n");
		return;
	}
	if (!strcmp(mode, "parse-buffer-negative")) {
		void *b = XML_GetBuffer(p, 64);
		if (!b) {
			printf("no buffer\n");
			return;
		}
		memcpy(b, "<doc>text</doc>", 15);
		enum XML_Status s = XML_ParseBuffer(p, -8, XML_TRUE);
		printf("status %s, error %d (%s), byte index %ld\n",
		       s == XML_STATUS_OK ? "OK" : s == XML_STATUS_ERROR ? "ERROR" : "SUSPENDED",
		       (int)XML_GetErrorCode(p), err_name(p), (long)XML_GetCurrentByteIndex(p));
	} else if (!strcmp(mode, "stop-unstarted")) {
		XML_GetBuffer(p, 1);
		if (XML_StopParser(p, XML_TRUE) != XML_STATUS_OK) {
			printf("stop refused: %s\n", err_name(p));
		} else {
			enum XML_Status s = XML_ResumeParser(p);
			printf("stop accepted, resume %s: %s\n",
			       s == XML_STATUS_OK ? "OK" : s == XML_STATUS_ERROR ? "ERROR" : "SUSPENDED",
			       err_name(p));
		}
	} else {
		printf("unknown mode %s\n", mode);
	}
	XML_ParserFree(p);
}

struct counts {
	int elements;
	char text[64];
	size_t len;
};

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	(void)name;
	(void)atts;
	((struct counts *)ud)->elements++;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct counts *c = ud;
	if (len > 0 && c->len + (size_t)len < sizeof(c->text)) {
		memcpy(c->text + c->len, s, (size_t)len);
		c->len += (size_t)len;
	}
}

static bool load_once(void)
{
	static const char doc[] = "<?xml version=\"1.0\"?><list><item n=\"1\">one</item>"
				  "<item n=\"2\">two</item><item/></list>";
	XML_Parser p = XML_ParserCreate(NULL);
	if (!p)
		return false;
	struct counts c = { 0, "", 0 };
	XML_SetUserData(p, &c);
	XML_SetElementHandler(p, on_start, NULL);
	XML_SetCharacterDataHandler(p, on_text);
	bool ok = XML_Parse(p, doc, (int)sizeof(doc) - 1, XML_TRUE) == XML_STATUS_OK;
	XML_ParserFree(p);
	return ok && c.elements == 4 && c.len == 6 && !memcmp(c.text, "onetwo", 6);
}
