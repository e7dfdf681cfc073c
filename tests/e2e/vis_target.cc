// SPDX-License-Identifier: MIT
// The visibility test's target (C++): run_loop() calls work(t) every few ms
// and catches what it throws; thrower() throws for a negative argument and
// first reports whether backtrace() reaches run_loop. The payload
// (vis_payload.c) replaces work() with code that spins (perf), naps (gdb)
// and calls thrower(-1): the exception and the backtrace must cross the
// payload's frame. Linked with -rdynamic so dladdr names run_loop.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <execinfo.h>
#include <stdexcept>

extern "C" __attribute__((noipa)) void thrower(int i)
{
	if (i >= 0)
		return;
	void *a[64];
	int n = backtrace(a, 64);
	int reached = 0;
	for (int k = 0; k < n; k++) {
		Dl_info d;
		if (dladdr(a[k], &d) && d.dli_sname && !strcmp(d.dli_sname, "run_loop"))
			reached = 1;
	}
	printf("backtrace reaches run_loop: %d\n", reached);
	throw std::runtime_error("negative");
}

extern "C" __attribute__((noipa)) int work(int i)
{
	thrower(i);
	return i;
}

extern "C" __attribute__((noipa)) void run_loop(long ticks)
{
	for (long t = 0; !ticks || t < ticks; t++) {
		try {
			work((int)t);
			printf("work=ok\n");
		} catch (const std::exception &e) {
			printf("caught: %s\n", e.what());
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, nullptr);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, nullptr, _IOLBF, 0);
	run_loop(argc > 1 ? atol(argv[1]) : 0);
	return 0;
}
