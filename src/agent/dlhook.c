/* SPDX-License-Identifier: MIT */
/*
 * Installed payloads for libraries dlopened after the agent started
 * (docs/decisions.md, "Issue 10: libraries dlopened later").
 *
 * The loader calls _dl_debug_state() (its r_brk, the debugger's
 * breakpoint) at every change of the link map: RT_ADD/RT_DELETE, then
 * RT_CONSISTENT. On glibc x86-64 it is a 1-byte `ret` in a 16-byte slot;
 * the agent turns it into `jmp *0(%rip)` to dl_event(), which only counts
 * the event and wakes the xsplice-dl thread with a raw futex wake: it runs
 * inside the loader with the loader's lock held, so no lock, no libc, no
 * fd (the program may close or reuse any fd). The thread waits for the
 * loader's lock (the dlopen to finish, constructors included), then
 * applies the installed payloads for the objects that are new, as the
 * start does (autoload.c). Idle, the thread sleeps on the futex without a
 * timeout: no wake-up of its own.
 *
 * gdb keeps working: it reads r_brk and puts its int3 on the first byte,
 * which is still an instruction start (our jmp); it steps over it as over
 * any instruction. Bytes that are not the expected `ret` + nop padding
 * (another glibc, a debugger's breakpoint already there) are left alone
 * and the log says so.
 *
 * Threading: start/stop on the constructor/destructor's thread; the
 * watcher thread is the only one that calls autoload's dlopen step.
 */
#include "dlhook.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "arch/syscall.h"
#include "autoload.h"
#include "codewrite.h"
#include "common/latency.h"
#include "rendezvous.h"

#define SLOT 16      /* _dl_debug_state's slot: ret + padding (function alignment) */
#define JMP_LEN 14   /* ff 25 00 00 00 00 <imm64>: jmp *0(%rip), no register touched */

static _Atomic uint32_t g_events;  /* link-map changes seen by dl_event */
static uintptr_t g_brk;            /* hooked address, 0 when not hooked */
static uint8_t g_orig[JMP_LEN];    /* bytes the jump covers */
static uint8_t g_jmp[JMP_LEN];
static bool g_thread_wanted;
static const volatile struct r_debug *g_rdebug; /* the base namespace's */

/* Called by the loader, its lock held, on whatever thread dlopens or
 * dlcloses: count, wake, return. Nothing else. Only the RT_CONSISTENT
 * call of each change (the RT_ADD / RT_DELETE one before it is skipped:
 * the thread waits for the whole dlopen anyway); a dlmopen into another
 * namespace leaves the base one consistent, so both of its calls wake. */
__attribute__((used, noinline)) static void dl_event(void)
{
	if (g_rdebug && g_rdebug->r_state != RT_CONSISTENT)
		return;
	atomic_fetch_add_explicit(&g_events, 1, memory_order_release);
	xs_sys3(SYS_futex, (long)&g_events, FUTEX_WAKE_PRIVATE, 1);
}

/* The jump's target: endbr64 first, so an indirect-branch-tracking
 * process (CET IBT) accepts the jump whatever flags the agent was built
 * with; a no-op elsewhere. */
void xs_dl_entry(void) __attribute__((visibility("hidden")));
__asm__(".text\n"
	".p2align 4\n"
	".hidden xs_dl_entry\n"
	".type xs_dl_entry, @function\n"
	"xs_dl_entry:\n"
	"\tendbr64\n"
	"\tjmp dl_event\n"
	".size xs_dl_entry, .-xs_dl_entry\n");

/* The padding GCC and gas put after a function: nop forms and int3. */
static bool is_padding(uint8_t b)
{
	static const uint8_t ok[] = { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x80, 0x00, 0x40, 0x44, 0x90,
				      0xcc };
	for (size_t i = 0; i < sizeof(ok); i++)
		if (b == ok[i])
			return true;
	return false;
}

static void *watcher(void *arg)
{
	uint32_t done = (uint32_t)(uintptr_t)arg;
	xs_thread_prefer_latency();
	for (;;) {
		uint32_t now = atomic_load_explicit(&g_events, memory_order_acquire);
		if (now == done) {
			xs_sys4(SYS_futex, (long)&g_events, FUTEX_WAIT_PRIVATE, (long)now, 0);
			continue;
		}
		done = now;
		/* Nothing installed (the common case): no wait for the loader, no
		 * look at the objects. A program that dlopens in a loop pays one
		 * directory listing per wake-up. */
		if (!xs_autoload_anything_installed())
			continue;
		/* The loader's lock is held until the dlopen (or dlclose) that
		 * woke us is complete, relocations and constructors included:
		 * dlopen takes it, and the main program is already loaded, so
		 * this loads nothing and reports no event of its own. */
		void *h = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
		if (h)
			dlclose(h);
		xs_autoload_after_dlopen();
	}
	return NULL;
}

