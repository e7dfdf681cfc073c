/* SPDX-License-Identifier: MIT */
/* Replaces libxse2e_shlib's shlib_report (mkpayload.sh against the
 * library). Its references resolve in each process on its own: a static
 * function and static data of the library, a function of the executable
 * (each program has its own exe_name), one of another library. */
#include <stdio.h>
#include <xsplice/livepatch.h>

extern int shlib_twice(int);         /* static in the library */
extern int shlib_counter;            /* static in the library */
extern const char *exe_name(void);   /* the executable's (exported) */
extern const char *other_word(void); /* libxse2e_other.so */

static char report[160];

static const char *report_patched(void)
{
	snprintf(report, sizeof(report), "patched twice=%d counter=%d exe=%s other=%s",
		 shlib_twice(20), shlib_counter, exe_name(), other_word());
	return report;
}

static const char report_name[] = "shlib_report";

struct livepatch_func livepatch_shlib_report LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = report_name,
	.new_addr = report_patched,
	.old_addr = (void *)OLD_ADDR_shlib_report,
	.new_size = NEW_SIZE_report_patched,
	.old_size = OLD_SIZE_shlib_report,
};
