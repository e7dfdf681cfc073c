/* SPDX-License-Identifier: MIT */
/* The hook payload again, tagged "b" (for REPLACE). mkpayload.sh reads the
 * symbols it fills in from this file: OLD_ADDR_extra_version
 * OLD_SIZE_extra_version NEW_SIZE_hooked_world */
#define TAG "b"
#include "hooks_payload.c"
