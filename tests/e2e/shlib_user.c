/* SPDX-License-Identifier: MIT */
/*
 * shlib_user BUMPS [LIB [EXTRA_LIB]]: a program mapping libxse2e_shlib. Built three
 * times: shlib_user_a and shlib_user_b link the library (b has more code
 * before it, so every address differs), shlib_dl dlopens LIB on SIGUSR1
 * and dlcloses it on SIGUSR2. The library's static counter is bumped BUMPS
 * times once it is there, so each process has its own value. SIGHUP
 * prints "report: <shlib_report()>". Lines go to stdout, flushed:
 *   ready (other)    started
 *   opened: <report> right after dlopen returned (shlib_dl)
 *   closed           after dlclose (shlib_dl)
 *   opened extra Y/N after SIGWINCH: dlopened the library ARGV[3] (shlib_dl)
 *   forked PID       after SIGALRM: a child, whose lines go to $SHLIB_CHILD_OUT
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifndef EXE_NAME
#define EXE_NAME "shlib_user"
#endif

/* Exported (-rdynamic): the payload calls it. */
__attribute__((noinline)) const char *exe_name(void)
{
	return EXE_NAME;
}

#ifdef VARIANT_B
/* More code and data before main: other addresses than shlib_user_a. */
static volatile int g_pad[4096];
__attribute__((noinline)) int pad_b(int x)
{
	for (int i = 0; i < 64; i++)
		g_pad[i] += x * i;
	return g_pad[3];
}
#endif

extern const char *other_word(void); /* libxse2e_other.so: a DT_NEEDED it uses */
#ifdef POISONED
extern int brk_poison_linked(void); /* brk_poison.c */
#endif

static volatile sig_atomic_t g_hup, g_usr1, g_usr2, g_alrm, g_winch;

static void on_sig(int sig)
{
	if (sig == SIGHUP)
		g_hup = 1;
	else if (sig == SIGALRM)
		g_alrm = 1;
	else if (sig == SIGWINCH)
		g_winch = 1;
	else if (sig == SIGUSR1)
		g_usr1 = 1;
	else
		g_usr2 = 1;
}

#ifdef DLOPEN
static const char *(*report)(void);
static void *g_lib;

static void open_lib(const char *path, int bumps)
{
	if (g_lib)
		return;
	g_lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!g_lib) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		return;
	}
	void (*bump)(void) = (void (*)(void))dlsym(g_lib, "shlib_bump");
	for (int i = 0; i < bumps && bump; i++)
		bump();
	report = (const char *(*)(void))dlsym(g_lib, "shlib_report");
	printf("opened: %s\n", report ? report() : "no shlib_report");
}
#else
extern const char *shlib_report(void);
extern void shlib_bump(void);
static const char *(*report)(void) = shlib_report;
#endif

int main(int argc, char **argv)
{
	int bumps = argc > 1 ? atoi(argv[1]) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_sig;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
#ifndef DLOPEN
	for (int i = 0; i < bumps; i++)
		shlib_bump();
#endif
#ifdef VARIANT_B
	pad_b(bumps);
#endif
#ifdef POISONED
	(void)brk_poison_linked();
#endif
	printf("ready (%s)\n", other_word());
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (report)
			(void)report(); /* the program keeps calling into the library */
		if (g_alrm) {
			/* A fork child with its own stdout ($SHLIB_CHILD_OUT): the
			 * same program, with the agent restarted in it. */
			g_alrm = 0;
			const char *out = getenv("SHLIB_CHILD_OUT");
			pid_t pid = out ? fork() : -1;
			if (pid == 0) {
				if (!freopen(out, "w", stdout))
					_exit(1);
				setvbuf(stdout, NULL, _IOLBF, 0);
				printf("ready (child)\n");
			} else {
				printf("forked %d\n", (int)pid);
			}
		}
		if (g_hup) {
			g_hup = 0;
			printf("report: %s\n", report ? report() : "closed");
		}
#ifdef DLOPEN
		if (g_usr1) {
			g_usr1 = 0;
			if (argc > 2)
				open_lib(argv[2], bumps);
		}
		if (g_winch) {
			/* Another library: one more change of the link map. */
			g_winch = 0;
			void *h = argc > 3 ? dlopen(argv[3], RTLD_NOW | RTLD_LOCAL) : NULL;
			printf("opened extra %s\n", h ? "yes" : "no");
		}
		if (g_usr2) {
			g_usr2 = 0;
			if (g_lib) {
				report = NULL;
				dlclose(g_lib);
				g_lib = NULL;
			}
			printf("closed\n");
		}
#endif
	}
}
