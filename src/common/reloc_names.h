/* SPDX-License-Identifier: MIT */
/* x86-64 relocation type names ("R_X86_64_PC32"; "R_X86_64_unknown"). */
#ifndef XS_COMMON_RELOC_NAMES_H
#define XS_COMMON_RELOC_NAMES_H

#include <stdint.h>

const char *xs_reloc_name_x86_64(uint32_t type);

#endif