static int start_thread(struct xs_err *err)
{
	/* Like the control thread: only the park signal, so it is parked like
	 * any other thread while someone else patches. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, xs_rendezvous_signal());
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	uint32_t seen = atomic_load(&g_events);
	int rc = pthread_create(&t, NULL, watcher, (void *)(uintptr_t)seen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return xs_fail(err, -rc, "cannot create its dlopen thread: %s", strerror(rc));
	pthread_setname_np(t, "xsplice-dl");
	pthread_detach(t);
	return 0;
}

/* Where the loader's breakpoint function is, checked two ways. */
static int find_brk(uintptr_t *brk, struct xs_err *err)
{
	struct r_debug *r = dlsym(RTLD_DEFAULT, "_r_debug");
	void *fn = dlvsym(RTLD_DEFAULT, "_dl_debug_state", "GLIBC_PRIVATE");
	if (!r || !r->r_brk)
		return xs_fail(err, -ENOENT, "the loader's _r_debug.r_brk was not found");
	if (fn && (uintptr_t)fn != r->r_brk)
		return xs_fail(err, -EPROTO, "_r_debug.r_brk (%#lx) is not _dl_debug_state (%p)",
			       (unsigned long)r->r_brk, fn);
	if (r->r_brk % SLOT)
		return xs_fail(err, -EPROTO, "the loader's breakpoint function at %#lx is not "
			       "%d-byte aligned", (unsigned long)r->r_brk, SLOT);
	*brk = r->r_brk;
	g_rdebug = r;
	return 0;
}

static int write_hook(uintptr_t brk, struct xs_err *err)
{
	const uint8_t *code = (const uint8_t *)brk;
	if (code[0] != 0xc3)
		return xs_fail(err, -EPROTO, "the loader's breakpoint function at %#lx starts with "
			       "%#04x, not ret (0xc3): another loader, or a debugger's breakpoint",
			       (unsigned long)brk, code[0]);
	for (int i = 1; i < JMP_LEN; i++)
		if (!is_padding(code[i]))
			return xs_fail(err, -EPROTO, "the loader's breakpoint function at %#lx is "
				       "longer than ret + padding (byte %d is %#04x)",
				       (unsigned long)brk, i, code[i]);
	memcpy(g_orig, code, JMP_LEN);
	uintptr_t to = (uintptr_t)&xs_dl_entry;
	g_jmp[0] = 0xff;
	g_jmp[1] = 0x25;
	memset(g_jmp + 2, 0, 4);
	memcpy(g_jmp + 6, &to, sizeof(to));
	int fd = xs_code_open(err);
	if (fd < 0)
		return fd;
	/* The padding first (never executed), then the one byte a thread may
	 * be executing: it sees ret, or the whole jump. */
	int rc = xs_code_write(fd, brk + 1, g_jmp + 1, JMP_LEN - 1);
	if (!rc)
		rc = xs_code_write(fd, brk, g_jmp, 1);
	if (rc) {
		/* Put back what may have been written (the padding). */
		(void)xs_code_write(fd, brk, g_orig, 1);
		(void)xs_code_write(fd, brk + 1, g_orig + 1, JMP_LEN - 1);
	}
	xs_code_close(fd);
	if (rc)
		return xs_fail(err, rc, "cannot write the loader's breakpoint function at %#lx: %s",
			       (unsigned long)brk, strerror(-rc));
	return 0;
}

int xs_dlhook_start(struct xs_err *err)
{
	const char *v = getenv("XSPLICE_AUTOLOAD");
	if (v && strcmp(v, "0") == 0)
		return 0;
	uintptr_t brk = 0;
	int rc = find_brk(&brk, err);
	if (!rc)
		rc = write_hook(brk, err);
	if (rc)
		return rc;
	g_brk = brk;
	/* What is loaded now is the start's (preloaded) or the operator's
	 * (attached: load --all) business; from here on, new objects are ours. */
	xs_autoload_remember_objects();
	g_thread_wanted = true;
	rc = start_thread(err);
	if (rc)
		xs_dlhook_stop();
	return rc;
}

void xs_dlhook_stop(void)
{
	if (!g_brk)
		return;
	const uint8_t *code = (const uint8_t *)g_brk;
	if (memcmp(code, g_jmp, JMP_LEN) != 0)
		return; /* someone else's bytes now (a debugger): leave them */
	struct xs_err err = { "" };
	int fd = xs_code_open(&err);
	if (fd < 0)
		return;
	/* ret first: from then on the rest is padding again. */
	if (xs_code_write(fd, g_brk, g_orig, 1) == 0)
		(void)xs_code_write(fd, g_brk + 1, g_orig + 1, JMP_LEN - 1);
	xs_code_close(fd);
	g_brk = 0;
	g_thread_wanted = false;
}

bool xs_dlhook_active(void)
{
	return g_brk != 0;
}

void xs_dlhook_fork_child(void)
{
	/* The hook is in the child's copy of the loader; the thread is not. */
	struct xs_err err = { "" };
	if (g_brk && g_thread_wanted && start_thread(&err) != 0)
		xs_agent_log("xsplice: pid %d: libraries dlopened from now on do not get their "
			     "installed payloads: %s\n", (int)getpid(), err.msg);
}
