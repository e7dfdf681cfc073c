/* SPDX-License-Identifier: MIT */
/*
 * dl_target LIB_A LIB_B: dlopens LIB_A and serves signals:
 *   SIGHUP   print "greet: <dl_greet()>" (or "greet: closed")
 *   SIGUSR1  dlclose LIB_A, print "closed"
 *   SIGUSR2  dlopen LIB_B, print "opened B at 0x..."
 * Prints "ready A at 0x..." when started. Lines go to stdout, flushed.
 */
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

static volatile sig_atomic_t g_hup, g_usr1, g_usr2;

static void on_sig(int sig)
{
	if (sig == SIGHUP)
		g_hup = 1;
	else if (sig == SIGUSR1)
		g_usr1 = 1;
	else
		g_usr2 = 1;
}

static void *base_of(void *h)
{
	struct link_map *lm = NULL;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
		return NULL;
	return (void *)lm->l_addr;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s LIB_A LIB_B\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sig;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	void *a = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!a) {
		fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
		return 1;
	}
	const char *(*greet)(void) = (const char *(*)(void))dlsym(a, "dl_greet");
	void *b = NULL;
	printf("ready A at %p\n", base_of(a));
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (greet)
			(void)greet(); /* the program keeps calling into the library */
		if (g_hup) {
			g_hup = 0;
			printf("greet: %s\n", greet ? greet() : "closed");
		}
		if (g_usr1) {
			g_usr1 = 0;
			if (a) {
				greet = NULL;
				dlclose(a);
				a = NULL;
			}
			printf("closed\n");
		}
		if (g_usr2) {
			g_usr2 = 0;
			if (!b)
				b = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
			printf("opened B at %p\n", b ? base_of(b) : NULL);
		}
	}
}
