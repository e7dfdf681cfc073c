/* SPDX-License-Identifier: MIT */
/* expect_payload.c with a wrong expectation. mkpayload.sh reads what to
 * fill in from here: OLD_ADDR_extra_version OLD_SIZE_extra_version
 * NEW_SIZE_expected_world EXPECT_extra_version */
#define WANT_BAD_EXPECTATION 1
#include "expect_payload.c"
