/* SPDX-License-Identifier: MIT */
/* Harness for libarchive (libarchive.so.13 from the Debian source tree),
 * reading crafted archives from memory through the public API; modes:
 *   warc-skip     CVE-2025-5916: a WARC record claims INT64_MAX content
 *                 bytes; _warc_skip adds the 4-byte separator to it
 *                 (signed overflow) and ignores that the skip failed, so
 *                 the bytes of that record are parsed as the next entry
 *                 (unpatched: "entry readme.txt"; patched: fatal).
 *   rar-overflow  CVE-2025-5915: the PoC of libarchive issue #2565 (the
 *                 test file test_read_format_rar_overflow.rar of the fix):
 *                 unpatched, the LZSS window copy and filter parsing run on
 *                 with bad data; patched, reading its data is a fatal error.
 * The load threads write a pax archive of two files to memory and read it
 * back, checking names, sizes and contents. */
#include <archive.h>
#include <archive_entry.h>

#include "harness.h"

/* A conversion record whose Content-Length is INT64_MAX, then a resource
 * record that lies inside it and must never be seen as an entry. */
static const char warc_doc[] =
	"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Date: 2026-01-01T00:00:00Z\r\n"
	"Content-Length: 9223372036854775807\r\n\r\n"
	"WARC/1.0\r\nWARC-Type: resource\r\nWARC-Target-URI: file://readme.txt\r\n"
	"WARC-Date: 2026-01-01T00:00:00Z\r\nContent-Type: text/plain\r\n"
	"Content-Length: 6\r\n\r\nhidden\r\n\r\n";

/* Test input of the CVE-2025-5915 fix (libarchive issue #2565's PoC). */
static const unsigned char rar_overflow[] = {
	0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00, 0xc2, 0x04, 0x74, 0x00, 0x00,
	0x21, 0x00, 0x20, 0x01, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x33, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x30, 0x00, 0xbf, 0x88, 0x5f, 0xda, 0xe9, 0xff, 0xbb,
	0x69, 0x70, 0x00, 0x7f, 0x30, 0x41, 0x30, 0x08, 0x30, 0x32, 0xb8, 0xa0,
	0x33, 0x48, 0x32, 0xb9, 0x34, 0xc9, 0xb7, 0x49, 0x62, 0x81, 0x5e, 0x93,
	0x70, 0x09, 0x30, 0x02, 0xb4, 0xd5, 0x00, 0xe4, 0x30, 0x59, 0x38, 0x30,
	0x70, 0xcc, 0x46, 0x41, 0xf0, 0xcc, 0x84, 0x30, 0xcc, 0x30, 0x23, 0x33,
	0x30, 0x88, 0x30, 0x30, 0x33, 0x20, 0x0c, 0x30, 0x06, 0x30, 0x30, 0x9a,
	0x21, 0x30, 0x01, 0x30, 0x30, 0x88, 0x01, 0x9a, 0x30, 0xcc, 0xc3, 0x33,
	0x45, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0xa0, 0x30, 0xa3, 0x0c, 0xcc,
	0x33, 0x34, 0x61, 0x30, 0x13, 0x01, 0x30, 0x30, 0x8c, 0x09, 0x9a, 0x20,
	0xcd, 0x14, 0xa4, 0x0c, 0x4c, 0x30, 0x06, 0x30, 0x30, 0x00, 0xa1, 0xe6,
	0x41, 0x30, 0x9a, 0x30, 0xcd, 0x18, 0xa0, 0x08, 0x3c, 0x30, 0xf9, 0x30,
	0xab, 0x30, 0x4f, 0x30, 0x24, 0xd0, 0x30, 0x30, 0x13, 0xb8, 0x5b, 0x30,
	0x8f, 0x15, 0x9a, 0xcd, 0x30, 0x81, 0x30, 0x3b, 0x30, 0x49, 0x27, 0x0d,
	0x30, 0x45, 0x45, 0x88, 0x25, 0x62, 0x13, 0x30, 0x49, 0x20, 0x62, 0x9e,
	0x9c, 0x32, 0xe0, 0x04, 0x09, 0x40, 0x15, 0x0b, 0xe4, 0x8f, 0xd2, 0x56,
	0x49, 0xd9, 0x2f, 0x30, 0x98, 0xb9, 0xab, 0x81, 0xf0, 0x74, 0xfb, 0x30,
	0xe9, 0x30, 0x41, 0x41, 0x06, 0x1f, 0x17, 0x30, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x48, 0x4c, 0x30, 0x30, 0x30, 0x30, 0x41, 0x30, 0x48,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x06, 0x30, 0x05, 0xc9, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
	0x30, 0x30, 0x30, 0x30,
};

