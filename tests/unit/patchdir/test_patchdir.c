/* SPDX-License-Identifier: MIT */
/*
 * The patch directory module (src/common/patchdir.c) and the payload
 * identity reader (src/common/payload_ident.c) on real files in a fresh
 * temporary directory: install / scan / mark-bad / uninstall, the trust
 * rule, names, and truncated or foreign files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/patchdir.h"
#include "common/payload_ident.h"

static char root[256];   /* per-test temporary directory */
static char dir[512];    /* root/lib/xsplice: does not exist at start */

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/xs-patchdir-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	snprintf(dir, sizeof(dir), "%s/lib/xsplice", root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s' 2>/dev/null; rm -rf '%s'", root, root);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- scan collection ---- */

struct seen {
	int n;
	char names[16][128];
	char paths[16][600];
	bool bad[16];
};

static void collect(const char *name, const char *path, bool bad, void *arg)
{
	struct seen *s = arg;
	assert_true(s->n < 16);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
	s->bad[s->n] = bad;
	s->n++;
}

static void scan(struct seen *s)
{
	struct xs_err err = { "" };
	memset(s, 0, sizeof(*s));
	int rc = xs_patchdir_scan(dir, collect, s, &err);
	if (rc)
		fail_msg("scan: %d %s", rc, err.msg);
}

static void install_ok(const char *name)
{
	struct xs_err err = { "" };
	int rc = xs_patchdir_install(dir, PAYLOAD_BASIC, name, &err);
	if (rc)
		fail_msg("install %s: %d %s", name, rc, err.msg);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[1 << 20];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

/* ---- tests ---- */

static void test_default(void **state)
{
	(void)state;
	char buf[64];
	unsetenv(XS_PATCHDIR_ENV);
	assert_int_equal(xs_patchdir_default(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/xsplice");
	setenv(XS_PATCHDIR_ENV, "", 1);
	assert_int_equal(xs_patchdir_default(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/xsplice");
	setenv(XS_PATCHDIR_ENV, "/srv/patches", 1);
	assert_int_equal(xs_patchdir_default(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/patches");
	assert_int_equal(xs_patchdir_default(buf, 5), -ENAMETOOLONG);
	unsetenv(XS_PATCHDIR_ENV);
}

static void test_names(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(xs_patchdir_check_name("fix-1.2_cve", &err), 0);
	assert_int_equal(xs_patchdir_check_name("", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(xs_patchdir_check_name(longname, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "at most 127"));
	longname[127] = '\0';
	assert_int_equal(xs_patchdir_check_name(longname, &err), 0);
	assert_int_equal(xs_patchdir_check_name("a/b", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'/'"));
	assert_int_equal(xs_patchdir_check_name("..", &err), -EINVAL);
	assert_int_equal(xs_patchdir_check_name(".hidden", &err), -EINVAL);
	assert_int_equal(xs_patchdir_check_name("a\nb", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "0x0a"));
}

static void test_missing_dir_is_empty(void **state)
{
	(void)state;
	struct seen s;
	scan(&s);
	assert_int_equal(s.n, 0);
}

static void test_install_scan_sorted(void **state)
{
	(void)state;
	struct seen s;
	struct stat st;
	char path[700];

	install_ok("zeta");
	install_ok("alpha");
	install_ok("mid");
	install_ok("alpha"); /* reinstall replaces */
	/* Not payload entries: ignored by the scan. */
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_file(path, "x", 1, 0644);
	snprintf(path, sizeof(path), "%s/.livepatch", dir);
	write_file(path, "x", 1, 0644);
	snprintf(path, sizeof(path), "%s/.tmp-beta.livepatch.AbCdEf", dir);
	write_file(path, "x", 1, 0600);
	snprintf(path, sizeof(path), "%s/orphan.bad", dir);
	write_file(path, "x\n", 2, 0644);

	scan(&s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[0], "alpha");
	assert_string_equal(s.names[1], "mid");
	assert_string_equal(s.names[2], "zeta");
	snprintf(path, sizeof(path), "%s/alpha.livepatch", dir);
	assert_string_equal(s.paths[0], path);
	for (int i = 0; i < 3; i++)
		assert_false(s.bad[i]);

	/* Mode 0644 file, 0755 directories, same bytes as the source. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	size_t a, b;
	void *x = read_whole(path, &a);
	char *copy = malloc(a);
	memcpy(copy, x, a);
	void *y = read_whole(PAYLOAD_BASIC, &b);
	assert_int_equal(a, b);
	assert_memory_equal(copy, y, a);
	free(copy);
}

static void test_install_leaves_no_temp(void **state)
{
	(void)state;
	char cmd[700];
	install_ok("one");
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' | grep -v '^one.livepatch$')\"", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_install_refusals(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	char path[700];
	struct seen s;

	snprintf(path, sizeof(path), "%s/text", root);
	write_file(path, "hello world, not ELF at all, but long enough to be read......", 62,
		   0644);
	assert_int_equal(xs_patchdir_install(dir, path, "t", &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "not an ELF file"));
	assert_non_null(strstr(err.msg, "not a payload"));
	/* An ELF that is not a payload: this very test program. */
	assert_int_equal(xs_patchdir_install(dir, "/proc/self/exe", "t", &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "ET_REL"));
	assert_int_equal(xs_patchdir_install(dir, "/nonexistent/file", "t", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/file"));
	assert_int_equal(xs_patchdir_install(dir, PAYLOAD_BASIC, "a/b", &err), -EINVAL);
	assert_int_equal(xs_patchdir_install(dir, PAYLOAD_BASIC, "", &err), -EINVAL);
	/* A directory that cannot be created: below a regular file. */
	char bad[800];
	snprintf(bad, sizeof(bad), "%s/sub", path);
	int rc = xs_patchdir_install(bad, PAYLOAD_BASIC, "t", &err);
	assert_int_equal(rc, -ENOTDIR);
	assert_non_null(strstr(err.msg, "cannot create"));
	scan(&s);
	assert_int_equal(s.n, 0);
}

static void test_mark_bad_uninstall(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	struct seen s;
	char path[700];
	struct stat st;

	install_ok("a");
	install_ok("b");
	assert_int_equal(xs_patchdir_mark_bad(dir, "b", "crashes\nnginx", &err), 0);
	scan(&s);
	assert_int_equal(s.n, 2);
	assert_false(s.bad[0]);
	assert_true(s.bad[1]);

	snprintf(path, sizeof(path), "%s/b.bad", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	size_t n;
	char *txt = read_whole(path, &n);
	txt[n] = '\0';
	/* One reason line (newline flattened), then the UTC time. */
	assert_true(strncmp(txt, "crashes nginx\n20", 16) == 0);
	assert_non_null(strstr(txt, "Z\n"));

	/* A mark for a name not installed is allowed (and not listed). */
	assert_int_equal(xs_patchdir_mark_bad(dir, "future", NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/future.bad", dir);
	txt = read_whole(path, &n);
	assert_true(strncmp(txt, "marked bad\n", 11) == 0);
	scan(&s);
	assert_int_equal(s.n, 2);
	/* Reinstalling keeps the mark. */
	install_ok("b");
	scan(&s);
	assert_true(s.bad[1]);

	assert_int_equal(xs_patchdir_uninstall(dir, "b", &err), 0);
	snprintf(path, sizeof(path), "%s/b.bad", dir);
	assert_int_equal(stat(path, &st), -1);
	scan(&s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "a");
	assert_int_equal(xs_patchdir_uninstall(dir, "b", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no payload 'b' is installed"));
	assert_int_equal(xs_patchdir_uninstall(dir, "../a", &err), -EINVAL);
	assert_int_equal(xs_patchdir_mark_bad(dir, "x/y", "r", &err), -EINVAL);
}

static void test_trust(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	char path[700], link[700];

	assert_int_equal(xs_patchdir_trusted(dir, &err), -ENOENT);
	install_ok("a");
	assert_int_equal(xs_patchdir_trusted(dir, &err), 0);

	snprintf(path, sizeof(path), "%s/a.livepatch", dir);
	int fd = xs_patchdir_open(path, &err);
	if (fd < 0)
		fail_msg("open: %s", err.msg);
	close(fd);

	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(xs_patchdir_open(path, &err), -EPERM);
	assert_non_null(strstr(err.msg, "writable by everyone"));
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(xs_patchdir_open(path, &err), -EPERM);
	assert_non_null(strstr(err.msg, "its group"));
	assert_int_equal(chmod(path, 0644), 0);

	/* Owned by someone else (root can chown for the test). */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(xs_patchdir_open(path, &err), -EPERM);
		assert_non_null(strstr(err.msg, "owned by uid 65534"));
		assert_int_equal(chown(path, 0, 0), 0);
	}

	snprintf(link, sizeof(link), "%s/l.livepatch", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(xs_patchdir_open(link, &err), -EPERM);
	assert_non_null(strstr(err.msg, "symbolic link"));

	assert_int_equal(xs_patchdir_open(dir, &err), -EPERM);
	assert_non_null(strstr(err.msg, "not a regular file"));

	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(xs_patchdir_trusted(dir, &err), -EPERM);
	assert_non_null(strstr(err.msg, "writable by everyone"));
	assert_int_equal(chmod(dir, 0755), 0);

	snprintf(link, sizeof(link), "%s/linkdir", root);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(xs_patchdir_trusted(link, &err), -EPERM);
	assert_non_null(strstr(err.msg, "symbolic link"));
}

static void test_ident(void **state)
{
	(void)state;
	struct xs_err err = { "" };
	struct xs_payload_ident id;
	static const uint8_t dep[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

	int fd = open(PAYLOAD_BASIC, O_RDONLY);
	assert_true(fd >= 0);
	int rc = xs_payload_ident_fd(fd, &id, &err);
	if (rc)
		fail_msg("ident: %s", err.msg);
	close(fd);
	assert_int_equal(id.depends_len, 20);
	assert_memory_equal(id.depends, dep, 20);
	assert_int_equal(id.build_id_len, 20); /* ld --build-id=sha1 */
	assert_memory_not_equal(id.build_id, dep, 20);

	/* Every truncation of the file is refused with a reason, never a crash. */
	size_t len;
	uint8_t *whole = read_whole(PAYLOAD_BASIC, &len);
	uint8_t *copy = malloc(len);
	memcpy(copy, whole, len);
	char path[700];
	snprintf(path, sizeof(path), "%s/trunc", root);
	for (size_t cut = 0; cut < len; cut += (cut < 128 ? 1 : 61)) {
		write_file(path, copy, cut, 0644);
		fd = open(path, O_RDONLY);
		err.msg[0] = '\0';
		rc = xs_payload_ident_fd(fd, &id, &err);
		close(fd);
		/* Only a cut after every section the reader uses can pass. */
		if (rc == 0)
			continue;
		assert_true(rc == -ENOEXEC);
		assert_true(err.msg[0] != '\0');
	}
	/* Byte flips in the ELF header and section headers: refused or read,
	 * bounded either way. */
	for (size_t i = 0; i < 64; i++) {
		uint8_t save = copy[i];
		copy[i] ^= 0xff;
		write_file(path, copy, len, 0644);
		fd = open(path, O_RDONLY);
		rc = xs_payload_ident_fd(fd, &id, &err);
		close(fd);
		assert_true(rc == 0 || rc == -ENOEXEC || rc == -ENOMEM);
		copy[i] = save;
	}
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_missing_dir_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_scan_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_leaves_no_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mark_bad_uninstall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ident, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
