/* SPDX-License-Identifier: MIT */
/* Objects of this process and symbol lookup in them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <limits.h>

#include "testutil.h"

__thread int xt_sym_tls = 5;

__attribute__((noinline, used)) int xt_sym_func(int x)
{
	__asm__ volatile("");
	return x * 3;
}

__attribute__((noinline, used)) static int xt_sym_static(int x)
{
	__asm__ volatile("");
	return x * 5;
}

__attribute__((noinline, used)) static int xt_dup(void)
{
	__asm__ volatile("");
	return 1;
}

int xt_dup2_call(void);

/* A static with the name of a libc global (like a program's own static
 * `log` next to libm's): a payload's undefined ether_ntoa means libc's. */
__attribute__((noinline, used)) static char *ether_ntoa(const void *a)
{
	__asm__ volatile("");
	return (char *)a;
}

static struct xs_object *main_obj;

static int setup(void **state)
{
	(void)state;
	main_obj = xt_main_object();
	return main_obj ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	xs_objects_free();
	return 0;
}

static void test_objects(void **state)
{
	(void)state;
	assert_true(xs_objects_count() > 1);
	assert_true(main_obj->is_main);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	assert_string_equal(main_obj->path, exe);
	uintptr_t f = (uintptr_t)&xt_sym_func;
	assert_true(main_obj->text_lo <= f && f < main_obj->text_hi);
	assert_true(main_obj->lo <= main_obj->text_lo && main_obj->text_hi <= main_obj->hi);
	assert_ptr_equal(xs_object_by_addr(f), main_obj);
	/* the core library is linked into this program: it is "the agent" */
	assert_true(main_obj->is_agent);
	assert_true(main_obj->tls_memsz > 0);

	/* build-id from memory equals the file's */
	size_t size = 0;
	uint8_t *img = xt_read_file(exe, &size);
	assert_non_null(img);
	struct xs_elf elf;
	struct xs_err err = { { 0 } };
	assert_int_equal(xs_elf_parse(&elf, img, size, XS_ELF_OBJECT, &err), 0);
	const struct xs_elf_sec *s = xs_elf_section_by_name(&elf, ".note.gnu.build-id");
	assert_non_null(s);
	uint8_t id[XS_BUILD_ID_MAX];
	size_t idl = 0;
	assert_int_equal(xs_elf_note_build_id(s->data, s->size, id, sizeof(id), &idl, &err), 0);
	assert_int_equal(idl, main_obj->build_id_len);
	assert_memory_equal(id, main_obj->build_id, idl);
	assert_ptr_equal(xs_object_by_build_id(id, idl), main_obj);
	/* too small an output buffer */
	assert_int_equal(xs_elf_note_build_id(s->data, s->size, id, 4, &idl, &err), -E2BIG);
	xs_elf_free(&elf);
	free(img);

	int vdso = 0;
	for (size_t i = 0; i < xs_objects_count(); i++)
		vdso += xs_object_at(i)->is_vdso;
	assert_int_equal(vdso, 1);
	/* refreshing keeps the same objects */
	struct xs_object *before = main_obj;
	assert_int_equal(xs_objects_refresh(NULL), 0);
	assert_ptr_equal(xs_object_at(0), before);
}

static void test_lookup(void **state)
{
	(void)state;
	uintptr_t a = 0;
	uint64_t sz = 0;
	struct xs_err err = { { 0 } };
	assert_int_equal(xs_object_lookup(main_obj, "xt_sym_func", &a, &sz, &err), 0);
	assert_int_equal(a, (uintptr_t)&xt_sym_func);
	assert_true(sz > 0);
	/* locals */
	assert_int_equal(xs_object_lookup(main_obj, "xt_sym_static", &a, NULL, &err), 0);
	assert_int_equal(a, (uintptr_t)&xt_sym_static);
	assert_int_equal(xt_sym_static(1) + xt_dup() + xt_dup2_call(), 8);
	/* two statics of one name */
	assert_int_equal(xs_object_lookup(main_obj, "xt_dup", &a, NULL, &err), -ENOTUNIQ);
	char hex[32];
	snprintf(hex, sizeof(hex), "%#lx", (unsigned long)(uintptr_t)&xt_dup);
	assert_non_null(strstr(err.msg, hex));
	assert_non_null(strstr(err.msg, "xt_dup"));
	/* missing */
	assert_int_equal(xs_object_lookup(main_obj, "xt_no_such_symbol", &a, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "xt_no_such_symbol"));
	/* TLS */
	uint64_t off = 0;
	assert_int_equal(xs_object_lookup_tls(main_obj, "xt_sym_tls", &off, &err), 0);
	assert_true(off < main_obj->tls_memsz);
	assert_int_equal(xs_object_lookup(main_obj, "xt_sym_tls", &a, NULL, &err), -ENOTSUP);
	assert_int_equal(xs_object_lookup_tls(main_obj, "xt_sym_func", &off, &err), -EINVAL);
}

static void test_extent_symbolize(void **state)
{
	(void)state;
	const char *name = NULL;
	uint64_t size = 0, room = 0;
	struct xs_err err = { { 0 } };
	uint64_t link = (uintptr_t)&xt_sym_func - main_obj->bias;
	assert_int_equal(xs_object_symbol_extent(main_obj, link, &name, &size, &room, &err), 0);
	assert_string_equal(name, "xt_sym_func");
	assert_true(size > 0);
	assert_true(room >= size);
	assert_true(room < size + 4096);
	assert_int_equal(xs_object_symbol_extent(main_obj, link + 1, &name, &size, &room, &err),
			 -ENOENT);
	assert_true(err.msg[0]);

	char buf[256];
	assert_int_equal(xs_object_symbolize((uintptr_t)&xt_sym_func + 2, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "xt_sym_func+0x2"));
	assert_int_equal(xs_object_symbolize(8, buf, sizeof(buf)), -ENOENT);
}

