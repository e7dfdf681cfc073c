/* SPDX-License-Identifier: MIT */
/* `xsplice build-id FILE` reads the note with the shared bounded reader. */
#ifndef XS_CLI_BUILDID_H
#define XS_CLI_BUILDID_H

#include "common/elfnote.h"

#endif
