/* SPDX-License-Identifier: MIT */
/* xs_text_printable: what a payload's description may hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "common/text.h"

static bool ok(const char *s)
{
	return xs_text_printable(s, strlen(s));
}

static void test_accepted(void **state)
{
	(void)state;
	assert_true(ok(""));
	assert_true(ok("fix CVE-2025-5918: do not skip past EOF"));
	assert_true(ok("Gr\xc3\xbc\xc3\x9f""e \xe2\x82\xac \xf0\x9f\x94\x92")); /* ü ß € 🔒 */
	assert_true(ok("\xc2\xa0"));         /* U+00A0, the first after C1 */
	assert_true(ok("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
}

static void test_refused(void **state)
{
	(void)state;
	assert_false(ok("a\x1b[31mred"));    /* ESC */
	assert_false(ok("a\x7f"));           /* DEL */
	assert_false(ok("tab\there"));
	assert_false(ok("\xc2\x9b""31m"));   /* U+009B, the 8-bit CSI */
	assert_false(ok("\xc2\x80"));        /* U+0080 */
	assert_false(ok("\x9b"));            /* a lone continuation byte */
	assert_false(ok("\xc3"));            /* truncated */
	assert_false(ok("\xe2\x82"));        /* truncated */
	assert_false(ok("\xc0\xaf"));        /* overlong '/' */
	assert_false(ok("\xe0\x80\xaf"));    /* overlong */
	assert_false(ok("\xed\xa0\x80"));    /* surrogate U+D800 */
	assert_false(ok("\xf4\x90\x80\x80")); /* above U+10FFFF */
	assert_false(ok("\xff"));
	/* The length counts: a NUL inside is refused too. */
	assert_false(xs_text_printable("a\0b", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