static const char *code_name(int r)
{
	switch (r) {
	case ARCHIVE_OK: return "OK";
	case ARCHIVE_EOF: return "EOF";
	case ARCHIVE_RETRY: return "RETRY";
	case ARCHIVE_WARN: return "WARN";
	case ARCHIVE_FAILED: return "FAILED";
	case ARCHIVE_FATAL: return "FATAL";
	}
	return "?";
}

static struct archive *reader(const void *buf, size_t len)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static void repro(const char *mode)
{
	struct archive_entry *e;
	if (!strcmp(mode, "warc-skip")) {
		struct archive *a = reader(warc_doc, sizeof(warc_doc) - 1);
		if (!a) {
			printf("open failed\n");
			return;
		}
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
			printf("entry %s\n", archive_entry_pathname(e));
		else
			printf("next_header %s\n", code_name(r));
		archive_read_free(a);
	} else if (!strcmp(mode, "rar-overflow")) {
		struct archive *a = reader(rar_overflow, sizeof(rar_overflow));
		if (!a) {
			printf("open failed\n");
			return;
		}
		int r = archive_read_next_header(a, &e);
		if (r != ARCHIVE_OK) {
			printf("next_header %s\n", code_name(r));
		} else {
			const void *b;
			size_t n = 0;
			int64_t off = 0;
			r = archive_read_data_block(a, &b, &n, &off);
			if (r == ARCHIVE_OK)
				printf("data block OK, %zu bytes at %lld\n", n, (long long)off);
			else
				printf("data block %s\n", code_name(r));
		}
		archive_read_free(a);
	} else {
		printf("unknown mode %s\n", mode);
	}
}

static bool load_once(void)
{
	static const char *names[2] = { "dir/one.txt", "two.bin" };
	static const char *data[2] = { "first file\n", "second, a little longer\n" };
	char buf[16384];
	size_t used = 0;
	struct archive *w = archive_write_new();
	bool ok = archive_write_set_format_pax_restricted(w) == ARCHIVE_OK &&
		  archive_write_open_memory(w, buf, sizeof(buf), &used) == ARCHIVE_OK;
	for (int i = 0; ok && i < 2; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_size(e, (la_int64_t)strlen(data[i]));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		ok = archive_write_header(w, e) == ARCHIVE_OK &&
		     archive_write_data(w, data[i], strlen(data[i])) == (la_ssize_t)strlen(data[i]);
		archive_entry_free(e);
	}
	ok = archive_write_close(w) == ARCHIVE_OK && ok;
	archive_write_free(w);
	if (!ok)
		return false;
	struct archive *a = reader(buf, used);
	if (!a)
		return false;
	struct archive_entry *e;
	int i = 0;
	while (ok && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char got[64] = "";
		la_ssize_t n = archive_read_data(a, got, sizeof(got) - 1);
		ok = i < 2 && !strcmp(archive_entry_pathname(e), names[i]) && n >= 0 &&
		     (size_t)n == strlen(data[i]) && !memcmp(got, data[i], (size_t)n);
		i++;
	}
	archive_read_free(a);
	return ok && i == 2;
}
