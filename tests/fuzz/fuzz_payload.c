/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: xs_elf_parse + xs_payload_notes + xs_load. */
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size);
	return 0;
}
