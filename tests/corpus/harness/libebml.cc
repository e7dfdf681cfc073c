/* SPDX-License-Identifier: MIT */
/* Harness for libebml (libebml.so from the Debian source tree); modes:
 *   read-wrap  CVE-2023-52339: MemIOCallback::read at position 8 of a
 *              16-byte buffer with a Size whose sum with the position
 *              wraps past 2^64 (unpatched: the "fits" branch memcpy()s
 *              Size bytes, a crash; patched: the short read of the 8 left)
 * Load: MemIOCallback writes, seeks and reads (in range and past the end)
 * whose results are known. */
#include <ebml/MemIOCallback.h> /* from the source tree (-I) */

#include <cstdint>

#include "harness.h"

using namespace libebml;

static void repro(const char *mode)
{
	if (!strcmp(mode, "read-wrap")) {
		MemIOCallback m(16);
		static const char data[16] = "0123456789abcde";
		m.write(data, sizeof(data));
		m.setFilePointer(8, seek_beginning);
		char out[64];
		/* 8 + (SIZE_MAX - 3) wraps to 4, less than the 16 bytes held */
		uint32 got = m.read(out, SIZE_MAX - 3);
		printf("short read %u bytes, %s\n", (unsigned)got,
		       got == 8 && !memcmp(out, "89abcde", 8) ? "right data" : "wrong data");
	} else {
		printf("unknown mode %s\n", mode);
	}
}

static bool load_once(void)
{
	MemIOCallback m(32);
	char in[100];
	for (int i = 0; i < 100; i++)
		in[i] = (char)(i * 7 + 1);
	if (m.write(in, sizeof(in)) != sizeof(in) || m.GetDataBufferSize() != sizeof(in))
		return false;
	m.setFilePointer(10, seek_beginning);
	char out[128];
	if (m.read(out, 20) != 20 || memcmp(out, in + 10, 20) || m.getFilePointer() != 30)
		return false;
	/* past the end: the 70 bytes left */
	if (m.read(out, 100) != 70 || memcmp(out, in + 30, 70) || m.getFilePointer() != 100)
		return false;
	m.setFilePointer(-4, seek_end);
	return m.read(out, 4) == 4 && !memcmp(out, in + 96, 4);
}
