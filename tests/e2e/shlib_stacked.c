/* SPDX-License-Identifier: MIT */
/* Stacked on shlib.livepatch (its depends is that payload's build-id):
 * shlib_report() -> "stacked (counter=N)", N read from the library's
 * static data, as the payload below does (libs.sh). */
#include <stdio.h>
#include <xsplice/livepatch.h>

extern int shlib_counter; /* static in the library */

static char report[64];

static const char *report_stacked(void)
{
	snprintf(report, sizeof(report), "stacked (counter=%d)", shlib_counter);
	return report;
}

static const char report_name[] = "shlib_report";

struct livepatch_func livepatch_shlib_stacked LIVEPATCH_FUNC_ATTR = {
	.version = LIVEPATCH_PAYLOAD_VERSION,
	.name = report_name,
	.new_addr = report_stacked,
	.old_addr = (void *)OLD_ADDR_shlib_report,
	.new_size = NEW_SIZE_report_stacked,
	.old_size = OLD_SIZE_shlib_report,
};
