/* SPDX-License-Identifier: MIT */
/*
 * xml_user: a program of ours linking Debian's libxml2, as xmllint does
 * (libs.sh). SIGHUP prints "path: <xmlGetNodePath of <a/> in <r><a/></r>>";
 * "ready" when started. Lines go to stdout, flushed.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

static volatile sig_atomic_t g_hup;

static void on_hup(int sig)
{
	(void)sig;
	g_hup = 1;
}

static void print_path(void)
{
	static const char doc_text[] = "<r><a/></r>";
	xmlDocPtr doc = xmlReadMemory(doc_text, sizeof(doc_text) - 1, "mem.xml", NULL, 0);
	xmlNodePtr a = doc ? xmlDocGetRootElement(doc)->children : NULL;
	xmlChar *path = a ? xmlGetNodePath(a) : NULL;
	printf("path: %s\n", path ? (const char *)path : "(none)");
	xmlFree(path);
	xmlFreeDoc(doc);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	xmlInitParser();
	printf("ready\n");
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (g_hup) {
			g_hup = 0;
			print_path();
		}
	}
}
