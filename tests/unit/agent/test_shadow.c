/* SPDX-License-Identifier: MIT */
/*
 * Shadow variables (src/agent/shadow.c): the life cycle (alloc, get,
 * get_or_alloc with a constructor, free and free_all with a destructor)
 * and 8 threads at once on the same objects.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define XS_SHADOW_IMPL 1 /* calls the core library's definitions */
#include "agent/shadow.h"

#define ID_A 1ul
#define ID_B 2ul

static atomic_int ctor_calls, dtor_calls;

static int ctor_set(void *obj, void *data, void *arg)
{
	(void)obj;
	atomic_fetch_add(&ctor_calls, 1);
	*(int *)data = *(int *)arg;
	return 0;
}

static int ctor_fail(void *obj, void *data, void *arg)
{
	(void)obj, (void)data, (void)arg;
	return -1;
}

static void dtor_count(void *obj, void *data)
{
	(void)obj, (void)data;
	atomic_fetch_add(&dtor_calls, 1);
}

static void test_life_cycle(void **state)
{
	(void)state;
	int objs[3];
	int v = 42;
	atomic_store(&ctor_calls, 0);
	atomic_store(&dtor_calls, 0);
	size_t base = xs_shadow_count();
	assert_null(xs_shadow_get(&objs[0], ID_A));
	int *a = xs_shadow_alloc(&objs[0], ID_A, sizeof(int), ctor_set, &v);
	assert_non_null(a);
	assert_int_equal(*a, 42);
	assert_int_equal((uintptr_t)a % 16, 0);
	assert_ptr_equal(xs_shadow_get(&objs[0], ID_A), a);
	/* a second alloc of the same (obj, id) is refused; other ids are apart */
	assert_null(xs_shadow_alloc(&objs[0], ID_A, sizeof(int), NULL, NULL));
	assert_null(xs_shadow_get(&objs[0], ID_B));
	assert_null(xs_shadow_get(&objs[1], ID_A));
	/* get_or_alloc returns the existing data without the constructor */
	assert_ptr_equal(xs_shadow_get_or_alloc(&objs[0], ID_A, sizeof(int), ctor_set, &v), a);
	assert_int_equal(atomic_load(&ctor_calls), 1);
	/* zeroed without a constructor; a failing constructor attaches nothing */
	long *z = xs_shadow_alloc(&objs[1], ID_A, 64 * sizeof(long), NULL, NULL);
	assert_non_null(z);
	for (int i = 0; i < 64; i++)
		assert_int_equal(z[i], 0);
	assert_null(xs_shadow_alloc(&objs[2], ID_A, 8, ctor_fail, NULL));
	assert_null(xs_shadow_get(&objs[2], ID_A));
	assert_non_null(xs_shadow_alloc(&objs[2], ID_B, 8, NULL, NULL));
	assert_int_equal(xs_shadow_count(), base + 3);
	/* free one, then all of ID_A: ID_B stays */
	xs_shadow_free(&objs[0], ID_A, dtor_count);
	assert_null(xs_shadow_get(&objs[0], ID_A));
	xs_shadow_free(&objs[0], ID_A, dtor_count); /* no-op */
	assert_int_equal(atomic_load(&dtor_calls), 1);
	xs_shadow_free_all(ID_A, dtor_count);
	assert_int_equal(atomic_load(&dtor_calls), 2);
	assert_null(xs_shadow_get(&objs[1], ID_A));
	assert_non_null(xs_shadow_get(&objs[2], ID_B));
	xs_shadow_free_all(ID_B, NULL);
	assert_int_equal(xs_shadow_count(), base);
}

#define THREADS 8
#define OBJS 512
#define ROUNDS 200
static int g_objs[OBJS];
static pthread_barrier_t g_start;
static atomic_int g_errors;

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	pthread_barrier_wait(&g_start);
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < OBJS; i++) {
			/* shared id: every thread must see the same data */
			int v = i;
			int *d = xs_shadow_get_or_alloc(&g_objs[i], ID_A, sizeof(int), ctor_set, &v);
			if (!d || *d != i)
				atomic_fetch_add(&g_errors, 1);
			/* private id per thread: alloc, get, free */
			unsigned long mine = 100 + (unsigned long)me;
			int *p = xs_shadow_alloc(&g_objs[i], mine, sizeof(int), NULL, NULL);
			if (!p || xs_shadow_get(&g_objs[i], mine) != p)
				atomic_fetch_add(&g_errors, 1);
			*p = me;
			if (r % 2)
				xs_shadow_free(&g_objs[i], mine, dtor_count);
		}
		if (r % 2 == 0)
			xs_shadow_free_all(100 + (unsigned long)me, dtor_count);
	}
	return NULL;
}

static void test_eight_threads(void **state)
{
	(void)state;
	atomic_store(&ctor_calls, 0);
	atomic_store(&dtor_calls, 0);
	atomic_store(&g_errors, 0);
	size_t base = xs_shadow_count();
	pthread_t t[THREADS];
	pthread_barrier_init(&g_start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&g_start);
	assert_int_equal(atomic_load(&g_errors), 0);
	/* get_or_alloc is atomic: one constructor per object, not per thread */
	assert_int_equal(atomic_load(&ctor_calls), OBJS);
	/* every private variable was freed through the destructor */
	assert_int_equal(atomic_load(&dtor_calls), THREADS * ROUNDS * OBJS);
	assert_int_equal(xs_shadow_count(), base + OBJS);
	xs_shadow_free_all(ID_A, dtor_count);
	assert_int_equal(xs_shadow_count(), base);
}

static void test_exports(void **state)
{
	(void)state;
	uintptr_t a = 0;
	assert_int_equal(xs_agent_export_lookup("xs_shadow_get_or_alloc", &a), 0);
	assert_true(a == (uintptr_t)xs_shadow_get_or_alloc);
	assert_int_equal(xs_agent_export_lookup("xs_shadow_nope", &a), -ENOENT);
	assert_int_equal(xs_agent_export_lookup("malloc", &a), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_life_cycle),
		cmocka_unit_test(test_eight_threads),
		cmocka_unit_test(test_exports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
