/* SPDX-License-Identifier: MIT */
/* Replaces xmlGetNodePath in Debian's (stripped) libxml2: every program
 * mapping that libxml2 answers "/patched" (libs.sh: xmllint --shell's pwd,
 * and xml_user). The string is the library's own (xmlStrdup), so the
 * caller's xmlFree frees it as before. */
#include <xsplice/livepatch.h>

typedef unsigned char xmlChar;
extern xmlChar *xmlStrdup(const xmlChar *cur);

static xmlChar *node_path_patched(const void *node)
{
	(void)node;
	return xmlStrdup((const xmlChar *)"/patched");
}

static const char node_path_name[] = "xmlGetNodePath";

struct livepatch_func livepatch_xml_node_path LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = node_path_name,
	.new_addr = node_path_patched,
	.old_addr = (void *)OLD_ADDR_xmlGetNodePath,
	.new_size = NEW_SIZE_node_path_patched,
	.old_size = OLD_SIZE_xmlGetNodePath,
};
