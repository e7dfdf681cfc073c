/* SPDX-License-Identifier: MIT */
/* nop_payload.c expecting other bytes. mkpayload.sh reads what to fill in
 * from here: OLD_ADDR_feature_enabled OLD_SIZE_feature_enabled */
#define NOP_BAD 1
#include "nop_payload.c"