static void test_global(void **state)
{
	(void)state;
	uintptr_t a = 0;
	struct xs_err err = { { 0 } };
	assert_int_equal(xs_global_lookup("strlen", &a, &err), 0);
	assert_int_equal(a, (uintptr_t)dlsym(RTLD_DEFAULT, "strlen"));
	assert_int_equal(xs_global_lookup("xt_not_there_at_all", &a, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "xt_not_there_at_all"));

	/* libc by its own table (.symtab of the debug file, or .dynsym) */
	struct xs_object *libc = NULL;
	for (size_t i = 0; i < xs_objects_count(); i++)
		if (strstr(xs_object_at(i)->path, "/libc.so"))
			libc = xs_object_at(i);
	assert_non_null(libc);
	int rc = xs_object_lookup(libc, "getpid", &a, NULL, &err);
	if (rc)
		fail_msg("getpid in libc: %d %s", rc, err.msg);
	assert_true(a >= libc->text_lo && a < libc->text_hi);
}

static void copy_file(const char *from, const char *to)
{
	size_t size = 0;
	uint8_t *b = xt_read_file(from, &size);
	assert_non_null(b);
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.new", to);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, size), (ssize_t)size);
	close(fd);
	assert_int_equal(rename(tmp, to), 0);
	free(b);
}

static struct xs_object *object_by_path(const char *path)
{
	for (size_t i = 0; i < xs_objects_count(); i++)
		if (strcmp(xs_object_at(i)->path, path) == 0)
			return xs_object_at(i);
	return NULL;
}

static void test_rtld_local_and_stale(void **state)
{
	(void)state;
	char dir[] = "/tmp/xs-symtest-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p1[PATH_MAX], p2[PATH_MAX];
	snprintf(p1, sizeof(p1), "%s/libxt1.so", dir);
	snprintf(p2, sizeof(p2), "%s/libxt2.so", dir);
	copy_file(LIB_A, p1);
	copy_file(LIB_A, p2);
	void *h1 = dlopen(p1, RTLD_NOW | RTLD_LOCAL);
	void *h2 = dlopen(p2, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h1);
	assert_non_null(h2);
	assert_int_equal(xs_objects_refresh(NULL), 0);
	struct xs_object *o1 = object_by_path(p1), *o2 = object_by_path(p2);
	assert_non_null(o1);
	assert_non_null(o2);
	assert_true(o1->build_id_len > 0);

	/* RTLD_LOCAL: not in dlsym(RTLD_DEFAULT), found by walking objects */
	uintptr_t a = 0;
	struct xs_err err = { { 0 } };
	assert_int_equal(xs_global_lookup("xt_lib_func", &a, &err), 0);
	assert_int_equal(a, (uintptr_t)dlsym(h1, "xt_lib_func"));
	/* a local of the library */
	assert_int_equal(xs_object_lookup(o1, "xt_lib_local", &a, NULL, &err), 0);
	assert_true(a >= o1->text_lo && a < o1->text_hi);

	/* replace the second file on disk before its symbols were read */
	copy_file(LIB_B, p2);
	int rc = xs_object_lookup(o2, "xt_lib_local", &a, NULL, &err);
	assert_int_equal(rc, -ESTALE);
	assert_non_null(strstr(err.msg, "build-id"));
	/* cached: same answer */
	assert_int_equal(xs_object_lookup(o2, "xt_lib_func", &a, NULL, &err), -ESTALE);

	dlclose(h1);
	dlclose(h2);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
	assert_int_equal(xs_objects_refresh(NULL), 0);
	assert_null(object_by_path(p1));
}

static void test_bind_rule(void **state)
{
	(void)state;
	struct xs_err err = { { 0 } };
	uintptr_t a = 0;
	/* a static of the target does not shadow another object's global */
	void *libc_one = dlsym(RTLD_DEFAULT, "ether_ntoa");
	assert_non_null(libc_one);
	assert_int_equal(xs_bind_symbol(main_obj, "ether_ntoa", &a, &err), 0);
	assert_true(a != (uintptr_t)&ether_ntoa);
	assert_ptr_equal((void *)a, libc_one);
	/* the target's own global */
	assert_int_equal(xs_bind_symbol(main_obj, "xt_sym_func", &a, &err), 0);
	assert_ptr_equal((void *)a, (void *)&xt_sym_func);
	/* a static nobody else defines: unambiguous */
	assert_int_equal(xs_bind_symbol(main_obj, "xt_sym_static", &a, &err), 0);
	assert_ptr_equal((void *)a, (void *)&xt_sym_static);
	/* two statics of the same name, no global: ambiguous, both named */
	err.msg[0] = '\0';
	assert_int_equal(xs_bind_symbol(main_obj, "xt_dup", &a, &err), -ENOTUNIQ);
	assert_non_null(strstr(err.msg, "xt_dup"));
	assert_non_null(strstr(err.msg, ".livepatch.symbols"));
	/* missing */
	assert_int_equal(xs_bind_symbol(main_obj, "xt_no_such_symbol", &a, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "not defined"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_extent_symbolize),
		cmocka_unit_test(test_global),
		cmocka_unit_test(test_rtld_local_and_stale),
		cmocka_unit_test(test_bind_rule),
	};
	return cmocka_run_group_tests_name("symbols", tests, setup, teardown);
}
