/* SPDX-License-Identifier: MIT */
/* Harness for libarchive (libarchive.so from the Debian source tree); mode:
 *   truncated-tar  CVE-2025-5918: a tar whose only entry says ~1 MiB of data
 *                  but the file ends 1 KiB into it, read through each of
 *                  the three file clients (archive_read_open_filename, _fd,
 *                  _FILE). Unpatched, skipping the entry's data seeks past
 *                  the end of the file, which lseek/fseeko allow, and the
 *                  archive then "ends" cleanly (ARCHIVE_EOF): the truncation
 *                  goes unseen. Patched, a skip never goes past the size
 *                  recorded at open, libarchive reads instead and reports
 *                  "Truncated input file" (ARCHIVE_FATAL).
 * Load: each thread keeps one long-lived reader on a valid 32-entry tar and
 * reads its next header every 100 ms (so readers opened before a live patch
 * are used after it), and in between reads a valid 3-entry tar from start to
 * end through the three clients in turn; every entry name and the clean end
 * are checked. Entries are 100 KiB, more than a read block, so their data is
 * skipped by seeking — the code the fix changes.
 * The tar files are unlinked temporary files reached as /proc/self/fd/N: the
 * harness leaves nothing behind when it is killed. */
#include <archive.h>       /* from the source tree (-I) */
#include <archive_entry.h> /* from the source tree (-I) */
#include <fcntl.h>
#include <time.h>

#include "harness.h"

#define ENTRY_DATA (100 * 1024)
#define LONG_ENTRIES 32

static int trunc_fd = -1, small_fd = -1, long_fd = -1;

static void put_header(int fd, const char *name, unsigned long size)
{
	unsigned char h[512];
	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011lo", size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h))
		abort();
}

static void put_zeros(int fd, size_t n)
{
	static const char z[4096];
	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);
		if (write(fd, z, k) != (ssize_t)k)
			abort();
		n -= k;
	}
}

static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/xsplice-libarchive-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	unlink(path);
	return fd;
}

static void make_files(void)
{
	/* The entry says 1 KiB + 102 * 10 KiB of data: after the 1 KiB that
	 * came with the header, the skip is a whole number of the fd client's
	 * 10 KiB blocks (archive_read_open_fd rounds skips down to blocks and
	 * reads the rest, which would see the end). */
	trunc_fd = temp_file();
	put_header(trunc_fd, "big.bin", 1024 + 102 * 10240);
	put_zeros(trunc_fd, 1024); /* ... and the file ends here */

	small_fd = temp_file();
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%c.bin", 'a' + i);
		put_header(small_fd, name, ENTRY_DATA);
		put_zeros(small_fd, ENTRY_DATA);
	}
	put_zeros(small_fd, 1024);

	long_fd = temp_file();
	for (int i = 0; i < LONG_ENTRIES; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%02d", i);
		put_header(long_fd, name, ENTRY_DATA);
		put_zeros(long_fd, ENTRY_DATA);
	}
	put_zeros(long_fd, 1024);
}

static pthread_once_t files_once = PTHREAD_ONCE_INIT;

enum client { BY_FILENAME, BY_FD, BY_FILE, NCLIENTS };
static const char *const client_name[NCLIENTS] = { "filename", "fd", "FILE" };

/* A reader of the tar behind fd (a fresh open file description, offset 0). */
static struct archive *open_reader(int fd, enum client how, int *own_fd, FILE **own_f)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	*own_fd = -1;
	*own_f = NULL;
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	archive_read_support_format_tar(a);
	int r = ARCHIVE_FATAL;
	if (how == BY_FILENAME) {
		r = archive_read_open_filename(a, path, 10240);
	} else if (how == BY_FD) {
		*own_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*own_fd >= 0)
			r = archive_read_open_fd(a, *own_fd, 10240);
	} else {
		*own_f = fopen(path, "rbe");
		if (*own_f)
			r = archive_read_open_FILE(a, *own_f);
	}
	if (r != ARCHIVE_OK) {
		archive_read_free(a);
		if (*own_fd >= 0)
			close(*own_fd);
		if (*own_f)
			fclose(*own_f);
		return NULL;
	}
	return a;
}

static void close_reader(struct archive *a, int own_fd, FILE *own_f)
{
	archive_read_free(a);
	if (own_fd >= 0)
		close(own_fd);
	if (own_f)
		fclose(own_f);
}

static void repro(const char *mode)
{
	if (strcmp(mode, "truncated-tar")) {
		printf("unknown mode %s\n", mode);
		return;
	}
	pthread_once(&files_once, make_files);
	char out[400] = "", why[200] = "";
	for (int c = 0; c < NCLIENTS; c++) {
		int ofd;
		FILE *of;
		struct archive *a = open_reader(trunc_fd, c, &ofd, &of);
		const char *res = "open-failed";
		if (a) {
			struct archive_entry *e;
			int r1 = archive_read_next_header(a, &e);
			int r2 = r1 == ARCHIVE_OK ? archive_read_next_header(a, &e) : r1;
			res = r1 != ARCHIVE_OK ? "no-entry" : r2 == ARCHIVE_EOF ? "EOF"
				: r2 == ARCHIVE_FATAL ? "FATAL" : "other";
			if (r2 == ARCHIVE_FATAL && !why[0] && archive_error_string(a))
				snprintf(why, sizeof(why), " (%s)", archive_error_string(a));
			close_reader(a, ofd, of);
		}
		size_t n = strlen(out);
		snprintf(out + n, sizeof(out) - n, "%s%s=%s", c ? " " : "", client_name[c], res);
	}
	printf("%s%s\n", out, why);
}

/* Reads the whole 3-entry tar; true when every name and the end are right. */
static bool read_small(enum client how)
{
	int ofd;
	FILE *of;
	struct archive *a = open_reader(small_fd, how, &ofd, &of);
	if (!a)
		return false;
	bool right = true;
	struct archive_entry *e;
	for (int i = 0; i < 3 && right; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%c.bin", 'a' + i);
		right = archive_read_next_header(a, &e) == ARCHIVE_OK &&
			!strcmp(archive_entry_pathname(e), name) &&
			archive_entry_size(e) == ENTRY_DATA;
	}
	right = right && archive_read_next_header(a, &e) == ARCHIVE_EOF;
	close_reader(a, ofd, of);
	return right;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One step of this thread's long-lived reader: its next header, or (at the
 * clean end) a fresh reader through the next client. */
static bool step_long(void)
{
	static __thread struct archive *a;
	static __thread int ofd = -1, next, client;
	static __thread FILE *of;
	if (!a) {
		a = open_reader(long_fd, client, &ofd, &of);
		client = (client + 1) % NCLIENTS;
		next = 0;
		if (!a)
			return false;
	}
	struct archive_entry *e;
	int r = archive_read_next_header(a, &e);
	bool right;
	if (next == LONG_ENTRIES) {
		right = r == ARCHIVE_EOF;
		close_reader(a, ofd, of);
		a = NULL;
		return right;
	}
	char name[16];
	snprintf(name, sizeof(name), "f%02d", next++);
	right = r == ARCHIVE_OK && !strcmp(archive_entry_pathname(e), name);
	if (!right) {
		close_reader(a, ofd, of);
		a = NULL;
	}
	return right;
}

static bool load_once(void)
{
	static __thread double last;
	static __thread unsigned turn;
	pthread_once(&files_once, make_files);
	double t = now();
	if (t - last >= 0.1) {
		last = t;
		return step_long();
	}
	return read_small(turn++ % NCLIENTS);
}
